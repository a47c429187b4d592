"""The argument parser; backend subcommands are built from the backends' records."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from twinify.plugin.registry import Registry
from twinify.privacy.budget import RELATIONS
from twinify.types import BackendOption, InferenceBackend

Handler = Callable[[argparse.Namespace, Registry], int]


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser that reports a usage error in one line, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_fit_arguments(
    parser: argparse.ArgumentParser, backend: InferenceBackend, output_formats: Sequence[str]
) -> None:
    """Add the positional arguments and options shared by every fitting command.

    Args:
        output_formats: Names of the installed writers, offered by --output-format.
    """
    parser.add_argument("data", metavar="DATA", help="the sensitive table (.csv or .parquet)")
    parser.add_argument("model", metavar=backend.name.upper() + "_MODEL", help=backend.model_help)
    parser.add_argument(
        "output_prefix", metavar="OUTPUT_PREFIX",
        help="writes OUTPUT_PREFIX.csv (synthetic data), OUTPUT_PREFIX.twinify (model) and "
        "OUTPUT_PREFIX.privacy.json (privacy report)",
    )
    privacy = parser.add_argument_group("privacy")
    privacy.add_argument("--epsilon", type=float, default=1.0, help="privacy parameter epsilon (default 1)")
    privacy.add_argument(
        "--delta", type=float, default=None,
        help="privacy parameter delta (default: the largest power of ten not above 0.1/rows; "
        "1e-9 under add-remove, where the row count is private)",
    )
    privacy.add_argument(
        "--relation", choices=RELATIONS, default="substitution",
        help="neighbouring relation of the guarantee (default substitution, as twinify 2.x)",
    )
    privacy.add_argument("--seed", type=int, default=None,
                         help="seed for a reproducible run; the noise is then predictable to anyone "
                         "who knows the seed (default: secure seed from the OS)")
    privacy.add_argument("--schema", default=None, metavar="FILE",
                         help="public schema file (.toml or .json) declaring column domains")
    privacy.add_argument("--strict", action="store_true",
                         help="fail instead of reading undeclared domains from the data")
    privacy.add_argument("--dp-bounds", "--dp_bounds", type=float, default=None, metavar="EPSILON",
                         dest="dp_bounds",
                         help="spend EPSILON of the budget on DP bounds (quantiles) of the numeric "
                         "columns whose bounds are not declared, instead of reading them from the data")

    data = parser.add_argument_group("data and output")
    data.add_argument("--num_synthetic", "--num-synthetic", "--n", "-n", type=int, default=None,
                      dest="num_synthetic", help="synthetic rows to generate (default: as many as the data)")
    data.add_argument("--drop_na", "--drop-na", nargs="?", type=int, const=1, default=0, dest="drop_na",
                      metavar="0|1", help="drop rows with missing values before fitting")
    data.add_argument("--output-format", "--output_format", choices=output_formats, default="csv",
                      help="file format of the synthetic data (default csv)")
    add_backend_options(parser, backend)


def add_backend_options(parser: argparse.ArgumentParser, backend: InferenceBackend) -> None:
    """Add one flag per backend option, in underscore and dash spellings."""
    group = parser.add_argument_group(f"{backend.name} options")
    for option in backend.options:
        flags = [f"--{option.name}"]
        if "_" in option.name:
            flags.append(f"--{option.name.replace('_', '-')}")
        flags.extend(option.flags)
        group.add_argument(*flags, dest=f"option_{option.name}", default=None, **_option_kwargs(option))


def _option_kwargs(option: BackendOption) -> dict[str, Any]:
    help_text = option.help
    if option.default not in (None, ""):
        help_text = f"{option.help} (default {option.default})"
    if option.type is bool:
        return {"action": argparse.BooleanOptionalAction, "help": help_text}
    kwargs: dict[str, Any] = {"type": option.type, "help": help_text, "metavar": option.type.__name__.upper()}
    if option.choices is not None:
        kwargs["choices"] = option.choices
        kwargs.pop("metavar")
    return kwargs


def backend_options_from(args: argparse.Namespace, backend: InferenceBackend) -> dict[str, Any]:
    """Collect the backend options the user set on the command line."""
    values = {}
    for option in backend.options:
        value = getattr(args, f"option_{option.name}", None)
        if value is not None:
            values[option.name] = value
    return values
