"""Buying numeric bounds from the privacy budget with DP quantiles.

When a numeric column's bounds are not declared, twinify can estimate them under
differential privacy instead of reading the minimum and maximum from the data. Each
bound starts from a low or high quantile chosen by the exponential mechanism
(McSherry and Talwar 2007) over a fixed, public grid of candidate values, so nothing
but the mechanism's output depends on the data. The interval between the two
quantiles is then widened by a fixed share of its width on each side, a public
rule. For normally distributed values the 5% and 95% quantiles widened by half the
width cover ±3.3 standard deviations, so about 0.1% of the values are clipped.

The grid contains 0 and every value ±m·10^k with m in 100..999 and k from -5 to 7,
that is, every number between 1e-3 and 1e10 rounded to three significant digits.
Near the data, neighbouring grid values are then about 1% apart, so the best
candidate lies close to the target rank. With two digits they were up to 10%
apart, and the best candidate could miss the target by more rows than separate
it from far-off candidates.

The score of candidate c for quantile p is −|#{x < c} − p·n|. Adding, removing or
replacing one row changes it by at most 1, under either neighbouring relation. The
mechanism picks candidates far outside the data with probability about
``len(grid) · exp(−ε·p·n / 2)``, so it needs ε·p·n of at least about 34 (a chance
of about 1e-3): for the default p = 0.05 that is ε ≥ 0.026 per quantile on 26,000
rows, and small tables should declare their bounds instead.
"""

from __future__ import annotations

import functools
import logging
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from twinify.privacy.accountant import PrivacyAccountant
from twinify.privacy.report import Mechanism
from twinify.privacy.rng import RandomSource, import_d3p_random

logger = logging.getLogger(__name__)

#: Quantiles estimated before widening; far enough from the tails to need little ε.
DEFAULT_QUANTILES = (0.05, 0.95)

#: Share of the inter-quantile width added below the lower and above the upper quantile.
DEFAULT_WIDENING = 0.5

#: Sensitivity of the quantile score (a count) under both neighbouring relations.
SCORE_SENSITIVITY = 1.0


@functools.cache
def candidate_grid() -> np.ndarray:
    """Return the public, sorted grid of candidate bounds."""
    mantissas = np.arange(100, 1000, dtype=np.float64)
    magnitudes = [mantissas * 10.0**exponent for exponent in range(-5, 8)]
    positive = np.unique(np.concatenate(magnitudes))
    return np.concatenate([-positive[::-1], [0.0], positive])


def secure_uniform(rng: RandomSource) -> float:
    """Return a uniform float in [0, 1) with 53 random bits from the secure generator."""
    d3p_random = import_d3p_random()
    high, low = (int(word) for word in np.asarray(d3p_random.random_bits(rng.key(), 32, (2,))))
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
    values: np.ndarray,
    epsilon: float,
    rng: RandomSource,
    quantiles: tuple[float, float] = DEFAULT_QUANTILES,
    widening: float = DEFAULT_WIDENING,
) -> tuple[float, float]:
    """Return ε-DP (lower, upper) bounds; each quantile spends ε/2.

    When the two estimates coincide or cross, the upper bound moves to the next grid
    value, so the result is always a valid interval. The interval is then widened
    by ``widening`` times its width on each side (post-processing).
    """
    lower = private_quantile(values, quantiles[0], epsilon / 2.0, rng)
    upper = private_quantile(values, quantiles[1], epsilon / 2.0, rng)
    if upper <= lower:
        grid = candidate_grid()
        upper = float(grid[min(np.searchsorted(grid, lower, side="right"), len(grid) - 1)])
    width = upper - lower
    return lower - widening * width, upper + widening * width


def bounds_mechanism(
    column: str,
    epsilon: float,
    quantiles: tuple[float, float] = DEFAULT_QUANTILES,
    widening: float = DEFAULT_WIDENING,
) -> Mechanism:
    """Return the mechanism record for buying one column's bounds."""
    return Mechanism(
        name="exponential mechanism (quantiles on a public grid)",
        purpose=f"bounds of column {column!r}",
        epsilon=epsilon,
        delta=0.0,
        accountant="pure epsilon-DP, basic composition",
        parameters={
            "quantiles": list(quantiles),
            "widening": widening,
            "score_sensitivity": SCORE_SENSITIVITY,
            "grid": "0 and ±m·10^k, m = 100..999, k = -5..7",
            "grid_size": int(len(candidate_grid())),
        },
    )


def needed_epsilon(num_rows_estimate: float, quantile: float = DEFAULT_QUANTILES[0]) -> float:
    """Return the ε per bound at which far-off candidates become unlikely (an estimate)."""
    return 2.0 * (math.log(len(candidate_grid())) + 7.0) / (quantile * num_rows_estimate)


def register_bounds(columns: Sequence[str], epsilon: float, accountant: PrivacyAccountant) -> float:
    """Register one bounds mechanism per column, splitting ``epsilon`` evenly.

    Call it before any data are read. Returns the ε of each column's mechanism
    (0 when there are no columns, which spends nothing).

    Raises:
        PrivacyBudgetError: the budget cannot pay for the bounds.
    """
    if not columns:
        return 0.0
    per_column = epsilon / len(columns)
    for column in columns:
        accountant.spend(bounds_mechanism(column, per_column))
    return per_column


def buy_bounds(
    columns: Sequence[str], data: pd.DataFrame, epsilon: float, rng: RandomSource
) -> dict[str, tuple[float, float]]:
    """Return ε-DP (lower, upper) bounds of each column's non-missing numbers.

    Only the mechanisms' outputs depend on the data. Text in a numeric column is
    skipped here and reported by the distribution when the column is encoded.
    """
    bounds = {}
    for column in columns:
        numbers = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        values = numbers[np.isfinite(numbers)]
        bounds[column] = private_bounds(values, epsilon, rng)
        logger.info("bounds of column %r bought with epsilon %.3g", column, epsilon)
    return bounds


def warn_if_too_little(columns: Sequence[str], epsilon: float, num_rows: int) -> None:
    """Warn when ``epsilon`` per column is too small for bounds near the data.

    The warning goes to the data holder only; it changes nothing in the fit.
    """
    if not columns:
        return
    needed = 2.0 * needed_epsilon(num_rows)
    if epsilon < needed:
        warnings.warn(
            f"DP bounds of {len(columns)} columns get epsilon {epsilon:.3g} each, but {num_rows} rows "
            f"need about {needed:.3g} each for bounds near the data; the bounds will likely be far "
            "off. Declare the bounds in a schema or give --dp-bounds more epsilon",
            UserWarning,
            stacklevel=3,
        )
