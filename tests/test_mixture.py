"""The automatic mixture model and its parameter transforms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd
import pytest
from numpyro.infer.util import log_density

from twinify.features import decode_features, resolve_features
from twinify.mixture import WEIGHTS_SITE, MixtureModel
from twinify.modelspec import FeatureSpec
from twinify.transforms import SimplexSoftmaxTransform

NUM_COMPONENTS = 3


def _column_for(distribution) -> pd.Series:
    """Return data that any distribution of this kind should accept: counts or two labels."""
    if distribution.kind == "categorical" and not set(distribution.column_types) & {"real", "integer"}:
        return pd.Series(["a", "b", "a", None, "b", "a"], dtype="string")
    return pd.Series([1, 3, 2, None, 5, 4], dtype="Int64")


@pytest.fixture(scope="module")
def prepared(registry):
    """Every registered distribution, each on its own column with missing values."""
    data, specs = {}, []
    for index, distribution in enumerate(registry.records("distributions")):
        column = f"{distribution.name}_{index}"
        data[column] = _column_for(distribution)
        specs.append(FeatureSpec(column=column, distribution=distribution.name, line=index + 1))
    with pytest.warns(UserWarning, match="not covered"):
        return resolve_features(specs, registry, pd.DataFrame(data))


@pytest.fixture(scope="module")
def mixture(prepared):
    return MixtureModel(prepared.features, NUM_COMPONENTS)


@pytest.fixture(scope="module")
def params(mixture):
    return mixture.constrain(mixture.initial_unconstrained(jax.random.PRNGKey(0)))[0]


def test_assembles_every_registered_distribution(registry, mixture):
    names = {feature.distribution_name for feature in mixture.features}
    assert names == set(registry.names("distributions"))
    assert all(feature.wrapper_name == "missing" for feature in mixture.features)
    assert mixture.sites[0].name == WEIGHTS_SITE
    assert mixture.num_parameters == sum(site.size for site in mixture.sites)


def test_log_likelihood_matches_direct_sum(mixture, params, prepared):
    rows = jnp.asarray(prepared.encoded, dtype=jnp.float32)
    fast = mixture.log_likelihood(params, rows)

    expected = []
    for row in prepared.encoded:
        per_component = []
        for k in range(NUM_COMPONENTS):
            total = float(jnp.log(params[WEIGHTS_SITE][k]))
            for index, feature in enumerate(mixture.features):
                component = {name: value[k] for name, value in mixture.feature_params(params, index).items()}
                likelihood = feature.distribution.likelihood(component, feature.schema)
                total += float(likelihood.log_prob(jnp.float32(row[index])))
            per_component.append(total)
        expected.append(float(jax.nn.logsumexp(jnp.array(per_component))))
    np.testing.assert_allclose(np.asarray(fast), expected, rtol=1e-5)


def test_model_log_density_matches(mixture, params, prepared):
    rows = jnp.asarray(prepared.encoded, dtype=jnp.float32)
    num_obs_total = 60
    # The plate subsamples, so numpyro needs a key even though the batch is given.
    seeded = numpyro.handlers.seed(mixture.model, 0)
    density, _ = log_density(seeded, (rows,), {"num_obs_total": num_obs_total}, params)
    scale = num_obs_total / rows.shape[0]
    expected = mixture.log_prior(params) + scale * jnp.sum(mixture.log_likelihood(params, rows))
    np.testing.assert_allclose(float(density), float(expected), rtol=1e-5)


def test_prior_predictive_shapes(mixture):
    trace = numpyro.handlers.trace(numpyro.handlers.seed(mixture.model, 1)).get_trace(num_rows=7)
    assert trace["component"]["value"].shape == (7,)
    for feature in mixture.features:
        assert trace[feature.column]["value"].shape == (7,)
    weights = trace[WEIGHTS_SITE]["value"]
    assert weights.shape == (NUM_COMPONENTS,)
    np.testing.assert_allclose(float(jnp.sum(weights)), 1.0, rtol=1e-5)


def test_generation_decodes_to_input_types(mixture, params, prepared):
    encoded = mixture.sample_encoded(params, 500, jax.random.PRNGKey(2))
    assert encoded.shape == (500, len(mixture.features))
    frame = decode_features(mixture.features, np.asarray(encoded, dtype=np.float64))
    assert list(frame.columns) == [feature.column for feature in mixture.features]
    for feature in mixture.features:
        assert str(frame[feature.column].dtype) == feature.schema.dtype, feature.column
        if feature.schema.categories is not None:
            assert set(frame[feature.column].dropna()) <= set(feature.schema.categories)


def test_missing_probabilities_start_low(mixture):
    params, _ = mixture.constrain(mixture.initial_unconstrained(jax.random.PRNGKey(5), radius=2.0))
    starts = [value for name, value in params.items() if name.endswith(":missing_prob")]
    assert len(starts) == len(mixture.features)
    # Logits uniform within 2 of logit(0.01): probabilities from 0.0014 to 0.069.
    for value in starts:
        assert np.all((value > 0.0013) & (value < 0.07))
    # Sites without a starting value keep the start around 0 (weights near even).
    weights = mixture.unflatten(mixture.initial_unconstrained(jax.random.PRNGKey(5), radius=2.0))[WEIGHTS_SITE]
    assert np.all(np.abs(weights) <= 2.0)


def test_unconstrain_inverts_constrain(mixture):
    unconstrained = mixture.initial_unconstrained(jax.random.PRNGKey(3))
    params, _ = mixture.constrain(unconstrained)
    np.testing.assert_allclose(mixture.unconstrain(params), unconstrained, atol=1e-4)


def test_pull_back_matches_autodiff(mixture, prepared):
    unconstrained = mixture.initial_unconstrained(jax.random.PRNGKey(4))
    rows = jnp.asarray(prepared.encoded, dtype=jnp.float32)
    params, _ = mixture.constrain(unconstrained)
    constrained = jax.vmap(jax.grad(mixture.log_likelihood), in_axes=(None, 0))(params, rows)
    pulled = jnp.concatenate(mixture.pull_back_row_gradients(unconstrained, params, constrained), axis=1)

    def row_log_likelihood(z, row):
        return mixture.log_likelihood(mixture.constrain(z)[0], row)

    reference = jax.vmap(jax.grad(row_log_likelihood), in_axes=(None, 0))(unconstrained, rows)
    np.testing.assert_allclose(pulled, reference, rtol=1e-4, atol=1e-5)


def test_simplex_transform_log_det():
    transform = SimplexSoftmaxTransform()
    x = jnp.array([0.3, -1.2, 2.0])
    y = transform(x)
    assert y.shape == (4,)
    np.testing.assert_allclose(float(jnp.sum(y)), 1.0, rtol=1e-6)
    jacobian = jax.jacfwd(lambda x: transform(x)[:-1])(x)
    expected = float(jnp.log(jnp.abs(jnp.linalg.det(jacobian))))
    np.testing.assert_allclose(float(transform.log_abs_det_jacobian(x, y)), expected, rtol=1e-5)
    np.testing.assert_allclose(transform.inv(y), x, rtol=1e-5)


def test_prior_with_batch_shape_rejected(registry, prepared):
    import attrs
    import numpyro.distributions as dist

    from twinify.errors import PluginError

    feature = prepared.features[0]
    broken = attrs.evolve(
        feature.distribution,
        priors=lambda column: {"loc": dist.Normal(jnp.zeros(2), 1.0)},
    )
    with pytest.raises(PluginError, match="batch shape"):
        MixtureModel([attrs.evolve(feature, distribution=broken)], 2)
