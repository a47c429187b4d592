"""``twinify check-model DATA MODEL``: check a model file against the data at no privacy cost.

For an automatic model file it parses the file and prepares every column as a fit
would. For a custom NumPyro model file (``.py``) it runs the file, its
preprocess, a test that preprocess works row by row, the model and guide, the
log-likelihood of some rows at a prior draw, and postprocess. Both end with a few
rows drawn from the prior predictive distribution, which shows what the model
generates before it has seen any data.

Nothing here trains on the data or spends privacy budget, and nothing derived
from the data is written except the check results: in the prior-predictive rows,
values that would show a domain read from the data are blanked or relabelled.
"""

from __future__ import annotations

import argparse
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from twinify.api import drop_missing_rows
from twinify.custom_model import is_custom_model
from twinify.errors import InputError
from twinify.plugin.registry import Registry
from twinify.privacy import RandomSource
from twinify.schema import ColumnSchema, read_schema
from twinify.tableio import check_writable, read_table, write_table

if TYPE_CHECKING:
    from twinify.custom_model.code import FactoryContext
    from twinify.features import Feature

logger = logging.getLogger("twinify")

#: Rows whose log-likelihood is evaluated at a prior draw.
LIKELIHOOD_CHECK_ROWS = 100

#: Schema parts that describe values; a prior-predictive column showing them
#: would show what was read from the data.
DOMAIN_PARTS = ("categories", "lower", "upper", "bins")


def add_check_model_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check-model`` subcommand."""
    parser = subparsers.add_parser(
        "check-model",
        help="check a model file against the data and draw prior-predictive rows (no privacy cost)",
        description="Check an automatic model file or a custom NumPyro model file (.py) against the "
        "data without fitting, then draw a few rows from the prior predictive distribution. "
        "No privacy budget is spent.",
    )
    parser.add_argument("data", metavar="DATA", help="the sensitive table (.csv or .parquet)")
    parser.add_argument("model", metavar="MODEL", help="automatic model file, or custom NumPyro model file (.py)")
    parser.add_argument("-n", "--num-rows", "--num_rows", dest="num_rows", type=int, default=5,
                        help="prior-predictive rows to draw (default 5)")
    parser.add_argument("-o", "--output", default=None,
                        help="write the prior-predictive rows to this file (.csv or .parquet) instead of printing")
    parser.add_argument("--seed", type=int, default=None, help="seed for the prior-predictive draw")
    parser.add_argument("--schema", default=None, metavar="FILE",
                        help="public schema file (.toml or .json); for automatic model files")
    parser.add_argument("--strict", action="store_true",
                        help="fail instead of reading undeclared domains from the data")
    parser.add_argument("--drop_na", "--drop-na", action="store_true", dest="drop_na",
                        help="drop rows with missing values first, as the fit's --drop_na does")
    parser.set_defaults(handler=run_check_model)


def run_check_model(args: argparse.Namespace, registry: Registry) -> int:
    """Check the model file against the data and print or write prior-predictive rows."""
    if args.num_rows < 1:
        raise InputError(f"invalid -n {args.num_rows}: use at least 1")
    if args.output is not None:
        check_writable(args.output, registry)
    data = read_table(args.data, registry)
    if args.drop_na:
        data = drop_missing_rows(data)
        if data.shape[0] == 0:
            raise InputError("no rows are left after dropping rows with missing values")
    rng = RandomSource(args.seed)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        if is_custom_model(args.model):
            lines, sample = _check_custom(args, data, registry, rng)
        else:
            lines, sample = _check_automatic(args, data, registry, rng)
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    num_problems = sum(issubclass(warning.category, UserWarning) for warning in caught)

    print("\n".join(lines))
    if args.output is not None:
        write_table(sample, args.output, registry)
        logger.info("wrote %d prior-predictive rows to %s", len(sample), args.output)
    else:
        print(f"prior-predictive rows (drawn from the prior, not fitted to the data):\n{sample.to_string(index=False)}")
    problems = f"{num_problems} warnings above" if num_problems else "no problems found"
    print(f"check-model: {Path(args.model).name} works with {Path(args.data).name}; {problems}")
    return 0


def _check_automatic(
    args: argparse.Namespace, data: pd.DataFrame, registry: Registry, rng: RandomSource
) -> tuple[list[str], pd.DataFrame]:
    import jax

    from twinify.features import check_specs, decode_features, resolve_features
    from twinify.mixture import MixtureModel
    from twinify.modelspec import read_model_file

    specs = read_model_file(args.model)
    check_specs(specs, registry, data)
    schema = read_schema(args.schema) if args.schema else None
    prepared = resolve_features(specs, registry, data, schema, args.strict)
    # Every row of a mixture has the same prior predictive distribution whatever
    # the number of components, so one component suffices to draw from it.
    mixture = MixtureModel(prepared.features, 1)
    prior_key, rows_key = jax.random.split(rng.jax_key())
    keys = jax.random.split(prior_key, len(mixture.sites))
    params = {site.name: site.prior.sample(key) for site, key in zip(mixture.sites, keys)}
    sample = decode_features(prepared.features, mixture.sample_encoded(params, args.num_rows, rows_key))
    for feature in prepared.features:
        if set(feature.schema.inferred) & set(DOMAIN_PARTS):
            sample[feature.column] = pd.NA

    lines = [
        f"model file: {Path(args.model).name}, an automatic model of {len(specs)} columns",
        *(f"  {feature.column}: {_describe_feature(feature)}" for feature in prepared.features),
        f"data: {data.shape[0]} rows; every modelled column was prepared",
    ]
    if prepared.schema.not_covered:
        lines.append(f"domains read from the data (blank below): {'; '.join(prepared.schema.not_covered)}")
    return lines, sample


def _check_custom(
    args: argparse.Namespace, data: pd.DataFrame, registry: Registry, rng: RandomSource
) -> tuple[list[str], pd.DataFrame]:
    from twinify.custom_model.checks import count_non_finite, check_row_wise, prior_predictive
    from twinify.custom_model.code import load_model_code
    from twinify.custom_model.frames import describe_columns, encode_columns, run_preprocess
    from twinify.custom_model.guide import inspect_guide
    from twinify.custom_model.tracing import inspect_model

    if args.schema:
        warnings.warn("--schema is not used with custom models: their preprocess sets the columns", UserWarning)
    code = load_model_code(args.model, _factory_context(data, registry))
    preprocessed = run_preprocess(code, data)
    lines = [
        f"model file: {code.name}, a custom NumPyro model (SHA-256 {code.sha256})",
        f"preprocess: {data.shape[0]} rows and {data.shape[1]} columns in, {preprocessed.shape[0]} rows and "
        f"{preprocessed.shape[1]} columns out",
    ]
    check_row_wise(code, data, preprocessed)
    schema = describe_columns(preprocessed, code, args.strict)
    lines.extend(f"  {column.name}: {_describe_column(column)}" for column in schema.columns)

    structure = inspect_model(code, len(schema.columns))
    latent = ", ".join(site.name for site in structure.latent_sites)
    lines.append(f"model: latent variables {latent}; observed sites {', '.join(structure.observed_sites)}")
    if code.guide is None:
        lines.append("guide: the default mean-field Gaussian over the unconstrained latent variables")
    else:
        guide = inspect_guide(structure, rng.jax_key())
        lines.append(f"guide: the model file's, with parameters {', '.join(p.name for p in guide.parameters)}")

    rows = encode_columns(preprocessed.iloc[:LIKELIHOOD_CHECK_ROWS], schema)
    non_finite = count_non_finite(structure, rows, rng.jax_key())
    if non_finite:
        warnings.warn(
            f"the log-likelihood is NaN or infinite for {non_finite} of {len(rows)} rows at a draw from the "
            "prior; check that the model handles missing values (NaN, or -1 in categorical columns) and "
            "that the values lie in the support of its distributions",
            UserWarning,
        )
    else:
        lines.append(f"log-likelihood: finite for the first {len(rows)} rows at a draw from the prior")
    sample = prior_predictive(structure, schema, args.num_rows, rng.jax_key())
    unknown = [name for name in sample.columns if name not in data.columns]
    if unknown:
        lines.append(f"postprocess: adds columns that the data lack: {', '.join(unknown)}")
    return lines, sample


def _describe_feature(feature: Feature) -> str:
    missing = ", with missing values" if feature.wrapper_name else ""
    return f"{feature.distribution_name}{missing}"


def _describe_column(column: ColumnSchema) -> str:
    if column.type == "categorical":
        origin = "read from the data" if column.inferred else "set by preprocess"
        return f"categorical, {len(column.categories)} categories ({origin})"
    return column.type


def _factory_context(data: pd.DataFrame, registry: Registry) -> FactoryContext:
    from twinify.custom_model.code import FactoryContext

    options = {}
    for backend in registry.records("backends"):
        if backend.name == "dpvi":
            options = {option.name: option.default for option in backend.options}
    options.update(epsilon=1.0, delta=None, drop_na=False)
    return FactoryContext(
        options=options, columns=[str(name) for name in data.columns], dtypes=[str(dtype) for dtype in data.dtypes]
    )
