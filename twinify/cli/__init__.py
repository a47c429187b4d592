"""The ``twinify`` command.

Every fitting command comes from a backend record (``twinify vi`` from DPVI,
``twinify napsu`` from NAPSU-MQ, and one per third-party backend). Errors caused by
input print one line, ``twinify: error: ...``, and exit with status 2; nothing is
written in that case.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import warnings
from collections.abc import Sequence

from twinify.cli.fit_command import run_fit
from twinify.cli.generate_command import add_generate_parser
from twinify.cli.parser import OneLineErrorParser, add_fit_arguments
from twinify.cli.plugins_command import add_plugins_parser
from twinify.cli.report_command import add_report_parser
from twinify.cli.schema_command import add_schema_parser
from twinify.errors import TwinifyError
from twinify.persistence import twinify_version
from twinify.plugin import get_registry
from twinify.plugin.registry import Registry

logger = logging.getLogger("twinify")

#: Subcommands added by other modules: a callable taking the subparsers object.
EXTRA_COMMANDS: list = []


def build_parser(registry: Registry) -> argparse.ArgumentParser:
    """Build the full parser, with one fitting command per installed backend."""
    parser = OneLineErrorParser(
        prog="twinify",
        description="Create differentially private synthetic twins of sensitive tables.",
    )
    parser.add_argument("--version", action="version", version=f"twinify {twinify_version()}")
    parser.add_argument("-q", "--quiet", action="store_true", help="show warnings and errors only")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=OneLineErrorParser)

    for backend in registry.records("backends"):
        main_command, *aliases = backend.commands
        sub = subparsers.add_parser(
            main_command, aliases=aliases, help=backend.summary, description=backend.summary,
        )
        add_fit_arguments(sub, backend, registry.names("writers"))
        sub.set_defaults(handler=functools.partial(run_fit, backend=backend))

    add_generate_parser(subparsers)
    add_schema_parser(subparsers)
    add_plugins_parser(subparsers)
    add_report_parser(subparsers)
    for add_command in EXTRA_COMMANDS:
        add_command(subparsers)
    _propagate_global_flags(subparsers)
    return parser


def _propagate_global_flags(subparsers: argparse._SubParsersAction) -> None:
    # Accept -q/-v/--debug after the subcommand too, as in "twinify vi ... --quiet",
    # except where a backend option already uses the short flag (DPVI's -q is the
    # sampling ratio, as in twinify 2.x).
    for sub in set(subparsers.choices.values()):
        for flags, name in ((("-q", "--quiet"), "quiet"), (("-v", "--verbose"), "verbose"), (("--debug",), "debug")):
            free = [flag for flag in flags if flag not in sub._option_string_actions]
            if free:
                sub.add_argument(*free, dest=name, action="store_true", default=argparse.SUPPRESS,
                                 help=argparse.SUPPRESS)


def configure_logging(quiet: bool, verbose: bool) -> None:
    """Send twinify's log records and Python warnings to standard error."""
    level = logging.INFO
    if verbose:
        level = logging.DEBUG
    if quiet:
        level = logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("twinify: %(message)s"))
    for name in ("twinify", "twinify_features", "twinify_io", "twinify_dpvi", "twinify_napsu", "py.warnings"):
        named = logging.getLogger(name)
        named.handlers[:] = [handler]
        named.setLevel(level)
        named.propagate = False
    logging.captureWarnings(True)
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``twinify`` command and return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        configure_logging(quiet="--quiet" in argv, verbose="--verbose" in argv)
        registry = get_registry()
        parser = build_parser(registry)
        args = parser.parse_args(argv)
        # Short flags are known only after parsing, because -q means the sampling
        # ratio after "vi".
        configure_logging(quiet=args.quiet, verbose=args.verbose)
        if not hasattr(args, "handler"):
            parser.print_help()
            return 2
        return args.handler(args, registry)
    except TwinifyError as error:
        if debug:
            raise
        print(f"twinify: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("twinify: interrupted; no output was written", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - report unexpected failures in one line too
        if debug:
            raise
        print(
            f"twinify: internal error: {type(error).__name__}: {error} "
            "(rerun with --debug for the traceback and report it)",
            file=sys.stderr,
        )
        return 1


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main())
