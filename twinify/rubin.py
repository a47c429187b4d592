"""Combining estimates from several synthetic data sets (Rubin's rules for synthetic data).

Analyse each of the m synthetic data sets as if it were real data, giving an
estimate q_i and its variance u_i, then combine them with :func:`rubins_rules`. For
fully synthetic data, each set drawn from its own posterior draw, the rules are

    q̄ = mean(q_i),   B = sample variance of the q_i,   ū = mean(u_i),
    T = (1 + 1/m) B − ū,

as stated for fully synthetic data by the National Academies of Sciences,
Engineering, and Medicine (2024), "A Roadmap for Disclosure Avoidance in the Survey
of Income and Program Participation", Appendix B. B carries the posterior
uncertainty (from sampling and from the privacy noise) plus the sampling noise of
the synthetic sets themselves. Subtracting ū removes the latter.

The interval uses Student's t with ν = (m − 1)(1 − ū / ((1 + 1/m) B))² degrees of
freedom, the Satterthwaite approximation for T when B has m − 1 degrees of freedom.
T can come out zero or negative when the synthetic sets vary less than their own
sampling noise suggests, which happens by chance for small m. T is then replaced by
ū times the ratio of synthetic to original rows (``size_ratio``), and the normal
distribution is used. The result marks this case in ``negative_variance``.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from twinify.errors import InputError


@attrs.frozen
class RubinResult:
    """Combined estimate and interval.

    Attributes:
        estimate: The combined estimate q̄.
        variance: The variance T of the combined estimate.
        between: The between-set variance B.
        within: The mean within-set variance ū.
        degrees_of_freedom: ν of the t distribution, or ``inf`` for the normal.
        lower: Lower end of the interval.
        upper: Upper end of the interval.
        level: Coverage level of the interval, for example 0.95.
        negative_variance: Whether T was not positive and was replaced.
    """

    estimate: float
    variance: float
    between: float
    within: float
    degrees_of_freedom: float
    lower: float
    upper: float
    level: float
    negative_variance: bool

    @property
    def standard_error(self) -> float:
        """Return the square root of the combined variance."""
        return float(np.sqrt(self.variance))


def rubins_rules(
    estimates: Sequence[float],
    variances: Sequence[float],
    level: float = 0.95,
    size_ratio: float = 1.0,
) -> RubinResult:
    """Combine per-data-set estimates and their variances into one estimate and interval.

    Args:
        estimates: The estimate from each synthetic data set (at least two).
        variances: The variance of each estimate, as computed on that data set.
        level: Coverage level of the interval, between 0 and 1.
        size_ratio: Rows per synthetic data set divided by rows of the original
            data; only used when T is not positive.

    Raises:
        InputError: fewer than two estimates, mismatched lengths, negative or
            non-finite values, or a level outside (0, 1).
    """
    from scipy import stats

    q = np.asarray(estimates, dtype=np.float64)
    u = np.asarray(variances, dtype=np.float64)
    _check_inputs(q, u, level, size_ratio)

    m = q.size
    estimate = float(q.mean())
    between = float(q.var(ddof=1))
    within = float(u.mean())
    variance = (1.0 + 1.0 / m) * between - within

    negative = not variance > 0
    if negative:
        variance = size_ratio * within
        degrees_of_freedom = float("inf")
    else:
        degrees_of_freedom = (m - 1) * (1.0 - within / ((1.0 + 1.0 / m) * between)) ** 2

    tail = 0.5 + level / 2.0
    if np.isinf(degrees_of_freedom):
        quantile = float(stats.norm.ppf(tail))
    else:
        quantile = float(stats.t.ppf(tail, df=max(degrees_of_freedom, 1e-8)))
    half_width = quantile * float(np.sqrt(variance))
    return RubinResult(
        estimate=estimate,
        variance=float(variance),
        between=between,
        within=within,
        degrees_of_freedom=float(degrees_of_freedom),
        lower=estimate - half_width,
        upper=estimate + half_width,
        level=level,
        negative_variance=negative,
    )


def _check_inputs(q: np.ndarray, u: np.ndarray, level: float, size_ratio: float) -> None:
    if q.ndim != 1 or q.size < 2:
        raise InputError(
            f"Rubin's rules need at least two estimates, one per synthetic data set; got {q.size}"
        )
    if u.shape != q.shape:
        raise InputError(
            f"got {q.size} estimates but {u.size} variances; give one variance per estimate"
        )
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(u))):
        raise InputError("the estimates and variances must be finite numbers")
    if np.any(u < 0):
        raise InputError("a variance is negative; give the squared standard error of each estimate")
    if not 0 < level < 1:
        raise InputError(f"invalid level {level}: use a number between 0 and 1, for example 0.95")
    if not size_ratio > 0:
        raise InputError(
            f"invalid size_ratio {size_ratio}: use synthetic rows divided by original rows"
        )
