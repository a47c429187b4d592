r"""Maps from the unconstrained space onto parameter supports, for the mixture model.

numpyro's ``biject_to`` is used for every support except the simplex, where the
additive log-ratio map replaces stick-breaking:

.. math::

    x \in \mathbb{R}^{C-1} \mapsto \theta = \mathrm{softmax}(x_1, \dots, x_{C-1}, 0).

Its Jacobian with respect to the first C-1 coordinates is
:math:`\mathrm{diag}(\theta) - \theta\theta^\top`, whose determinant is
:math:`\prod_{c=1}^{C} \theta_c` by the matrix determinant lemma. Its gradient is
a softmax gradient, cheap to take once per row, while stick-breaking's cumulative
product makes per-row gradients several times slower, and it treats the first
C-1 categories alike.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from numpyro.distributions import constraints
from numpyro.distributions.transforms import ParameterFreeTransform, Transform, biject_to


class SimplexSoftmaxTransform(ParameterFreeTransform):
    """Bijection from R^(C-1) onto the open simplex in R^C: softmax with a last logit of 0."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def __call__(self, x: Any) -> Any:
        logits = jnp.concatenate([x, jnp.zeros(jnp.shape(x)[:-1] + (1,), dtype=jnp.result_type(x))], axis=-1)
        return jax.nn.softmax(logits, axis=-1)

    def _inverse(self, y: Any) -> Any:
        log_y = jnp.log(y)
        return log_y[..., :-1] - log_y[..., -1:]

    def log_abs_det_jacobian(self, x: Any, y: Any, intermediates: Any = None) -> Any:
        logits = jnp.concatenate([x, jnp.zeros(jnp.shape(x)[:-1] + (1,), dtype=jnp.result_type(x))], axis=-1)
        return jnp.sum(jax.nn.log_softmax(logits, axis=-1), axis=-1)

    def pull_back(self, y: Any, cotangent: Any) -> Any:
        """Return the vector-Jacobian product for cotangents on ``y = self(x)``.

        ``cotangent`` may have extra leading dimensions (one per row).
        """
        projected = y * (cotangent - jnp.sum(y * cotangent, axis=-1, keepdims=True))
        return projected[..., :-1]

    def forward_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape[:-1] + (shape[-1] + 1,)

    def inverse_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape[:-1] + (shape[-1] - 1,)


def transform_to(support: constraints.Constraint) -> Transform:
    """Return the map from the unconstrained space onto ``support``."""
    if support is constraints.simplex:
        return SimplexSoftmaxTransform()
    return biject_to(support)
