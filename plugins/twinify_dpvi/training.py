"""The DP-SGD training loop: one jitted scan per epoch, no host round trip per step.

Each step draws a batch and sums the clipped per-example likelihood gradients.
It adds Gaussian noise from d3p's ChaCha20 generator and scales the sum by
1 / sampling ratio, an unbiased estimate of the full-data sum. Then it adds the
noise-free gradient of the prior and entropy terms and takes an Adam step on the
ELBO. The step size decays to 0 along half a cosine, so the late steps, where the
privacy noise outweighs what is left to learn, move the parameters less.

The returned posterior is the average of the iterates at the ends of the last
``averaged_epochs`` epochs (tail averaging). The privacy noise keeps the iterates
moving around the optimum; averaging them is post-processing, so it costs no
privacy budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs
import d3p.random
import jax
import jax.numpy as jnp
import numpy as np
import numpyro.optim
from tqdm.auto import tqdm

from twinify.errors import FitError
from twinify.mixture import MixtureModel
from twinify.privacy.rng import RandomSource
from twinify_dpvi.gradients import ClippedSum, clipped_likelihood_sum, per_example_gradients, prior_entropy_gradient

logger = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class TrainingPlan:
    """Settings of one DP-SGD run.

    Attributes:
        sampler: Batch sampler matching the accounting.
        num_epochs: Epochs to run.
        steps_per_epoch: Noisy gradient steps per epoch.
        noise_std: Standard deviation of the Gaussian noise on the clipped sum,
            noise multiplier times clipping threshold.
        clipping_threshold: C, the bound on each row's gradient norm.
        learning_rate: Adam's first step size; it decays to 0 along half a
            cosine over the steps (:func:`cosine_decay`).
        init_scale: Starting standard deviation of the variational posterior.
        init_radius: Starting means are uniform in [-radius, radius].
        averaged_epochs: Number of final epochs whose end iterates are averaged.
        per_parameter_clipping: Clip the gradient of each parameter array (one
            parameter of one column for all components, or the mixture weights)
            as a separate group with an equal share of the threshold, instead of
            each row's gradient as a whole.
    """

    sampler: Any
    num_epochs: int
    steps_per_epoch: int
    noise_std: float
    clipping_threshold: float
    learning_rate: float
    init_scale: float
    init_radius: float
    averaged_epochs: int = 1
    per_parameter_clipping: bool = True


@attrs.frozen
class TrainingResult:
    """The fitted variational posterior and the loss per epoch.

    Attributes:
        loc: Posterior means μ of the unconstrained parameters.
        log_scale: Posterior log standard deviations λ.
        epoch_losses: Mean negative log-likelihood per batch row in each epoch.
            It is computed from the sensitive data without noise, so it is shown
            on the terminal only and never saved with the model.
    """

    loc: np.ndarray
    log_scale: np.ndarray
    epoch_losses: tuple[float, ...]


def train(
    mixture: MixtureModel, data: np.ndarray, plan: TrainingPlan, rng: RandomSource, show_progress: bool
) -> TrainingResult:
    """Run DP-SGD on the encoded ``data`` and return the variational posterior.

    Raises:
        FitError: the parameters became NaN or infinite.
    """
    optimizer = numpyro.optim.Adam(cosine_decay(plan.learning_rate, plan.num_epochs * plan.steps_per_epoch))
    loc = mixture.initial_unconstrained(rng.jax_key(), plan.init_radius)
    log_scale = jnp.full_like(loc, np.log(plan.init_scale))
    state = optimizer.init((loc, log_scale))
    run_epoch = jax.jit(_epoch_function(mixture, plan, optimizer))
    rows = jnp.asarray(data, dtype=jnp.float32)

    losses = []
    first_averaged = plan.num_epochs - max(min(plan.averaged_epochs, plan.num_epochs), 1)
    total_loc, total_log_scale = jnp.zeros_like(loc), jnp.zeros_like(log_scale)
    with tqdm(total=plan.num_epochs, desc="DPVI", unit="epoch", disable=not show_progress) as progress:
        for epoch in range(plan.num_epochs):
            keys = (rng.key(), rng.key(), rng.jax_key())
            state, log_likelihood, num_rows = run_epoch(state, rows, *keys)
            loc, log_scale = optimizer.get_params(state)
            if not bool(jnp.all(jnp.isfinite(loc)) & jnp.all(jnp.isfinite(log_scale))):
                raise FitError(
                    f"the variational parameters became NaN or infinite in epoch {epoch + 1}; "
                    "lower --learning_rate or --clipping_threshold and fit again"
                )
            if epoch >= first_averaged:
                total_loc, total_log_scale = total_loc + loc, total_log_scale + log_scale
            losses.append(float(-log_likelihood / jnp.maximum(num_rows, 1)))
            progress.set_postfix(loss=f"{losses[-1]:.4g}")
            progress.update()
    logger.debug("DPVI epoch losses: first %.4g, last %.4g", losses[0], losses[-1])
    num_averaged = plan.num_epochs - first_averaged
    return TrainingResult(
        loc=np.asarray(total_loc / num_averaged),
        log_scale=np.asarray(total_log_scale / num_averaged),
        epoch_losses=tuple(losses),
    )


def cosine_decay(learning_rate: float, num_steps: int) -> Callable[[jax.Array], jax.Array]:
    """Return the step size at step i: ``learning_rate`` decayed to 0 along half a cosine over ``num_steps``."""

    def step_size(step: jax.Array) -> jax.Array:
        progress = jnp.minimum(step / num_steps, 1.0)
        return learning_rate * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))

    return step_size


def _epoch_function(mixture: MixtureModel, plan: TrainingPlan, optimizer: numpyro.optim._NumPyroOptim) -> Any:
    gradients_of = per_example_gradients(mixture)
    sampler = plan.sampler
    gradient_scale = 1.0 / sampler.sampling_ratio
    dimension = mixture.num_parameters
    if plan.per_parameter_clipping:
        groups = [site.name for site in mixture.sites]
    else:
        groups = [None] * len(mixture.sites)

    def clipped_batch_sum(loc, log_scale, noise, rows, batch_state) -> ClippedSum:
        def add_chunk(index, total):
            indices, mask = sampler.chunk(batch_state, index)
            part = clipped_likelihood_sum(
                gradients_of, mixture.slices, groups, loc, log_scale, noise, rows[indices], mask,
                plan.clipping_threshold,
            )
            return jax.tree_util.tree_map(jnp.add, total, part)

        zero = ClippedSum(jnp.zeros(dimension), jnp.zeros(dimension), jnp.zeros(()))
        return jax.lax.fori_loop(0, sampler.num_chunks(batch_state), add_chunk, zero)

    def run_epoch(state, rows, batch_key, noise_key, reparametrization_key):
        steps = plan.steps_per_epoch
        step_keys = (
            d3p.random.split(batch_key, steps),
            d3p.random.split(noise_key, steps),
            jax.random.split(reparametrization_key, steps),
        )

        def step(carry, keys):
            state, log_likelihood, num_rows = carry
            batch_key, noise_key, reparametrization_key = keys
            loc, log_scale = optimizer.get_params(state)
            noise = jax.random.normal(reparametrization_key, (dimension,))
            batch_state = sampler.draw(batch_key)
            clipped = clipped_batch_sum(loc, log_scale, noise, rows, batch_state)

            privacy_noise = plan.noise_std * d3p.random.normal(noise_key, (2, dimension))
            prior_loc, prior_log_scale = prior_entropy_gradient(mixture, loc, log_scale, noise)
            elbo_loc = gradient_scale * (clipped.loc + privacy_noise[0]) + prior_loc
            elbo_log_scale = gradient_scale * (clipped.log_scale + privacy_noise[1]) + prior_log_scale
            state = optimizer.update((-elbo_loc, -elbo_log_scale), state)

            batch_rows = sampler.num_selected(batch_state)
            return (state, log_likelihood + clipped.log_likelihood, num_rows + batch_rows), None

        start = (state, jnp.zeros(()), jnp.zeros(()))
        (state, log_likelihood, num_rows), _ = jax.lax.scan(step, start, step_keys)
        return state, log_likelihood, num_rows

    return run_epoch

