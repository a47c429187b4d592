"""Marginal queries: reading query files and checking them against the data's columns.

Query file format (as in twinify 2.x)::

    # one marginal query per line: column names separated by commas
    age, sex
    educ, race      # a trailing comment
    married

Spaces around names are ignored, a ``#`` starts a comment, and empty lines are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from twinify.errors import InputError

logger = logging.getLogger(__name__)


@attrs.frozen
class MarginalQuery:
    """One marginal query: the joint counts of its columns.

    Attributes:
        columns: Column names.
        source: Where the query came from, for messages (``"queries.txt line 3"``).
    """

    columns: tuple[str, ...]
    source: str


def read_query_file(path: str | Path) -> list[MarginalQuery]:
    """Read and parse a query file.

    Raises:
        InputError: the file is missing, unreadable, empty or malformed.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"query file {str(path)!r} is a folder; give a query file or 'auto'")
    if not path.is_file():
        raise InputError(f"query file {str(path)!r} not found; give a query file or 'auto'")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read query file {str(path)!r}: {error}") from None
    queries = parse_queries(text, path.name)
    if not queries:
        raise InputError(
            f"query file {str(path)!r} has no queries; write one per line, e.g. 'age, sex'"
        )
    return queries


def parse_queries(text: str, source: str) -> list[MarginalQuery]:
    """Parse query-file text. ``source`` names the file in messages."""
    queries = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        names = tuple(name.strip() for name in content.split(","))
        where = f"{source} line {number}"
        if any(not name for name in names):
            raise InputError(
                f"{where}: empty column name in {content!r}; separate names with single commas"
            )
        if len(set(names)) != len(names):
            raise InputError(
                f"{where}: a column appears twice in {content!r}; name each column once"
            )
        queries.append(MarginalQuery(columns=names, source=where))
    return queries


def queries_from_api(model: Iterable[Sequence[str]]) -> list[MarginalQuery]:
    """Turn queries given through the API (sequences of column names) into queries.

    Raises:
        InputError: a query is not a non-empty sequence of distinct names.
    """
    queries = []
    for index, columns in enumerate(model, start=1):
        if isinstance(columns, str) or not isinstance(columns, Sequence) or len(columns) == 0:
            raise InputError(
                f"query {index} is {columns!r}; give each query as a list of column names, "
                "for example [('age', 'sex'), ('educ',)]"
            )
        names = tuple(str(name) for name in columns)
        if len(set(names)) != len(names):
            raise InputError(f"query {index} names a column twice: {names}")
        queries.append(MarginalQuery(columns=names, source=f"query {index}"))
    if not queries:
        raise InputError("the query list is empty; give at least one query or 'auto'")
    return queries


def check_columns(queries: Sequence[MarginalQuery], columns: Sequence[str]) -> None:
    """Check that every query names columns of the data.

    Raises:
        InputError: naming the first unknown column, where it appears, and the
            available columns.
    """
    available = set(columns)
    for query in queries:
        for name in query.columns:
            if name not in available:
                shown = ", ".join(map(str, list(columns)[:20]))
                more = f" and {len(columns) - 20} more" if len(columns) > 20 else ""
                raise InputError(
                    f"{query.source}: column {name!r} is not in the data; the data have columns {shown}{more}"
                )


def query_indices(queries: Sequence[MarginalQuery], names: Sequence[str]) -> list[tuple[int, ...]]:
    """Return each query as sorted indices into ``names``, without duplicate queries."""
    position = {name: index for index, name in enumerate(names)}
    unique: list[tuple[int, ...]] = []
    for query in queries:
        indices = tuple(sorted(position[name] for name in query.columns))
        if indices in unique:
            logger.info("%s repeats an earlier query; it is measured once", query.source)
            continue
        unique.append(indices)
    return unique


def modelled_columns(queries: Sequence[MarginalQuery], columns: Sequence[str]) -> list[str]:
    """Return the columns named by some query, in data order."""
    named = {name for query in queries for name in query.columns}
    return [name for name in columns if name in named]
