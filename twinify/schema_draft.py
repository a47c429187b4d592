"""Drafting a schema from a data file, for the user to review (not private)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twinify.schema import ColumnSchema, Schema


def draft_schema(data: pd.DataFrame) -> Schema:
    """Return a schema read from ``data``, every domain part marked as inferred.

    Strings become categorical columns with the observed labels, booleans boolean
    columns, and numbers integer or real columns with the observed minimum and
    maximum as bounds.
    """
    return Schema(tuple(draft_column(data[name], str(name)) for name in data.columns))


def draft_column(series: pd.Series, name: str) -> ColumnSchema:
    """Return the schema read from one column."""
    present = series.dropna()
    missing = bool(series.isna().any())
    dtype = str(series.dtype)
    if pd.api.types.is_bool_dtype(series.dtype) or _is_boolean_like(present):
        return ColumnSchema(name=name, type="boolean", categories=(False, True), missing=missing,
                            dtype=dtype, inferred=("missing",))
    if pd.api.types.is_numeric_dtype(series.dtype):
        integral = bool(np.all(np.mod(present.to_numpy(dtype=float), 1) == 0))
        return ColumnSchema(
            name=name,
            type="integer" if integral else "real",
            lower=_number(present.min()),
            upper=_number(present.max()),
            missing=missing,
            dtype=dtype,
            inferred=("lower", "upper", "missing"),
        )
    categories = tuple(sorted({_plain(value) for value in present}, key=str))
    return ColumnSchema(name=name, type="categorical", categories=categories, missing=missing,
                        dtype=dtype, inferred=("categories", "missing"))


def _is_boolean_like(present: pd.Series) -> bool:
    return len(present) > 0 and present.map(lambda value: isinstance(value, bool | np.bool_)).all()


def _number(value: object) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
