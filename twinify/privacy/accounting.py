r"""Every privacy figure twinify computes: calibration and accounting formulas.

Backends never compute ε, δ or a noise scale themselves; they call these functions
and register the result with a :class:`~twinify.privacy.accountant.PrivacyAccountant`.

Formulas and their sources:

* DP-SGD (subsampled Gaussian, composed over steps): the Fourier accountant
  (Koskela, Jälkö and Honkela 2020, "Computing tight differential privacy
  guarantees using FFT", AISTATS), as packaged in ``fourier-accountant`` and used by
  d3p. Its substitution relation assumes fixed-size batches drawn without
  replacement; its add/remove relation assumes Poisson sampling.
* One Gaussian mechanism: the analytic calibration of Balle and Wang 2018
  ("Improving the Gaussian mechanism for differential privacy", ICML), Theorem 8:
  the mechanism with L2 sensitivity :math:`\Delta` and noise :math:`\sigma` is
  (ε, δ)-DP iff
  :math:`\Phi(\frac{\Delta}{2\sigma} - \frac{\varepsilon\sigma}{\Delta})
  - e^{\varepsilon}\Phi(-\frac{\Delta}{2\sigma} - \frac{\varepsilon\sigma}{\Delta}) \le \delta`.
* zero-concentrated DP (Bun and Steinke 2016): a Gaussian mechanism is
  :math:`\Delta^2 / (2\sigma^2)`-zCDP, an ε₀-DP exponential mechanism is
  :math:`\varepsilon_0^2/8`-zCDP (Cesar and Rogers 2021, bounded range), and ρ-zCDP
  implies (ε, δ)-DP with the conversion of Canonne, Kamath and Steinke 2020
  ("The discrete Gaussian for differential privacy", Proposition 12).
* Laplace mechanism: ε = Δ₁ / b for scale b.
"""

from __future__ import annotations

import functools
import math
from importlib import metadata

import numpy as np
from scipy import optimize, special

from twinify.errors import PrivacyBudgetError

#: Relative slack allowed when a computed ε is compared with its target; a larger
#: ε is always rejected, the slack only absorbs floating-point rounding.
EPSILON_TOLERANCE = 1e-9


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------------------
# DP-SGD


def fourier_accountant_name() -> str:
    """Return the accountant used for DP-SGD, with its version."""
    return f"fourier-accountant {_package_version('fourier-accountant')} (PLD, FFT)"


def dpsgd_epsilon(
    noise_multiplier: float, delta: float, sampling_ratio: float, steps: int, relation: str
) -> float:
    """Return ε of ``steps`` subsampled Gaussian steps at the given δ.

    Args:
        noise_multiplier: Noise standard deviation divided by the clipping threshold.
        delta: Target δ.
        sampling_ratio: Batch size over row count (fixed-size batches without
            replacement for substitution, Poisson sampling rate for add/remove).
        steps: Number of noisy gradient steps.
        relation: ``"substitution"`` or ``"add-remove"``.
    """
    from fourier_accountant.compute_eps import get_epsilon_R, get_epsilon_S

    compute = get_epsilon_S if relation == "substitution" else get_epsilon_R
    for width in (20.0, 40.0, 80.0):
        try:
            return float(compute(delta, noise_multiplier, sampling_ratio, int(steps), L=width))
        except ValueError:
            # The integration interval [-L, L] was too narrow for this ε; widen it.
            continue
    raise PrivacyBudgetError(
        f"cannot compute epsilon for noise multiplier {noise_multiplier:.4g} over {steps} steps; "
        "use fewer epochs or a smaller sampling ratio"
    )


#: Relative precision of the calibrated noise multiplier (0.1%).
NOISE_PRECISION = 1e-3

#: Factor between the noise multipliers tried while bracketing the target ε. Small
#: steps keep the search away from tiny multipliers, where the accountant's ε is
#: huge and its computation takes minutes.
BRACKET_FACTOR = 1.5

#: Search range of the noise multiplier.
NOISE_RANGE = (1e-2, 1e4)


@functools.lru_cache(maxsize=64)
def dpsgd_noise_multiplier(
    epsilon: float, delta: float, sampling_ratio: float, steps: int, relation: str
) -> float:
    """Return the smallest noise multiplier, within 0.1%, whose DP-SGD run meets (ε, δ).

    Brackets the target by stepping from 1 by a factor of 1.5, then bisects in
    log scale. Every multiplier returned was checked with :func:`dpsgd_epsilon`,
    so the noise never gives an ε above the target. Results are cached, because
    the search takes seconds and depends only on the arguments.

    Raises:
        PrivacyBudgetError: no noise multiplier within the search range meets the target.
    """

    def meets(sigma: float) -> bool:
        try:
            return dpsgd_epsilon(sigma, delta, sampling_ratio, steps, relation) <= epsilon * (1 + EPSILON_TOLERANCE)
        except PrivacyBudgetError:
            return False

    low, high = _bracket_noise(meets)
    while high / low > 1 + NOISE_PRECISION:
        middle = math.sqrt(low * high)
        if meets(middle):
            high = middle
        else:
            low = middle
    return float(high)


def _bracket_noise(meets) -> tuple[float, float]:
    """Return (low, high) noise multipliers, ``high`` meeting the target and ``low`` not."""
    smallest, largest = NOISE_RANGE
    sigma = 1.0
    if meets(sigma):
        while sigma / BRACKET_FACTOR >= smallest:
            if not meets(sigma / BRACKET_FACTOR):
                return sigma / BRACKET_FACTOR, sigma
            sigma /= BRACKET_FACTOR
        return smallest, sigma
    while sigma * BRACKET_FACTOR <= largest:
        if meets(sigma * BRACKET_FACTOR):
            return sigma, sigma * BRACKET_FACTOR
        sigma *= BRACKET_FACTOR
    raise PrivacyBudgetError(
        f"no DP-SGD noise multiplier up to {largest:g} meets the target; use a larger epsilon, "
        "fewer epochs or a smaller sampling ratio"
    )


# --------------------------------------------------------------------------------------
# Gaussian mechanism, analytic calibration


def _log_diff_exp(log_a: float, log_b: float) -> float:
    """Return log(exp(log_a) - exp(log_b)) for log_a >= log_b, or -inf when equal."""
    if log_b == -math.inf:
        return log_a
    if log_a <= log_b:
        return -math.inf
    return log_a + math.log1p(-math.exp(log_b - log_a))


def gaussian_log_delta(sigma: float, epsilon: float, sensitivity: float) -> float:
    """Return log δ of a Gaussian mechanism at ε, by Balle and Wang's exact formula.

    Computed in log space so that it stays finite for ε up to several thousand.
    """
    a = sensitivity / (2.0 * sigma)
    b = epsilon * sigma / sensitivity
    return _log_diff_exp(float(special.log_ndtr(a - b)), epsilon + float(special.log_ndtr(-a - b)))


def gaussian_epsilon(sigma: float, delta: float, sensitivity: float) -> float:
    """Return the smallest ε for which the Gaussian mechanism is (ε, δ)-DP."""
    log_delta = math.log(delta)
    if gaussian_log_delta(sigma, 0.0, sensitivity) <= log_delta:
        return 0.0
    upper = 1.0
    while gaussian_log_delta(sigma, upper, sensitivity) > log_delta:
        upper *= 2.0
        if upper > 1e7:
            return math.inf
    return float(
        optimize.brentq(
            lambda eps: gaussian_log_delta(sigma, eps, sensitivity) - log_delta,
            0.0, upper, xtol=1e-14, rtol=1e-12,
        )
    )


def gaussian_sigma(epsilon: float, delta: float, sensitivity: float) -> float:
    """Return the smallest noise standard deviation meeting (ε, δ) for L2 ``sensitivity``.

    Solves Balle and Wang's condition in log σ by bisection and returns the upper
    end of the final bracket, so the result never gives more than δ at ε.
    """
    if sensitivity <= 0:
        raise PrivacyBudgetError(f"invalid sensitivity {sensitivity}: it must be positive")
    log_delta = math.log(delta)

    def excess(log_sigma: float) -> float:
        return gaussian_log_delta(math.exp(log_sigma), epsilon, sensitivity) - log_delta

    low, high = math.log(sensitivity) - 20.0, math.log(sensitivity) + 20.0
    while excess(low) < 0:
        low -= 10.0
    while excess(high) > 0:
        high += 10.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if excess(middle) > 0:
            low = middle
        else:
            high = middle
        if high - low < 1e-13:
            break
    return math.exp(high)


# --------------------------------------------------------------------------------------
# Zero-concentrated DP


def zcdp_epsilon(rho: float, delta: float) -> float:
    """Return ε such that ρ-zCDP implies (ε, δ)-DP.

    Uses Canonne, Kamath and Steinke's bound
    ε = min over α > 1 of αρ + (log(1/δ) + (α−1) log(1−1/α) − log α) / (α − 1).
    """
    if rho <= 0:
        return 0.0

    def bound(log_alpha_minus_one: float) -> float:
        alpha = 1.0 + math.exp(log_alpha_minus_one)
        return alpha * rho + (
            math.log(1.0 / delta) + (alpha - 1.0) * math.log1p(-1.0 / alpha) - math.log(alpha)
        ) / (alpha - 1.0)

    result = optimize.minimize_scalar(bound, bounds=(-20.0, 20.0), method="bounded", options={"xatol": 1e-10})
    grid = np.linspace(-20.0, 20.0, 801)
    best_grid = min(bound(x) for x in grid)
    return float(max(min(result.fun, best_grid), 0.0))


def zcdp_rho(epsilon: float, delta: float) -> float:
    """Return the largest ρ whose ρ-zCDP guarantee implies (ε, δ)-DP."""
    low, high = 0.0, max(epsilon, 1.0)
    while zcdp_epsilon(high, delta) <= epsilon:
        high *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if zcdp_epsilon(middle, delta) <= epsilon:
            low = middle
        else:
            high = middle
        if high - low <= 1e-14 * max(high, 1e-300):
            break
    return low


def gaussian_rho(sigma: float, sensitivity: float) -> float:
    """Return ρ of a Gaussian mechanism with noise ``sigma`` and L2 ``sensitivity``."""
    return sensitivity**2 / (2.0 * sigma**2)


def gaussian_sigma_for_rho(rho: float, sensitivity: float) -> float:
    """Return the noise standard deviation of a ρ-zCDP Gaussian mechanism."""
    return sensitivity / math.sqrt(2.0 * rho)


def exponential_mechanism_rho(epsilon: float) -> float:
    """Return ρ of an ε-DP exponential mechanism (bounded range: ε²/8)."""
    return epsilon**2 / 8.0


def exponential_mechanism_epsilon(rho: float) -> float:
    """Return the ε of an exponential mechanism that costs ρ under zCDP."""
    return math.sqrt(8.0 * rho)


# --------------------------------------------------------------------------------------
# Laplace mechanism


def laplace_scale(epsilon: float, sensitivity: float) -> float:
    """Return the Laplace noise scale b = Δ₁ / ε."""
    return sensitivity / epsilon


def laplace_epsilon(scale: float, sensitivity: float) -> float:
    """Return ε = Δ₁ / b of a Laplace mechanism."""
    return sensitivity / scale
