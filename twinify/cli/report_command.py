"""``twinify report``: compare a synthetic table with the real one, for the data holder."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

from twinify.errors import InputError, ModelFileError
from twinify.evaluation import evaluate
from twinify.evaluation.columns import DEFAULT_BINS
from twinify.evaluation.html_report import WARNING, render_html
from twinify.persistence import read_manifest, write_atomically
from twinify.plugin.registry import Registry
from twinify.privacy.report import PrivacyReport
from twinify.tableio import check_folder, read_table

logger = logging.getLogger("twinify")

DEFAULT_OUTPUT = "report.html"


def add_report_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report",
        help="compare synthetic data with the real data (HTML report or JSON metrics)",
        description="Compare a synthetic table with the real table: marginal distances, "
        "association differences, missing-value rates and classifier accuracy. " + WARNING,
    )
    parser.add_argument("real", metavar="REAL", help="the real table (.csv or .parquet)")
    parser.add_argument("synthetic", metavar="SYNTHETIC", help="the synthetic table (.csv or .parquet)")
    parser.add_argument("-o", "--output", default=None,
                        help=f"HTML report to write (default {DEFAULT_OUTPUT}; with --json and no -o, "
                        "no report is written)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON on standard output")
    parser.add_argument("--model", metavar="MODEL_FILE", default=None,
                        help="the .twinify model file; adds its privacy report and takes column "
                        "kinds from its schema")
    parser.add_argument("--target", metavar="COLUMN", default=None,
                        help="column to predict for the train-on-synthetic, test-on-real accuracy")
    parser.add_argument("--test", metavar="TEST_FILE", default=None,
                        help="real rows to test the classifiers on (default: hold out 20%% of REAL)")
    parser.add_argument("--categorical", metavar="COLUMNS", default=None,
                        help="comma-separated columns to compare as categorical although they hold "
                        "numbers, or 'all'")
    parser.add_argument("--bins", type=int, default=DEFAULT_BINS,
                        help=f"maximum quantile bins per numeric column (default {DEFAULT_BINS})")
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace, registry: Registry) -> int:
    """Evaluate SYNTHETIC against REAL and write the report or print the metrics."""
    output = args.output if args.output is not None or not args.json else None
    if output is None and not args.json:
        output = DEFAULT_OUTPUT
    if output is not None:
        check_folder(output)

    manifest = _read_model(args.model) if args.model else None
    real = read_table(args.real, registry)
    synthetic = read_table(args.synthetic, registry)
    test = read_table(args.test, registry) if args.test else None
    evaluation = evaluate(
        real, synthetic, target=args.target, test=test,
        categorical=_categorical_columns(args.categorical, manifest, list(real.columns)), bins=args.bins,
    )

    if output is not None:
        page = render_html(
            evaluation, real_name=args.real, synthetic_name=args.synthetic,
            privacy_text=_privacy_text(manifest),
        )
        # The report shows statistics of the real data, so only its owner may read it.
        write_atomically(Path(output), lambda temporary: _write_private(temporary, page))
        logger.info("wrote the report to %s; it is computed from the real data, keep it private", output)
    if args.json:
        print(json.dumps(evaluation.metrics, indent=2))
    return 0


def _read_model(path: str) -> dict[str, Any]:
    # The manifest contains the schema and the privacy report. A report needs
    # neither the arrays nor the backend plugin.
    if not Path(path).is_file():
        raise ModelFileError(f"model file {path!r} not found; check --model")
    return read_manifest(path)


def _privacy_text(manifest: dict[str, Any] | None) -> str | None:
    if manifest is None:
        return None
    try:
        return PrivacyReport.from_dict(manifest["privacy_report"]).format_text()
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"the model file's privacy report is damaged ({error}); fit the model again") from None


def _categorical_columns(
    given: str | None, manifest: dict[str, Any] | None, real_columns: list[str]
) -> list[str] | str | None:
    if given is not None:
        if given.strip() == "all":
            return "all"
        names = [name.strip() for name in given.split(",") if name.strip()]
        if not names:
            raise InputError(f"invalid --categorical {given!r}: give column names separated by commas, or all")
        return names
    if manifest is None:
        return None
    columns = manifest.get("schema", {}).get("columns", {})
    return [
        name for name, column in columns.items()
        if column.get("type") in ("categorical", "boolean") and name in real_columns
    ]


def _write_private(path: str, page: str) -> None:
    Path(path).write_text(page, encoding="utf-8")
    os.chmod(path, 0o600)
