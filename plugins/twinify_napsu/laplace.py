"""The default posterior approximation: Laplace in the space of marginal probabilities.

With its covariance fixed at the fit, the likelihood y ~ N(N μ, C), where
C = N Σ(θ̂) + diag(v), is Gaussian in the marginal probabilities μ, and μ = M τ + c
is affine in the model's mean parameters τ (the expected canonical features). Under
a flat prior on τ the posterior is therefore Gaussian too, with covariance
(Mᵀ C⁻¹ M)⁻¹ / N², up to the boundary of the set of valid marginals. A draw is

    target = N μ(θ̂) + r,   r = (counts of N rows drawn from p_θ̂ − N μ(θ̂)) + N(0, diag(v)),

turned into canonical parameters by fitting the model to ``target`` with the noise
weights W = diag(1/v). The sampling part of r lies in the model's span, so to first
order the fitted draws have covariance Σ_t / N + (Mᵀ W M)⁻¹ / N² in τ, where Σ_t is
the covariance of the canonical features for one row. By the Woodbury identity that
equals (Mᵀ C⁻¹ M)⁻¹ / N², the covariance under the full C.

The covariance is never formed: the sampling part is drawn as multinomial counts
down the junction tree and the noise part is diagonal, so memory stays linear in the
number of cells. Where a Gaussian in θ would be badly wrong (cells with few counts
next to the noise, whose log odds have a long lower tail), the draws stay valid
distributions: a target below zero is projected back onto the model.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs
import numpy as np

from twinify_napsu.posterior import Problem, refit
from twinify_napsu.sampling import sample_counts

logger = logging.getLogger(__name__)


@attrs.frozen
class DrawResult:
    """Posterior draws of θ and how they were computed."""

    draws: np.ndarray
    diagnostics: dict[str, Any]


def laplace_draws(
    problem: Problem,
    theta: np.ndarray,
    num_draws: int,
    seed: int,
    max_iterations: int,
    tolerance: float,
) -> DrawResult:
    """Draw ``num_draws`` parameter vectors from the Laplace approximation at ``theta``.

    Args:
        problem: Measurements and prior.
        theta: The fit θ̂.
        num_draws: Number of draws.
        seed: Integer seed (from the fit's random source) for the perturbations.
        max_iterations: Maximum number of mirror-descent steps per draw.
        tolerance: Relative objective change at which a draw's fit stops.
    """
    generator = np.random.default_rng(seed)
    marginals = np.asarray(problem.network.functions.query_marginals(theta), dtype=np.float64)
    targets = problem.num_rows * marginals[None, :] + sample_perturbations(
        problem, theta, num_draws, generator
    )
    draws, iterations, _ = refit(problem, theta, targets, max_iterations, tolerance)
    at_limit = int(np.sum(iterations >= max_iterations))
    diagnostics = {
        "method": "Laplace approximation in marginal probabilities, mapped to parameters by refitting",
        "draws": int(num_draws),
        "refit iterations (mean)": float(np.mean(iterations)),
        "refits stopped at the iteration limit": at_limit,
    }
    if at_limit:
        logger.debug(
            "%d of %d posterior draws stopped at %d refit iterations; their spread is approximate",
            at_limit,
            num_draws,
            max_iterations,
        )
    return DrawResult(draws=draws, diagnostics=diagnostics)


def sample_perturbations(
    problem: Problem, theta: np.ndarray, num_draws: int, generator
) -> np.ndarray:
    """Return draws of r: the sampling deviation of N rows plus the measurement noise."""
    network = problem.network
    clique_marginals = np.asarray(network.functions.clique_marginals(theta), dtype=np.float64)
    expected = problem.num_rows * np.asarray(
        network.functions.query_marginals(theta), dtype=np.float64
    )
    num_rows = max(int(round(problem.num_rows)), 1)
    result = np.empty((num_draws, network.num_cells))
    for index in range(num_draws):
        counts = sample_counts(network, clique_marginals, num_rows, generator)
        noise = generator.standard_normal(network.num_cells) * np.sqrt(problem.variances)
        result[index] = counts * (problem.num_rows / num_rows) - expected + noise
    return result
