"""Posterior sampling with NUTS (NumPyro), optionally started from the Laplace draws.

The potential is the negative log posterior of the NAPSU-MQ likelihood (see
:mod:`twinify_napsu.posterior`), y ~ N(N μ(θ), C) with the covariance
C = N Σ(θ̂) + diag(v) fixed at the fit, plus the N(0, s² I) prior. When there are
at most ``dense_limit`` measured cells, C is formed densely (Σ as the Jacobian of
the cell probabilities with respect to per-cell log-potential offsets) and factored
once. Above it, C keeps only its diagonal N μ(1 − μ) + v, which ignores the
covariance between cells, and logs that it did.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from twinify_napsu.laplace import DrawResult
from twinify_napsu.markov_network import cell_marginals_with_offsets
from twinify_napsu.posterior import Problem, expected_counts

logger = logging.getLogger(__name__)

#: Columns of the covariance computed per batch.
COVARIANCE_BATCH = 128

#: Fewest draws per chain, so that R-hat and effective sample sizes mean something;
#: the kept draws are spread evenly over all of them.
MIN_DRAWS_PER_CHAIN = 100


def nuts_draws(
    problem: Problem,
    theta: np.ndarray,
    num_draws: int,
    jax_key: Any,
    num_warmup: int,
    num_chains: int,
    dense_limit: int,
    initial_draws: np.ndarray | None = None,
    show_progress: bool = False,
) -> DrawResult:
    """Draw parameter vectors with NUTS.

    Args:
        problem: Measurements and prior.
        theta: The fit θ̂; chains start there unless ``initial_draws`` are given.
        num_draws: Draws to keep, spread evenly over the chains' samples.
        jax_key: ``jax.random`` key from the fit's random source.
        num_warmup: Warm-up (adaptation) steps per chain.
        num_chains: Number of chains, run one after another.
        dense_limit: Largest number of measured cells for a dense likelihood covariance.
        initial_draws: Laplace draws: chains start at the first ``num_chains`` of
            them and the mass matrix starts from their variances.
        show_progress: Show NumPyro's progress bar.
    """
    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS

    potential, covariance_kind = _potential(problem, theta, dense_limit)
    start = np.tile(theta, (num_chains, 1))
    inverse_mass = None
    if initial_draws is not None:
        start = initial_draws[np.arange(num_chains) % len(initial_draws)]
        if len(initial_draws) > 1:
            inverse_mass = jnp.asarray(np.maximum(np.var(initial_draws, axis=0), 1e-6))

    kernel = NUTS(potential_fn=potential, inverse_mass_matrix=inverse_mass, target_accept_prob=0.8)
    per_chain = max(math.ceil(num_draws / num_chains), MIN_DRAWS_PER_CHAIN)
    mcmc = MCMC(
        kernel,
        num_warmup=num_warmup,
        num_samples=per_chain,
        num_chains=num_chains,
        chain_method="sequential",
        progress_bar=show_progress,
    )
    mcmc.run(jax_key, init_params=jnp.asarray(start), extra_fields=("accept_prob", "diverging"))
    samples = np.asarray(mcmc.get_samples(group_by_chain=True))
    extra = mcmc.get_extra_fields()

    diagnostics = {
        "method": "NUTS (NumPyro)"
        if initial_draws is None
        else "NUTS (NumPyro), started from the Laplace draws",
        "likelihood covariance": covariance_kind,
        "chains": num_chains,
        "warm-up steps per chain": num_warmup,
        "draws per chain": per_chain,
        "mean acceptance probability": float(np.mean(np.asarray(extra["accept_prob"]))),
        "divergent transitions": int(np.sum(np.asarray(extra["diverging"]))),
        **_convergence(problem, samples),
    }
    if diagnostics["max split R-hat (cell probabilities)"] > 1.05:
        logger.warning(
            "NUTS chains disagree (max split R-hat of the cell probabilities %.3g > 1.05); use "
            "more warm-up steps (--num_warmup) or draws",
            diagnostics["max split R-hat (cell probabilities)"],
        )
    flat = samples.reshape(-1, samples.shape[-1])
    keep = np.linspace(0, len(flat) - 1, num_draws).round().astype(int)
    return DrawResult(draws=np.asarray(flat[keep], dtype=np.float64), diagnostics=diagnostics)


def _convergence(problem: Problem, samples: np.ndarray) -> dict[str, float]:
    """Return split R-hat of the parameters and of the cell probabilities, and the latter's ESS.

    Parameters of cells the data leave empty wander over the prior's wide range, so
    their R-hat can stay high while every probability has converged. Their effective
    sample size estimates can even come out negative, so only the cell
    probabilities, which the synthetic data depend on, get one.
    """
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    functions = problem.network.functions
    cells = np.stack(
        [[np.asarray(functions.query_marginals(theta)) for theta in chain] for chain in samples]
    )
    parameter_rhat = np.asarray(split_gelman_rubin(samples))
    cell_rhat = np.asarray(split_gelman_rubin(cells))
    cell_ess = np.asarray(effective_sample_size(cells))
    return {
        "max split R-hat (parameters)": _largest(parameter_rhat),
        "max split R-hat (cell probabilities)": _largest(cell_rhat),
        "min effective sample size (cell probabilities)": -_largest(-cell_ess),
    }


def _largest(values: np.ndarray) -> float:
    return float(np.nanmax(values)) if values.size else float("nan")


def _potential(problem: Problem, theta: np.ndarray, dense_limit: int):
    """Return the negative log posterior as a function of θ, and how C was formed."""
    import jax
    import jax.numpy as jnp

    functions = problem.network.functions
    arrays, static = functions.arrays, functions.static
    data = problem.data_arrays()
    probabilities = np.asarray(functions.query_marginals(theta), dtype=np.float64)

    if problem.network.num_cells <= dense_limit:
        covariance = problem.num_rows * cell_covariance(problem, theta) + np.diag(problem.variances)
        factor = jnp.asarray(np.linalg.cholesky(covariance))
        kind = "dense (sampling covariance of every measured cell plus the noise)"

        def quadratic(residual):
            whitened = jax.scipy.linalg.solve_triangular(factor, residual, lower=True)
            return jnp.sum(whitened**2)
    else:
        diagonal = jnp.asarray(
            problem.num_rows * probabilities * (1 - probabilities) + problem.variances
        )
        kind = "diagonal (covariance between cells left out: too many cells for a dense matrix)"
        logger.info(
            "NUTS likelihood: %d measured cells exceed --dense_limit; using the diagonal covariance",
            problem.network.num_cells,
        )

        def quadratic(residual):
            return jnp.sum(residual**2 / diagonal)

    def potential(parameters):
        residual = data["counts"] - expected_counts(parameters, arrays, static, data)
        return 0.5 * quadratic(residual) + 0.5 * data["prior_precision"] * jnp.sum(parameters**2)

    return potential, kind


def cell_covariance(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """Return the covariance of the measured-cell indicators for one row at θ."""
    import jax
    import jax.numpy as jnp

    functions = problem.network.functions
    size = problem.network.num_cells
    batched = jax.jit(_covariance_columns, static_argnums=2)
    blocks = []
    for start in range(0, size, COVARIANCE_BATCH):
        stop = min(start + COVARIANCE_BATCH, size)
        basis = np.zeros((COVARIANCE_BATCH, size))
        basis[np.arange(stop - start), np.arange(start, stop)] = 1.0
        columns = batched(
            jnp.asarray(theta), functions.arrays, functions.static, jnp.asarray(basis)
        )
        blocks.append(np.asarray(columns)[: stop - start])
    covariance = np.concatenate(blocks, axis=0)
    return 0.5 * (covariance + covariance.T)


def _covariance_columns(theta, arrays, static, basis):
    import jax
    import jax.numpy as jnp

    def column(direction):
        def marginals(offsets):
            return cell_marginals_with_offsets(theta, offsets, arrays, static)

        return jax.jvp(marginals, (jnp.zeros(static.num_cells),), (direction,))[1]

    return jax.vmap(column)(basis)
