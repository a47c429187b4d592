"""Poisson distribution for non-negative integer counts.

Encoding: the counts themselves. Prior per mixture component: rate ~ Exponential(1).
A declared upper bound clips generated counts; none is needed to fit.
"""

from __future__ import annotations

import numpy as np
import numpyro.distributions as dist
import pandas as pd

from twinify import hookimpl
from twinify.errors import DataError, InputError
from twinify.schema import ColumnSchema
from twinify.types import FeatureDistribution
from twinify_features._columns import decode_numbers, dtype_name, numbers_of


def infer_schema(series: pd.Series, name: str) -> ColumnSchema:
    """Check that a column contains counts and read its missing values.

    The lower bound 0 is part of the distribution, not read from the data.

    Raises:
        DataError: the column contains text, negative or fractional numbers.
    """
    values = numbers_of(series, name, "Poisson")
    num_negative = int(np.sum(values < 0))
    if num_negative:
        raise DataError(
            f"column {name!r} contains {num_negative} negative numbers, but the Poisson distribution "
            "models counts of 0 or more; use Normal for it in the model file"
        )
    num_fractional = int(np.sum(np.mod(values, 1) != 0))
    if num_fractional:
        raise DataError(
            f"column {name!r} contains {num_fractional} numbers that are not whole, but the Poisson "
            "distribution models counts; use Normal for it in the model file"
        )
    return ColumnSchema(name=name, type="integer", lower=0, missing=bool(series.isna().any()),
                        dtype=dtype_name(series), inferred=("missing",))


def check_schema(column: ColumnSchema) -> None:
    """Require an integer column whose declared lower bound, if any, is not negative."""
    if column.type != "integer":
        raise InputError(
            f"column {column.name!r} is declared as {column.type}; the Poisson distribution "
            "models integer counts"
        )
    if column.lower is not None and column.lower < 0:
        raise InputError(
            f"column {column.name!r} declares lower = {column.lower}; Poisson counts start at 0"
        )


def encode(series: pd.Series, column: ColumnSchema) -> np.ndarray:
    """Return the counts as float64, NaN where missing."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def decode(encoded: np.ndarray, column: ColumnSchema) -> pd.Series:
    """Clip generated counts into the declared bounds and restore the column's dtype."""
    lower = max(column.lower or 0, 0)
    values = np.clip(np.asarray(encoded, dtype=np.float64), lower, column.upper)
    return decode_numbers(values, column, integral=True)


def priors(column: ColumnSchema) -> dict[str, dist.Distribution]:
    """Return the prior of one mixture component's rate."""
    return {"rate": dist.Exponential(1.0)}


def likelihood(params: dict, column: ColumnSchema) -> dist.Distribution:
    """Return Poisson(rate) with one entry per mixture component."""
    return dist.Poisson(params["rate"])


POISSON = FeatureDistribution(
    name="poisson",
    kind="discrete",
    summary="Poisson, for non-negative integer counts",
    column_types=("integer",),
    infer_schema=infer_schema,
    check_schema=check_schema,
    encode=encode,
    decode=decode,
    priors=priors,
    likelihood=likelihood,
    fill_value=0.0,
)


@hookimpl
def twinify_distributions():
    yield POISSON
