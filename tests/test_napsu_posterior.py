"""NAPSU-MQ posterior: the fit of the noisy marginals, Laplace draws and NUTS."""

from __future__ import annotations

import numpy as np
import pytest
from napsu_helpers import brute_force_query_marginals, sample_from_network

pytest.importorskip("jax")

from jax.experimental import enable_x64  # noqa: E402

from twinify_napsu.laplace import laplace_draws  # noqa: E402
from twinify_napsu.markov_network import build_network  # noqa: E402
from twinify_napsu.measurement import marginal_counts  # noqa: E402
from twinify_napsu.nuts import nuts_draws  # noqa: E402
from twinify_napsu.posterior import Problem, fit_marginals  # noqa: E402

SIZES = (2, 3, 2)
REFERENCES = (0, 0, 0)
QUERIES = [(0, 1), (1, 2)]


def _problem(network, rows, noise_sd, seed, prior_scale=10.0):
    counts = np.concatenate(
        [marginal_counts(rows, query, network.sizes) for query in network.queries]
    )
    noise = np.random.default_rng(seed).normal(scale=noise_sd, size=counts.size)
    return Problem(
        network=network,
        counts=counts + noise,
        variances=np.full(counts.size, noise_sd**2),
        num_rows=float(len(rows)),
        prior_scale=prior_scale,
    )


def test_fit_matches_consistent_marginals():
    with enable_x64():
        network = build_network(SIZES, REFERENCES, QUERIES)
        theta = np.random.default_rng(0).normal(scale=0.8, size=network.num_parameters)
        expected = 1000.0 * brute_force_query_marginals(network, theta)
        problem = Problem(
            network=network,
            counts=expected,
            variances=np.ones(expected.size),
            num_rows=1000.0,
            prior_scale=10.0,
        )
        estimate = fit_marginals(problem, max_iterations=5000, tolerance=1e-10)
        fitted = 1000.0 * np.asarray(network.functions.query_marginals(estimate.theta))
    np.testing.assert_allclose(fitted, expected, atol=1e-3)
    np.testing.assert_allclose(estimate.theta, theta, atol=1e-4)
    assert estimate.diagnostics["iterations"] > 0


def test_laplace_mean_recovers_parameters():
    with enable_x64():
        network = build_network(SIZES, REFERENCES, QUERIES)
        theta = np.random.default_rng(1).normal(scale=0.7, size=network.num_parameters)
        rows = sample_from_network(network, theta, num_rows=20_000, seed=2)
        problem = _problem(network, rows, noise_sd=5.0, seed=3)
        estimate = fit_marginals(problem, max_iterations=3000, tolerance=1e-9)
        result = laplace_draws(
            problem, estimate.theta, num_draws=60, seed=4, max_iterations=1000, tolerance=1e-9
        )
    mean = result.draws.mean(axis=0)
    spread = result.draws.std(axis=0, ddof=1)
    # The posterior mean misses the truth by about one posterior standard deviation.
    # Four allow for the eight parameters and for the error of the mean of 60 draws.
    assert np.all(np.abs(mean - theta) <= 4 * spread)
    assert np.all(spread < 0.1)
    assert result.diagnostics["draws"] == 60


def test_laplace_spread_is_noise_aware():
    num_rows, noise_sd, num_draws = 5000, 30.0, 400
    probabilities = np.array([0.4, 0.3, 0.2, 0.1])
    with enable_x64():
        network = build_network((4,), (0,), [(0,)])
        rows = np.random.default_rng(5).choice(4, size=(num_rows, 1), p=probabilities)
        problem = _problem(network, rows, noise_sd=noise_sd, seed=6)
        estimate = fit_marginals(problem, max_iterations=3000, tolerance=1e-10)
        result = laplace_draws(
            problem,
            estimate.theta,
            num_draws=num_draws,
            seed=7,
            max_iterations=2000,
            tolerance=1e-10,
        )
        drawn = np.stack([np.asarray(network.functions.query_marginals(t)) for t in result.draws])
    fitted = np.asarray(network.functions.query_marginals(estimate.theta))
    # Sampling variance p(1-p)/N plus the noise projected onto the simplex (the row
    # count is fixed), sigma² (1 - 1/k) / N².
    expected = fitted * (1 - fitted) / num_rows + noise_sd**2 * (1 - 1 / 4) / num_rows**2
    # The variance of 400 draws has a relative standard error of 7%; 25% is 3.5 of them.
    np.testing.assert_allclose(drawn.var(axis=0, ddof=1), expected, rtol=0.25)
    np.testing.assert_allclose(
        drawn.mean(axis=0), fitted, atol=3 * np.sqrt(expected / num_draws).max()
    )


def test_nuts_agrees_with_laplace():
    with enable_x64():
        import jax

        network = build_network((2, 3), (0, 0), [(0, 1), (0,)])
        theta = np.array([0.5, -0.3, 0.8, 0.4, -0.6])
        rows = sample_from_network(network, theta, num_rows=3000, seed=8)
        problem = _problem(network, rows, noise_sd=10.0, seed=9)
        estimate = fit_marginals(problem, max_iterations=3000, tolerance=1e-10)
        laplace = laplace_draws(
            problem, estimate.theta, num_draws=40, seed=10, max_iterations=1000, tolerance=1e-10
        )
        result = nuts_draws(
            problem,
            estimate.theta,
            num_draws=200,
            jax_key=jax.random.PRNGKey(0),
            num_warmup=300,
            num_chains=2,
            dense_limit=100,
            initial_draws=laplace.draws,
        )
    diagnostics = result.diagnostics
    assert diagnostics["max split R-hat (cell probabilities)"] < 1.1
    assert diagnostics["max split R-hat (parameters)"] < 1.1
    assert 0.5 < diagnostics["mean acceptance probability"] <= 1.0
    assert diagnostics["likelihood covariance"].startswith("dense")
    spread = laplace.draws.std(axis=0, ddof=1)
    # Both approximate the same posterior: their means agree within a few posterior
    # standard deviations, and so do their spreads (within a factor of two).
    assert np.all(np.abs(result.draws.mean(axis=0) - laplace.draws.mean(axis=0)) <= 3 * spread)
    ratio = result.draws.std(axis=0, ddof=1) / spread
    assert np.all((ratio > 0.5) & (ratio < 2.0))
