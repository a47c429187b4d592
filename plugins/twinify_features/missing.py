"""The missing-value wrapper: any feature distribution, plus a chance of a missing value.

In every mixture component each value is missing independently with probability
π, π ~ Beta(1, 1); a value that is present follows the wrapped distribution.
Generation first draws missing-or-not, then a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from jax import lax
from numpyro.distributions import constraints

from twinify import hookimpl
from twinify.errors import PluginError
from twinify.schema import ColumnSchema
from twinify.types import DistributionWrapper, FeatureDistribution

#: Name of the parameter the wrapper adds to each mixture component.
MISSING_PROBABILITY = "missing_prob"

#: Starting value of each component's probability of a missing value. The
#: default start of the mixture model, uniform in [-2, 2] of the logit, has a
#: mean of 0.5. The likelihood's pull on a small probability is weak next to the
#: DP-SGD noise, so on small tables (344 penguins at ε = 1) the synthetic data
#: kept most of that share of missing values. Missing values are usually rare, so
#: the start is 0.01 (logits uniform in [-6.6, -2.6]); it is a fixed choice,
#: never read from the data.
INITIAL_MISSING_PROBABILITY = 0.01


class MaybeMissing(dist.Distribution):
    """A value that is NaN with probability ``missing_prob`` and else follows ``base``.

    ``log_prob`` puts ``fill_value`` in place of NaN before evaluating ``base``, so
    the base distribution never sees NaN and gradients stay finite.

    Args:
        base: Distribution of present values, with scalar events.
        missing_prob: Probability of a missing value, broadcastable to the base's
            batch shape.
        fill_value: A value inside the base's support.
    """

    arg_constraints = {"missing_prob": constraints.unit_interval}
    support = constraints.real

    def __init__(self, base: dist.Distribution, missing_prob: Any, fill_value: float = 0.0) -> None:
        self.base = base
        self.missing_prob = missing_prob
        self.fill_value = fill_value
        batch_shape = lax.broadcast_shapes(base.batch_shape, jnp.shape(missing_prob))
        super().__init__(batch_shape=batch_shape, event_shape=base.event_shape)

    def log_prob(self, value: Any) -> Any:
        value = jnp.asarray(value)
        missing = jnp.isnan(value)
        present_log_prob = self.base.log_prob(jnp.where(missing, self.fill_value, value))
        return jnp.where(
            missing,
            jnp.log(self.missing_prob),
            jnp.log1p(-self.missing_prob) + present_log_prob,
        )

    def sample(self, key: Any, sample_shape: tuple[int, ...] = ()) -> Any:
        missing_key, value_key = jax.random.split(key)
        shape = sample_shape + self.batch_shape + self.event_shape
        values = jnp.broadcast_to(self.base.sample(value_key, sample_shape), shape).astype(jnp.float32)
        missing = jax.random.bernoulli(missing_key, self.missing_prob, shape)
        return jnp.where(missing, jnp.nan, values)


def wrap(base: FeatureDistribution) -> FeatureDistribution:
    """Return ``base`` with a per-component probability of a missing value added."""

    def priors(column: ColumnSchema) -> dict[str, dist.Distribution]:
        base_priors = dict(base.priors(column))
        if MISSING_PROBABILITY in base_priors:
            raise PluginError(
                f"distribution {base.name!r} has a parameter called {MISSING_PROBABILITY!r}, "
                "which the missing-value wrapper adds itself; rename that parameter"
            )
        return {**base_priors, MISSING_PROBABILITY: dist.Beta(1.0, 1.0)}

    def likelihood(params: Mapping[str, Any], column: ColumnSchema) -> dist.Distribution:
        base_params = {name: value for name, value in params.items() if name != MISSING_PROBABILITY}
        return MaybeMissing(base.likelihood(base_params, column), params[MISSING_PROBABILITY], base.fill_value)

    def initial_values(column: ColumnSchema) -> dict[str, Any]:
        base_values = dict(base.initial_values(column)) if base.initial_values is not None else {}
        return {**base_values, MISSING_PROBABILITY: INITIAL_MISSING_PROBABILITY}

    return attrs.evolve(
        base,
        name=f"{base.name}-missing",
        summary=f"{base.summary}, with missing values",
        priors=priors,
        likelihood=likelihood,
        initial_values=initial_values,
        aliases=(),
    )


MISSING = DistributionWrapper(
    name="missing",
    role="missing-values",
    summary="each value is missing with a per-component probability, Beta(1, 1) prior",
    wrap=wrap,
)


@hookimpl
def twinify_distribution_wrappers():
    yield MISSING
