"""Helpers shared by the built-in distributions: reading columns and restoring dtypes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from twinify.errors import DataError, InputError
from twinify.schema import ColumnSchema

#: Nullable pandas dtypes to fall back to when generated values include missing
#: ones but the column's recorded dtype cannot hold them (``int64``, ``bool``).
_NULLABLE = {"i": "Int64", "u": "Int64", "b": "boolean"}


def dtype_name(series: pd.Series) -> str:
    """Return the dtype of ``series`` as a string that pandas accepts back."""
    return str(series.dtype)


def is_boolean(series: pd.Series) -> bool:
    """Return whether ``series`` has a bool or nullable boolean dtype."""
    return pd.api.types.is_bool_dtype(series.dtype)


def numbers_of(series: pd.Series, name: str, distribution: str) -> np.ndarray:
    """Return the non-missing values of ``series`` as float64.

    Raises:
        DataError: the column contains booleans or values that are not numbers. The
            message gives a count, never a value.
    """
    present = series.dropna()
    if is_boolean(series):
        raise DataError(
            f"column {name!r} contains booleans, which the {distribution} distribution cannot "
            "model; use Bernoulli for it in the model file"
        )
    numbers = pd.to_numeric(present, errors="coerce")
    num_text = int(numbers.isna().sum())
    if num_text:
        raise DataError(
            f"column {name!r} contains {num_text} values that are not numbers, which the "
            f"{distribution} distribution cannot model; use Categorical for text columns or "
            "fix the data"
        )
    values = numbers.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise DataError(f"column {name!r} contains infinite numbers; remove them from the data")
    return values


def observed_labels(series: pd.Series) -> tuple[Any, ...]:
    """Return the distinct non-missing values of ``series`` in a stable order.

    Numbers sort numerically, anything else by its text.
    """
    labels = {_plain(value) for value in series.dropna()}
    if all(isinstance(label, int | float) and not isinstance(label, bool) for label in labels):
        return tuple(sorted(labels))
    return tuple(sorted(labels, key=str))


def infer_label_schema(series: pd.Series, name: str) -> ColumnSchema:
    """Read the category set and missing values of a label or boolean column from the data."""
    missing = bool(series.isna().any())
    if is_boolean(series):
        return ColumnSchema(name=name, type="boolean", categories=(False, True), missing=missing,
                            dtype=dtype_name(series), inferred=("missing",))
    return ColumnSchema(name=name, type="categorical", categories=observed_labels(series),
                        missing=missing, dtype=dtype_name(series), inferred=("categories", "missing"))


def _plain(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def require_categories(column: ColumnSchema, distribution: str, example: str) -> Sequence[Any]:
    """Return the column's categories.

    Raises:
        InputError: the schema declares none.
    """
    if not column.categories:
        raise InputError(
            f"column {column.name!r}: the {distribution} distribution needs the list of "
            f"categories; declare it, for example {example}"
        )
    return column.categories


def encode_labels(series: pd.Series, column: ColumnSchema) -> np.ndarray:
    """Map declared categories to their positions 0..C-1 and missing values to NaN.

    ``series`` contains declared categories only, as the schema's out-of-domain
    rule leaves them.
    """
    codes = {category: float(index) for index, category in enumerate(column.categories)}
    mapped = series.map(lambda value: codes.get(_plain(value), np.nan), na_action="ignore")
    return mapped.to_numpy(dtype=np.float64, na_value=np.nan)


def decode_labels(encoded: np.ndarray, column: ColumnSchema) -> pd.Series:
    """Map codes back to the declared categories, restoring the column's dtype."""
    categories = list(column.categories)
    codes = np.asarray(encoded, dtype=np.float64)
    missing = np.isnan(codes)
    positions = np.clip(np.nan_to_num(codes, nan=0.0).round().astype(np.int64), 0, len(categories) - 1)
    labels = np.empty(len(codes), dtype=object)
    for position, category in enumerate(categories):
        labels[positions == position] = category
    labels[missing] = None
    return restore_dtype(pd.Series(labels, dtype=object), column.dtype, bool(missing.any()), column)


def decode_numbers(values: np.ndarray, column: ColumnSchema, integral: bool) -> pd.Series:
    """Return generated numbers as a series of the column's dtype.

    Integer columns come back as ``int64`` without missing values and as the
    nullable ``Int64`` with them, unless the schema records another dtype.
    """
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    if integral:
        values = np.round(values)
    if not integral:
        default = "float64"
    elif missing.any():
        default = "Int64"
    else:
        default = "int64"
    dtype = column.dtype or default
    return restore_dtype(pd.Series(values, dtype=np.float64), dtype, bool(missing.any()), column)


def restore_dtype(series: pd.Series, dtype: str | None, has_missing: bool, column: ColumnSchema) -> pd.Series:
    """Convert ``series`` to ``dtype``, choosing a nullable dtype when values are missing.

    Falls back to the plain values when pandas cannot convert them.
    """
    if dtype is None:
        return series
    if dtype == "category":
        return series.astype(pd.CategoricalDtype(list(column.categories)))
    target: Any = dtype
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        kind = None
    if has_missing and kind in _NULLABLE:
        target = _NULLABLE[kind]
    try:
        return series.astype(target)
    except (TypeError, ValueError):
        return series
