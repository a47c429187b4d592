"""A custom model's latent variables in the form the DPVI training loop takes.

:func:`twinify_dpvi.training.train` fits a mean-field Gaussian over one flat
vector of unconstrained parameters and needs from its model only the members
that :class:`LatentSpace` implements. For a custom model that vector contains the
latent variables, each mapped onto its support by the transform of
:class:`~twinify.custom_model.tracing.LatentSite`, so the fast per-row
clipping of :mod:`twinify_dpvi.gradients` applies unchanged.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from twinify.custom_model.tracing import LatentSite, ModelStructure


class LatentSpace:
    """The flat unconstrained vector of a custom model's latent variables.

    Args:
        structure: The traced model.
    """

    def __init__(self, structure: ModelStructure) -> None:
        self.structure = structure
        self.sites: tuple[LatentSite, ...] = structure.latent_sites
        offsets = np.cumsum([0] + [site.size for site in self.sites])
        self.slices = [slice(int(start), int(stop)) for start, stop in zip(offsets[:-1], offsets[1:])]
        self.num_parameters = int(offsets[-1])

    def unflatten(self, unconstrained: jax.Array) -> dict[str, jax.Array]:
        """Split a flat unconstrained vector into one array per latent site."""
        return {
            site.name: unconstrained[part].reshape(site.unconstrained_shape)
            for site, part in zip(self.sites, self.slices)
        }

    def constrain(self, unconstrained: jax.Array) -> tuple[dict[str, jax.Array], jax.Array]:
        """Return the latent values and the log absolute Jacobian determinant of the map."""
        latent, log_det = {}, jnp.zeros(())
        for site, value in zip(self.sites, self.unflatten(unconstrained).values()):
            constrained = site.transform(value)
            latent[site.name] = constrained
            log_det = log_det + jnp.sum(site.transform.log_abs_det_jacobian(value, constrained))
        return latent, log_det

    def log_likelihood(self, latent: dict[str, jax.Array], row: jax.Array) -> jax.Array:
        """Return one encoded row's log-likelihood given latent values."""
        return self.structure.row_log_likelihood(latent, row)

    def pull_back_row_gradients(
        self, unconstrained: jax.Array, latent: dict[str, jax.Array], row_gradients: dict[str, jax.Array]
    ) -> list[jax.Array]:
        """Turn per-row gradients with respect to latent values into unconstrained ones.

        Returns one (B, site.size) array per site: the vector-Jacobian product of
        each site's transform with every row's gradient, batched over the rows.
        """
        parts = []
        for site, value in zip(self.sites, self.unflatten(unconstrained).values()):
            _, pull_back = jax.vjp(site.transform, value)
            pulled = jax.vmap(lambda gradient: pull_back(gradient)[0])(row_gradients[site.name])
            parts.append(pulled.reshape(-1, site.size))
        return parts

    def log_prior_unconstrained(self, unconstrained: jax.Array) -> jax.Array:
        """Return the log prior density in the unconstrained space (prior plus log Jacobian)."""
        latent, log_det = self.constrain(unconstrained)
        return self.structure.log_prior(latent) + log_det

    def initial_unconstrained(self, key: jax.Array, radius: float = 2.0) -> jax.Array:
        """Draw a starting point uniformly in ``[-radius, radius]`` of the unconstrained space.

        This is numpyro's ``init_to_uniform`` strategy, the default of its
        automatic guides; it uses no data.
        """
        return jax.random.uniform(key, (self.num_parameters,), minval=-radius, maxval=radius)
