"""Quality figures of one synthetic table for the benchmark tables.

Marginal and association distances compare the synthetic rows with the real *test*
rows (data the model never saw), and the classifier accuracies train on synthetic
or real training rows and test on the same real test rows.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd

from twinify.evaluation import column_kinds, evaluate
from twinify.evaluation.utility import utility_metrics


def read_csv(path: Path | str) -> pd.DataFrame:
    """Read a CSV with inferred column types.

    Codes of discrete tables compare as labels, and twinify.evaluation writes a whole
    number the same way whether a tool wrote it as ``14`` or ``14.0``.
    """
    return pd.read_csv(path)


def quality(
    train: pd.DataFrame,
    test: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str,
    categorical: Collection[str] | str | None = None,
) -> dict[str, Any]:
    """Return the headline quality figures of ``synthetic``."""
    fidelity = evaluate(test, synthetic, categorical=categorical).metrics
    kinds = column_kinds(train, categorical)
    utility = utility_metrics(train, synthetic, test, target, kinds, "the test file")
    per_column = {name: column["tv"] for name, column in fidelity["columns"].items()}
    worst = sorted(per_column, key=per_column.get, reverse=True)[:3]
    return {
        "one_way_tv_mean": fidelity["one_way_tv"]["mean"],
        "worst_columns": {name: per_column[name] for name in worst},
        "two_way_tv_mean": fidelity["two_way_tv"]["mean"],
        "two_way_tv_max": fidelity["two_way_tv"]["max"],
        "association_mad": fidelity["association"]["mean_abs_difference"],
        "tstr_accuracy": utility["train_on_synthetic_accuracy"],
        "trtr_accuracy": utility["train_on_real_accuracy"],
        "majority_accuracy": utility["majority_class_accuracy"],
    }
