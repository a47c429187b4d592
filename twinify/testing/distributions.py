"""Conformance checks for feature distributions and distribution wrappers.

:func:`check_distribution` runs a record through everything the mixture model and
the privacy contract of :func:`twinify.hookspecs.TwinifySpecs.twinify_distributions`
rely on, on a small public sample column, and raises :class:`ConformanceError`
naming the first broken rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import pandas as pd

from twinify.errors import InputError
from twinify.schema import COLUMN_TYPES, ColumnSchema, conform_column
from twinify.types import DISTRIBUTION_KINDS, DistributionWrapper, FeatureDistribution

#: Public sample columns used when a check gets none, by schema column type.
SAMPLE_COLUMNS: dict[str, list[Any]] = {
    "real": [0.5, 1.25, 2.0, 3.5, 10.0, 42.0],
    "integer": [1, 2, 2, 3, 5, 8],
    "boolean": [True, False, True, True, False],
    "categorical": ["red", "green", "blue", "green", "red"],
}

_CALLABLES = ("infer_schema", "check_schema", "encode", "decode", "priors", "likelihood")


class ConformanceError(AssertionError):
    """A plugin record breaks a rule of its hook's contract."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


def sample_column(column_type: str) -> pd.Series:
    """Return the default public sample column for ``column_type``."""
    values = SAMPLE_COLUMNS[column_type]
    if column_type == "integer":
        return pd.Series(values, dtype="int64", name="sample")
    return pd.Series(values, name="sample")


def check_distribution(
    record: FeatureDistribution,
    *,
    sample: pd.Series | None = None,
    column: ColumnSchema | None = None,
    num_components: int = 3,
    seed: int = 0,
) -> None:
    """Check a feature distribution record against the contract.

    Args:
        record: The record a ``twinify_distributions`` hook yields.
        sample: Public sample values of a column the distribution can model; by
            default :data:`SAMPLE_COLUMNS` for the record's first column type.
        column: The column's declared schema; by default ``record.infer_schema``
            of the sample.
        num_components: Mixture components to draw parameters for.
        seed: Seed of the draws from the priors and the likelihood.

    Raises:
        ConformanceError: the first rule the record breaks.
    """
    _check_fields(record)
    if sample is None:
        sample = sample_column(record.column_types[0])
    column = column or _inferred_schema(record, sample)
    try:
        record.check_schema(column)
    except InputError as error:
        raise ConformanceError(f"{record.name}: check_schema rejects the sample's schema: {error}") from None

    conformed = conform_column(sample, column)
    encoded = _check_encode(record, conformed, column)
    _check_decode(record, conformed, encoded, column)
    _check_model(record, encoded, column, num_components, seed)


def check_wrapper(
    wrapper: DistributionWrapper,
    base: FeatureDistribution,
    *,
    sample: pd.Series | None = None,
    seed: int = 0,
) -> None:
    """Check a distribution wrapper by wrapping ``base`` and checking the result.

    A ``"missing-values"`` wrapper is checked on the sample with missing values
    added, declared ``missing = true``.

    Raises:
        ConformanceError: the first rule the wrapper or the wrapped record breaks.
    """
    _require(isinstance(wrapper, DistributionWrapper),
             f"expected a DistributionWrapper, got a {type(wrapper).__name__}")
    _require(callable(wrapper.wrap), f"{wrapper.name}: wrap is not callable")
    wrapped = wrapper.wrap(base)
    _require(isinstance(wrapped, FeatureDistribution),
             f"{wrapper.name}: wrap returned a {type(wrapped).__name__}, not a FeatureDistribution")

    if sample is None:
        sample = sample_column(base.column_types[0])
    column = None
    if wrapper.role == "missing-values":
        sample = _with_missing(sample)
        column = attrs.evolve(_inferred_schema(wrapped, sample.dropna()), missing=True)
    check_distribution(wrapped, sample=sample, column=column, seed=seed)


# --------------------------------------------------------------------------------------


def _check_fields(record: FeatureDistribution) -> None:
    _require(isinstance(record, FeatureDistribution),
             f"expected a FeatureDistribution, got a {type(record).__name__}")
    _require(record.kind in DISTRIBUTION_KINDS, f"{record.name}: unknown kind {record.kind!r}")
    _require(bool(record.column_types), f"{record.name}: column_types is empty")
    unknown = [name for name in record.column_types if name not in COLUMN_TYPES]
    _require(not unknown, f"{record.name}: unknown column types {unknown}; use {COLUMN_TYPES}")
    for name in _CALLABLES:
        _require(callable(getattr(record, name)), f"{record.name}: {name} is not callable")
    _require(bool(record.summary.strip()), f"{record.name}: the summary is empty")
    _require(np.isfinite(record.fill_value), f"{record.name}: fill_value must be a finite number")


def _inferred_schema(record: FeatureDistribution, sample: pd.Series) -> ColumnSchema:
    column = record.infer_schema(sample, "sample")
    _require(isinstance(column, ColumnSchema),
             f"{record.name}: infer_schema returned a {type(column).__name__}, not a ColumnSchema")
    _require(column.name == "sample", f"{record.name}: infer_schema named the column {column.name!r}, not 'sample'")
    _require(column.type in record.column_types,
             f"{record.name}: infer_schema returned type {column.type!r}, not one of {record.column_types}")
    return column


def _with_missing(sample: pd.Series) -> pd.Series:
    values = list(sample) + [None, sample.iloc[0], None]
    dtype = sample.dtype
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_extension_array_dtype(dtype):
        dtype = "Int64"
    elif pd.api.types.is_bool_dtype(dtype) and not pd.api.types.is_extension_array_dtype(dtype):
        dtype = "boolean"
    return pd.Series(values, dtype=dtype, name=sample.name)


def _check_encode(record: FeatureDistribution, conformed: pd.Series, column: ColumnSchema) -> np.ndarray:
    encoded = record.encode(conformed, column)
    _require(isinstance(encoded, np.ndarray), f"{record.name}: encode returned a {type(encoded).__name__}")
    _require(encoded.shape == (len(conformed),),
             f"{record.name}: encode returned shape {encoded.shape} for {len(conformed)} values")
    _require(np.issubdtype(encoded.dtype, np.floating), f"{record.name}: encode returned dtype {encoded.dtype}")
    missing = conformed.isna().to_numpy()
    _require(bool(np.all(np.isnan(encoded) == missing)),
             f"{record.name}: encode must give NaN exactly where values are missing")

    # One person's value alone must encode as it does within the column: no
    # scaling by the data's own statistics.
    for index in range(len(conformed)):
        alone = np.asarray(record.encode(conformed.iloc[[index]], column), dtype=float)
        _require(
            np.allclose(alone, encoded[index : index + 1], equal_nan=True),
            f"{record.name}: encode of row {index} alone differs from its encoding within the column; "
            "encoding must not depend on other rows (no data-dependent scaling)",
        )
    return encoded


def _check_decode(record: FeatureDistribution, conformed: pd.Series, encoded: np.ndarray, column: ColumnSchema) -> None:
    decoded = record.decode(encoded.copy(), column)
    _require(isinstance(decoded, pd.Series), f"{record.name}: decode returned a {type(decoded).__name__}")
    _require(len(decoded) == len(conformed), f"{record.name}: decode returned {len(decoded)} values for {len(conformed)}")
    if column.dtype is not None:
        _require(str(decoded.dtype) == column.dtype,
                 f"{record.name}: decode returned dtype {decoded.dtype}, not the column's dtype {column.dtype}")
    _require(decoded.isna().tolist() == conformed.isna().tolist(),
             f"{record.name}: decode must give missing values exactly where encode gave NaN")

    present = conformed.notna().to_numpy()
    original = conformed[present].tolist()
    restored = decoded[present].tolist()
    if column.is_numeric:
        same = np.allclose(np.asarray(restored, dtype=float), np.asarray(original, dtype=float), rtol=1e-6)
    else:
        same = [str(value) for value in restored] == [str(value) for value in original]
    _require(same, f"{record.name}: decode(encode(values)) does not restore the values")


def _check_model(record: FeatureDistribution, encoded: np.ndarray, column: ColumnSchema, num_components: int, seed: int) -> None:
    import jax
    import jax.numpy as jnp
    import numpyro

    from twinify.privacy import RandomSource

    rng = RandomSource(seed)
    with numpyro.validation_enabled():
        params = _draw_priors(record, column, num_components, rng)
        try:
            likelihood = record.likelihood(params, column)
        except ValueError as error:
            raise ConformanceError(
                f"{record.name}: the likelihood rejects parameters drawn from the priors: {error}"
            ) from None
    _require(isinstance(likelihood, numpyro.distributions.Distribution),
             f"{record.name}: likelihood returned a {type(likelihood).__name__}, not a numpyro Distribution")
    _require(tuple(likelihood.batch_shape) == (num_components,),
             f"{record.name}: likelihood batch shape {tuple(likelihood.batch_shape)}, expected ({num_components},)")
    _require(tuple(likelihood.event_shape) == (), f"{record.name}: the likelihood must be univariate")

    observed = encoded if column.missing else encoded[~np.isnan(encoded)]
    values = jnp.asarray(observed)[:, None]
    log_prob = np.asarray(likelihood.log_prob(values))
    _require(bool(np.all(np.isfinite(log_prob))), f"{record.name}: log-probabilities of the encoded sample are not finite")
    fill = np.asarray(likelihood.log_prob(jnp.full((1, 1), record.fill_value)))
    _require(bool(np.all(np.isfinite(fill))), f"{record.name}: fill_value {record.fill_value} is outside the likelihood's support")

    drawn = likelihood.sample(rng.jax_key(), (8,))
    drawn_log_prob = np.asarray(likelihood.log_prob(drawn))
    _require(bool(np.all(np.isfinite(drawn_log_prob))),
             f"{record.name}: log-probabilities of the likelihood's own samples are not finite")
    decoded = record.decode(np.asarray(drawn[:, 0], dtype=np.float64), column)
    _require(len(decoded) == 8, f"{record.name}: decode of generated values returned {len(decoded)} values for 8")

    def log_density(parameters: Mapping[str, Any], points: Any) -> Any:
        return record.likelihood(parameters, column).log_prob(points)

    try:
        jitted = np.asarray(jax.jit(log_density)(params, values))
    except Exception as error:  # noqa: BLE001 - any tracing failure breaks the contract
        raise ConformanceError(f"{record.name}: the likelihood cannot be compiled with jax.jit: {error}") from None
    _require(bool(np.allclose(jitted, log_prob, rtol=1e-4, atol=1e-4, equal_nan=True)),
             f"{record.name}: jax.jit changes the likelihood's log-probabilities")


def _draw_priors(record: FeatureDistribution, column: ColumnSchema, num_components: int, rng: Any) -> dict[str, Any]:
    import numpyro

    priors = record.priors(column)
    _require(isinstance(priors, Mapping) and len(priors) > 0,
             f"{record.name}: priors must return a non-empty mapping of parameter name to distribution")
    params = {}
    for name, prior in priors.items():
        _require(isinstance(prior, numpyro.distributions.Distribution),
                 f"{record.name}: the prior of {name!r} is a {type(prior).__name__}, not a numpyro Distribution")
        value = prior.sample(rng.jax_key(), (num_components,))
        _require(bool(np.all(np.isfinite(np.asarray(value)))), f"{record.name}: prior draws of {name!r} are not finite")
        inside = np.asarray(prior.support(value))
        _require(bool(np.all(inside)), f"{record.name}: prior draws of {name!r} fall outside the prior's support")
        params[name] = value
    return params
