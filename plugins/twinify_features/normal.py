"""Normal distribution for real and integer columns.

Encoding: the column's public bounds ``[lower, upper]`` map linearly onto
``[-1, 1]``. The map depends only on the declared bounds, never on the data's mean
or spread. So the priors (location ~ N(0, 10), scale ~ LogNormal(0, 2)) and the
DPVI clipping threshold mean the same on every data set, and one row's value
changes only that row's encoded value. Decoding inverts the map, clips into the
bounds and rounds integer columns.

Likelihood: since decoding clips, the model is a censored Normal. A value inside
the bounds has the Normal density; a value on a bound has the probability of the
Normal beyond that bound. So a column with many values on a bound (incomes of 0
with a lower bound of 0, or values clipped into declared bounds) gets its point
mass from a component whose location lies beyond the bound, which a plain Normal
density cannot give.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd
from jax.scipy.special import log_ndtr
from numpyro.distributions import constraints
from numpyro.distributions.util import promote_shapes

from twinify import hookimpl
from twinify.errors import InputError
from twinify.schema import ColumnSchema
from twinify.types import FeatureDistribution
from twinify_features._columns import decode_numbers, dtype_name, numbers_of

ENCODED_LOWER = -1.0
ENCODED_UPPER = 1.0


def infer_schema(series: pd.Series, name: str) -> ColumnSchema:
    """Read type, bounds and missing values of a numeric column from the data."""
    values = numbers_of(series, name, "Normal")
    integral = bool(np.all(np.mod(values, 1) == 0))
    lower, upper = float(values.min()), float(values.max())
    if lower == upper:
        # A constant column still needs an interval of positive width.
        lower, upper = lower - 1.0, upper + 1.0
    return ColumnSchema(
        name=name,
        type="integer" if integral else "real",
        lower=_number(lower),
        upper=_number(upper),
        missing=bool(series.isna().any()),
        dtype=dtype_name(series),
        inferred=("lower", "upper", "missing"),
    )


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def check_schema(column: ColumnSchema) -> None:
    """Require a numeric type and both bounds."""
    if not column.is_numeric:
        raise InputError(
            f"column {column.name!r} is declared as {column.type}; the Normal distribution "
            "models integer or real columns"
        )
    if not column.has_bounds:
        raise InputError(
            f"column {column.name!r}: the Normal distribution needs public bounds; declare "
            f"them, for example {column.name}: Normal(lower=0, upper=100)"
        )


def encode(series: pd.Series, column: ColumnSchema) -> np.ndarray:
    """Map values from ``[lower, upper]`` onto ``[-1, 1]``; missing values become NaN."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    unit = (values - column.lower) / (column.upper - column.lower)
    return ENCODED_LOWER + unit * (ENCODED_UPPER - ENCODED_LOWER)


def decode(encoded: np.ndarray, column: ColumnSchema) -> pd.Series:
    """Map encoded values back, clip them into the bounds and round integer columns."""
    encoded = np.asarray(encoded, dtype=np.float64)
    unit = (encoded - ENCODED_LOWER) / (ENCODED_UPPER - ENCODED_LOWER)
    values = np.clip(column.lower + unit * (column.upper - column.lower), column.lower, column.upper)
    return decode_numbers(values, column, integral=_is_integral(column))


def _is_integral(column: ColumnSchema) -> bool:
    if column.type == "integer":
        return True
    # A column declared real whose data were integers must round to fit its dtype.
    return column.dtype is not None and column.dtype.lower().startswith(("int", "uint"))


def priors(column: ColumnSchema) -> dict[str, dist.Distribution]:
    """Return the priors of one mixture component's location and scale."""
    return {"loc": dist.Normal(0.0, 10.0), "scale": dist.LogNormal(0.0, 2.0)}


class CensoredNormal(dist.Distribution):
    """Normal(loc, scale) on the encoded scale with the mass beyond [-1, 1] put on the bounds."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.interval(ENCODED_LOWER, ENCODED_UPPER)
    reparametrized_params = ["loc", "scale"]

    def __init__(self, loc, scale, *, validate_args=None):
        self.loc, self.scale = promote_shapes(loc, scale)
        batch_shape = jax.lax.broadcast_shapes(jnp.shape(loc), jnp.shape(scale))
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        """Draw from the Normal and clip into the bounds, as decoding does."""
        noise = jax.random.normal(key, sample_shape + self.batch_shape)
        return jnp.clip(self.loc + self.scale * noise, ENCODED_LOWER, ENCODED_UPPER)

    def log_prob(self, value):
        """Return the log density inside the bounds and the log mass on each bound."""
        density = dist.Normal(self.loc, self.scale).log_prob(value)
        below = log_ndtr((ENCODED_LOWER - self.loc) / self.scale)
        above = log_ndtr((self.loc - ENCODED_UPPER) / self.scale)
        return jnp.where(value <= ENCODED_LOWER, below, jnp.where(value >= ENCODED_UPPER, above, density))


def likelihood(params: dict, column: ColumnSchema) -> dist.Distribution:
    """Return the censored Normal(loc, scale) with one entry per mixture component."""
    return CensoredNormal(params["loc"], params["scale"])


NORMAL = FeatureDistribution(
    name="normal",
    kind="continuous",
    summary="Normal, for real or integer columns with public bounds",
    column_types=("real", "integer"),
    infer_schema=infer_schema,
    check_schema=check_schema,
    encode=encode,
    decode=decode,
    priors=priors,
    likelihood=likelihood,
    fill_value=0.0,
    aliases=("gaussian",),
)


@hookimpl
def twinify_distributions():
    yield NORMAL
