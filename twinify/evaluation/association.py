"""Pairwise association of columns, to compare the dependence structure of two tables.

The measure depends on the kinds of the two columns:

- numeric and numeric: Pearson's correlation coefficient r, in [-1, 1];
- categorical and categorical: Cramér's V (without bias correction), in [0, 1];
- categorical and numeric: the correlation ratio η (the square root of the share of
  the numeric column's variance explained by the categories), in [0, 1].

Rows where either column is missing are left out of that pair. A measure that is
undefined (a constant column, or fewer than two complete rows) is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from twinify.evaluation.columns import NUMERIC, CodedColumn, pairs_of

PEARSON = "pearson"
CRAMERS_V = "cramers_v"
CORRELATION_RATIO = "correlation_ratio"


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Return Pearson's correlation of two numeric arrays, NaN when a variance is 0."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 2:
        return float("nan")
    dx = x - x.mean()
    dy = y - y.mean()
    scale = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / scale) if scale > 0 else float("nan")


def cramers_v(first: np.ndarray, second: np.ndarray) -> float:
    """Return Cramér's V of two integer-coded categorical arrays.

    V = sqrt(chi2 / (n * (min(r, c) - 1))) over the categories present, where chi2 is
    Pearson's chi-squared statistic of the contingency table. NaN when either array
    has a single category.
    """
    _, first = np.unique(np.asarray(first), return_inverse=True)
    _, second = np.unique(np.asarray(second), return_inverse=True)
    rows, columns = first.max(initial=-1) + 1, second.max(initial=-1) + 1
    if rows < 2 or columns < 2:
        return float("nan")

    table = np.zeros((rows, columns))
    np.add.at(table, (first, second), 1.0)
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / (n * (min(rows, columns) - 1))))


def correlation_ratio(categories: np.ndarray, values: np.ndarray) -> float:
    """Return the correlation ratio η of a numeric array given integer-coded categories.

    η² is the between-category sum of squares over the total sum of squares. NaN
    when the numeric array is constant.
    """
    values = np.asarray(values, dtype=float)
    _, groups = np.unique(np.asarray(categories), return_inverse=True)
    total = ((values - values.mean()) ** 2).sum()
    if values.size < 2 or total <= 0:
        return float("nan")
    counts = np.bincount(groups)
    means = np.bincount(groups, weights=values) / counts
    between = (counts * (means - values.mean()) ** 2).sum()
    return float(np.sqrt(min(between / total, 1.0)))


def measure_name(first: CodedColumn, second: CodedColumn) -> str:
    """Return which association measure applies to a pair of columns."""
    numeric = (first.kind == NUMERIC, second.kind == NUMERIC)
    if all(numeric):
        return PEARSON
    if any(numeric):
        return CORRELATION_RATIO
    return CRAMERS_V


def association(first: CodedColumn, second: CodedColumn, table: str) -> float:
    """Return the association of two columns in the ``"real"`` or ``"synthetic"`` table."""
    kind = measure_name(first, second)
    first_codes, second_codes = _codes(first, table), _codes(second, table)
    first_values, second_values = _values(first, table), _values(second, table)
    complete = _present(first, first_codes, first_values) & _present(second, second_codes, second_values)

    if kind == PEARSON:
        return pearson(first_values[complete], second_values[complete])
    if kind == CRAMERS_V:
        return cramers_v(first_codes[complete], second_codes[complete])
    if first.kind == NUMERIC:
        return correlation_ratio(second_codes[complete], first_values[complete])
    return correlation_ratio(first_codes[complete], second_values[complete])


def association_matrix(columns: Sequence[CodedColumn], table: str) -> np.ndarray:
    """Return the symmetric matrix of pairwise associations, with 1 on the diagonal."""
    size = len(columns)
    matrix = np.eye(size)
    for i, j in pairs_of([column.name for column in columns]):
        matrix[i, j] = matrix[j, i] = association(columns[i], columns[j], table)
    return matrix


def _codes(column: CodedColumn, table: str) -> np.ndarray:
    return column.real_codes if table == "real" else column.synthetic_codes


def _values(column: CodedColumn, table: str) -> np.ndarray | None:
    return column.real_values if table == "real" else column.synthetic_values


def _present(column: CodedColumn, codes: np.ndarray, values: np.ndarray | None) -> np.ndarray:
    if values is not None:
        return ~np.isnan(values)
    missing = column.missing_code
    return codes != missing if missing is not None else np.ones(codes.shape, dtype=bool)
