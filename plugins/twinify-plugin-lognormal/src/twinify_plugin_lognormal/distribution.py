"""The LogNormal feature distribution.

A column with public bounds ``0 < lower < upper`` is encoded on the log scale,
mapped so that ``lower`` becomes 0 and ``upper`` becomes 1::

    z = (log(x) - log(lower)) / (log(upper) - log(lower))

and each mixture component models ``z`` with a Normal(loc, scale). On the original
scale that is exactly a LogNormal with log-mean ``log(lower) + loc * width`` and
log-standard deviation ``scale * width``, where ``width = log(upper) - log(lower)``.
The encoding is a fixed function of one value and the public bounds, so one
person's row changes only that person's encoded row.

Priors, per mixture component, in the encoded units:

* ``loc ~ Normal(0.5, 1)``: centred on the geometric midpoint of the bounds, with a
  standard deviation as wide as the whole declared range.
* ``scale ~ LogNormal(-2, 1)``: median 0.14 of the range; its central 95% interval
  (0.019 to 0.96) spans spreads from a narrow band to the whole range.

Generated values outside the bounds are clipped to them; integer columns are
rounded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from twinify.errors import DataError, InputError
from twinify.schema import ColumnSchema
from twinify.types import FeatureDistribution

LOC_PRIOR = (0.5, 1.0)
SCALE_PRIOR = (-2.0, 1.0)


def infer_positive_schema(series: pd.Series, name: str) -> ColumnSchema:
    """Read the bounds from the data (not private; the core warns when it does).

    Raises:
        DataError: the column contains values that are not numbers, are not positive,
            or are all equal.
    """
    numbers = pd.to_numeric(series, errors="coerce")
    not_numbers = int((numbers.isna() & series.notna()).sum())
    if not_numbers:
        raise DataError(f"column {name!r}: {not_numbers} values are not numbers; the lognormal distribution models positive numbers")
    present = numbers.dropna().astype(float)
    not_positive = int((present <= 0).sum())
    if not_positive:
        raise DataError(
            f"column {name!r}: {not_positive} values are zero or negative; the lognormal distribution "
            "models positive amounts only, so use another distribution or remove those rows"
        )
    lower, upper = float(present.min()), float(present.max())
    if lower == upper:
        raise DataError(f"column {name!r}: all values are equal; declare lower and upper bounds in the model file")
    integral = bool(np.all(np.mod(present.to_numpy(), 1) == 0))
    return ColumnSchema(
        name=name,
        type="integer" if integral else "real",
        lower=lower,
        upper=upper,
        missing=bool(series.isna().any()),
        dtype=str(series.dtype),
        inferred=("lower", "upper", "missing"),
    )


def require_positive_bounds(column: ColumnSchema) -> None:
    """Raise InputError unless the column declares bounds with ``0 < lower < upper``."""
    if not column.has_bounds or column.lower <= 0:
        raise InputError(
            f"column {column.name!r}: the lognormal distribution needs public bounds with "
            f"0 < lower < upper (declared lower={column.lower}, upper={column.upper}); declare them, "
            "for example income: LogNormal(lower=1, upper=1000000)"
        )


def _log_bounds(column: ColumnSchema) -> tuple[float, float]:
    log_lower = math.log(column.lower)
    return log_lower, math.log(column.upper) - log_lower


def encode_log_scaled(series: pd.Series, column: ColumnSchema) -> np.ndarray:
    """Map values in ``[lower, upper]`` to ``[0, 1]`` on the log scale; NaN stays NaN."""
    log_lower, width = _log_bounds(column)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return (np.log(values) - log_lower) / width


def decode_log_scaled(array: np.ndarray, column: ColumnSchema) -> pd.Series:
    """Invert :func:`encode_log_scaled`, clip to the bounds and restore the column's dtype."""
    log_lower, width = _log_bounds(column)
    values = np.clip(np.exp(log_lower + np.asarray(array, dtype=float) * width), column.lower, column.upper)
    if column.type == "integer":
        values = np.round(values)
    dtype = column.dtype or ("Int64" if column.type == "integer" else "float64")
    if np.isnan(values).any() and dtype in ("int8", "int16", "int32", "int64"):
        # A NumPy integer column cannot hold missing values; its nullable twin can.
        dtype = dtype.capitalize()
    return pd.Series(values).astype(dtype)


def lognormal_priors(column: ColumnSchema) -> dict[str, Any]:
    """Return the priors of one mixture component; they depend on nothing but constants."""
    import numpyro.distributions as dist

    return {"loc": dist.Normal(*LOC_PRIOR), "scale": dist.LogNormal(*SCALE_PRIOR)}


def lognormal_likelihood(params: dict[str, Any], column: ColumnSchema) -> Any:
    """Return the Normal over encoded values, with batch shape (components,)."""
    import numpyro.distributions as dist

    return dist.Normal(params["loc"], params["scale"])


LOGNORMAL = FeatureDistribution(
    name="lognormal",
    aliases=("log-normal",),
    kind="continuous",
    summary="LogNormal within public bounds 0 < lower < upper, for skewed positive amounts such as incomes",
    column_types=("real", "integer"),
    infer_schema=infer_positive_schema,
    check_schema=require_positive_bounds,
    encode=encode_log_scaled,
    decode=decode_log_scaled,
    priors=lognormal_priors,
    likelihood=lognormal_likelihood,
    fill_value=0.5,
)
