"""Bernoulli distribution for columns with two values.

Encoding: the first declared category is 0 and the second is 1; boolean columns
declare ``categories = [false, true]``. Prior per mixture component: p ~ Beta(1, 1).
"""

from __future__ import annotations

import numpyro.distributions as dist
import pandas as pd

from twinify import hookimpl
from twinify.errors import DataError, InputError
from twinify.schema import ColumnSchema
from twinify.types import FeatureDistribution
from twinify_features._columns import decode_labels, encode_labels, infer_label_schema, require_categories


def infer_schema(series: pd.Series, name: str) -> ColumnSchema:
    """Read the two values and missing values of a column from the data.

    Raises:
        DataError: the column contains more than two distinct values.
    """
    column = infer_label_schema(series, name)
    if len(column.categories) > 2:
        raise DataError(
            f"column {name!r} contains {len(column.categories)} distinct values, but the Bernoulli "
            "distribution models two; use Categorical for it in the model file"
        )
    return column


def check_schema(column: ColumnSchema) -> None:
    """Require one or two declared categories."""
    categories = require_categories(column, "Bernoulli", f'{column.name}: Bernoulli(categories=["no", "yes"])')
    if len(categories) > 2:
        raise InputError(
            f"column {column.name!r} declares {len(categories)} categories, but the Bernoulli "
            "distribution models two; use Categorical for it"
        )


def priors(column: ColumnSchema) -> dict[str, dist.Distribution]:
    """Return the prior of one mixture component's probability of the second category."""
    return {"probs": dist.Beta(1.0, 1.0)}


def likelihood(params: dict, column: ColumnSchema) -> dist.Distribution:
    """Return Bernoulli(probs) with one entry per mixture component."""
    return dist.BernoulliProbs(params["probs"])


BERNOULLI = FeatureDistribution(
    name="bernoulli",
    kind="categorical",
    summary="Bernoulli, for columns with two values (booleans or two labels)",
    column_types=("categorical", "boolean"),
    infer_schema=infer_schema,
    check_schema=check_schema,
    encode=encode_labels,
    decode=decode_labels,
    priors=priors,
    likelihood=likelihood,
    fill_value=0.0,
)


@hookimpl
def twinify_distributions():
    yield BERNOULLI
