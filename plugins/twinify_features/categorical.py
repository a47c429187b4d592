"""Categorical distribution for columns of unordered labels.

Encoding: the declared categories, in their declared order, become the codes
0..C-1. Prior per mixture component: p ~ Dirichlet(1, ..., 1) over the C categories.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro.distributions as dist

from twinify import hookimpl
from twinify.errors import InputError
from twinify.schema import ColumnSchema
from twinify.types import FeatureDistribution
from twinify_features._columns import decode_labels, encode_labels, infer_label_schema, require_categories


class CodedCategorical(dist.CategoricalProbs):
    """A categorical distribution whose ``log_prob`` accepts codes stored as floats.

    Encoded data are float arrays (NaN marks missing values), while numpyro's
    categorical distribution indexes with integers.
    """

    def log_prob(self, value):
        return super().log_prob(jnp.asarray(value).astype(jnp.int32))


def check_schema(column: ColumnSchema) -> None:
    """Require a declared category list for a categorical or boolean column."""
    if column.type not in ("categorical", "boolean"):
        raise InputError(
            f"column {column.name!r} is declared as {column.type}; the Categorical distribution "
            "models categorical or boolean columns (declare integer codes as categories)"
        )
    require_categories(column, "Categorical", f'{column.name}: Categorical(categories=["a", "b", "c"])')


def priors(column: ColumnSchema) -> dict[str, dist.Distribution]:
    """Return the Dirichlet prior of one mixture component's category probabilities."""
    return {"probs": dist.Dirichlet(jnp.ones(len(column.categories)))}


def likelihood(params: dict, column: ColumnSchema) -> dist.Distribution:
    """Return a categorical distribution with one entry per mixture component."""
    return CodedCategorical(params["probs"])


CATEGORICAL = FeatureDistribution(
    name="categorical",
    kind="categorical",
    summary="Categorical, for columns of unordered labels",
    column_types=("categorical", "boolean"),
    infer_schema=infer_label_schema,
    check_schema=check_schema,
    encode=encode_labels,
    decode=decode_labels,
    priors=priors,
    likelihood=likelihood,
    fill_value=0.0,
)


@hookimpl
def twinify_distributions():
    yield CATEGORICAL
