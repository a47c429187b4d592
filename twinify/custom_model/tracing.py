"""Inspecting and running a custom NumPyro model: its sites, likelihood, prior and rows.

The model is run by tracing it with NumPyro's effect handlers:

* ``model()`` (x is None) draws one synthetic row and returns it as an array of
  shape (1, F), F being the number of preprocessed columns. When it returns
  None, the value of its sample site ``"x"`` is taken instead;
* ``model(x)`` with a batch of rows of shape (B, F) observes them. Its sample
  sites without ``obs`` are the latent variables that DPVI fits, and every
  observed site (``obs=``, including ``numpyro.factor``) is a likelihood term.

Each row's log-likelihood is that of ``model(row[None, :])`` with the latent
values substituted, unscaled by any plate, so per-row gradients come from
``jax.vmap`` over rows, as d3p computed them for twinify 2.x. A first row drawn
from the prior with a fixed key (the *placeholder*) replaces the data wherever
the model or guide needs rows without reading the sensitive data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import jax
import jax.numpy as jnp
import numpy as np
from numpyro import handlers
from numpyro.distributions.transforms import Transform

from twinify.custom_model import ModelCodeError
from twinify.custom_model.code import ModelCode, describe_failure
from twinify.transforms import transform_to

#: Key of the prior draw that gives the placeholder row. It is fixed, so that the
#: structure found at fit time is found again when a saved model is loaded.
PLACEHOLDER_SEED = 0

#: Site that contains the generated row when ``model()`` returns None.
OUTPUT_SITE = "x"


@attrs.frozen(kw_only=True)
class LatentSite:
    """One latent variable of the model, a sample site without ``obs``.

    Attributes:
        name: Site name.
        shape: Shape of its value.
        unconstrained_shape: Shape of its value in the unconstrained space.
        transform: Map from the unconstrained space onto the site's support.
    """

    name: str
    shape: tuple[int, ...]
    unconstrained_shape: tuple[int, ...]
    transform: Transform

    @property
    def size(self) -> int:
        """Return the number of unconstrained values."""
        return math.prod(self.unconstrained_shape)


@attrs.frozen(kw_only=True)
class ModelStructure:
    """A custom model's sites, found by tracing it, and the functions that run it.

    Attributes:
        code: The model file's functions.
        num_columns: F, the number of preprocessed columns.
        placeholder: A row of shape (1, F) drawn from the prior predictive with a
            fixed key; it depends on no data.
        latent_sites: The latent variables, in trace order.
        observed_sites: Names of the observed sites: the likelihood terms.
    """

    code: ModelCode
    num_columns: int
    placeholder: np.ndarray
    latent_sites: tuple[LatentSite, ...]
    observed_sites: tuple[str, ...]

    def row_log_likelihood(self, latent: Mapping[str, jax.Array], row: jax.Array) -> jax.Array:
        """Return the log-likelihood of one encoded row of shape (F,) given latent values."""
        model = handlers.seed(handlers.substitute(self.code.model, data=latent), rng_seed=0)
        trace = handlers.trace(model).get_trace(row[None, :])
        return sum(site_log_prob(trace[name], scaled=False) for name in self.observed_sites)

    def log_prior(self, latent: Mapping[str, jax.Array]) -> jax.Array:
        """Return the log prior density of latent values (constrained space)."""
        model = handlers.seed(handlers.substitute(self.code.model, data=latent), rng_seed=0)
        trace = handlers.trace(model).get_trace(jnp.asarray(self.placeholder))
        return sum(site_log_prob(trace[site.name], scaled=True) for site in self.latent_sites)

    def prior_latent(self, key: jax.Array) -> dict[str, jax.Array]:
        """Draw latent values from the prior."""
        trace = handlers.trace(handlers.seed(self.code.model, key)).get_trace(jnp.asarray(self.placeholder))
        return {site.name: trace[site.name]["value"] for site in self.latent_sites}

    def sample_rows(self, latent: Mapping[str, jax.Array], key: jax.Array, num_rows: int) -> jax.Array:
        """Draw ``num_rows`` rows of shape (num_rows, F) from the model given latent values."""

        def one_row(row_key: jax.Array) -> jax.Array:
            value = _generated_row(handlers.substitute(self.code.model, data=latent), row_key, self.code.name)
            return jnp.reshape(jnp.asarray(value, dtype=jnp.float32), (self.num_columns,))

        return jax.vmap(one_row)(jax.random.split(key, num_rows))


def inspect_model(code: ModelCode, num_columns: int) -> ModelStructure:
    """Trace the model with placeholder rows and return its structure.

    Raises:
        ModelCodeError: the model fails when run, returns rows of the wrong shape,
            has ``numpyro.param`` sites, discrete or per-row latent variables, no
            latent variables, or observes nothing.
    """
    placeholder = _placeholder_row(code, num_columns)
    one_row = _trace_with_rows(code, placeholder)
    two_rows = _trace_with_rows(code, np.repeat(placeholder, 2, axis=0))

    latent_sites, observed = [], []
    for name, site in one_row.items():
        if site["type"] == "param":
            raise ModelCodeError(
                f"model file {code.name!r}: the model has a numpyro.param site {name!r}; DPVI fits "
                "latent variables with priors, so declare it with numpyro.sample and a prior"
            )
        if site["type"] != "sample":
            continue
        if site["is_observed"]:
            observed.append(name)
            continue
        latent_sites.append(_latent_site(code, name, site, two_rows.get(name)))
    if not observed:
        raise ModelCodeError(
            f"model file {code.name!r}: model(x) observes no site; pass the rows to a sample site "
            "as obs=x"
        )
    if not latent_sites:
        raise ModelCodeError(f"model file {code.name!r}: the model has no latent variables to fit")
    return ModelStructure(
        code=code,
        num_columns=num_columns,
        placeholder=placeholder,
        latent_sites=tuple(latent_sites),
        observed_sites=tuple(observed),
    )


# --------------------------------------------------------------------------------------


def _placeholder_row(code: ModelCode, num_columns: int) -> np.ndarray:
    key = jax.random.PRNGKey(PLACEHOLDER_SEED)
    try:
        value = _generated_row(code.model, key, code.name)
    except ModelCodeError:
        raise
    except Exception as error:
        raise ModelCodeError(
            f"model file {code.name!r}: model() failed when drawing a row: {describe_failure(error, code.path)}"
        ) from error
    shape = tuple(np.shape(value))
    if shape not in ((1, num_columns), (num_columns,)):
        raise ModelCodeError(
            f"model file {code.name!r}: model() returned an array of shape {shape}; return one row of "
            f"shape (1, {num_columns}), one value per preprocessed column"
        )
    return np.asarray(value, dtype=np.float32).reshape(1, num_columns)


def _generated_row(model: Any, key: jax.Array, source: str) -> Any:
    with handlers.trace() as trace:
        value = handlers.seed(model, key)()
    if value is None and OUTPUT_SITE in trace:
        value = trace[OUTPUT_SITE]["value"]
    if value is None:
        raise ModelCodeError(
            f"model file {source!r}: model() returned None and has no sample site 'x'; return the "
            "generated row as an array of shape (1, number of preprocessed columns)"
        )
    return value


def _trace_with_rows(code: ModelCode, rows: np.ndarray) -> dict[str, Any]:
    try:
        return handlers.trace(handlers.seed(code.model, PLACEHOLDER_SEED)).get_trace(jnp.asarray(rows))
    except Exception as error:
        raise ModelCodeError(
            f"model file {code.name!r}: model(x) failed when traced with placeholder rows of shape "
            f"{rows.shape}: {describe_failure(error, code.path)}"
        ) from error


def _latent_site(code: ModelCode, name: str, site: dict[str, Any], with_two_rows: dict[str, Any] | None) -> LatentSite:
    support = site["fn"].support
    if support.is_discrete:
        raise ModelCodeError(
            f"model file {code.name!r}: latent variable {name!r} is discrete; DPVI fits continuous "
            "latent variables, so sum the discrete one out of the likelihood (as a mixture does)"
        )
    shape = tuple(np.shape(site["value"]))
    if with_two_rows is None or tuple(np.shape(with_two_rows["value"])) != shape:
        raise ModelCodeError(
            f"model file {code.name!r}: latent variable {name!r} changes with the number of rows "
            "(a per-row latent variable); DPVI fits latent variables shared by all rows"
        )
    transform = transform_to(support)
    return LatentSite(
        name=name, shape=shape, unconstrained_shape=tuple(transform.inverse_shape(shape)), transform=transform
    )


def site_log_prob(site: dict[str, Any], scaled: bool) -> jax.Array:
    """Return a traced sample site's log density at its value, summed, with its mask applied.

    Args:
        site: A site of a NumPyro trace.
        scaled: Multiply by the site's plate scale. Per-row likelihoods leave it
            out, because DP-SGD scales the clipped sum by 1 / sampling ratio.
    """
    log_prob = site["fn"].log_prob(site["value"])
    if site.get("mask") is not None:
        log_prob = jnp.where(site["mask"], log_prob, 0.0)
    if scaled and site.get("scale") is not None:
        log_prob = site["scale"] * log_prob
    return jnp.sum(log_prob)
