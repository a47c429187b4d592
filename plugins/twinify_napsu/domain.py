"""Discrete domains: turning table columns into value codes 0..k-1 and back.

NAPSU-MQ models discrete data only. A column's values come from, in this order:

* ``bins`` in the schema: code i is the bin ``[edge_i, edge_i+1)`` (the last bin is
  closed). Decoding gives the bin's midpoint, rounded half up for integer columns.
* ``categories`` in the schema: code i is the i-th category.
* an integer column with ``lower`` and ``upper`` in the schema: every integer from
  lower to upper is a value.
* otherwise the distinct values in the data, as twinify 2.x read them. That is not
  private: the core warns, strict mode rejects it, and the privacy report lists the
  column as not covered. Integer-coded columns are treated as categorical this way,
  and a column with fractional numbers needs bins.

Missing values are not modelled. Rows with any are dropped when the user requests
it (``--drop_na``), and are an error otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs
import numpy as np
import pandas as pd

from twinify.errors import DataError, InputError
from twinify.features import report_undeclared_domains
from twinify.schema import ColumnSchema, Schema, conform_column

logger = logging.getLogger(__name__)

#: Maximum number of values of an integer column declared only by its bounds.
MAX_INTEGER_RANGE = 10_000


@attrs.frozen
class DiscreteColumn:
    """One modelled column and its discrete domain.

    Attributes:
        schema: The column's schema. ``schema.inferred`` lists what was read from
            the data.
        values: The decoded value of each code: a category, an integer, or a bin
            midpoint.
    """

    schema: ColumnSchema
    values: tuple

    @property
    def name(self) -> str:
        """Return the column name."""
        return self.schema.name

    @property
    def size(self) -> int:
        """Return the number of values."""
        return len(self.values)

    def decode(self, codes: np.ndarray) -> pd.Series:
        """Return the column for integer ``codes``, in the column's original dtype."""
        lookup = np.empty(len(self.values), dtype=object)
        lookup[:] = list(self.values)
        picked = lookup[np.asarray(codes, dtype=np.int64)]
        series = pd.Series(picked, name=self.name)
        return _restore_dtype(series, self.schema)


def _restore_dtype(series: pd.Series, column: ColumnSchema) -> pd.Series:
    dtype = column.dtype
    if dtype is None:
        return series.infer_objects()
    try:
        return series.astype(dtype)
    except (TypeError, ValueError):
        logger.debug(
            "column %r: could not restore dtype %s, keeping %s", column.name, dtype, series.dtype
        )
        return series.infer_objects()


@attrs.frozen
class EncodedData:
    """The modelled columns as codes.

    Attributes:
        columns: One entry per modelled column, in data order.
        codes: Integer array (rows, columns).
        schema: Schema of the modelled columns.
    """

    columns: tuple[DiscreteColumn, ...]
    codes: np.ndarray
    schema: Schema


def resolve_domains(
    data: pd.DataFrame, names: Sequence[str], schema: Schema | None, strict_domains: bool
) -> tuple[DiscreteColumn, ...]:
    """Decide each column's discrete domain, before any privacy budget is spent.

    Raises:
        InputError: a real-valued column without bins, a declaration NAPSU-MQ
            cannot use, or an undeclared domain in strict mode.
    """
    columns = []
    for name in names:
        declared = schema.get(name) if schema is not None else None
        columns.append(_column_domain(data[name], name, declared))
    report_undeclared_domains(Schema(tuple(column.schema for column in columns)), strict_domains)
    return tuple(columns)


def encode_columns(
    data: pd.DataFrame, columns: Sequence[DiscreteColumn], drop_na: bool
) -> EncodedData:
    """Map every modelled column to codes, and drop or reject rows with missing values.

    Raises:
        DataError: values are missing and ``drop_na`` is not set, or no rows remain.
    """
    encoded = np.column_stack([_encode(data[column.name], column) for column in columns])
    missing = encoded < 0
    if missing.any():
        with_missing = [column.name for column, flags in zip(columns, missing.T) if flags.any()]
        num_rows = int(missing.any(axis=1).sum())
        if not drop_na:
            raise DataError(
                f"{num_rows} rows have missing or out-of-domain values in columns "
                f"{', '.join(repr(name) for name in with_missing)}; NAPSU-MQ does not model missing "
                "values: drop those rows with --drop_na or fill them in"
            )
        logger.info("dropped %d rows with missing or out-of-domain values", num_rows)
        encoded = encoded[~missing.any(axis=1)]
    if encoded.shape[0] == 0:
        raise DataError("no rows remain after dropping rows with missing values")
    schema = Schema(tuple(column.schema for column in columns))
    return EncodedData(columns=tuple(columns), codes=encoded.astype(np.int64), schema=schema)


# --------------------------------------------------------------------------------------


def _column_domain(series: pd.Series, name: str, declared: ColumnSchema | None) -> DiscreteColumn:
    dtype = str(series.dtype)
    if declared is not None:
        declared = declared if declared.dtype is not None else attrs.evolve(declared, dtype=dtype)
        values = _declared_values(declared)
        if values is not None:
            return DiscreteColumn(schema=declared, values=values)
    inferred = _inferred_schema(series, name, declared, dtype)
    return DiscreteColumn(schema=inferred, values=tuple(inferred.categories))


def _declared_values(column: ColumnSchema) -> tuple | None:
    """Return the values the schema declares, or None when they must come from the data."""
    where = f"column {column.name!r}"
    if column.bins is not None:
        if not column.is_numeric:
            raise InputError(
                f"{where}: bins apply to integer and real columns; declare categories instead"
            )
        edges = np.asarray(column.bins, dtype=float)
        midpoints = (edges[:-1] + edges[1:]) / 2
        if column.type == "integer":
            return tuple(int(np.floor(value + 0.5)) for value in midpoints)
        return tuple(float(value) for value in midpoints)
    if column.categories is not None:
        return tuple(column.categories)
    if column.type == "integer" and column.has_bounds:
        span = int(column.upper) - int(column.lower) + 1
        if span > MAX_INTEGER_RANGE:
            raise InputError(
                f"{where}: the bounds span {span} integers, more than NAPSU-MQ models as separate "
                f"values ({MAX_INTEGER_RANGE}); declare bins = [edge, edge, ...] in the schema"
            )
        return tuple(range(int(np.ceil(column.lower)), int(np.floor(column.upper)) + 1))
    if column.type == "real":
        raise InputError(_bins_message(column.name))
    return None


def _bins_message(name: str) -> str:
    return (
        f"column {name!r} contains real numbers, but NAPSU-MQ models discrete data only; declare "
        f'bins in the schema, for example [columns.{name}] type = "real", '
        "bins = [0, 10, 20, 50]; synthetic values are the bin midpoints"
    )


def _inferred_schema(
    series: pd.Series, name: str, declared: ColumnSchema | None, dtype: str
) -> ColumnSchema:
    present = series.dropna()
    if present.empty:
        raise DataError(
            f"column {name!r} has no values, only missing ones; leave it out of the queries"
        )
    if pd.api.types.is_bool_dtype(series.dtype):
        column_type, categories = "boolean", tuple(sorted({bool(v) for v in present}))
    elif pd.api.types.is_numeric_dtype(series.dtype):
        numbers = present.to_numpy(dtype=float)
        if not np.all(np.mod(numbers, 1) == 0):
            raise InputError(_bins_message(name))
        column_type, categories = "integer", tuple(int(v) for v in np.unique(numbers))
    else:
        column_type = "categorical"
        categories = tuple(
            sorted({_plain(value) for value in present}, key=lambda v: (str(type(v)), str(v)))
        )
    if declared is not None:
        column_type = declared.type
    return ColumnSchema(
        name=name,
        type=column_type,
        categories=categories,
        missing=False,
        dtype=declared.dtype if declared is not None and declared.dtype else dtype,
        inferred=("categories",),
    )


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _encode(series: pd.Series, column: DiscreteColumn) -> np.ndarray:
    """Return codes for one column, -1 where the value is missing or outside the domain."""
    schema = column.schema
    if schema.bins is not None:
        return _encode_bins(series, schema)
    conformed = conform_column(series, schema) if schema.inferred == () else series
    lookup: dict[object, int] = {}
    for code, value in enumerate(column.values):
        lookup[value] = code
        lookup[str(value)] = code

    def code_of(value: object) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, np.generic):
            value = value.item()
        return lookup.get(value, lookup.get(str(value), -1))

    mapped = conformed.map(code_of, na_action="ignore")
    codes = pd.to_numeric(mapped, errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    outside = int(((codes < 0) & series.notna().to_numpy()).sum())
    if outside and schema.out_of_domain_rule == "error":
        raise DataError(
            f"column {schema.name!r}: {outside} values are outside the declared domain of "
            f"{column.size} values; fix the data or set out_of_domain = 'missing' in the schema"
        )
    return codes


def _encode_bins(series: pd.Series, schema: ColumnSchema) -> np.ndarray:
    numbers = pd.to_numeric(conform_column(series, schema), errors="coerce").to_numpy(dtype=float)
    edges = np.asarray(schema.bins, dtype=float)
    below, above = numbers < edges[0], numbers > edges[-1]
    outside = int((below | above).sum())
    rule = schema.out_of_domain_rule
    if outside and rule == "error":
        raise DataError(
            f"column {schema.name!r}: {outside} values lie outside the bins [{edges[0]:g}, {edges[-1]:g}]; "
            "fix the data or set out_of_domain = 'clip' or 'missing' in the schema"
        )
    if rule == "clip":
        numbers = np.clip(numbers, edges[0], edges[-1])
    # Bin i is [edge_i, edge_i+1), and the last bin also takes its upper edge.
    codes = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, len(edges) - 2)
    invalid = np.isnan(numbers) | (numbers < edges[0]) | (numbers > edges[-1])
    return np.where(invalid, -1, codes).astype(np.int64)


def column_from_schema(column: ColumnSchema) -> DiscreteColumn:
    """Rebuild a modelled column from its saved schema.

    Raises:
        ModelFileError: the schema does not determine the column's values.
    """
    from twinify.errors import ModelFileError

    try:
        values = _declared_values(column)
    except InputError as error:
        raise ModelFileError(f"the model file's schema is invalid: {error}") from None
    if values is None:
        raise ModelFileError(
            f"the model file's schema does not list the values of column {column.name!r}; fit the model again"
        )
    return DiscreteColumn(schema=column, values=values)
