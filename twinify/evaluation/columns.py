"""Turning the columns of a real and a synthetic table into shared discrete codes.

Marginal distances compare discrete distributions, so every column is coded into
labels that both tables share:

- a categorical column keeps its values as labels (numbers that are whole are
  written without a decimal point, so ``1`` and ``1.0`` match);
- a numeric column gets one bin for each value that makes up at least 1/``bins``
  of the real rows, such as the zeros of a capital-gain column. The other real
  values get quantile bins, so that there are at most ``bins`` bins (tied
  quantiles merge). One more bin takes synthetic values below the real minimum
  and one those above the real maximum. All bins are fixed from the *real* data;
- a missing value is a label of its own, ``(missing)``, in every column.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import attrs
import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from twinify.errors import DataError, InputError

MISSING_LABEL = "(missing)"
DEFAULT_BINS = 10
CATEGORICAL = "categorical"
NUMERIC = "numeric"


@attrs.frozen(eq=False)
class CodedColumn:
    """One column of both tables, coded into the same discrete labels.

    Attributes:
        name: Column name.
        kind: ``"categorical"`` or ``"numeric"``.
        labels: The label of each code; ``(missing)`` is among them when either
            table has a missing value.
        real_codes: Code of each real row.
        synthetic_codes: Code of each synthetic row.
        binning: How the labels were formed, for the report.
        real_values: Numeric values of the real rows with NaN for missing
            (numeric columns only).
        synthetic_values: The same for the synthetic rows.
    """

    name: str
    kind: str
    labels: tuple[str, ...]
    real_codes: np.ndarray
    synthetic_codes: np.ndarray
    binning: str
    real_values: np.ndarray | None = None
    synthetic_values: np.ndarray | None = None

    @property
    def missing_code(self) -> int | None:
        """Return the code of ``(missing)``, or None when no value is missing."""
        return self.labels.index(MISSING_LABEL) if MISSING_LABEL in self.labels else None


def column_kinds(
    real: pd.DataFrame,
    categorical: Collection[str] | str | None = None,
    numeric: Collection[str] = (),
) -> dict[str, str]:
    """Decide for each column of ``real`` whether it is compared as categorical or numeric.

    Numbers are numeric and everything else (text, booleans) categorical, unless the
    column is listed in ``categorical`` (or ``categorical="all"``) or in ``numeric``.

    Raises:
        InputError: a listed column is not in the table.
    """
    if categorical == "all":
        categorical = list(real.columns)
    categorical = set(categorical or ())
    numeric = set(numeric)
    unknown = sorted((categorical | numeric) - set(real.columns))
    if unknown:
        raise InputError(f"column {unknown[0]!r} is not in the real data; check the column list")

    kinds = {}
    for name in real.columns:
        series = real[name]
        is_number = is_numeric_dtype(series) and not is_bool_dtype(series)
        if name in categorical:
            kinds[name] = CATEGORICAL
        elif name in numeric or is_number:
            kinds[name] = NUMERIC
        else:
            kinds[name] = CATEGORICAL
    return kinds


def check_columns(real: pd.DataFrame, synthetic: pd.DataFrame, label: str = "synthetic data") -> None:
    """Check that ``synthetic`` has every column of ``real``.

    Raises:
        DataError: a column is missing, or a table has no rows.
    """
    missing = [name for name in real.columns if name not in synthetic.columns]
    if missing:
        raise DataError(
            f"the {label} lack {len(missing)} column(s) of the real data, first {missing[0]!r}; "
            "compare tables with the same columns"
        )
    if real.shape[0] == 0 or synthetic.shape[0] == 0:
        raise DataError("a table has no rows; both tables need at least one row")


def code_columns(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: dict[str, str],
    bins: int = DEFAULT_BINS,
) -> list[CodedColumn]:
    """Code every column of ``real`` and the same column of ``synthetic`` into shared labels."""
    if bins < 1:
        raise InputError(f"invalid number of bins {bins}: use at least 1")
    check_columns(real, synthetic)
    coded = []
    for name in real.columns:
        if kinds[name] == NUMERIC:
            coded.append(_code_numeric(name, real[name], synthetic[name], bins))
        else:
            coded.append(_code_categorical(name, real[name], synthetic[name]))
    return coded


def label_values(series: pd.Series) -> np.ndarray:
    """Return each value as a label string, with ``(missing)`` for missing values."""
    # Label each distinct value once, then spread the labels over the rows.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    labels = np.array([_label(value) for value in uniques] + [MISSING_LABEL], dtype=object)
    return labels[codes]


def _label(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return MISSING_LABEL
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _code_categorical(name: str, real: pd.Series, synthetic: pd.Series) -> CodedColumn:
    real_labels = label_values(real)
    synthetic_labels = label_values(synthetic)

    # Real labels first, in sorted order; labels only the synthetic data have follow.
    ordered = sorted(set(real_labels) - {MISSING_LABEL}, key=_sort_key)
    ordered += sorted(set(synthetic_labels) - set(ordered) - {MISSING_LABEL}, key=_sort_key)
    if MISSING_LABEL in real_labels or MISSING_LABEL in synthetic_labels:
        ordered.append(MISSING_LABEL)

    index = {label: code for code, label in enumerate(ordered)}
    return CodedColumn(
        name=name,
        kind=CATEGORICAL,
        labels=tuple(ordered),
        real_codes=np.array([index[label] for label in real_labels], dtype=np.int64),
        synthetic_codes=np.array([index[label] for label in synthetic_labels], dtype=np.int64),
        binning="one label per value",
    )


def _sort_key(label: str) -> tuple[int, float, str]:
    # Numeric labels sort by value (2 before 10), text labels alphabetically after them.
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def numeric_values(series: pd.Series, name: str, table: str) -> np.ndarray:
    """Return ``series`` as floats with NaN for missing values.

    Raises:
        DataError: a value that is present is not a number.
    """
    values = pd.to_numeric(series, errors="coerce")
    not_numbers = int((values.isna() & series.notna()).sum())
    if not_numbers:
        raise DataError(
            f"column {name!r} of the {table} has {not_numbers} value(s) that are not numbers; "
            "list the column as categorical or fix the data"
        )
    return values.to_numpy(dtype=float, na_value=np.nan)


@attrs.frozen
class NumericBins:
    """Bins of a numeric column, fixed from the real data.

    Attributes:
        lower: Smallest real value; smaller values fall in the below-minimum bin.
        upper: Largest real value; larger values fall in the above-maximum bin.
        atoms: Real values that make up at least 1/bins of the rows each. Each has
            a bin of its own, so that a point mass such as many zeros stays visible.
        edges: Quantile edges of the other real values, from ``lower`` to ``upper``;
            a value that is no atom falls in ``[edge_i, edge_i+1)``, the last closed.
    """

    lower: float
    upper: float
    atoms: tuple[float, ...]
    edges: tuple[float, ...]

    @property
    def labels(self) -> list[str]:
        """Return the labels in code order: below, atoms and intervals by value, above."""
        return ["below minimum", *[label for _, label in self._segments()], "above maximum"]

    def codes(self, values: np.ndarray, missing_code: int) -> np.ndarray:
        """Return the code of each value; NaN gets ``missing_code``."""
        segments = self._segments()
        atom_code = {key: code for code, (key, _) in enumerate(segments, start=1) if key[1] == 0}
        interval_codes = np.array([code for code, (key, _) in enumerate(segments, start=1) if key[1] == 1])

        codes = np.full(values.shape, missing_code, dtype=np.int64)
        present = ~np.isnan(values)
        inside = present & (values >= self.lower) & (values <= self.upper)
        edges = np.asarray(self.edges)
        interval = np.clip(np.searchsorted(edges, values[inside], side="right") - 1, 0, len(edges) - 2)
        codes[inside] = interval_codes[interval]
        for atom in self.atoms:
            codes[present & (values == atom)] = atom_code[(atom, 0)]
        codes[present & (values < self.lower)] = 0
        codes[present & (values > self.upper)] = len(segments) + 1
        return codes

    def _segments(self) -> list[tuple[tuple[float, int], str]]:
        # Atoms and intervals sorted by their lower end. The key's second entry is 0
        # for an atom and 1 for an interval.
        segments = [((atom, 0), f"= {atom:.4g}") for atom in self.atoms]
        for i in range(len(self.edges) - 1):
            closing = "]" if i == len(self.edges) - 2 else ")"
            segments.append(((self.edges[i], 1), f"[{self.edges[i]:.4g}, {self.edges[i + 1]:.4g}{closing}"))
        return sorted(segments, key=lambda segment: segment[0])


def numeric_bins(values: np.ndarray, bins: int) -> NumericBins | None:
    """Fix the bins of a numeric column from its real ``values``; None when all are missing."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return None
    distinct, counts = np.unique(present, return_counts=True)
    atoms = distinct[counts >= present.size / bins]
    rest = present[~np.isin(present, atoms)]

    interval_count = max(bins - atoms.size, 1)
    lower, upper = float(distinct[0]), float(distinct[-1])
    if rest.size:
        inner = np.quantile(rest, np.linspace(0.0, 1.0, interval_count + 1))[1:-1]
        edges = np.unique(np.concatenate([[lower], inner, [upper]]))
    else:
        edges = np.array([lower, upper])
    if edges.size == 1:
        edges = np.array([lower, upper])
    return NumericBins(lower, upper, tuple(float(atom) for atom in atoms), tuple(float(edge) for edge in edges))


def _code_numeric(name: str, real: pd.Series, synthetic: pd.Series, bins: int) -> CodedColumn:
    real_values = numeric_values(real, name, "real data")
    synthetic_values = numeric_values(synthetic, name, "synthetic data")
    fixed = numeric_bins(real_values, bins)
    labels = fixed.labels if fixed is not None else ["(any value)"]
    has_missing = bool(np.isnan(real_values).any() or np.isnan(synthetic_values).any())
    if has_missing:
        labels.append(MISSING_LABEL)

    missing_code = len(labels) - 1
    if fixed is None:
        real_codes = np.full(real_values.shape, missing_code, dtype=np.int64)
        synthetic_codes = np.where(np.isnan(synthetic_values), missing_code, 0).astype(np.int64)
        binning = "no real values"
    else:
        real_codes = fixed.codes(real_values, missing_code)
        synthetic_codes = fixed.codes(synthetic_values, missing_code)
        binning = (
            f"{len(fixed.atoms)} frequent value(s) and {len(fixed.edges) - 1} quantile bin(s) of "
            "the real data, plus below-minimum and above-maximum"
        )
    return CodedColumn(
        name=name,
        kind=NUMERIC,
        labels=tuple(labels),
        real_codes=real_codes,
        synthetic_codes=synthetic_codes,
        binning=binning,
        real_values=real_values,
        synthetic_values=synthetic_values,
    )


def pairs_of(names: Sequence[str]) -> list[tuple[int, int]]:
    """Return the index pairs ``(i, j)`` with ``i < j``."""
    return [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
