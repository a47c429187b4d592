"""Buying numeric bounds from the privacy budget with DP quantiles.

When a numeric column's bounds are not declared, twinify can estimate them under
differential privacy instead of reading the minimum and maximum from the data. Each
bound is a low or high quantile chosen by the exponential mechanism (McSherry and
Talwar 2007) over a fixed, public grid of candidate values, so nothing but the
mechanism's output depends on the data.

The grid contains 0 and every value ±m·10^k with m in 10..99 and k from -4 to 8, that
is, every number between 1e-3 and 1e10 rounded to two significant digits. A bound
is therefore reported to two significant digits, and values beyond it are clipped.

The score of candidate c for quantile p is −|#{x < c} − p·n|. Adding, removing or
replacing one row changes it by at most 1, under either neighbouring relation. The
mechanism picks candidates far outside the data with probability about
``len(grid) · exp(−ε·p·n / 2)``, so it needs ε·p·n of at least about 25: for the
default p = 0.01 that is ε ≥ 0.1 per bound on 26,000 rows, and small tables should
declare their bounds instead.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from twinify.privacy.report import Mechanism
from twinify.privacy.rng import RandomSource

#: Quantiles used as lower and upper bounds; 1% of the rows on each side are clipped.
DEFAULT_QUANTILES = (0.01, 0.99)

#: Sensitivity of the quantile score (a count) under both neighbouring relations.
SCORE_SENSITIVITY = 1.0


@functools.cache
def candidate_grid() -> np.ndarray:
    """Return the public, sorted grid of candidate bounds."""
    mantissas = np.arange(10, 100, dtype=np.float64)
    magnitudes = [mantissas * 10.0**exponent for exponent in range(-4, 9)]
    positive = np.unique(np.concatenate(magnitudes))
    return np.concatenate([-positive[::-1], [0.0], positive])


def secure_uniform(rng: RandomSource) -> float:
    """Return a uniform float in [0, 1) with 53 random bits from the secure generator."""
    import d3p.random

    high, low = (int(word) for word in np.asarray(d3p.random.random_bits(rng.key(), 32, (2,))))
    return ((high << 21) | (low >> 11)) / float(1 << 53)


def private_quantile(values: np.ndarray, quantile: float, epsilon: float, rng: RandomSource) -> float:
    """Return an ε-DP estimate of the ``quantile`` of ``values`` on the public grid.

    Args:
        values: The column's non-missing values.
        quantile: Target quantile p in (0, 1).
        epsilon: ε spent on this one estimate.
        rng: Secure random source.
    """
    grid = candidate_grid()
    counts_below = np.searchsorted(np.sort(values), grid, side="left")
    scores = -np.abs(counts_below - quantile * len(values))
    log_weights = epsilon * scores / (2.0 * SCORE_SENSITIVITY)
    weights = np.exp(log_weights - log_weights.max())
    cumulative = np.cumsum(weights / weights.sum())
    index = int(np.searchsorted(cumulative, secure_uniform(rng), side="right"))
    return float(grid[min(index, len(grid) - 1)])


def private_bounds(
    values: np.ndarray, epsilon: float, rng: RandomSource, quantiles: tuple[float, float] = DEFAULT_QUANTILES
) -> tuple[float, float]:
    """Return ε-DP (lower, upper) bounds; each quantile spends ε/2.

    When the two estimates coincide or cross, the upper bound moves to the next grid
    value, so the result is always a valid interval.
    """
    lower = private_quantile(values, quantiles[0], epsilon / 2.0, rng)
    upper = private_quantile(values, quantiles[1], epsilon / 2.0, rng)
    if upper <= lower:
        grid = candidate_grid()
        upper = float(grid[min(np.searchsorted(grid, lower, side="right"), len(grid) - 1)])
    return lower, upper


def bounds_mechanism(column: str, epsilon: float, quantiles: tuple[float, float] = DEFAULT_QUANTILES) -> Mechanism:
    """Return the mechanism record for buying one column's bounds."""
    return Mechanism(
        name="exponential mechanism (quantiles on a public grid)",
        purpose=f"bounds of column {column!r}",
        epsilon=epsilon,
        delta=0.0,
        accountant="pure epsilon-DP, basic composition",
        parameters={
            "quantiles": list(quantiles),
            "score_sensitivity": SCORE_SENSITIVITY,
            "grid": "0 and ±m·10^k, m = 10..99, k = -4..8",
            "grid_size": int(len(candidate_grid())),
        },
    )


def needed_epsilon(num_rows_estimate: float, quantile: float = DEFAULT_QUANTILES[0]) -> float:
    """Return the ε per bound at which far-off candidates become unlikely (an estimate)."""
    return 2.0 * (math.log(len(candidate_grid())) + 5.0) / (quantile * num_rows_estimate)
