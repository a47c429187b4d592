"""The built-in feature distributions and the missing-value wrapper, table-driven."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from twinify.errors import DataError, InputError
from twinify.schema import ColumnSchema, conform_column

# One case per built-in distribution: a column of data and its declared schema.
CASES = {
    "normal": (
        pd.Series([17, 35, 90, 52, None], dtype="Int64"),
        ColumnSchema(name="age", type="integer", lower=17, upper=90, missing=True, dtype="Int64"),
    ),
    "bernoulli": (
        pd.Series(["no", "yes", None, "yes"], dtype="string"),
        ColumnSchema(name="smoker", type="categorical", categories=("no", "yes"), missing=True, dtype="string"),
    ),
    "categorical": (
        pd.Series(["b", "a", "c", None, "a"], dtype="string"),
        ColumnSchema(name="letter", type="categorical", categories=("a", "b", "c"), missing=True, dtype="string"),
    ),
    "poisson": (
        pd.Series([0, 3, 12, None], dtype="Int64"),
        ColumnSchema(name="visits", type="integer", lower=0, missing=True, dtype="Int64"),
    ),
}
NAMES = sorted(CASES)
NUM_COMPONENTS = 4


def _encoded(distribution, name):
    series, column = CASES[name]
    return distribution.encode(conform_column(series, column), column), column


def _prior_sample(distribution, column, key):
    priors = distribution.priors(column)
    keys = jax.random.split(key, len(priors))
    return {
        parameter: prior.expand((NUM_COMPONENTS,)).sample(k)
        for k, (parameter, prior) in zip(keys, priors.items())
    }, priors


@pytest.mark.parametrize("name", NAMES)
def test_prior_samples_meet_constraints(registry, name):
    distribution = registry.distribution(name)
    column = CASES[name][1]
    params, priors = _prior_sample(distribution, column, jax.random.PRNGKey(0))
    for parameter, value in params.items():
        support = priors[parameter].support
        assert bool(jnp.all(support(value))), parameter


@pytest.mark.parametrize("name", NAMES)
def test_encoding_round_trip(registry, name):
    distribution = registry.distribution(name)
    series, column = CASES[name]
    encoded, _ = _encoded(distribution, name)
    assert encoded.dtype == np.float64
    assert np.isnan(encoded).sum() == series.isna().sum()
    decoded = distribution.decode(encoded, column)
    assert str(decoded.dtype) == str(series.dtype)
    pd.testing.assert_series_equal(decoded.reset_index(drop=True), series.reset_index(drop=True), check_names=False)


@pytest.mark.parametrize("name", NAMES)
def test_log_prob_finite_and_jittable(registry, name):
    distribution = registry.distribution(name)
    encoded, column = _encoded(distribution, name)
    present = jnp.asarray(encoded[~np.isnan(encoded)], dtype=jnp.float32)
    params, _ = _prior_sample(distribution, column, jax.random.PRNGKey(1))

    @jax.jit
    def log_prob(params, values):
        return distribution.likelihood(params, column).log_prob(values[:, None])

    values = log_prob(params, present)
    assert values.shape == (present.shape[0], NUM_COMPONENTS)
    assert bool(jnp.all(jnp.isfinite(values)))


@pytest.mark.parametrize("name", NAMES)
def test_missing_wrapper_log_prob(registry, name):
    wrapped = registry.wrapper_for("missing-values").wrap(registry.distribution(name))
    encoded, column = _encoded(wrapped, name)
    params, priors = _prior_sample(wrapped, column, jax.random.PRNGKey(2))
    assert "missing_prob" in priors
    values = jnp.asarray(encoded, dtype=jnp.float32)[:, None]

    def total(params):
        return jnp.sum(wrapped.likelihood(params, column).log_prob(values))

    log_prob = wrapped.likelihood(params, column).log_prob(values)
    expected_missing = jnp.log(params["missing_prob"])
    missing_rows = np.isnan(encoded)
    assert bool(jnp.allclose(log_prob[missing_rows], expected_missing))
    gradients = jax.jit(jax.grad(total))(params)
    for parameter, gradient in gradients.items():
        assert bool(jnp.all(jnp.isfinite(gradient))), parameter


@pytest.mark.parametrize("name", NAMES)
def test_missing_wrapper_sampling(registry, name):
    wrapped = registry.wrapper_for("missing-values").wrap(registry.distribution(name))
    column = CASES[name][1]
    params, _ = _prior_sample(wrapped, column, jax.random.PRNGKey(3))
    params["missing_prob"] = jnp.array([0.0, 0.25, 0.5, 1.0])
    samples = wrapped.likelihood(params, column).sample(jax.random.PRNGKey(4), (4000,))
    assert samples.shape == (4000, NUM_COMPONENTS)
    share = np.isnan(np.asarray(samples)).mean(axis=0)
    # 4000 draws: the standard error of a share near 0.5 is below 0.008.
    np.testing.assert_allclose(share, [0.0, 0.25, 0.5, 1.0], atol=0.03)
    decoded = wrapped.decode(np.asarray(samples[:, 1], dtype=np.float64), column)
    assert decoded.isna().sum() == int(np.isnan(np.asarray(samples[:, 1])).sum())


def test_normal_encodes_bounds_to_unit_interval(registry):
    normal = registry.distribution("Normal")
    column = ColumnSchema(name="x", type="real", lower=10.0, upper=20.0, missing=False)
    encoded = normal.encode(pd.Series([10.0, 15.0, 20.0]), column)
    np.testing.assert_allclose(encoded, [-1.0, 0.0, 1.0])


def test_normal_decode_clips_and_rounds(registry):
    normal = registry.distribution("normal")
    column = ColumnSchema(name="age", type="integer", lower=17, upper=90, missing=False)
    decoded = normal.decode(np.array([-3.0, 0.01, 5.0]), column)
    assert decoded.tolist() == [17, 54, 90]
    assert str(decoded.dtype) == "int64"


def test_integer_with_missing_becomes_nullable(registry):
    normal = registry.distribution("normal")
    column = ColumnSchema(name="age", type="integer", lower=17, upper=90, missing=True)
    decoded = normal.decode(np.array([0.0, np.nan]), column)
    assert str(decoded.dtype) == "Int64"
    assert decoded.isna().tolist() == [False, True]


def test_real_column_decodes_to_float64(registry):
    normal = registry.distribution("normal")
    column = ColumnSchema(name="x", type="real", lower=0.0, upper=1.0, missing=False)
    assert str(normal.decode(np.array([0.3]), column).dtype) == "float64"


def test_boolean_column_round_trip(registry):
    bernoulli = registry.distribution("bernoulli")
    series = pd.Series([True, False, None], dtype="boolean")
    column = bernoulli.infer_schema(series, "flag")
    assert column.type == "boolean"
    encoded = bernoulli.encode(conform_column(series, column), column)
    np.testing.assert_array_equal(encoded[:2], [1.0, 0.0])
    decoded = bernoulli.decode(encoded, column)
    assert str(decoded.dtype) == "boolean"
    assert decoded.tolist()[:2] == [True, False]


def test_integer_codes_keep_their_dtype(registry):
    categorical = registry.distribution("categorical")
    series = pd.Series([2007, 2009, 2008], dtype="Int64")
    column = ColumnSchema(name="year", type="categorical", categories=(2007, 2008, 2009), missing=False,
                          dtype="Int64")
    encoded = categorical.encode(conform_column(series, column), column)
    np.testing.assert_array_equal(encoded, [0.0, 2.0, 1.0])
    decoded = categorical.decode(encoded, column)
    assert decoded.tolist() == [2007, 2009, 2008]
    assert str(decoded.dtype) == "Int64"


@pytest.mark.parametrize(
    ("name", "values", "problem"),
    [
        ("normal", pd.Series(["1.5", "tall", "2"], dtype="string"), "not numbers"),
        ("normal", pd.Series([True, False], dtype="boolean"), "booleans"),
        ("poisson", pd.Series([1, -2, 3], dtype="Int64"), "negative"),
        ("poisson", pd.Series([1.5, 2.0]), "not whole"),
        ("poisson", pd.Series(["a", "b"], dtype="string"), "not numbers"),
        ("bernoulli", pd.Series(["a", "b", "c"], dtype="string"), "3 distinct values"),
    ],
)
def test_infer_schema_rejects_bad_data(registry, name, values, problem):
    with pytest.raises(DataError, match=problem) as raised:
        registry.distribution(name).infer_schema(values, "col")
    assert "'col'" in str(raised.value)
    assert "tall" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "column", "problem"),
    [
        ("normal", ColumnSchema(name="x", type="real", lower=0.0), "bounds"),
        ("normal", ColumnSchema(name="x", type="categorical", categories=("a",)), "integer or real"),
        ("categorical", ColumnSchema(name="x", type="categorical"), "categories"),
        ("bernoulli", ColumnSchema(name="x", type="categorical", categories=("a", "b", "c")), "two"),
        ("poisson", ColumnSchema(name="x", type="real"), "integer"),
        ("poisson", ColumnSchema(name="x", type="integer", lower=-1), "start at 0"),
    ],
)
def test_check_schema_rejects_incomplete(registry, name, column, problem):
    with pytest.raises(InputError, match=problem):
        registry.distribution(name).check_schema(column)


def test_infer_schema_marks_inferred_parts(registry):
    normal = registry.distribution("normal").infer_schema(pd.Series([1.5, 4.0, None]), "x")
    assert (normal.type, normal.lower, normal.upper, normal.missing) == ("real", 1.5, 4.0, True)
    assert set(normal.inferred) == {"lower", "upper", "missing"}
    categorical = registry.distribution("categorical").infer_schema(pd.Series([3, 1, 2]), "x")
    assert categorical.categories == (1, 2, 3)
    assert "categories" in categorical.inferred
    poisson = registry.distribution("poisson").infer_schema(pd.Series([0, 4]), "x")
    assert poisson.lower == 0
    assert "lower" not in poisson.inferred


def test_names_ignore_case(registry):
    assert registry.distribution("Normal") is registry.distribution("normal")
    assert registry.distribution("CATEGORICAL").name == "categorical"


def test_normal_likelihood_is_censored_at_bounds():
    from scipy import stats

    from twinify_features.normal import CensoredNormal

    censored = CensoredNormal(jnp.asarray(-0.5), jnp.asarray(0.4))
    values = jnp.asarray([-1.0, -0.3, 1.0])
    expected = [stats.norm.logcdf(-1.0, -0.5, 0.4), stats.norm.logpdf(-0.3, -0.5, 0.4), stats.norm.logsf(1.0, -0.5, 0.4)]
    # float32 evaluation: agreement to about 1e-5 in the log.
    assert np.allclose(np.asarray(censored.log_prob(values)), expected, atol=1e-5)

    draws = np.asarray(censored.sample(jax.random.PRNGKey(0), (20_000,)))
    assert draws.min() >= -1.0
    assert draws.max() <= 1.0
    # The lower bound gets Phi(-1.25) = 0.106 of the mass. 20,000 draws give a
    # standard error of 0.002, so 0.01 is five standard errors.
    assert abs(np.mean(draws == -1.0) - stats.norm.cdf(-1.25)) < 0.01
