"""The fast DP-SGD gradient of DPVI against plain autodiff references, and batch sampling."""

from __future__ import annotations

import d3p.random
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from twinify.features import resolve_features
from twinify.mixture import MixtureModel
from twinify.modelspec import parse_model_text
from twinify.privacy import RandomSource
from twinify_dpvi.gradients import clipped_likelihood_sum, per_example_gradients, prior_entropy_gradient
from twinify_dpvi.plan import noisy_row_count
from twinify_dpvi.sampling import FixedSizeSampler, PoissonSampler

MODEL = """
height: Normal(lower=100, upper=200, missing=True)
colour: Categorical(categories=["red", "green", "blue"], missing=False)
member: Bernoulli(categories=["no", "yes"], missing=False)
"""


@pytest.fixture(scope="module")
def setup(registry):
    data = pd.DataFrame({
        "height": pd.Series([150.0, 172.5, None, 120.0, 199.0, 181.0]),
        "colour": pd.Series(["red", "blue", "green", "blue", "red", "red"], dtype="string"),
        "member": pd.Series(["yes", "no", "no", "yes", "yes", "no"], dtype="string"),
    })
    prepared = resolve_features(parse_model_text(MODEL), registry, data)
    mixture = MixtureModel(prepared.features, 3)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    loc = mixture.initial_unconstrained(keys[0])
    log_scale = jnp.log(0.5) + 0.1 * jax.random.normal(keys[1], loc.shape)
    noise = jax.random.normal(keys[2], loc.shape)
    rows = jnp.asarray(prepared.encoded, dtype=jnp.float32)
    return mixture, loc, log_scale, noise, rows


def _reference_row_gradients(mixture, loc, log_scale, noise, rows):
    """vmap(grad) of each row's log-likelihood as a function of (μ, λ), concatenated."""

    def row_objective(variational, row):
        loc, log_scale = variational
        params, _ = mixture.constrain(loc + jnp.exp(log_scale) * noise)
        return mixture.log_likelihood(params, row)

    grad_loc, grad_log_scale = jax.vmap(jax.grad(row_objective), in_axes=(None, 0))((loc, log_scale), rows)
    return jnp.concatenate([grad_loc, grad_log_scale], axis=1)


def _reference_clipped_sum(mixture, reference, mask, threshold, groups):
    """Clip the reference rows group by group, each group to threshold / sqrt(groups)."""
    labels = list(dict.fromkeys(groups))
    dimension = mixture.num_parameters
    columns = {label: [] for label in labels}
    for site, where, label in zip(mixture.sites, mixture.slices, groups):
        indices = list(range(where.start, where.stop))
        columns[label].extend(indices + [index + dimension for index in indices])
    clipped = jnp.zeros_like(reference)
    for label in labels:
        block = reference[:, columns[label]]
        factors = jnp.minimum(1.0, threshold / np.sqrt(len(labels)) / jnp.linalg.norm(block, axis=1))
        clipped = clipped.at[:, columns[label]].set(block * factors[:, None])
    return mask @ clipped


GROUPINGS = {
    "row": lambda site: 0,
    "feature": lambda site: site.feature,
    "parameter": lambda site: site.name,
}


@pytest.mark.parametrize("grouping", sorted(GROUPINGS))
@pytest.mark.parametrize("threshold", [1e6, 1.0, 0.05])
def test_clipped_sum_matches_reference(setup, threshold, grouping):
    mixture, loc, log_scale, noise, rows = setup
    groups = [GROUPINGS[grouping](site) for site in mixture.sites]
    mask = jnp.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    fast = clipped_likelihood_sum(per_example_gradients(mixture), mixture.slices, groups, loc, log_scale,
                                  noise, rows, mask, threshold)
    reference = _reference_clipped_sum(
        mixture, _reference_row_gradients(mixture, loc, log_scale, noise, rows), mask, threshold, groups
    )
    np.testing.assert_allclose(jnp.concatenate([fast.loc, fast.log_scale]), reference, rtol=2e-4, atol=1e-5)


def test_clipping_bounds_each_row(setup):
    mixture, loc, log_scale, noise, rows = setup
    gradients_of = per_example_gradients(mixture)
    groups = [site.name for site in mixture.sites]
    threshold = 0.3
    for index in range(rows.shape[0]):
        mask = jnp.zeros(rows.shape[0]).at[index].set(1.0)
        single = clipped_likelihood_sum(gradients_of, mixture.slices, groups, loc, log_scale, noise, rows,
                                        mask, threshold)
        norm = float(jnp.sqrt(jnp.sum(single.loc**2) + jnp.sum(single.log_scale**2)))
        assert norm <= threshold * (1 + 1e-5)
    masked = clipped_likelihood_sum(gradients_of, mixture.slices, groups, loc, log_scale, noise, rows,
                                    jnp.zeros(rows.shape[0]), threshold)
    assert float(jnp.max(jnp.abs(masked.loc))) == 0.0


def test_full_gradient_matches_elbo_autodiff(setup):
    mixture, loc, log_scale, noise, rows = setup
    scale = 4.0  # 1 / sampling ratio

    def elbo_estimate(variational):
        loc, log_scale = variational
        z = loc + jnp.exp(log_scale) * noise
        params, log_det = mixture.constrain(z)
        likelihood = scale * jnp.sum(mixture.log_likelihood(params, rows))
        return likelihood + mixture.log_prior(params) + log_det + jnp.sum(log_scale)

    expected_loc, expected_log_scale = jax.grad(elbo_estimate)((loc, log_scale))
    clipped = clipped_likelihood_sum(per_example_gradients(mixture), mixture.slices, [0] * len(mixture.sites),
                                     loc, log_scale, noise, rows, jnp.ones(rows.shape[0]), 1e9)
    prior_loc, prior_log_scale = prior_entropy_gradient(mixture, loc, log_scale, noise)
    np.testing.assert_allclose(scale * clipped.loc + prior_loc, expected_loc, rtol=2e-4, atol=1e-4)
    np.testing.assert_allclose(scale * clipped.log_scale + prior_log_scale, expected_log_scale,
                               rtol=2e-4, atol=1e-4)


def test_fixed_size_batches_are_distinct_rows():
    sampler = FixedSizeSampler(num_rows=50, batch_size=20)
    indices, mask = sampler.chunk(sampler.draw(d3p.random.PRNGKey(1)), 0)
    assert len(set(np.asarray(indices).tolist())) == 20
    assert int(indices.min()) >= 0
    assert int(indices.max()) < 50
    assert float(mask.sum()) == 20.0


def test_poisson_chunks_cover_the_batch_once():
    # A capacity of 4 forces a batch of about 15 rows into several chunks.
    sampler = PoissonSampler(num_rows=60, threshold=2**30, capacity=4)
    state = sampler.draw(d3p.random.PRNGKey(2))
    selected = set(np.flatnonzero(np.asarray(state[0])).tolist())
    assert int(sampler.num_chunks(state)) == -(-len(selected) // 4)
    seen = []
    for index in range(int(sampler.num_chunks(state))):
        indices, mask = sampler.chunk(state, index)
        seen.extend(np.asarray(indices)[np.asarray(mask) > 0].tolist())
    assert sorted(seen) == sorted(selected)


def test_poisson_inclusion_rate():
    sampler = PoissonSampler.sized(num_rows=20000, threshold=2**32 // 20, expected_rows=20000)
    state = sampler.draw(d3p.random.PRNGKey(3))
    # Binomial(20000, 0.05): standard deviation about 31 rows.
    assert abs(int(state[2]) - 1000) < 5 * 31
    assert sampler.capacity >= 1000


def test_noisy_row_count_spread():
    rng = RandomSource(4)
    draws = np.array([noisy_row_count(10_000, 50.0, rng) for _ in range(400)])
    # Discrete Laplace of scale 50: mean 0 and standard deviation about 70.7, so
    # the mean of 400 draws has standard error 3.5.
    assert abs(draws.mean() - 10_000) < 5 * 3.6
    assert 55 < draws.std() < 90
