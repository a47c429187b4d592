"""Checks of a custom model that cost no privacy budget.

* :func:`find_row_dependence` runs preprocess on subsets of the rows and compares
  the result with the same rows of the whole table. DP-SGD bounds each row's
  influence on the fit only if preprocess transforms every row on its own. A
  preprocess that standardizes with the data's mean or reads category sets from
  the data lets every row influence every other one.
* :func:`prior_predictive` draws rows from the prior, decodes and postprocesses
  them, which runs all of the model file's generation code before a fit.
* :func:`count_non_finite` evaluates the log-likelihood of some rows at a draw
  from the prior, to find models that return NaN for missing values.
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd

from twinify.custom_model import ModelCodeError
from twinify.custom_model.code import ModelCode, describe_failure
from twinify.custom_model.frames import (
    blank_inferred,
    decode_columns,
    run_postprocess,
    run_preprocess,
)
from twinify.custom_model.tracing import ModelStructure
from twinify.schema import Schema

#: Relative tolerance when comparing preprocessed values: the floating-point
#: error of reordered sums, far below what a statistic of the data changes.
ROW_WISE_TOLERANCE = 1e-9


def find_row_dependence(code: ModelCode, data: pd.DataFrame, preprocessed: pd.DataFrame) -> str | None:
    """Return why preprocess does not transform each row on its own, or None if it seems to.

    Runs preprocess on the first row alone and on the even-numbered and odd-numbered
    rows, and compares each result with the same rows of ``preprocessed``, the
    output for the whole table. Rows are matched by index label when preprocess
    keeps the index, and by position when it keeps the row count.
    """
    if preprocessed.index.isin(data.index).all() and preprocessed.index.is_unique:
        match = "label"
    elif len(preprocessed) == len(data):
        match = "position"
    else:
        return "preprocess drops rows and renumbers the index, so its rows could not be matched; keep the index"

    positions = np.arange(len(data))
    for subset in (positions[:1], positions[0::2], positions[1::2]):
        if subset.size == 0:
            continue
        part = data.iloc[subset]
        try:
            output = run_preprocess(code, part)
        except ModelCodeError:
            return f"preprocess fails on a subset of {subset.size} rows"
        if match == "label":
            expected = preprocessed[preprocessed.index.isin(part.index)]
        else:
            expected = preprocessed.iloc[subset]
        differing = _differing_columns(output.reset_index(drop=True), expected.reset_index(drop=True))
        if differing:
            return f"on a subset of {subset.size} rows it returns different {differing}"
    return None


def check_row_wise(code: ModelCode, data: pd.DataFrame, preprocessed: pd.DataFrame) -> None:
    """Raise when preprocess does not seem to transform each row on its own.

    Raises:
        ModelCodeError: :func:`find_row_dependence` found a dependence between rows.
    """
    dependence = find_row_dependence(code, data, preprocessed)
    if dependence is not None:
        raise ModelCodeError(
            f"model file {code.name!r}: preprocess does not transform each row on its own: {dependence}. A "
            "preprocess that uses statistics of the data (means, minimums, category sets) breaks the "
            "privacy guarantee; use public constants instead"
        )


def prior_predictive(
    structure: ModelStructure, schema: Schema, num_rows: int, key: jax.Array, hide_inferred: bool = True
) -> pd.DataFrame:
    """Draw latent values from the prior, then ``num_rows`` rows, decoded and postprocessed.

    Args:
        structure: The model's structure.
        schema: The preprocessed columns.
        num_rows: Rows to draw.
        key: Randomness for the draw.
        hide_inferred: Replace categories read from the data by neutral labels,
            for output that the user sees (:func:`~.frames.blank_inferred`).

    Raises:
        ModelCodeError: the model, decoding or postprocess fails.
    """
    code = structure.code
    latent_key, rows_key = jax.random.split(key)
    try:
        rows = np.asarray(structure.sample_rows(structure.prior_latent(latent_key), rows_key, num_rows))
    except ModelCodeError:
        raise
    except Exception as error:
        raise ModelCodeError(
            f"model file {code.name!r}: model() failed when drawing rows: {describe_failure(error, code.path)}"
        ) from error
    frame = decode_columns(rows, schema, code.name)
    if hide_inferred:
        frame = blank_inferred(frame, schema)
    return run_postprocess(code, frame)


def count_non_finite(structure: ModelStructure, encoded: np.ndarray, key: jax.Array) -> int:
    """Return for how many rows of ``encoded`` the log-likelihood is NaN or infinite at a prior draw.

    The evaluation is compiled, so that a failure of the model shows array shapes
    in its message but no data values.

    Raises:
        ModelCodeError: the model fails when traced with the rows.
    """
    code = structure.code
    latent = structure.prior_latent(key)
    evaluate = jax.jit(jax.vmap(structure.row_log_likelihood, in_axes=(None, 0)))
    try:
        values = np.asarray(evaluate(latent, encoded))
    except Exception as error:
        raise ModelCodeError(
            f"model file {code.name!r}: model(x) failed on rows of the data: {describe_failure(error, code.path)}"
        ) from error
    return int(np.sum(~np.isfinite(values)))


def _differing_columns(output: pd.DataFrame, expected: pd.DataFrame) -> str | None:
    if list(output.columns) != list(expected.columns):
        return "columns"
    if len(output) != len(expected):
        return "rows"
    names = []
    for name in output.columns:
        try:
            pd.testing.assert_series_equal(output[name], expected[name], check_exact=False, rtol=ROW_WISE_TOLERANCE)
        except AssertionError:
            names.append(name)
    return f"values or dtypes in columns {', '.join(names)}" if names else None
