"""Fitting NAPSU-MQ: queries, privacy plan, measurements, posterior, model.

The order keeps the privacy promise: the queries are checked against the column
names, the domains are decided (from the schema, or read from the data with a
warning), the mechanism is registered with the accountant, and only then are the
data encoded and measured.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from twinify.errors import InputError
from twinify.privacy import Mechanism, PrivacyAccountant
from twinify.types import FitRequest
from twinify_napsu import laplace, nuts
from twinify_napsu.domain import DiscreteColumn, encode_columns, resolve_domains
from twinify_napsu.markov_network import build_network
from twinify_napsu.measurement import Measurement, estimate_num_rows, measure, plan_query_file
from twinify_napsu.model import NapsuModel
from twinify_napsu.posterior import Problem, fit_marginals
from twinify_napsu.queries import (
    MarginalQuery,
    check_columns,
    modelled_columns,
    queries_from_api,
    query_indices,
    read_query_file,
)
from twinify_napsu.selection import Compression, compress_domain, plan_selection, select_edges

logger = logging.getLogger(__name__)


def fit(request: FitRequest) -> NapsuModel:
    """Fit NAPSU-MQ to ``request.data`` in 64-bit precision (the backend record's ``fit``)."""
    from jax.experimental import enable_x64

    with enable_x64():
        return _fit(request)


def _fit(request: FitRequest) -> NapsuModel:
    if request.bounds_epsilon is not None:
        raise InputError(
            "NAPSU-MQ models discrete columns only, so there are no bounds to buy: drop "
            "--dp-bounds and declare bins for numeric columns in the schema"
        )
    options = request.options
    automatic, queries = _parse_model(request)
    data_columns = [str(name) for name in request.data.columns]
    check_columns(queries, data_columns)

    names = data_columns if automatic else modelled_columns(queries, data_columns)
    left_out = [name for name in data_columns if name not in names]
    if left_out:
        logger.info("columns in no query are left out of the model: %s", ", ".join(left_out))
    columns = resolve_domains(request.data, names, request.schema, request.strict_domains)
    query_list = query_indices(queries, names)

    accountant = PrivacyAccountant(request.budget)
    if automatic:
        measured = _measure_automatic(request, columns, query_list, accountant)
    else:
        measured = _measure_user_queries(request, columns, query_list, accountant)
    measurements, compressions, num_rows, notes = measured

    problem = _problem(columns, compressions, measurements, num_rows, options["prior_scale"])
    estimate = fit_marginals(problem, options["max_iterations"], options["tolerance"])
    logger.info(
        "fitted %d parameters to %d noisy cells in %d iterations",
        problem.network.num_parameters,
        problem.network.num_cells,
        estimate.diagnostics["iterations"],
    )
    draws = _posterior(request, problem, estimate.theta)
    _log_diagnostics(draws.diagnostics)

    report = accountant.report(
        public=_public_facts(request, columns, num_rows, automatic, bool(queries)),
        not_covered=[
            f"{c.name} ({', '.join(c.schema.inferred)})" for c in columns if c.schema.inferred
        ],
        seeded=request.rng.seeded,
        notes=notes,
        extra={
            "queries": [[columns[v].name for v in m.query] for m in measurements],
            "number of rows used": num_rows,
            "parameters": problem.network.num_parameters,
        },
    )
    return NapsuModel(
        columns=columns,
        compressions=compressions,
        network=problem.network,
        draws=draws.draws,
        point_estimate=estimate.theta,
        num_rows=num_rows,
        privacy_report=report,
        diagnostics={"fit": estimate.diagnostics, "posterior": draws.diagnostics},
    )


def _parse_model(request: FitRequest) -> tuple[bool, list[MarginalQuery]]:
    """Return whether queries are chosen automatically, and the user's (or forced) queries."""
    forced_file = request.options["forced_queries"]
    if isinstance(request.model, str) and request.model.strip().lower() == "auto":
        return True, read_query_file(forced_file) if forced_file else []
    if forced_file:
        raise InputError(
            "--forced_queries applies to automatic selection only; add those queries to the query file"
        )
    return False, _user_queries(request.model)


def _user_queries(model: Any) -> list[MarginalQuery]:
    if isinstance(model, str | Path):
        return read_query_file(model)
    if isinstance(model, Sequence):
        return queries_from_api(model)
    raise InputError(
        f"invalid NAPSU-MQ model argument of type {type(model).__name__}: give a query file, 'auto', "
        "or a list of column-name tuples"
    )


# --------------------------------------------------------------------------------------
# Measuring


def _measure_user_queries(
    request: FitRequest,
    columns: tuple[DiscreteColumn, ...],
    query_list: list[tuple[int, ...]],
    accountant: PrivacyAccountant,
):
    names = [[columns[v].name for v in query] for query in query_list]
    sigma, mechanism = plan_query_file(request.budget, names)
    accountant.spend(mechanism)

    encoded = encode_columns(request.data, columns, request.drop_na)
    sizes = [column.size for column in columns]
    measurements = measure(encoded.codes, query_list, sizes, sigma, request.rng)
    compressions = tuple(_identity(column.size) for column in columns)
    num_rows, notes = _row_count(request, encoded.codes.shape[0], measurements)
    return measurements, compressions, num_rows, notes


def _measure_automatic(
    request: FitRequest,
    columns: tuple[DiscreteColumn, ...],
    forced: list[tuple[int, ...]],
    accountant: PrivacyAccountant,
):
    options = request.options
    names = [column.name for column in columns]
    plan = plan_selection(request.budget, len(columns), forced, options["selection_share"])
    mechanism = plan.mechanism(request.budget, names, [[names[v] for v in q] for q in forced])
    accountant.spend(mechanism)

    encoded = encode_columns(request.data, columns, request.drop_na)
    sizes = [column.size for column in columns]
    singles = [(v,) for v in range(len(columns))]
    one_way = measure(encoded.codes, singles, sizes, plan.one_way_sigma, request.rng)
    compressions = tuple(
        compress_domain(m, plan.one_way_sigma, options["compress"]) for m in one_way
    )
    one_way = [compression.compress(m) for compression, m in zip(compressions, one_way)]
    model_codes = np.column_stack(
        [c.groups[encoded.codes[:, v]] for v, c in enumerate(compressions)]
    )
    model_sizes = [compression.size for compression in compressions]

    num_rows, notes = _row_count(request, encoded.codes.shape[0], one_way)
    edges = select_edges(model_codes, model_sizes, one_way, num_rows, forced, plan, request.rng)
    second = measure(model_codes, [*forced, *edges], model_sizes, plan.measure_sigma, request.rng)

    selected = [f"{names[i]}, {names[j]}" for i, j in edges]
    _record_selection(accountant, mechanism, selected)
    merged = [
        f"{names[v]}: {len(c.groups)} values to {c.size}"
        for v, c in enumerate(compressions)
        if c.size < len(c.groups)
    ]
    if merged:
        notes.append(
            "rare values merged after the noisy one-way counts (" + "; ".join(merged) + ")"
        )
    if selected:
        notes.append("selected two-way marginals: " + "; ".join(selected))
    return [*one_way, *second], compressions, num_rows, notes


def _record_selection(
    accountant: PrivacyAccountant, mechanism: Mechanism, selected: list[str]
) -> None:
    """Add the chosen queries to the registered mechanism's parameters.

    The selection's output is itself differentially private, and its cost was
    registered before the data were read; only the description changes.
    """
    index = next(i for i, registered in enumerate(accountant.mechanisms) if registered is mechanism)
    parameters = {**mechanism.parameters, "measurements: selected queries": selected}
    accountant.mechanisms[index] = attrs.evolve(mechanism, parameters=parameters)


def _identity(size: int) -> Compression:
    return Compression(groups=np.arange(size, dtype=np.int64), weights=np.ones(size))


def _row_count(
    request: FitRequest, num_rows: int, measurements: Sequence[Measurement]
) -> tuple[float, list[str]]:
    """Return N: public under substitution, estimated from the noisy marginals under add/remove."""
    if request.budget.relation == "substitution":
        return float(num_rows), []
    estimate = estimate_num_rows(measurements)
    if estimate < 1:
        logger.warning("the noisy marginals put the row count below 1 (%.3g); using 1", estimate)
        estimate = 1.0
    return estimate, [f"row count estimated from the noisy marginals: {estimate:.1f}"]


# --------------------------------------------------------------------------------------
# Model and posterior


def _problem(
    columns: Sequence[DiscreteColumn],
    compressions: Sequence[Compression],
    measurements: Sequence[Measurement],
    num_rows: float,
    prior_scale: float,
) -> Problem:
    sizes = [compression.size for compression in compressions]
    references = [_reference_value(v, sizes, measurements) for v in range(len(columns))]
    network = build_network(sizes, references, [m.query for m in measurements])
    return Problem(
        network=network,
        counts=np.concatenate([m.counts for m in measurements]),
        variances=np.concatenate([m.variances for m in measurements]),
        num_rows=num_rows,
        prior_scale=prior_scale,
    )


def _reference_value(
    variable: int, sizes: Sequence[int], measurements: Sequence[Measurement]
) -> int:
    """Return the value with the largest noisy count, from the smallest marginal containing it.

    This only post-processes noisy counts. The most common value as reference keeps
    the canonical parameters (log odds against it) small and well determined.
    """
    containing = [m for m in measurements if variable in m.query]
    smallest = min(containing, key=lambda m: m.counts.size)
    table = smallest.counts.reshape([sizes[v] for v in smallest.query])
    axis = smallest.query.index(variable)
    others = tuple(a for a in range(table.ndim) if a != axis)
    return int(np.argmax(table.sum(axis=others)))


def _posterior(request: FitRequest, problem: Problem, theta: np.ndarray) -> laplace.DrawResult:
    options = request.options
    method = options["inference"]
    num_draws = options["num_samples"]
    draws = None
    if method in ("laplace", "laplace+nuts"):
        draws = laplace.laplace_draws(
            problem,
            theta,
            num_draws,
            request.rng.integer_seed(),
            options["refit_iterations"],
            options["tolerance"],
        )
        if method == "laplace":
            return draws
    result = nuts.nuts_draws(
        problem,
        theta,
        num_draws,
        request.rng.jax_key(),
        options["num_warmup"],
        options["num_chains"],
        options["dense_limit"],
        initial_draws=None if draws is None else draws.draws,
        show_progress=request.show_progress,
    )
    if draws is not None:
        result.diagnostics["laplace"] = draws.diagnostics
    return result


def _log_diagnostics(diagnostics: dict[str, Any]) -> None:
    parts = [
        f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
        for key, value in diagnostics.items()
        if not isinstance(value, dict)
    ]
    logger.info("posterior: %s", "; ".join(parts))


def _public_facts(
    request: FitRequest,
    columns: Sequence[DiscreteColumn],
    num_rows: float,
    automatic: bool,
    forced: bool,
) -> list[str]:
    facts = []
    if not automatic:
        facts.append("the marginal queries (given by the user)")
    elif forced:
        facts.append("the forced marginal queries (given by the user)")
    for column in columns:
        if not column.schema.inferred:
            facts.append(
                f"the {column.size} values of column {column.name!r} (declared in the schema)"
            )
    if request.budget.relation == "substitution":
        dropped = ", counted after dropping rows with missing values" if request.drop_na else ""
        facts.append(
            f"the number of rows, {int(num_rows)} (public under the substitution relation{dropped})"
        )
    return facts
