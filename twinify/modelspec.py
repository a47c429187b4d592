"""The automatic-modelling model file: one ``column: Distribution`` per line.

This is twinify 2.x's format, extended with optional public metadata written as
keyword arguments after the distribution name::

    # Adult census extract
    age: Normal(lower=17, upper=90)
    workclass: Categorical(categories=["Private", "Self-emp", "Government"])
    hours-per-week: Poisson
    income: Bernoulli

Rules:

* Everything after ``#`` is a comment; blank lines are ignored.
* The column name is everything before the first ``:``, with surrounding spaces
  removed, so names may contain spaces but not ``:``.
* Distribution names are matched without regard to case.
* Metadata values are Python literals (numbers, strings, lists, ``True``,
  ``False``, ``None``), read with :func:`ast.literal_eval`, so the file never runs
  code. The keys are those of a schema entry: ``type``, ``categories``, ``lower``,
  ``upper``, ``bins``, ``missing``, ``out_of_domain`` and ``dtype``.

A file without metadata stays valid: the missing domains are then read from the
data, with a warning.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from twinify.errors import InputError
from twinify.schema import SCHEMA_KEYS


@attrs.frozen(kw_only=True)
class FeatureSpec:
    """One line of a model file.

    Attributes:
        column: Column name in the data.
        distribution: Distribution name as written (lookups ignore case).
        metadata: Public schema fields given inline.
        line: Line number in the file, for messages.
    """

    column: str
    distribution: str
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    line: int = 0


def read_model_file(path: str | Path) -> list[FeatureSpec]:
    """Read and parse a model file.

    Raises:
        InputError: the file is missing, unreadable or has a syntax error.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"model file {str(path)!r} is a folder; give a model file")
    if not path.is_file():
        raise InputError(f"model file {str(path)!r} not found; check the path")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read model file {str(path)!r}: {error}") from None
    return parse_model_text(text, source=path.name)


def parse_model_text(text: str, source: str = "model file") -> list[FeatureSpec]:
    """Parse model-file text into feature specs, in file order.

    Raises:
        InputError: a line is malformed or a column is listed twice.
    """
    specs: list[FeatureSpec] = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw_line).strip()
        if not line:
            continue
        specs.append(_parse_line(line, number, source))
    if not specs:
        raise InputError(f"{source} lists no columns; write one 'column: Distribution' per line")
    seen: dict[str, int] = {}
    for spec in specs:
        if spec.column in seen:
            raise InputError(
                f"{source} line {spec.line}: column {spec.column!r} is already listed on line "
                f"{seen[spec.column]}; list each column once"
            )
        seen[spec.column] = spec.line
    return specs


def _strip_comment(line: str) -> str:
    """Remove a ``#`` comment, keeping ``#`` characters inside quoted strings."""
    quote: str | None = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index]
    return line


def _parse_line(line: str, number: int, source: str) -> FeatureSpec:
    where = f"{source} line {number}"
    column, colon, distribution_text = line.partition(":")
    column = column.strip()
    distribution_text = distribution_text.strip()
    if not colon or not column or not distribution_text:
        raise InputError(f"{where}: expected 'column: Distribution', for example 'age: Normal'")

    try:
        expression = ast.parse(distribution_text, mode="eval").body
    except SyntaxError:
        raise InputError(
            f"{where}: cannot parse {distribution_text!r}; write a distribution name, optionally "
            "with metadata such as Normal(lower=0, upper=100)"
        ) from None

    if isinstance(expression, ast.Name):
        return FeatureSpec(column=column, distribution=expression.id, line=number)
    if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Name):
        if expression.args:
            raise InputError(f"{where}: give metadata as keyword arguments, for example lower=0")
        metadata = {keyword.arg: _literal(keyword, where) for keyword in expression.keywords}
        unknown = sorted(key for key in metadata if key not in SCHEMA_KEYS)
        if unknown:
            raise InputError(f"{where}: unknown metadata key {unknown[0]!r}; use {', '.join(SCHEMA_KEYS)}")
        return FeatureSpec(column=column, distribution=expression.func.id, metadata=metadata, line=number)
    raise InputError(f"{where}: expected a distribution name such as Normal, not {distribution_text!r}")


def _literal(keyword: ast.keyword, where: str) -> Any:
    if keyword.arg is None:
        raise InputError(f"{where}: '**' is not allowed in metadata")
    try:
        return ast.literal_eval(keyword.value)
    except ValueError:
        raise InputError(
            f"{where}: the value of {keyword.arg} must be a literal (number, string, list, True, "
            "False or None)"
        ) from None
