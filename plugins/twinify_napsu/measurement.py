"""Measuring marginal queries with the Gaussian mechanism.

A marginal query returns the count of rows in each cell of the joint table of its
columns. Adding or removing one row changes one cell of every marginal by 1, so
``m`` marginals together have L2 sensitivity ``sqrt(m)``. Substituting one row moves
one count between two cells of every marginal, so the sensitivity is ``sqrt(2 m)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

from twinify.privacy import Mechanism, PrivacyBudget, RandomSource
from twinify.privacy import accounting


@attrs.frozen(eq=False)
class Measurement:
    """The noisy result of one marginal query.

    Attributes:
        query: Model variable indices, sorted.
        counts: Noisy counts, the query's table raveled in C order.
        variances: Noise variance of each count.
    """

    query: tuple[int, ...]
    counts: np.ndarray
    variances: np.ndarray


def cells_changed(relation: str) -> int:
    """Return how many cells of one marginal a neighbouring data set changes by 1."""
    return 1 if relation == "add-remove" else 2


def l2_sensitivity(num_queries: int, relation: str) -> float:
    """Return the L2 sensitivity of ``num_queries`` marginals measured together."""
    return math.sqrt(num_queries * cells_changed(relation))


def marginal_counts(codes: np.ndarray, query: Sequence[int], sizes: Sequence[int]) -> np.ndarray:
    """Return the exact counts of ``query`` over value codes (rows, variables)."""
    shape = [sizes[v] for v in query]
    if len(query) == 0:
        return np.asarray([codes.shape[0]], dtype=np.float64)
    cells = np.ravel_multi_index(tuple(codes[:, list(query)].T), shape)
    return np.bincount(cells, minlength=int(np.prod(shape))).astype(np.float64)


def gaussian_noise(rng: RandomSource, size: int, sigma: float) -> np.ndarray:
    """Return ``size`` draws of N(0, sigma²) from the secure generator (d3p ChaCha20)."""
    import d3p.random

    standard = d3p.random.normal(rng.key(), (int(size),))
    return np.asarray(standard, dtype=np.float64) * sigma


def measure(
    codes: np.ndarray,
    queries: Sequence[Sequence[int]],
    sizes: Sequence[int],
    sigma: float,
    rng: RandomSource,
) -> list[Measurement]:
    """Measure every query with Gaussian noise of standard deviation ``sigma``.

    The noise for all queries is drawn in one call, so the generator is compiled
    for one array shape only.
    """
    exact = [marginal_counts(codes, query, sizes) for query in queries]
    if not exact:
        return []
    noise = gaussian_noise(rng, sum(counts.size for counts in exact), sigma)
    ends = np.cumsum([counts.size for counts in exact])
    return [
        Measurement(
            query=tuple(query), counts=counts + part, variances=np.full(counts.size, sigma**2)
        )
        for query, counts, part in zip(queries, exact, np.split(noise, ends[:-1]))
    ]


def plan_query_file(
    budget: PrivacyBudget, query_names: Sequence[Sequence[str]]
) -> tuple[float, Mechanism]:
    """Calibrate one Gaussian mechanism for all user-given queries, spending the whole budget.

    Returns:
        The noise standard deviation and the mechanism to register.
    """
    sensitivity = l2_sensitivity(len(query_names), budget.relation)
    sigma = accounting.gaussian_sigma(budget.epsilon, budget.delta, sensitivity)
    epsilon = accounting.gaussian_epsilon(sigma, budget.delta, sensitivity)
    mechanism = Mechanism(
        name="Gaussian mechanism",
        purpose="marginal queries",
        epsilon=epsilon,
        delta=budget.delta,
        accountant="analytic Gaussian calibration (Balle and Wang 2018)",
        parameters={
            "sigma": sigma,
            "l2 sensitivity": sensitivity,
            "relation": budget.relation,
            "queries": [", ".join(names) for names in query_names],
        },
    )
    return sigma, mechanism


def estimate_num_rows(measurements: Sequence[Measurement]) -> float:
    """Estimate the row count from noisy marginals (post-processing, no privacy cost).

    Each marginal's total is an unbiased estimate with variance equal to the sum of
    its cells' noise variances; the estimates are combined by inverse variance.
    """
    totals = np.asarray([m.counts.sum() for m in measurements])
    variances = np.asarray([m.variances.sum() for m in measurements])
    weights = 1.0 / variances
    return float(np.sum(weights * totals) / np.sum(weights))
