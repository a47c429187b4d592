"""Measurements, the likelihood of NAPSU-MQ, and the fit of the noisy marginals.

Model (Räisä, Jälkö, Kaski and Honkela 2023, "Noise-aware statistical inference
with differentially private synthetic data", AISTATS): the N rows are independent
draws from the maximum-entropy distribution p_θ, and the measured counts y are the
true counts plus Gaussian noise with variances v. By the central limit theorem

    y ~ N(N μ(θ), N Σ(θ) + diag(v)),

where μ(θ) contains the cell probabilities of every measured marginal and Σ(θ) their
covariance for one row. The prior is θ ~ N(0, s² I).

The posterior approximations start from the fit of the noisy marginals: θ̂
minimizes ½ Σ (y − N μ(θ))² / v − κ Σ log μ(θ), the noise-weighted distance plus a
tiny pseudo-count κ per cell (:data:`BARRIER_COUNT`). Where the noisy counts are
consistent with some θ, the distance vanishes there whatever covariance the
likelihood has, so θ̂ is close to the maximum-likelihood estimate. Where they are
not (noise pushed a count below zero, say), the noise weights decide the projection.
The N(0, s²) prior is left out of θ̂ on purpose: it would pull every cell that the
data put near zero towards the reference odds and spread probability over empty
cells.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import attrs
import numpy as np

from twinify_napsu.markov_network import (
    MarkovNetwork,
    NetworkStatic,
    log_partition_of_potentials,
    potentials,
    project_to_parameters,
    query_marginals,
)

logger = logging.getLogger(__name__)


@attrs.frozen(eq=False)
class Problem:
    """Measurements and prior for one fit.

    Attributes:
        network: The Markov network; its queries order the cells of ``counts``.
        counts: Noisy counts of every measured cell.
        variances: Noise variance of every measured cell.
        num_rows: Row count N (public, or estimated from the noisy counts).
        prior_scale: Prior standard deviation s of every parameter.
    """

    network: MarkovNetwork
    counts: np.ndarray
    variances: np.ndarray
    num_rows: float
    prior_scale: float

    def data_arrays(self) -> dict[str, Any]:
        """Return the measurement arrays as JAX arrays, for compiled functions."""
        import jax.numpy as jnp

        return {
            "counts": jnp.asarray(self.counts),
            "weights": jnp.asarray(1.0 / self.variances),
            "num_rows": jnp.asarray(float(self.num_rows)),
            "prior_precision": jnp.asarray(1.0 / self.prior_scale**2),
        }


def expected_counts(theta, arrays, static: NetworkStatic, data):
    """Return N μ(θ), the expected count of every measured cell."""
    return data["num_rows"] * query_marginals(theta, arrays, static)


@attrs.frozen
class PointEstimate:
    """The fit of the noisy marginals and how the optimizer got there."""

    theta: np.ndarray
    diagnostics: dict[str, Any]


def fit_marginals(problem: Problem, max_iterations: int, tolerance: float) -> PointEstimate:
    """Find θ̂ by mirror descent from the uniform distribution.

    Args:
        problem: The measurements.
        max_iterations: Maximum number of mirror-descent steps.
        tolerance: Stop when the objective fell by less than this fraction over
            the last :data:`WINDOW` steps.
    """
    import jax.numpy as jnp

    functions = problem.network.functions
    theta, value, iterations, step = _compiled()["fit"](
        jnp.zeros(problem.network.num_parameters),
        functions.arrays,
        functions.static,
        problem.data_arrays(),
        int(max_iterations),
        WINDOW,
        float(tolerance),
    )
    iterations = int(iterations)
    value = float(value)
    if not np.isfinite(value) or not np.all(np.isfinite(np.asarray(theta))):
        from twinify.errors import FitError

        raise FitError("the fit of the noisy marginals became NaN; report this with the query set")
    converged = iterations < max_iterations
    diagnostics = {
        "optimizer": "mirror descent (natural-gradient steps with a sufficient-decrease test)",
        "iterations": iterations,
        "converged": converged,
        "objective per measured cell": value / problem.network.num_cells,
        "final step size": float(step),
    }
    if not converged:
        logger.warning(
            "the fit of the noisy marginals stopped at the limit of %d iterations before the objective "
            "settled; raise --max_iterations for a closer fit",
            max_iterations,
        )
    return PointEstimate(theta=np.asarray(theta, dtype=np.float64), diagnostics=diagnostics)


#: Pseudo-count κ of every measured cell: the objective adds −κ Σ log μ. Without it,
#: a cell whose noisy count is negative is driven to probability zero with its log
#: odds running off to minus infinity, from where no later fit can bring it back.
#: κ keeps such cells at about κ σ² / |y| rows (0.06 rows for σ = 36, y = −20).
BARRIER_COUNT = 1e-3

#: Steps over which the relative decrease of the objective is measured.
WINDOW = 100


@functools.cache
def _compiled() -> dict:
    """Return the jitted optimizers, shared by all fits so that equal shapes reuse programs."""
    import jax

    data_axes = {"counts": 0, "weights": None, "num_rows": None, "prior_precision": None}
    batched = jax.vmap(_mirror_descent, in_axes=(None, None, None, data_axes, None, None, None))
    return {
        "fit": jax.jit(_mirror_descent, static_argnums=(2, 4, 5)),
        "refit": jax.jit(batched, static_argnums=(2, 4, 5)),
    }


def _evaluate(theta, arrays, static, data):
    """Return (objective, log Z, cell probabilities, canonical means) at θ."""
    import jax
    import jax.numpy as jnp

    entry_potentials, potentials_transpose = jax.vjp(lambda t: potentials(t, arrays), theta)
    log_z, clique_probabilities = jax.value_and_grad(log_partition_of_potentials)(
        entry_potentials, arrays, static
    )
    cells = jax.ops.segment_sum(
        clique_probabilities[arrays["query_entry"]], arrays["query_cell"], static.num_cells
    )
    (means,) = potentials_transpose(clique_probabilities)
    residual = data["counts"] - data["num_rows"] * cells
    value = 0.5 * (data["weights"] * residual**2).sum() - BARRIER_COUNT * jnp.log(cells).sum()
    return value, log_z, cells, means


def refit(
    problem: Problem, theta: np.ndarray, targets: np.ndarray, max_iterations: int, tolerance: float
):
    """Fit the model to each row of ``targets`` (counts), by mirror descent from ``theta``.

    Returns:
        The fitted parameters (one row per target) and the iterations each took.
    """
    import jax.numpy as jnp

    functions = problem.network.functions
    num_targets = len(targets)
    # Fits run in batches of a fixed size (the last one padded) so that memory stays
    # bounded and every batch reuses one compiled program.
    network = problem.network
    # Message passing keeps one copy of the clique entries per round for the gradient.
    num_entries = network.arrays["potential_index"].shape[0]
    per_target = (
        (network.tree.height + 2) * num_entries + network.num_cells + 3 * network.num_parameters
    )
    batch = int(max(1, min(num_targets, REFIT_BATCH_VALUES // per_target)))
    padded = np.concatenate([targets, np.repeat(targets[-1:], -num_targets % batch, axis=0)])
    results = []
    for start in range(0, len(padded), batch):
        data = {**problem.data_arrays(), "counts": jnp.asarray(padded[start : start + batch])}
        thetas, values, iterations, _ = _compiled()["refit"](
            jnp.asarray(theta),
            functions.arrays,
            functions.static,
            data,
            int(max_iterations),
            WINDOW,
            float(tolerance),
        )
        results.append((np.asarray(thetas), np.asarray(iterations), np.asarray(values)))
    thetas, iterations, values = (np.concatenate(parts)[:num_targets] for parts in zip(*results))
    return thetas.astype(np.float64), iterations, values


#: Most float64 values one batch of refits may hold (160 MB).
REFIT_BATCH_VALUES = 20_000_000


def _mirror_descent(theta, arrays, static, data, max_iterations, window, tolerance):
    """Minimize the data term by mirror descent with the entropy of p_θ as mirror map.

    A step is θ' = θ − η P g, where g is the gradient with respect to the cell
    probabilities and P maps a function on the cells to its canonical
    coefficients; for an exponential family this is the natural-gradient step. A
    step is accepted when f(θ') ≤ f(θ) + ⟨g, μ' − μ⟩ + KL(p_θ' ‖ p_θ) / η, which
    makes the objective fall because the step minimizes the right-hand side
    (relative smoothness, as in Bregman proximal gradient methods); η is halved
    after a rejected step and grows by a quarter after an accepted one.
    """
    import jax
    import jax.numpy as jnp

    num_rows = data["num_rows"]
    value, log_z, cells, means = _evaluate(theta, arrays, static, data)
    step = 1.0 / (num_rows**2 * jnp.max(data["weights"]))

    def running(state):
        iteration, _, value, _, _, _, _, window_start = state
        at_check = (iteration % window == 0) & (iteration > 0)
        # The absolute term stops fits that reach an exact match (objective near zero).
        settled = window_start - value <= tolerance * jnp.abs(value) + 1e-12 * static.num_cells
        stalled = at_check & settled
        return (iteration < max_iterations) & ~stalled

    def one_step(state):
        iteration, theta, value, log_z, cells, means, step, window_start = state
        window_start = jnp.where(iteration % window == 0, value, window_start)
        gradient = (
            -num_rows * data["weights"] * (data["counts"] - num_rows * cells)
            - BARRIER_COUNT / cells
        )
        candidate = theta - step * project_to_parameters(gradient, arrays, static)
        new_value, new_log_z, new_cells, new_means = _evaluate(candidate, arrays, static, data)
        divergence = jnp.dot(candidate - theta, new_means) - (new_log_z - log_z)
        bound = value + jnp.dot(gradient, new_cells - cells) + divergence / step
        accept = (new_value <= bound) & (new_value <= value) & jnp.isfinite(new_value)

        def pick(new, old):
            return jnp.where(accept, new, old)

        return (
            iteration + 1,
            pick(candidate, theta),
            pick(new_value, value),
            pick(new_log_z, log_z),
            pick(new_cells, cells),
            pick(new_means, means),
            jnp.where(accept, step * 1.25, step * 0.5),
            window_start,
        )

    state = (0, theta, value, log_z, cells, means, step, value)
    final = jax.lax.while_loop(running, one_step, state)
    return final[1], final[2], final[0], final[6]
