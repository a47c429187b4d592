"""A model file's own guide: its variational parameters and draws of the latent variables.

twinify calls the guide as ``guide(placeholder)``, with the placeholder row of
:mod:`twinify.custom_model.tracing` in place of data, so a guide never reads the
sensitive data. A guide written as ``guide(x=None, num_obs_total=None)`` ignores
it; numpyro's automatic guides (``AutoDiagonalNormal(model)`` and the like) need
some rows to trace the model once.

The guide's ``numpyro.param`` sites are the variational parameters. They are
optimized as one flat vector in the unconstrained space of each parameter's
constraint.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import jax
import jax.numpy as jnp
import numpy as np
from numpyro import handlers
from numpyro.distributions import constraints
from numpyro.distributions.transforms import Transform

from twinify.custom_model import ModelCodeError
from twinify.custom_model.code import describe_failure
from twinify.custom_model.tracing import ModelStructure, site_log_prob
from twinify.transforms import transform_to


@attrs.frozen(kw_only=True)
class GuideParameter:
    """One variational parameter, a ``numpyro.param`` site of the guide.

    Attributes:
        name: Site name.
        shape: Shape of its constrained value.
        unconstrained_shape: Shape in the unconstrained space.
        transform: Map from the unconstrained space onto its constraint.
        initial: Its initial value in the unconstrained space.
    """

    name: str
    shape: tuple[int, ...]
    unconstrained_shape: tuple[int, ...]
    transform: Transform
    initial: np.ndarray

    @property
    def size(self) -> int:
        """Return the number of unconstrained values."""
        return math.prod(self.unconstrained_shape)


@attrs.frozen(kw_only=True)
class GuideStructure:
    """The guide's parameters and the function that draws latent values from it.

    Attributes:
        model: The model's structure.
        guide: The guide function.
        parameters: The guide's ``numpyro.param`` sites, in trace order.
    """

    model: ModelStructure
    guide: Callable[..., Any]
    parameters: tuple[GuideParameter, ...]

    @property
    def num_parameters(self) -> int:
        """Return the length of the flat unconstrained parameter vector."""
        return sum(parameter.size for parameter in self.parameters)

    def initial_vector(self) -> np.ndarray:
        """Return the initial flat unconstrained parameter vector."""
        return np.concatenate([parameter.initial.reshape(-1) for parameter in self.parameters]).astype(np.float32)

    def constrain(self, vector: jax.Array) -> dict[str, jax.Array]:
        """Map a flat unconstrained vector to the guide's parameter values."""
        values, start = {}, 0
        for parameter in self.parameters:
            part = vector[start:start + parameter.size].reshape(parameter.unconstrained_shape)
            values[parameter.name] = parameter.transform(part)
            start += parameter.size
        return values

    def sample_latent(self, vector: jax.Array, key: jax.Array) -> tuple[dict[str, jax.Array], jax.Array]:
        """Draw latent values from the guide at a flat parameter vector.

        Returns:
            The latent values by site name and log q of the guide's whole draw
            (its auxiliary sites included), differentiable with respect to
            ``vector`` through the reparametrized draw.
        """
        guide = handlers.seed(handlers.substitute(self.guide, data=self.constrain(vector)), key)
        trace = handlers.trace(guide).get_trace(jnp.asarray(self.model.placeholder))
        latent = {site.name: trace[site.name]["value"] for site in self.model.latent_sites}
        log_q = sum(
            site_log_prob(site, scaled=True)
            for site in trace.values()
            if site["type"] == "sample" and not site["is_observed"]
        )
        return latent, log_q


def inspect_guide(structure: ModelStructure, key: jax.Array) -> GuideStructure:
    """Trace the model file's guide once and return its parameters.

    The trace initializes the parameters, for example an automatic guide's means
    from the prior, using ``key``; no data are read.

    Raises:
        ModelCodeError: the guide fails, has no parameters, misses a latent
            variable of the model or draws it with another shape, or draws from
            a distribution without a reparametrized sampler.
    """
    code = structure.code
    guide = code.guide
    try:
        trace = handlers.trace(handlers.seed(guide, key)).get_trace(jnp.asarray(structure.placeholder))
    except Exception as error:
        raise ModelCodeError(
            f"model file {code.name!r}: guide(x) failed when traced: {describe_failure(error, code.path)}"
        ) from error

    for site in structure.latent_sites:
        drawn = trace.get(site.name)
        if drawn is None or drawn["type"] != "sample":
            raise ModelCodeError(
                f"model file {code.name!r}: the guide does not draw latent variable {site.name!r} of the "
                "model; draw every latent variable with numpyro.sample under the same name"
            )
        if tuple(np.shape(drawn["value"])) != site.shape:
            raise ModelCodeError(
                f"model file {code.name!r}: the guide draws {site.name!r} with shape "
                f"{tuple(np.shape(drawn['value']))}, the model with shape {site.shape}"
            )
    for name, site in trace.items():
        if site["type"] == "sample" and not site["is_observed"] and not site["fn"].has_rsample:
            raise ModelCodeError(
                f"model file {code.name!r}: the guide draws {name!r} from {type(site['fn']).__name__}, which "
                "has no reparametrized sampler; DPVI needs reparametrized (continuous) guide distributions"
            )

    parameters = tuple(_parameter(name, site) for name, site in trace.items() if site["type"] == "param")
    if not parameters:
        raise ModelCodeError(
            f"model file {code.name!r}: the guide has no numpyro.param sites, so there is nothing to fit"
        )
    return GuideStructure(model=structure, guide=guide, parameters=parameters)


def _parameter(name: str, site: dict[str, Any]) -> GuideParameter:
    constraint = site["kwargs"].get("constraint", constraints.real)
    transform = transform_to(constraint)
    value = jnp.asarray(site["value"])
    shape = tuple(value.shape)
    return GuideParameter(
        name=name,
        shape=shape,
        unconstrained_shape=tuple(transform.inverse_shape(shape)),
        transform=transform,
        initial=np.asarray(transform.inv(value), dtype=np.float32),
    )
