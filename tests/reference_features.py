"""A small conforming feature distribution and missing-value wrapper for tests.

They exercise :mod:`twinify.testing` and the registry while the built-in
distributions live in another branch; they are not the built-in plugins.

The distribution maps a column with public bounds [lower, upper] to [0, 1] and
models the result with a Normal. The wrapper adds a per-component probability
of a value being missing.
"""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd

from twinify.errors import DataError, InputError
from twinify.schema import ColumnSchema
from twinify.types import DistributionWrapper, FeatureDistribution


def infer_bounded(series: pd.Series, name: str) -> ColumnSchema:
    numbers = pd.to_numeric(series, errors="coerce")
    if int((numbers.isna() & series.notna()).sum()):
        raise DataError(f"column {name!r} holds values that are not numbers")
    present = numbers.dropna().astype(float)
    integral = bool(np.all(np.mod(present, 1) == 0))
    return ColumnSchema(
        name=name, type="integer" if integral else "real", lower=float(present.min()),
        upper=float(present.max()), missing=bool(series.isna().any()), dtype=str(series.dtype),
        inferred=("lower", "upper", "missing"),
    )


def require_bounds(column: ColumnSchema) -> None:
    if not column.has_bounds:
        raise InputError(f"column {column.name!r}: declare lower and upper bounds")


def encode_bounded(series: pd.Series, column: ColumnSchema) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return (values - column.lower) / (column.upper - column.lower)


def decode_bounded(array: np.ndarray, column: ColumnSchema) -> pd.Series:
    values = np.clip(column.lower + np.asarray(array, dtype=float) * (column.upper - column.lower),
                     column.lower, column.upper)
    if column.type == "integer":
        values = np.round(values)
    dtype = column.dtype or "float64"
    if np.isnan(values).any() and dtype.startswith("int"):
        dtype = "Int64"
    return pd.Series(values).astype(dtype)


def bounded_priors(column: ColumnSchema):
    import numpyro.distributions as dist

    return {"loc": dist.Normal(0.5, 1.0), "scale": dist.LogNormal(-1.0, 1.0)}


def bounded_likelihood(params, column: ColumnSchema):
    import numpyro.distributions as dist

    return dist.Normal(params["loc"], params["scale"])


BOUNDED_NORMAL = FeatureDistribution(
    name="bounded-normal",
    kind="continuous",
    summary="Normal on the column scaled to [0, 1] by its public bounds (tests only)",
    column_types=("real", "integer"),
    infer_schema=infer_bounded,
    check_schema=require_bounds,
    encode=encode_bounded,
    decode=decode_bounded,
    priors=bounded_priors,
    likelihood=bounded_likelihood,
    fill_value=0.5,
)


def _maybe_missing_class():
    import jax
    import jax.numpy as jnp
    import numpyro.distributions as dist
    from numpyro.distributions import constraints

    class MaybeMissing(dist.Distribution):
        """Missing (NaN) with probability ``missing_prob``, else a draw of ``base``."""

        support = constraints.real

        def __init__(self, base, missing_prob, fill_value):
            self.base = base
            self.missing_prob = missing_prob
            self.fill_value = fill_value
            super().__init__(batch_shape=base.batch_shape, event_shape=())

        def sample(self, key, sample_shape=()):
            value_key, missing_key = jax.random.split(key)
            values = self.base.sample(value_key, sample_shape)
            missing = jax.random.bernoulli(missing_key, self.missing_prob, values.shape)
            return jnp.where(missing, jnp.nan, values)

        def log_prob(self, value):
            is_missing = jnp.isnan(value)
            observed = jnp.where(is_missing, self.fill_value, value)
            present = jnp.log1p(-self.missing_prob) + self.base.log_prob(observed)
            return jnp.where(is_missing, jnp.log(self.missing_prob), present)

    return MaybeMissing


def wrap_missing(base: FeatureDistribution) -> FeatureDistribution:
    def priors(column):
        import numpyro.distributions as dist

        return {**base.priors(column), "missing_prob": dist.Beta(1.0, 1.0)}

    def likelihood(params, column):
        base_params = {name: value for name, value in params.items() if name != "missing_prob"}
        return _maybe_missing_class()(base.likelihood(base_params, column), params["missing_prob"], base.fill_value)

    return attrs.evolve(base, priors=priors, likelihood=likelihood)


MISSING = DistributionWrapper(
    name="maybe-missing", role="missing-values", summary="missing with a per-component probability (tests only)",
    wrap=wrap_missing,
)
