"""Numeric bounds bought with DP quantiles."""

from __future__ import annotations

import numpy as np
import pytest

from twinify.privacy.dp_bounds import candidate_grid, private_bounds, private_quantile
from twinify.privacy.rng import RandomSource


def test_grid_is_public_and_sorted():
    grid = candidate_grid()
    assert np.all(np.diff(grid) > 0)
    assert 0.0 in grid
    assert 17.0 in grid
    assert 99_000.0 in grid


def test_bounds_near_true_quantiles():
    ages = np.random.default_rng(0).integers(17, 91, size=20_000).astype(float)
    lower, upper = private_bounds(ages, epsilon=1.0, rng=RandomSource(3), quantiles=(0.01, 0.99), widening=0.0)
    # Epsilon 0.5 per quantile with 200 rows per percent puts the estimate within
    # a few percent of the target quantile. For ages spread over 17..90 that is
    # within about 4 years.
    assert 17 <= lower <= 22
    assert 85 <= upper <= 90


def test_widening_extends_both_sides():
    values = np.random.default_rng(1).normal(0.0, 1.0, size=20_000)
    narrow = private_bounds(values, epsilon=1.0, rng=RandomSource(5), widening=0.0)
    wide = private_bounds(values, epsilon=1.0, rng=RandomSource(5))
    width = narrow[1] - narrow[0]
    assert wide == pytest.approx((narrow[0] - 0.5 * width, narrow[1] + 0.5 * width))
    # The 5% and 95% quantiles of N(0, 1) are at ±1.64; widened, the interval
    # covers about ±3.3, so at most a few tenths of a percent are clipped.
    assert np.mean((values < wide[0]) | (values > wide[1])) < 0.005


def test_quantile_distribution_matches_exponential_mechanism():
    values = np.arange(100, dtype=float)
    draws = np.array([private_quantile(values, 0.5, epsilon=0.5, rng=RandomSource(seed)) for seed in range(300)])
    # The ten grid values in each unit share a score, and the weight falls by
    # exp(-0.25) per unit away from the median, so about 0.2% of the mass lies
    # more than 25 units from 50. Candidates outside the data score -50 each and
    # hold about 23,400 * exp(-12.5) / 80, another 0.1%.
    near = np.abs(draws - 50) <= 25
    assert abs(np.median(draws) - 50) <= 2
    assert near.mean() >= 0.97
    assert np.std(draws[near]) > 1.0


def test_seeded_bounds_reproducible():
    values = np.linspace(0, 1000, 5000)
    first = private_bounds(values, 1.0, RandomSource(11))
    second = private_bounds(values, 1.0, RandomSource(11))
    assert first == second


def test_bounds_always_ordered():
    constant = np.full(1000, 5.0)
    lower, upper = private_bounds(constant, 0.5, RandomSource(2))
    assert lower < upper


@pytest.mark.parametrize("row", [0, 1])
def test_neighbouring_tables_shift_probabilities_boundedly(row):
    # The exponential mechanism's output probabilities on neighbouring tables
    # differ by at most a factor exp(epsilon); check it on the exact weights.
    from twinify.privacy import dp_bounds

    def probabilities(values):
        grid = candidate_grid()
        counts = np.searchsorted(np.sort(values), grid, side="left")
        scores = -np.abs(counts - 0.5 * len(values))
        weights = np.exp(0.3 * scores / (2 * dp_bounds.SCORE_SENSITIVITY))
        return weights / weights.sum()

    values = np.linspace(0.0, 100.0, 200)
    neighbour = values.copy()
    neighbour[row] = 1e6
    ratio = probabilities(values) / probabilities(neighbour)
    assert ratio.max() <= np.exp(0.3) * (1 + 1e-12)
    assert ratio.min() >= np.exp(-0.3) * (1 - 1e-12)
