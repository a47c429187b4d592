r"""The DP-SGD gradient of the ELBO, with per-example clipping of the likelihood term only.

The variational posterior is a mean-field Gaussian over the mixture's unconstrained
parameters, :math:`q(z) = \mathcal{N}(\mu, \mathrm{diag}(s^2))` with
:math:`s = \exp(\lambda)`, reparametrized as :math:`z = \mu + s \odot \epsilon`
with one draw of :math:`\epsilon` per step. The ELBO is

.. math::

    \mathcal{L}(\mu, \lambda) = \mathbb{E}_q\Big[\sum_i \ell_i(z)\Big]
    + \mathbb{E}_q\big[\log p(T(z)) + \log|J_T(z)|\big] + H(q),

where :math:`\ell_i` is row *i*'s log-likelihood and *T* maps unconstrained values
onto the parameters' supports. Only the first term reads the data. For one
:math:`\epsilon`, row *i*'s gradient with respect to :math:`(\mu, \lambda)` is
:math:`(g_i, g_i \odot s \odot \epsilon)` with :math:`g_i = \nabla_z \ell_i(z)`,
so its squared norm is :math:`\sum_d g_{id}^2 (1 + s_d^2 \epsilon_d^2)`. Each
row's pair is clipped to norm *C*, so the clipped sum over a batch is
:math:`(G, G \odot s \odot \epsilon)` with :math:`G = \sum_i c_i \odot g_i`,
where the clipping factors :math:`c_i` are constant within each clipping group
(see :func:`clipped_likelihood_sum`).
Gaussian noise of standard deviation :math:`\sigma C` goes onto both halves. The
other two terms do not read data; their gradient
:math:`(h, h \odot s \odot \epsilon + 1)` with
:math:`h = \nabla_z [\log p(T(z)) + \log|J_T(z)|]` is added without noise (the 1
is the entropy's gradient with respect to :math:`\lambda`).

This costs one batched per-example gradient of the cheap likelihood instead of
per-example gradients of the whole ELBO, which is what makes a step fast.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from twinify.mixture import MixtureModel


class ClippedSum(NamedTuple):
    """The clipped per-example likelihood gradients of one batch, summed.

    Attributes:
        loc: Sum over the batch of the clipped gradients with respect to μ.
        log_scale: Sum of the clipped gradients with respect to λ = log s.
        log_likelihood: Sum of the rows' log-likelihoods (for progress display).
    """

    loc: jax.Array
    log_scale: jax.Array
    log_likelihood: jax.Array


RowGradients = Callable[[jax.Array, jax.Array], tuple[jax.Array, list[jax.Array]]]


def per_example_gradients(mixture: MixtureModel) -> RowGradients:
    """Return ``f(z, x) -> (log_likelihoods (B,), gradients)``: each row's gradient with respect to z.

    The gradients come as one (B, site size) array per parameter site, in the
    order of ``mixture.slices``.

    The rows' gradients are taken with respect to the constrained parameters,
    then pulled back through the constraining transforms for the whole batch at
    once (:meth:`MixtureModel.pull_back_row_gradients`).
    """
    row_gradients = jax.vmap(jax.value_and_grad(mixture.log_likelihood), in_axes=(None, 0))

    def gradients_of(z: jax.Array, rows: jax.Array) -> tuple[jax.Array, list[jax.Array]]:
        params, _ = mixture.constrain(z)
        values, constrained = row_gradients(params, rows)
        return values, mixture.pull_back_row_gradients(z, params, constrained)

    return gradients_of


def clipped_likelihood_sum(
    gradients_of: RowGradients,
    slices: Sequence[slice],
    groups: Sequence[Hashable],
    loc: jax.Array,
    log_scale: jax.Array,
    noise: jax.Array,
    rows: jax.Array,
    mask: jax.Array,
    clipping_threshold: float,
) -> ClippedSum:
    """Clip each row's likelihood gradient with respect to (μ, λ) and sum over the rows.

    The sites are split into clipping groups. Within each of the G groups, a
    row's gradient is clipped to norm C / sqrt(G), so the row's whole gradient
    has norm at most C. With one group this is plain per-example clipping.

    Args:
        gradients_of: From :func:`per_example_gradients`.
        slices: Each site's part of the flat parameter vector (``mixture.slices``).
        groups: Each site's clipping group, any hashable label.
        loc: μ.
        log_scale: λ.
        noise: The step's reparametrization draw ε.
        rows: Encoded rows of shape (B, F); rows with mask 0 are padding.
        mask: 1.0 for rows in the batch, 0.0 for padding.
        clipping_threshold: C, the bound on each row's whole gradient.
    """
    scaled_noise = jnp.exp(log_scale) * noise
    values, parts = gradients_of(loc + scaled_noise, rows)

    labels = list(dict.fromkeys(groups))
    group_threshold = clipping_threshold / math.sqrt(len(labels))
    squared_norms = {label: jnp.zeros(rows.shape[0]) for label in labels}
    for part, where, label in zip(parts, slices, groups):
        squared_norms[label] = squared_norms[label] + jnp.sum(part**2 * (1.0 + scaled_noise[where] ** 2), axis=1)
    factors = {
        label: mask * jnp.minimum(1.0, group_threshold / jnp.sqrt(jnp.maximum(norms, 1e-30)))
        for label, norms in squared_norms.items()
    }

    summed = jnp.concatenate([factors[label] @ part for part, label in zip(parts, groups)])
    return ClippedSum(
        loc=summed,
        log_scale=summed * scaled_noise,
        log_likelihood=jnp.sum(mask * values),
    )


def prior_entropy_gradient(
    mixture: MixtureModel, loc: jax.Array, log_scale: jax.Array, noise: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Return the gradient of the data-independent ELBO terms with respect to (μ, λ)."""
    scaled_noise = jnp.exp(log_scale) * noise
    prior_gradient = jax.grad(mixture.log_prior_unconstrained)(loc + scaled_noise)
    return prior_gradient, prior_gradient * scaled_noise + 1.0
