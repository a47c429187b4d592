"""Public schema: what is known about each column without looking at the data.

A schema declares, per column, the type, the category set, bounds for numbers, bins
for backends that need discrete data, whether values may be missing, and what to do
with a value outside the declared domain. It is written by the user (a TOML or JSON
file, or :class:`Schema` objects through the API) or inline in a model file.

When a part of a column's domain is not declared, twinify reads it from the data as
twinify 2.x did, records that in :attr:`ColumnSchema.inferred`, warns, and the
privacy report lists the column as not covered by the guarantee.

Schema file example (TOML)::

    [columns.age]
    type = "integer"
    lower = 17
    upper = 90

    [columns.sex]
    type = "categorical"
    categories = ["Female", "Male"]
    missing = false
"""

from __future__ import annotations

import json
import logging
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from twinify.errors import DataError, InputError

logger = logging.getLogger(__name__)

COLUMN_TYPES: tuple[str, ...] = ("categorical", "boolean", "integer", "real")
OUT_OF_DOMAIN_RULES: tuple[str, ...] = ("clip", "missing", "error")
SCHEMA_KEYS: tuple[str, ...] = (
    "type", "categories", "lower", "upper", "bins", "missing", "out_of_domain", "dtype",
)


def _tuple_or_none(value: Iterable[Any] | None) -> tuple[Any, ...] | None:
    return None if value is None else tuple(value)


@attrs.frozen(kw_only=True)
class ColumnSchema:
    """Public facts about one column.

    Attributes:
        name: Column name as in the data file.
        type: ``"categorical"``, ``"boolean"``, ``"integer"`` or ``"real"``.
        categories: Allowed labels of a categorical or boolean column, in order.
        lower: Smallest allowed value of a numeric column.
        upper: Largest allowed value of a numeric column.
        bins: Increasing bin edges for backends that need discrete data; values are
            assigned to ``[edge_i, edge_i+1)``, the last bin closed.
        missing: Whether values may be missing; None when not yet known.
        out_of_domain: ``"clip"`` (numbers only), ``"missing"`` or ``"error"``: what
            to do with a value outside the declared domain. The default is
            ``"clip"`` for numbers and ``"missing"`` for labels.
        dtype: pandas dtype to restore on output, such as ``"Int64"``.
        inferred: Parts of the domain that were read from the data rather than
            declared, for example ``("lower", "upper")``.
    """

    name: str
    type: str = attrs.field(validator=attrs.validators.in_(COLUMN_TYPES))
    categories: tuple[Any, ...] | None = attrs.field(default=None, converter=_tuple_or_none)
    lower: float | None = None
    upper: float | None = None
    bins: tuple[float, ...] | None = attrs.field(default=None, converter=_tuple_or_none)
    missing: bool | None = None
    out_of_domain: str | None = None
    dtype: str | None = None
    inferred: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        _check_column(self)

    @property
    def is_numeric(self) -> bool:
        """Return whether the column holds numbers (integer or real)."""
        return self.type in ("integer", "real")

    @property
    def has_bounds(self) -> bool:
        """Return whether both bounds are known."""
        return self.lower is not None and self.upper is not None

    @property
    def out_of_domain_rule(self) -> str:
        """Return the effective out-of-domain rule, with the type's default."""
        if self.out_of_domain is not None:
            return self.out_of_domain
        return "clip" if self.is_numeric else "missing"

    @property
    def covered(self) -> bool:
        """Return whether nothing about the domain was read from the data."""
        return not self.inferred

    def merge(self, other: ColumnSchema) -> ColumnSchema:
        """Return this schema with the parts it lacks taken from ``other``.

        Fields this schema declares win; ``inferred`` lists the parts taken from
        ``other`` that ``other`` itself had inferred.
        """
        updates: dict[str, Any] = {}
        inferred = set(self.inferred)
        for key in ("categories", "lower", "upper", "bins", "missing", "dtype"):
            if getattr(self, key) is None and getattr(other, key) is not None:
                updates[key] = getattr(other, key)
                if key in other.inferred:
                    inferred.add(key)
        return attrs.evolve(self, **updates, inferred=tuple(sorted(inferred)))

    def to_dict(self) -> dict[str, Any]:
        """Return the declared fields as JSON-compatible data (no name)."""
        data: dict[str, Any] = {"type": self.type}
        for key in ("categories", "lower", "upper", "bins", "missing", "out_of_domain", "dtype"):
            value = getattr(self, key)
            if value is not None:
                data[key] = _plain(list(value) if isinstance(value, tuple) else value)
        if self.inferred:
            data["inferred"] = list(self.inferred)
        return data

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any], source: str = "schema") -> ColumnSchema:
        """Build a column schema from a mapping, as found in a schema file.

        Raises:
            InputError: an unknown key or an invalid value, naming ``source``.
        """
        unknown = sorted(set(data) - set(SCHEMA_KEYS) - {"inferred"})
        if unknown:
            raise InputError(
                f"{source}: unknown key {unknown[0]!r} for column {name!r}; "
                f"use {', '.join(SCHEMA_KEYS)}"
            )
        if "type" not in data:
            raise InputError(
                f"{source}: column {name!r} has no type; add type = one of {', '.join(COLUMN_TYPES)}"
            )
        try:
            return cls(name=name, **dict(data))
        except (TypeError, ValueError) as error:
            raise InputError(f"{source}: invalid entry for column {name!r}: {error}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_column(column: ColumnSchema) -> None:
    where = f"column {column.name!r}"
    if column.out_of_domain is not None and column.out_of_domain not in OUT_OF_DOMAIN_RULES:
        raise InputError(
            f"{where}: invalid out_of_domain {column.out_of_domain!r}; use clip, missing or error"
        )
    if column.out_of_domain == "clip" and not column.is_numeric:
        raise InputError(f"{where}: out_of_domain = 'clip' applies to numbers only; use missing or error")
    for key in ("lower", "upper"):
        value = getattr(column, key)
        if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
            raise InputError(f"{where}: {key} must be a finite number")
    if column.has_bounds and column.lower >= column.upper:
        raise InputError(f"{where}: lower ({column.lower}) must be smaller than upper ({column.upper})")
    if column.categories is not None:
        if len(column.categories) == 0:
            raise InputError(f"{where}: the category list is empty")
        if len(set(column.categories)) != len(column.categories):
            raise InputError(f"{where}: the category list repeats a label")
    if column.bins is not None:
        edges = np.asarray(column.bins, dtype=float)
        if len(edges) < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise InputError(f"{where}: bins must be at least two increasing, finite edges")


@attrs.frozen
class Schema:
    """The public schema of a table: one :class:`ColumnSchema` per column."""

    columns: tuple[ColumnSchema, ...] = attrs.field(converter=tuple)

    def __attrs_post_init__(self) -> None:
        names = [column.name for column in self.columns]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise InputError(f"the schema declares column {repeated[0]!r} twice")

    def __contains__(self, name: object) -> bool:
        return any(column.name == name for column in self.columns)

    def __getitem__(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def get(self, name: str) -> ColumnSchema | None:
        """Return the column called ``name``, or None."""
        return self[name] if name in self else None

    @property
    def names(self) -> list[str]:
        """Return the column names in order."""
        return [column.name for column in self.columns]

    @property
    def not_covered(self) -> list[str]:
        """Return ``"column (parts)"`` for every column with an inferred domain part."""
        return [f"{c.name} ({', '.join(c.inferred)})" for c in self.columns if c.inferred]

    def to_dict(self) -> dict[str, Any]:
        """Return the schema as JSON-compatible data."""
        return {"columns": {column.name: column.to_dict() for column in self.columns}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "schema") -> Schema:
        """Build a schema from ``{"columns": {name: {...}}}``."""
        columns = data.get("columns")
        if not isinstance(columns, Mapping) or not columns:
            raise InputError(f"{source}: expected a 'columns' table with one entry per column")
        return cls(tuple(ColumnSchema.from_dict(str(name), spec, source) for name, spec in columns.items()))


# --------------------------------------------------------------------------------------
# Schema files


def read_schema(path: str | Path) -> Schema:
    """Read a schema from a ``.toml`` or ``.json`` file.

    Raises:
        InputError: the file is missing, unreadable or invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"schema file {str(path)!r} not found; check the path")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"cannot read schema file {str(path)!r}: {error}") from None
    return Schema.from_dict(data, source=f"schema file {path.name}")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise InputError(f"cannot write {type(value).__name__} values to a schema file")


def format_schema_toml(schema: Schema, header: Sequence[str] = ()) -> str:
    """Return ``schema`` as TOML text, with ``header`` lines as comments on top."""
    lines = [f"# {line}" if line else "#" for line in header]
    for column in schema.columns:
        lines.append("")
        lines.append(f"[columns.{json.dumps(column.name, ensure_ascii=False)}]")
        data = column.to_dict()
        inferred = data.pop("inferred", None)
        if inferred:
            lines.append(f"# read from the data, review before use: {', '.join(inferred)}")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in data.items())
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Applying a schema to data


def conform_column(series: pd.Series, column: ColumnSchema) -> pd.Series:
    """Apply the declared domain to one column of data.

    Values outside the domain are clipped, set missing or rejected, as
    ``column.out_of_domain_rule`` says. Messages give counts, never values.

    Raises:
        DataError: the rule is ``"error"`` and some value lies outside the domain.
    """
    if column.is_numeric:
        return _conform_numeric(series, column)
    if column.categories is not None:
        return _conform_labels(series, column)
    return series


def _conform_numeric(series: pd.Series, column: ColumnSchema) -> pd.Series:
    numbers = pd.to_numeric(series, errors="coerce").astype("float64")
    not_numbers = int((numbers.isna() & series.notna()).sum())
    outside = pd.Series(False, index=series.index)
    if column.lower is not None:
        outside |= numbers < column.lower
    if column.upper is not None:
        outside |= numbers > column.upper
    num_outside = int(outside.sum())
    rule = column.out_of_domain_rule

    if rule == "error" and (not_numbers or num_outside):
        raise DataError(
            f"column {column.name!r}: {not_numbers + num_outside} values lie outside the declared "
            f"domain of type {column.type} with bounds [{column.lower}, {column.upper}]; fix the data "
            "or set out_of_domain = 'clip' or 'missing' in the schema"
        )
    if rule == "clip":
        numbers = numbers.clip(lower=column.lower, upper=column.upper)
    elif rule == "missing":
        numbers = numbers.mask(outside)
    if column.type == "integer":
        numbers = numbers.round()
    if not_numbers or num_outside:
        action = {"clip": "clipped to the bounds", "missing": "set missing"}[rule]
        logger.info(
            "column %r: %d non-numeric values set missing, %d values outside the bounds %s",
            column.name, not_numbers, num_outside, action,
        )
    return numbers


def _conform_labels(series: pd.Series, column: ColumnSchema) -> pd.Series:
    allowed = _label_lookup(column.categories)
    keys = series.map(lambda value: _label_key(value, allowed), na_action="ignore")
    outside = keys.isna() & series.notna()
    count = int(outside.sum())
    if count and column.out_of_domain_rule == "error":
        raise DataError(
            f"column {column.name!r}: {count} values are not among the {len(column.categories)} "
            "declared categories; fix the data or set out_of_domain = 'missing' in the schema"
        )
    if count:
        logger.info("column %r: %d values outside the declared categories set missing", column.name, count)
    return keys.astype("object")


def _label_lookup(categories: Sequence[Any]) -> dict[Any, Any]:
    """Map each accepted spelling of a category to the declared category."""
    lookup: dict[Any, Any] = {}
    for category in categories:
        lookup[category] = category
        lookup[str(category)] = category
    return lookup


def _label_key(value: Any, lookup: Mapping[Any, Any]) -> Any:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, np.generic):
        value = value.item()
    if value in lookup:
        return lookup[value]
    return lookup.get(str(value), np.nan)
