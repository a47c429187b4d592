"""``twinify generate``: synthetic data from a saved model, without the sensitive data."""

from __future__ import annotations

import argparse
import logging

from twinify import api
from twinify.errors import InputError
from twinify.plugin.registry import Registry
from twinify.tableio import check_writable, write_table

logger = logging.getLogger("twinify")


def add_generate_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``generate`` subcommand."""
    parser = subparsers.add_parser(
        "generate",
        help="generate synthetic data from a saved model (no privacy cost)",
        description="Generate synthetic data from a model file written by a fitting command. "
        "The sensitive data are not read, so this costs no privacy budget.",
    )
    parser.add_argument("model_file", metavar="MODEL_FILE", help="a .twinify model file")
    parser.add_argument("-n", "--num_synthetic", "--num-synthetic", type=int, required=True,
                        dest="num_synthetic", help="number of synthetic rows")
    parser.add_argument("-o", "--output", required=True, help="output file (.csv or .parquet)")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible output")
    parser.add_argument("--print-report", action="store_true", help="print the model's privacy report")
    parser.add_argument("--model-code", "--model_code", dest="model_code", default=None, metavar="FILE",
                        help="the custom NumPyro model file (.py) the model was fitted with; it must be unchanged")
    parser.add_argument("--allow-changed-code", "--allow_changed_code", dest="allow_changed_code",
                        action="store_true",
                        help="run --model-code even if its SHA-256 differs from the one saved with the model")
    parser.set_defaults(handler=run_generate)


def run_generate(args: argparse.Namespace, registry: Registry) -> int:
    """Load the model file and write ``-n`` synthetic rows to ``-o``."""
    if args.num_synthetic < 1:
        raise InputError(f"invalid -n {args.num_synthetic}: use at least 1")
    check_writable(args.output, registry)
    twin = api.load(
        args.model_file, registry, model_code=args.model_code, allow_changed_code=args.allow_changed_code
    )
    if args.print_report:
        print(twin.privacy_report.format_text())
    synthetic = twin.generate(args.num_synthetic, seed=args.seed)
    write_table(synthetic, args.output, registry)
    logger.info("wrote %d synthetic rows to %s", args.num_synthetic, args.output)
    return 0
