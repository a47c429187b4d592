"""Utility metrics comparing synthetic data with the real data.

Everything here reads the real data, so its results are for the data holder only and
are not covered by a model's privacy guarantee.
"""

from __future__ import annotations

from twinify.evaluation.association import correlation_ratio, cramers_v, pearson
from twinify.evaluation.columns import MISSING_LABEL, column_kinds
from twinify.evaluation.distances import total_variation
from twinify.evaluation.evaluate import Evaluation, evaluate

__all__ = [
    "MISSING_LABEL",
    "Evaluation",
    "column_kinds",
    "correlation_ratio",
    "cramers_v",
    "evaluate",
    "pearson",
    "total_variation",
]
