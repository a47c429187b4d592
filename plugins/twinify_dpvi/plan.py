"""The privacy plan of a DPVI fit, registered with the accountant before any data are read.

Substitution relation (the row count N is public): batches of exactly
``int(sampling_ratio * N)`` rows drawn without replacement, ``N // batch_size``
steps per epoch, accounted by the Fourier accountant's substitution bound.

Add/remove relation (N is private): Poisson sampling with the given ratio,
``round(1 / sampling_ratio)`` steps per epoch, accounted by its add/remove bound.
The gradient scale 1 / sampling ratio needs no N. A small share of ε buys a
discrete Laplace estimate of N, used to size batch arrays and as the default
number of synthetic rows, so that the output does not reveal N exactly.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import attrs
import d3p.random
import numpy as np

from twinify.errors import InputError
from twinify.privacy import Mechanism, PrivacyAccountant, RandomSource
from twinify.privacy.accounting import (
    dpsgd_epsilon,
    dpsgd_noise_multiplier,
    fourier_accountant_name,
    laplace_epsilon,
    laplace_scale,
)
from twinify_dpvi.sampling import WORD_VALUES

#: Share of ε spent on the row count estimate under the add/remove relation. A
#: judgement call: at ε = 1 the estimate's noise scale is 50 rows, and DP-SGD
#: keeps 98% of the budget.
ROW_COUNT_EPSILON_SHARE = 0.02


@attrs.frozen(kw_only=True)
class PrivacyPlan:
    """The DP-SGD settings that the accountant approved.

    Attributes:
        relation: ``"substitution"`` or ``"add-remove"``.
        sampling_ratio: The exact ratio accounted for: batch size / N, or the
            Poisson inclusion probability.
        batch_size: Rows per batch under substitution; None under add/remove.
        poisson_threshold: Under add/remove, a row joins a batch when its random
            32-bit word is below this value; None under substitution.
        num_epochs: Epochs.
        steps_per_epoch: Noisy gradient steps per epoch.
        noise_multiplier: Noise standard deviation over the clipping threshold.
        clipping_threshold: The bound C on each row's gradient norm.
        row_count_scale: Scale of the discrete Laplace noise on the row count,
            or None when no estimate is needed.
    """

    relation: str
    sampling_ratio: float
    batch_size: int | None
    poisson_threshold: int | None
    num_epochs: int
    steps_per_epoch: int
    noise_multiplier: float
    clipping_threshold: float
    row_count_scale: float | None

    @property
    def num_steps(self) -> int:
        """Return the total number of noisy gradient steps."""
        return self.num_epochs * self.steps_per_epoch

    @property
    def noise_std(self) -> float:
        """Return the standard deviation of the noise on each clipped gradient sum."""
        return self.noise_multiplier * self.clipping_threshold


def plan_privacy(accountant: PrivacyAccountant, options: Mapping[str, Any], num_rows: int) -> PrivacyPlan:
    """Calibrate the DP-SGD noise and register every mechanism with ``accountant``.

    ``num_rows`` is used only under the substitution relation, where it is public.

    Raises:
        InputError: the sampling ratio gives empty batches.
        PrivacyBudgetError: the budget cannot pay for the plan.
    """
    budget = accountant.budget
    ratio = float(options["sampling_ratio"])
    num_epochs = int(options["num_epochs"])
    clipping_threshold = float(options["clipping_threshold"])

    row_count_scale = None
    # Mechanisms registered earlier (DP bounds) have already taken their share.
    sgd_epsilon = accountant.epsilon_remaining
    delta = accountant.delta_remaining
    if budget.relation == "substitution":
        batch_size = int(ratio * num_rows)
        if batch_size < 1:
            raise InputError(
                f"sampling ratio {ratio:g} gives batches of 0 rows for {num_rows} rows; use a "
                f"sampling ratio of at least {1.0 / num_rows:.3g} (-q)"
            )
        sampling_ratio = batch_size / num_rows
        steps_per_epoch = num_rows // batch_size
        threshold = None
    else:
        batch_size = None
        threshold = min(max(round(ratio * WORD_VALUES), 1), WORD_VALUES - 1)
        sampling_ratio = threshold / WORD_VALUES
        steps_per_epoch = max(round(1.0 / ratio), 1)
        count_epsilon = ROW_COUNT_EPSILON_SHARE * sgd_epsilon
        row_count_scale = laplace_scale(count_epsilon, sensitivity=1.0)
        sgd_epsilon -= count_epsilon

    steps = num_epochs * steps_per_epoch
    noise_multiplier = dpsgd_noise_multiplier(sgd_epsilon, delta, sampling_ratio, steps, budget.relation)
    plan = PrivacyPlan(
        relation=budget.relation,
        sampling_ratio=sampling_ratio,
        batch_size=batch_size,
        poisson_threshold=threshold,
        num_epochs=num_epochs,
        steps_per_epoch=steps_per_epoch,
        noise_multiplier=noise_multiplier,
        clipping_threshold=clipping_threshold,
        row_count_scale=row_count_scale,
    )
    if row_count_scale is not None:
        accountant.spend(_row_count_mechanism(row_count_scale))
    accountant.spend(_dpsgd_mechanism(plan, delta))
    return plan


def _dpsgd_mechanism(plan: PrivacyPlan, delta: float) -> Mechanism:
    epsilon = dpsgd_epsilon(plan.noise_multiplier, delta, plan.sampling_ratio, plan.num_steps, plan.relation)
    if plan.relation == "substitution":
        scheme = "fixed-size batches drawn uniformly without replacement"
        batch = {"batch_size": plan.batch_size}
    else:
        scheme = "Poisson sampling (each row independently)"
        batch = {"expected_batch_size": "sampling ratio times the number of rows"}
    return Mechanism(
        name="subsampled Gaussian mechanism (DP-SGD)",
        purpose="training steps",
        epsilon=epsilon,
        delta=delta,
        accountant=fourier_accountant_name(),
        parameters={
            "noise_multiplier": plan.noise_multiplier,
            "noise_std": plan.noise_std,
            "clipping_threshold": plan.clipping_threshold,
            "clipped": "each row's log-likelihood gradient with respect to the variational "
            "means and log standard deviations",
            "sampling_ratio": plan.sampling_ratio,
            "sampling_scheme": scheme,
            **batch,
            "epochs": plan.num_epochs,
            "steps": plan.num_steps,
        },
    )


def _row_count_mechanism(scale: float) -> Mechanism:
    return Mechanism(
        name="discrete Laplace mechanism",
        purpose="row count estimate",
        epsilon=laplace_epsilon(scale, sensitivity=1.0),
        delta=0.0,
        accountant="pure DP of the discrete Laplace mechanism (epsilon = sensitivity / scale)",
        parameters={"scale": scale, "sensitivity": 1},
    )


def noisy_row_count(num_rows: int, scale: float, rng: RandomSource) -> int:
    """Return ``num_rows`` plus discrete Laplace noise of ``scale``, at least 1.

    The noise is the difference of two geometric variables with success
    probability 1 - exp(-1/scale), drawn by inversion from uniforms with 53
    random bits from d3p's ChaCha20 generator, in double precision.
    """
    words = np.asarray(d3p.random.random_bits(rng.key(), 32, (4,)), dtype=np.uint64)
    bits = ((words[0::2] >> np.uint64(11)) << np.uint64(32)) + words[1::2]
    uniforms = (bits.astype(np.float64) + 1.0) / 2.0**53
    # P(floor(-scale * log U) >= k) = exp(-k / scale): a geometric variable.
    geometric = np.floor(-scale * np.log(uniforms))
    estimate = max(int(num_rows + geometric[0] - geometric[1]), 1)
    if scale > 0.1 * estimate:
        # Compares the noise with the noisy estimate only, so it reveals nothing more.
        warnings.warn(
            f"the DP estimate of the row count, {estimate}, has noise of scale {scale:.0f} rows, "
            "too coarse to size the synthetic data: pass --num_synthetic N (API: generate(N))",
            UserWarning,
            stacklevel=2,
        )
    return estimate
