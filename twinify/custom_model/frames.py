"""The tables around a custom model: preprocessing, the model's columns, postprocessing.

``preprocess(df)`` turns the data as read into the table the model sees. Its
columns become the model's columns, described by a :class:`~twinify.schema.Schema`
that the fitted model saves:

* real, integer and boolean columns pass to the model as numbers (booleans as 0
  and 1), with NaN where a value is missing;
* categorical columns (pandas ``category`` dtype) pass as category codes, 0 to
  C - 1, and -1 where the value is missing, as in twinify 2.0.0. Their category
  lists come from the dtype, which preprocess sets from public knowledge;
* text columns become categorical with the sorted distinct values of the data as
  categories. That reads the domain from the data, so it is warned about and
  not covered by the privacy guarantee, as for undeclared domains elsewhere.

Generated rows are decoded back to these columns and dtypes, then passed to
``postprocess(df)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as pdtypes

from twinify.custom_model import ModelCodeError
from twinify.custom_model.code import ModelCode, describe_failure
from twinify.errors import DomainNotDeclaredWarning
from twinify.schema import ColumnSchema, Schema

#: Code of a missing value in a categorical column, as in twinify 2.0.0.
MISSING_CODE = -1

#: Category types that a saved model can store as JSON.
_CATEGORY_TYPES = (str, int, float, bool)


def run_preprocess(code: ModelCode, data: pd.DataFrame) -> pd.DataFrame:
    """Return ``preprocess(data)`` as a data frame, or a copy of ``data`` without preprocess.

    The exception message of a failing preprocess is left out of the error,
    because it may quote values of the sensitive data; ``--debug`` shows it.

    Raises:
        ModelCodeError: preprocess failed, returned something other than a
            DataFrame or Series, or returned no rows, no columns, or column
            names that are not unique strings.
    """
    if code.preprocess is None:
        frame = data.copy()
    else:
        try:
            result = code.preprocess(data.copy())
        except Exception as error:
            raise ModelCodeError(
                f"model file {code.name!r}: preprocess(df) failed on the data: "
                f"{describe_failure(error, code.path, with_message=False)}; rerun with --debug to see "
                "the message and traceback"
            ) from error
        frame = _as_frame(result, "preprocess", code)
    if frame.shape[0] == 0:
        raise ModelCodeError(f"model file {code.name!r}: preprocess(df) returned no rows")
    return frame


def run_postprocess(code: ModelCode, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``postprocess(frame)`` for generated rows, or ``frame`` without postprocess.

    Raises:
        ModelCodeError: postprocess failed, returned something other than a
            DataFrame or Series, changed the number of rows, or returned column
            names that are not unique strings.
    """
    if code.postprocess is None:
        return frame
    try:
        result = code.postprocess(frame.copy())
    except Exception as error:
        raise ModelCodeError(
            f"model file {code.name!r}: postprocess(df) failed on generated rows: "
            f"{describe_failure(error, code.path)}"
        ) from error
    output = _as_frame(result, "postprocess", code)
    if output.shape[0] != frame.shape[0]:
        raise ModelCodeError(
            f"model file {code.name!r}: postprocess(df) returned {output.shape[0]} rows for "
            f"{frame.shape[0]} generated rows; return one row per generated row"
        )
    return output.reset_index(drop=True)


def describe_columns(frame: pd.DataFrame, code: ModelCode, strict_domains: bool = False) -> Schema:
    """Return the schema of the preprocessed columns.

    Text columns get the sorted distinct values of the data as categories, marked
    as inferred.

    Raises:
        ModelCodeError: a column has a dtype the model cannot take, or in strict
            mode, a text column would read its categories from the data.
    """
    columns = [_column_schema(name, frame[name], code) for name in frame.columns]
    inferred = [column.name for column in columns if column.inferred]
    if inferred and strict_domains:
        raise ModelCodeError(
            f"strict mode: preprocess in {code.name!r} returns text in columns {', '.join(inferred)}, "
            "whose categories would be read from the data; return pandas.Categorical columns with "
            "public category lists"
        )
    if inferred:
        warnings.warn(
            f"the categories of columns {', '.join(inferred)} are read from the data and not covered by "
            f"the privacy guarantee; make preprocess in {code.name!r} return pandas.Categorical "
            "columns with public category lists",
            DomainNotDeclaredWarning,
            stacklevel=2,
        )
    return Schema(tuple(columns))


def encode_columns(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Return the preprocessed table as a float32 array of shape (rows, columns) for the model."""
    encoded = [_encode(frame[column.name], column) for column in schema.columns]
    return np.column_stack(encoded).astype(np.float32)


def decode_columns(encoded: np.ndarray, schema: Schema, source: str) -> pd.DataFrame:
    """Turn generated rows of shape (rows, columns) into a data frame of the model's columns.

    Args:
        encoded: Values as the model returns them.
        schema: From :func:`describe_columns`.
        source: The model file name, for errors.

    Raises:
        ModelCodeError: a categorical column got a code outside its categories.
    """
    encoded = np.asarray(encoded, dtype=np.float64)
    return pd.DataFrame(
        {column.name: _decode(encoded[:, index], column, source) for index, column in enumerate(schema.columns)}
    )


def blank_inferred(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Replace the data's categories in inferred columns by the labels "category 1", "category 2", ...

    Prior-predictive rows are shown to the user, who may share them; an inferred
    column's categories were read from the data, so they must not appear there.
    """
    frame = frame.copy()
    for column in schema.columns:
        if column.inferred:
            labels = {label: f"category {index + 1}" for index, label in enumerate(column.categories)}
            frame[column.name] = frame[column.name].map(labels)
    return frame


# --------------------------------------------------------------------------------------


def _as_frame(result: Any, function: str, code: ModelCode) -> pd.DataFrame:
    if isinstance(result, pd.Series):
        result = result.to_frame()
    if not isinstance(result, pd.DataFrame):
        raise ModelCodeError(
            f"model file {code.name!r}: {function}(df) returned {type(result).__name__}; return a "
            "pandas DataFrame (or Series)"
        )
    names = list(result.columns)
    if not names:
        raise ModelCodeError(f"model file {code.name!r}: {function}(df) returned no columns")
    if not all(isinstance(name, str) for name in names):
        raise ModelCodeError(
            f"model file {code.name!r}: {function}(df) returned a column named {_first_not_text(names)!r}; "
            "name every column with a string"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ModelCodeError(
            f"model file {code.name!r}: {function}(df) returned column {repeated[0]!r} twice; give "
            "each column its own name"
        )
    return result


def _first_not_text(names: Sequence[Any]) -> Any:
    return next(name for name in names if not isinstance(name, str))


def _column_schema(name: str, series: pd.Series, code: ModelCode) -> ColumnSchema:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = [_plain(label) for label in dtype.categories]
        if not all(isinstance(label, _CATEGORY_TYPES) for label in categories):
            raise ModelCodeError(
                f"model file {code.name!r}: the categories of column {name!r} after preprocess are not "
                "strings or numbers; use string or number labels"
            )
        return ColumnSchema(name=name, type="categorical", categories=categories, dtype="category")
    if pdtypes.is_bool_dtype(dtype):
        return ColumnSchema(name=name, type="boolean", dtype=str(dtype))
    if pdtypes.is_integer_dtype(dtype):
        return ColumnSchema(name=name, type="integer", dtype=str(dtype))
    if pdtypes.is_float_dtype(dtype):
        return ColumnSchema(name=name, type="real", dtype=str(dtype))
    if pdtypes.is_object_dtype(dtype) or pdtypes.is_string_dtype(dtype):
        values = series.dropna()
        if values.map(lambda value: isinstance(value, str)).all():
            categories = sorted(set(values)) or ["(no values)"]
            return ColumnSchema(name=name, type="categorical", categories=categories, dtype="object",
                                inferred=("categories",))
    raise ModelCodeError(
        f"model file {code.name!r}: column {name!r} after preprocess has dtype {dtype}; return numbers, "
        "booleans, text or pandas.Categorical columns"
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _encode(series: pd.Series, column: ColumnSchema) -> np.ndarray:
    if column.type == "categorical":
        codes = pd.Categorical(series, categories=list(column.categories)).codes
        return codes.astype(np.float64)
    if column.type == "boolean":
        return series.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(series).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def _decode(values: np.ndarray, column: ColumnSchema, source: str) -> pd.Series:
    missing = np.isnan(values)
    if column.type == "categorical":
        return _decode_categories(values, missing, column, source)
    if column.type == "boolean":
        flags = pd.array(values > 0.5, dtype="boolean")
        flags[missing] = pd.NA
        return pd.Series(flags).astype("boolean" if missing.any() else column.dtype)
    if column.type == "integer":
        rounded = pd.array(np.round(values), dtype="Float64")
        rounded[missing] = pd.NA
        dtype = column.dtype
        if missing.any() and not dtype[:1].isupper():
            dtype = "Int64"  # NumPy integers cannot hold missing values.
        return pd.Series(rounded).astype(dtype)
    return pd.Series(values).astype(column.dtype)


def _decode_categories(values: np.ndarray, missing: np.ndarray, column: ColumnSchema, source: str) -> pd.Series:
    codes = np.where(missing, MISSING_CODE, np.round(values)).astype(np.int64)
    count = len(column.categories)
    bad = codes[(codes < MISSING_CODE) | (codes >= count)]
    if bad.size:
        raise ModelCodeError(
            f"model file {source!r}: the model generated code {int(bad[0])} for column {column.name!r}, "
            f"which has {count} categories; generate codes 0 to {count - 1}, or -1 for a missing value"
        )
    categorical = pd.Categorical.from_codes(codes, categories=list(column.categories))
    if column.dtype == "category":
        return pd.Series(categorical)
    return pd.Series(np.asarray(categorical, dtype=object)).where(codes != MISSING_CODE, np.nan)
