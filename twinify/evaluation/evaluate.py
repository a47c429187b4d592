"""Compute every metric of a synthetic table against the real one.

The result is computed from the real data, so it (and any report made from it) is for
the data holder only: it is not covered by the model's privacy guarantee.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import attrs
import numpy as np
import pandas as pd

from twinify.evaluation.association import association_matrix, measure_name
from twinify.evaluation.columns import (
    DEFAULT_BINS,
    CodedColumn,
    check_columns,
    code_columns,
    column_kinds,
    pairs_of,
)
from twinify.evaluation.distances import one_way_distances, summarise, two_way_distances
from twinify.evaluation.utility import HOLDOUT_SHARE, split_holdout, utility_metrics

logger = logging.getLogger(__name__)

#: Number of worst two-way marginals listed in the metrics.
WORST_PAIRS = 5


@attrs.frozen(eq=False)
class Evaluation:
    """Metrics of a synthetic table, with what the report plots need.

    Attributes:
        metrics: JSON-compatible metrics; :func:`evaluate` documents the keys.
        columns: The coded columns behind the marginal distances.
        real_association: Pairwise association matrix of the real table.
        synthetic_association: The same for the synthetic table.
    """

    metrics: dict[str, Any]
    columns: list[CodedColumn]
    real_association: np.ndarray
    synthetic_association: np.ndarray


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    target: str | None = None,
    test: pd.DataFrame | None = None,
    categorical: Collection[str] | str | None = None,
    numeric: Collection[str] = (),
    bins: int = DEFAULT_BINS,
) -> Evaluation:
    """Compare ``synthetic`` with ``real``.

    Args:
        real: The real table; its columns are the ones compared.
        synthetic: The synthetic table; extra columns are ignored.
        target: Column for the train-on-synthetic, test-on-real accuracy; None skips it.
        test: Real rows for testing the classifiers. Without it a random 20% of
            ``real`` is held out (the model that made ``synthetic`` has usually seen
            those rows, which flatters the synthetic accuracy).
        categorical: Columns compared as categorical although they hold numbers,
            or ``"all"``.
        numeric: Columns compared as numeric although they are not numbers.
        bins: Maximum number of bins per numeric column, not counting the bins
            below the real minimum and above the real maximum.

    The metrics contain ``rows``, ``settings``, ``columns`` (per column: kind,
    binning, total variation distance, missing-value rates), ``one_way_tv`` and
    ``two_way_tv`` (mean, max and the worst pairs), ``association`` (mean and max
    absolute difference of the association matrices) and ``utility`` (or None).

    Raises:
        InputError: an unknown column name or setting.
        DataError: the tables do not match.
    """
    kinds = column_kinds(real, categorical, numeric)
    columns = code_columns(real, synthetic, kinds, bins)
    metrics: dict[str, Any] = {
        "rows": {"real": int(real.shape[0]), "synthetic": int(synthetic.shape[0])},
        "settings": {
            "bins": bins,
            "binning": "numeric columns: one bin per value holding at least 1/bins of the real "
            "rows, quantile bins of the other real values, one bin below the real minimum and "
            "one above the real maximum; a missing value is a category of its own",
        },
    }
    metrics.update(marginal_metrics(real, synthetic, columns))

    real_association = association_matrix(columns, "real")
    synthetic_association = association_matrix(columns, "synthetic")
    metrics["association"] = association_metrics(columns, real_association, synthetic_association)
    metrics["utility"] = _utility(real, synthetic, test, target, kinds)
    return Evaluation(metrics, columns, real_association, synthetic_association)


def marginal_metrics(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[CodedColumn]) -> dict[str, Any]:
    """Return the per-column, one-way and two-way marginal metrics."""
    one_way = one_way_distances(columns)
    per_column = {}
    for column in columns:
        per_column[column.name] = {
            "kind": column.kind,
            "binning": column.binning,
            "tv": one_way[column.name],
            "missing_rate_real": float(real[column.name].isna().mean()),
            "missing_rate_synthetic": float(synthetic[column.name].isna().mean()),
        }

    pairs = two_way_distances(columns)
    worst = sorted(pairs, key=lambda pair: pair[2], reverse=True)[:WORST_PAIRS]
    worst_column = max(one_way, key=one_way.get)
    return {
        "columns": per_column,
        "one_way_tv": {**summarise(list(one_way.values())), "worst": worst_column},
        "two_way_tv": {
            **summarise([distance for _, _, distance in pairs]),
            "pairs": len(pairs),
            "worst": [{"columns": [first, second], "tv": distance} for first, second, distance in worst],
        },
    }


def association_metrics(columns: list[CodedColumn], real: np.ndarray, synthetic: np.ndarray) -> dict[str, Any]:
    """Return the mean and maximum absolute difference of two association matrices.

    Pairs whose association is undefined in either table are left out and counted.
    """
    differences, undefined = [], 0
    measures = {"pearson": 0, "cramers_v": 0, "correlation_ratio": 0}
    for i, j in pairs_of([column.name for column in columns]):
        measures[measure_name(columns[i], columns[j])] += 1
        difference = abs(real[i, j] - synthetic[i, j])
        if np.isnan(difference):
            undefined += 1
        else:
            differences.append(float(difference))
    summary = summarise(differences)
    return {
        "mean_abs_difference": summary["mean"],
        "max_abs_difference": summary["max"],
        "pairs": len(differences),
        "undefined_pairs": undefined,
        "measures": measures,
    }


def _utility(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    test: pd.DataFrame | None,
    target: str | None,
    kinds: dict[str, str],
) -> dict[str, Any] | None:
    if target is None:
        return None
    if test is None:
        real_train, test = split_holdout(real)
        source = (
            f"a random {HOLDOUT_SHARE:.0%} of the real data held out ({test.shape[0]} rows); "
            "the synthetic data's model may have seen these rows, which flatters its accuracy"
        )
    else:
        check_columns(real, test, label="test data")
        real_train = real
        source = f"the separate test table ({test.shape[0]} rows)"
    return utility_metrics(real_train, synthetic, test, target, kinds, source)
