"""``twinify schema``: write a draft schema from a data file for the user to review."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from twinify.errors import InputError
from twinify.schema_draft import draft_schema
from twinify.persistence import write_atomically
from twinify.plugin.registry import Registry
from twinify.schema import format_schema_toml
from twinify.tableio import check_folder, read_table

logger = logging.getLogger("twinify")

HEADER = (
    "twinify schema: public facts about each column.",
    "Drafted from the data by 'twinify schema'. Everything below was read from the",
    "sensitive data: replace it with public knowledge (code books, legal ranges) before",
    "using this file, or the privacy guarantee will not cover these domains.",
)


def add_schema_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``schema`` subcommand."""
    parser = subparsers.add_parser(
        "schema",
        help="write a draft schema file from a data file, to review and edit",
        description="Write a TOML schema that declares each column's type, categories and bounds, "
        "as read from the data. Review it and replace data-derived values with public knowledge.",
    )
    parser.add_argument("data", metavar="DATA", help="the table (.csv or .parquet)")
    parser.add_argument("-o", "--output", required=True, help="schema file to write (.toml)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(handler=run_schema)


def run_schema(args: argparse.Namespace, registry: Registry) -> int:
    """Infer the schema of ``args.data`` and write it as TOML."""
    output = Path(args.output)
    if output.suffix.lower() != ".toml":
        raise InputError(f"invalid schema file name {args.output!r}: use a .toml suffix")
    if output.exists() and not args.force:
        raise InputError(f"{args.output!r} exists; choose another name or pass --force")
    check_folder(output)
    data = read_table(args.data, registry)
    schema = draft_schema(data)
    text = format_schema_toml(schema, HEADER)
    write_atomically(output, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))
    logger.info("wrote a draft schema of %d columns to %s; review it before use", len(schema.columns), output)
    return 0
