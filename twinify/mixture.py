r"""The automatic mixture model, assembled from whatever feature distributions are given.

For a row :math:`x = (x_1, \dots, x_F)` of encoded values,

.. math::

    p(x \mid \theta) = \sum_{k=1}^{K} w_k \prod_{j=1}^{F} p_j(x_j \mid \theta_{kj}),
    \qquad w \sim \mathrm{Dirichlet}(1, \dots, 1),
    \qquad \theta_{kj} \sim \mathrm{prior}_j,

so the features are independent within a mixture component. Each feature's
distribution record supplies its priors and likelihood; this module never names
a distribution.

Parameters live in two spaces. *Constrained* parameters are a dict from site name
(``"mixture_weights"``, ``"<column>:<parameter>"``) to arrays of shape
``(K, *event_shape)``. *Unconstrained* parameters are one flat float vector,
mapped onto the constrained space by numpyro's ``biject_to`` of each prior's
support, the same transforms numpyro's automatic guides use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions.transforms import Transform

from twinify.errors import PluginError
from twinify.features import Feature
from twinify.transforms import SimplexSoftmaxTransform, transform_to

WEIGHTS_SITE = "mixture_weights"

#: Smallest mixture weight used inside a logarithm; keeps gradients finite when a
#: weight underflows to 0 in single precision.
_TINY_WEIGHT = 1e-30


@attrs.frozen(kw_only=True)
class ParameterSite:
    """One parameter array of the mixture model.

    Attributes:
        name: Site name, ``"mixture_weights"`` or ``"<column>:<parameter>"``.
        feature: Index of the feature the parameter belongs to, or None for the
            mixture weights.
        parameter: Parameter name in the feature distribution's priors.
        prior: Prior over the whole array, batch shape ``(K,)`` for feature
            parameters.
        transform: Map from the unconstrained space onto the prior's support.
        shape: Shape of the constrained array.
        unconstrained_shape: Shape of the unconstrained array.
    """

    name: str
    feature: int | None
    parameter: str
    prior: dist.Distribution
    transform: Transform
    shape: tuple[int, ...]
    unconstrained_shape: tuple[int, ...]

    @property
    def size(self) -> int:
        """Return the number of unconstrained values."""
        return math.prod(self.unconstrained_shape)

    @property
    def num_blocks(self) -> int:
        """Return how many independent blocks the transform acts on: K, or 1 for the weights."""
        return 1 if self.feature is None else self.shape[0]

    @property
    def unconstrained_block_shape(self) -> tuple[int, ...]:
        """Return the shape of one block of unconstrained values."""
        return self.unconstrained_shape if self.feature is None else self.unconstrained_shape[1:]

    @property
    def event_size(self) -> int:
        """Return the constrained values per block."""
        return math.prod(self.shape) // self.num_blocks

    @property
    def unconstrained_event_size(self) -> int:
        """Return the unconstrained values per block."""
        return self.size // self.num_blocks


class MixtureModel:
    """A mixture of ``num_components`` components over ``features``.

    Args:
        features: Prepared features, in column order of the encoded data.
        num_components: K, the number of mixture components.
    """

    def __init__(self, features: Sequence[Feature], num_components: int) -> None:
        if num_components < 1:
            raise ValueError(f"num_components must be at least 1, not {num_components}")
        self.features = tuple(features)
        self.num_components = int(num_components)
        self.sites = self._build_sites()
        offsets = np.cumsum([0] + [site.size for site in self.sites])
        self.slices = [slice(int(start), int(stop)) for start, stop in zip(offsets[:-1], offsets[1:])]
        self.num_parameters = int(offsets[-1])

    def _build_sites(self) -> tuple[ParameterSite, ...]:
        weights_prior = dist.Dirichlet(jnp.ones(self.num_components))
        sites = [_site(WEIGHTS_SITE, None, "weights", weights_prior)]
        for index, feature in enumerate(self.features):
            for parameter, prior in feature.distribution.priors(feature.schema).items():
                if prior.batch_shape:
                    raise PluginError(
                        f"the prior of parameter {parameter!r} of distribution "
                        f"{feature.distribution.name!r} has batch shape {prior.batch_shape}; "
                        "priors describe one mixture component, so use to_event() for vector parameters"
                    )
                expanded = prior.expand((self.num_components,))
                sites.append(_site(f"{feature.column}:{parameter}", index, parameter, expanded))
        return tuple(sites)

    # ----------------------------------------------------------------------------
    # Parameter spaces

    def unflatten(self, unconstrained: jax.Array) -> dict[str, jax.Array]:
        """Split a flat unconstrained vector into one array per site."""
        return {
            site.name: unconstrained[part].reshape(site.unconstrained_shape)
            for site, part in zip(self.sites, self.slices)
        }

    def constrain(self, unconstrained: jax.Array) -> tuple[dict[str, jax.Array], jax.Array]:
        """Map a flat unconstrained vector to constrained parameters.

        Returns:
            The constrained parameters and the log absolute determinant of the
            transform's Jacobian, summed over all sites.
        """
        params, log_det = {}, jnp.zeros(())
        for site, value in zip(self.sites, self.unflatten(unconstrained).values()):
            constrained = site.transform(value)
            params[site.name] = constrained
            log_det = log_det + jnp.sum(site.transform.log_abs_det_jacobian(value, constrained))
        return params, log_det

    def pull_back_row_gradients(
        self, unconstrained: jax.Array, params: dict[str, jax.Array], row_gradients: dict[str, jax.Array]
    ) -> list[jax.Array]:
        """Turn per-row gradients with respect to constrained parameters into unconstrained ones.

        Applies the chain rule through each site's transform once for a whole
        batch of rows, which is much faster than differentiating through the
        transforms row by row.

        Args:
            unconstrained: The flat unconstrained vector the parameters came from.
            params: ``constrain(unconstrained)[0]``.
            row_gradients: Per site, gradients of shape (B, *site.shape).

        Returns:
            One array per site, in site order, of shape (B, site.size): the rows'
            gradients with respect to that site's part of the flat unconstrained
            vector (:attr:`slices`). They are not concatenated, because copying
            a (B, D) array costs more than the chain rule itself.
        """
        parts = []
        for site, value in zip(self.sites, self.unflatten(unconstrained).values()):
            gradient = row_gradients[site.name]
            if isinstance(site.transform, SimplexSoftmaxTransform):
                pulled = site.transform.pull_back(params[site.name], gradient)
            elif site.transform.domain.event_dim == 0:
                # An elementwise map: its Jacobian is diagonal.
                derivative = jax.jvp(site.transform, (value,), (jnp.ones_like(value),))[1]
                pulled = gradient * derivative
            else:
                blocks = value.reshape((site.num_blocks, *site.unconstrained_block_shape))
                jacobian = jax.vmap(jax.jacfwd(site.transform))(blocks)
                jacobian = jacobian.reshape(site.num_blocks, site.event_size, site.unconstrained_event_size)
                gradient = gradient.reshape(-1, site.num_blocks, site.event_size)
                pulled = jnp.einsum("bke,keu->bku", gradient, jacobian)
            parts.append(pulled.reshape(-1, site.size))
        return parts

    def unconstrain(self, params: dict[str, Any]) -> jax.Array:
        """Map constrained parameters to a flat unconstrained vector."""
        parts = [jnp.reshape(site.transform.inv(jnp.asarray(params[site.name])), (-1,)) for site in self.sites]
        return jnp.concatenate(parts)

    def initial_unconstrained(self, key: jax.Array, radius: float = 2.0) -> jax.Array:
        """Draw a starting point uniformly within ``radius`` of each parameter's starting centre.

        The centre is 0 of the unconstrained space (numpyro's ``init_to_uniform``
        strategy), except for parameters whose distribution names a starting
        value (``FeatureDistribution.initial_values``): their centre is that
        value mapped to the unconstrained space. It uses no data.
        """
        start = jax.random.uniform(key, (self.num_parameters,), minval=-radius, maxval=radius)
        return start + self._initial_centres()

    def _initial_centres(self) -> jax.Array:
        centres = []
        for site in self.sites:
            centre = jnp.zeros(site.size)
            if site.feature is not None:
                feature = self.features[site.feature]
                initial = feature.distribution.initial_values
                values = initial(feature.schema) if initial is not None else {}
                if site.parameter in values:
                    constrained = jnp.broadcast_to(jnp.asarray(values[site.parameter], jnp.float32), site.shape)
                    centre = jnp.reshape(site.transform.inv(constrained), (-1,))
            centres.append(centre)
        return jnp.concatenate(centres)

    # ----------------------------------------------------------------------------
    # Densities

    def log_prior(self, params: dict[str, jax.Array]) -> jax.Array:
        """Return the log prior density of constrained parameters."""
        return sum(jnp.sum(site.prior.log_prob(params[site.name])) for site in self.sites)

    def log_prior_unconstrained(self, unconstrained: jax.Array) -> jax.Array:
        """Return the log prior density in the unconstrained space (prior plus log Jacobian)."""
        params, log_det = self.constrain(unconstrained)
        return self.log_prior(params) + log_det

    def component_log_likelihood(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Return log w_k + log p(x | θ_k) for encoded rows ``x`` of shape (..., F).

        Returns:
            An array of shape (..., K).
        """
        log_weights = jnp.log(jnp.maximum(params[WEIGHTS_SITE], _TINY_WEIGHT))
        total = jnp.broadcast_to(log_weights, jnp.shape(x)[:-1] + (self.num_components,))
        for index, feature in enumerate(self.features):
            likelihood = feature.distribution.likelihood(self.feature_params(params, index), feature.schema)
            total = total + likelihood.log_prob(x[..., index, None])
        return total

    def log_likelihood(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """Return the log-likelihood of each encoded row of ``x`` (shape (..., F))."""
        return jax.nn.logsumexp(self.component_log_likelihood(params, x), axis=-1)

    def feature_params(self, params: dict[str, jax.Array], index: int) -> dict[str, jax.Array]:
        """Return the parameters of feature ``index``, keyed by parameter name."""
        return {site.parameter: params[site.name] for site in self.sites if site.feature == index}

    # ----------------------------------------------------------------------------
    # Generation and the numpyro model

    def sample_encoded(self, params: dict[str, jax.Array], num_rows: int, key: jax.Array) -> jax.Array:
        """Draw ``num_rows`` encoded rows (NaN for missing values) given parameters.

        Each row first draws its mixture component, then every feature's value
        from that component. Returns an array of shape (num_rows, F).

        NOTE: the likelihoods receive parameters gathered per row, with leading
        shape (num_rows,) instead of (K,), so a plugin's ``likelihood`` must not
        assume that the leading dimension is K.
        """
        component_key, *feature_keys = jax.random.split(key, len(self.features) + 1)
        components = dist.CategoricalProbs(params[WEIGHTS_SITE]).sample(component_key, (num_rows,))
        columns = []
        for index, feature in enumerate(self.features):
            row_params = {name: value[components] for name, value in self.feature_params(params, index).items()}
            values = feature.distribution.likelihood(row_params, feature.schema).sample(feature_keys[index])
            columns.append(jnp.asarray(values, dtype=jnp.float32))
        return jnp.stack(columns, axis=-1)

    def model(self, x: jax.Array | None = None, num_obs_total: int | None = None, num_rows: int = 1) -> None:
        """The mixture model as a numpyro model function.

        Args:
            x: Encoded rows of shape (rows, F), or None to generate rows (prior
                predictive checks with ``numpyro.infer.Predictive``).
            num_obs_total: Row count of the whole data set when ``x`` is a batch;
                the likelihood is scaled by ``num_obs_total / rows``.
            num_rows: Rows to generate when ``x`` is None.
        """
        params = {site.name: numpyro.sample(site.name, _as_event(site)) for site in self.sites}
        rows = num_rows if x is None else jnp.shape(x)[0]
        with numpyro.plate("rows", num_obs_total or rows, subsample_size=rows):
            if x is not None:
                numpyro.factor("log_likelihood", self.log_likelihood(params, x))
                return
            components = numpyro.sample("component", dist.CategoricalProbs(params[WEIGHTS_SITE]))
            for index, feature in enumerate(self.features):
                row_params = {name: value[components] for name, value in self.feature_params(params, index).items()}
                numpyro.sample(feature.column, feature.distribution.likelihood(row_params, feature.schema))


def _site(name: str, feature: int | None, parameter: str, prior: dist.Distribution) -> ParameterSite:
    transform = transform_to(prior.support)
    shape = tuple(prior.batch_shape + prior.event_shape)
    return ParameterSite(
        name=name,
        feature=feature,
        parameter=parameter,
        prior=prior,
        transform=transform,
        shape=shape,
        unconstrained_shape=tuple(transform.inverse_shape(shape)),
    )


def _as_event(site: ParameterSite) -> dist.Distribution:
    """Return the site's prior with all batch dimensions moved into the event."""
    prior = site.prior
    return prior.to_event(len(prior.batch_shape)) if prior.batch_shape else prior
