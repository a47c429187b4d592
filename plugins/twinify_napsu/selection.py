"""Automatic query selection in the manner of MST: one-way marginals, then a tree of pairs.

Three steps share one zero-concentrated DP (zCDP) budget ρ, which is the largest ρ
whose conversion stays within the user's (ε, δ):

1. Measure every one-way marginal with the Gaussian mechanism. Values whose noisy
   count is below three noise standard deviations are merged into one value per
   column. That only post-processes the noisy counts, and it keeps the two-way
   tables small enough that their noise does not drown them.
2. Choose two-way marginals that join the columns into a spanning tree, one edge
   per step, each step an exponential mechanism. An edge's score is the L1 distance
   between the pair's true counts and the counts the independent model of the
   noisy one-way marginals predicts, minus the expected L1 norm of the noise the
   pair's measurement would get. The subtracted term depends on public sizes only,
   so it costs nothing, and it steers selection away from large, noise-dominated
   tables. Queries the user forces join their columns before selection.
3. Measure the chosen and the forced marginals with the Gaussian mechanism.

A Gaussian mechanism costs Δ²/(2σ²) and an ε₀-DP exponential mechanism ε₀²/8 (see
:mod:`twinify.privacy.accounting`), and the costs add up under zCDP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

from twinify.errors import InputError
from twinify.privacy import Mechanism, PrivacyBudget, RandomSource
from twinify.privacy import accounting
from twinify_napsu.measurement import Measurement, cells_changed, l2_sensitivity, marginal_counts

#: A value whose noisy one-way count is below this many noise standard deviations
#: is merged with the other rare values of its column.
RARE_VALUE_SIGMAS = 3.0


@attrs.frozen
class SelectionPlan:
    """How the zCDP budget ρ is divided, fixed before the data are read.

    Attributes:
        rho: Total ρ.
        one_way_rho: ρ of the one-way measurements.
        one_way_sigma: Their noise standard deviation.
        one_way_sensitivity: Their joint L2 sensitivity.
        selection_rho: ρ of all selection steps together.
        steps: Number of exponential-mechanism steps (edges to choose).
        step_epsilon: ε₀ of each step.
        score_sensitivity: How much one row changes an edge's score.
        measure_rho: ρ of the second measurement round.
        measure_sigma: Its noise standard deviation.
        measure_sensitivity: Its joint L2 sensitivity.
        num_measured: Number of marginals measured in the second round.
    """

    rho: float
    one_way_rho: float
    one_way_sigma: float
    one_way_sensitivity: float
    selection_rho: float
    steps: int
    step_epsilon: float
    score_sensitivity: float
    measure_rho: float
    measure_sigma: float
    measure_sensitivity: float
    num_measured: int

    def mechanism(
        self, budget: PrivacyBudget, names: Sequence[str], forced: Sequence[Sequence[str]]
    ) -> Mechanism:
        """Return the composed mechanism to register with the accountant."""
        epsilon = accounting.zcdp_epsilon(self.rho, budget.delta)
        parameters = {
            "relation": budget.relation,
            "rho": self.rho,
            "one-way marginals: rho": self.one_way_rho,
            "one-way marginals: sigma": self.one_way_sigma,
            "one-way marginals: l2 sensitivity": self.one_way_sensitivity,
            "one-way marginals: queries": list(names),
            "selection: rho": self.selection_rho,
            "selection: exponential mechanism steps": self.steps,
            "selection: epsilon per step": self.step_epsilon,
            "selection: score sensitivity": self.score_sensitivity,
            "measurements: rho": self.measure_rho,
            "measurements: sigma": self.measure_sigma,
            "measurements: l2 sensitivity": self.measure_sensitivity,
            "measurements: forced queries": [", ".join(query) for query in forced],
        }
        return Mechanism(
            name="MST-style selection and Gaussian measurements",
            purpose="marginal query selection and measurement",
            epsilon=epsilon,
            delta=budget.delta,
            accountant="zCDP composition (Bun and Steinke 2016), converted to (epsilon, delta) by "
            "Canonne, Kamath and Steinke 2020",
            parameters=parameters,
        )


def count_steps(num_columns: int, forced: Sequence[Sequence[int]]) -> int:
    """Return how many edges join the columns, after the forced queries, into one tree."""
    return _joined_by(num_columns, forced).count - 1


def _joined_by(num_columns: int, queries: Sequence[Sequence[int]]) -> _Components:
    components = _Components(num_columns)
    for query in queries:
        for other in query[1:]:
            components.join(query[0], other)
    return components


def plan_selection(
    budget: PrivacyBudget, num_columns: int, forced: Sequence[Sequence[int]], selection_share: float
) -> SelectionPlan:
    """Divide ρ between one-way measurements, selection and the second measurements.

    ``selection_share`` of ρ goes to selection, and the rest is split evenly between
    the two measurement rounds. Parts with nothing to do get no budget.
    """
    rho = accounting.zcdp_rho(budget.epsilon, budget.delta)
    steps = count_steps(num_columns, forced)
    num_measured = steps + len(forced)

    selection_rho = selection_share * rho if steps > 0 else 0.0
    rest = rho - selection_rho
    measure_rho = rest / 2 if num_measured > 0 else 0.0
    one_way_rho = rest - measure_rho

    one_way_sensitivity = l2_sensitivity(num_columns, budget.relation)
    measure_sensitivity = l2_sensitivity(num_measured, budget.relation) if num_measured else 0.0
    return SelectionPlan(
        rho=one_way_rho + selection_rho + measure_rho,
        one_way_rho=one_way_rho,
        one_way_sigma=accounting.gaussian_sigma_for_rho(one_way_rho, one_way_sensitivity),
        one_way_sensitivity=one_way_sensitivity,
        selection_rho=selection_rho,
        steps=steps,
        step_epsilon=accounting.exponential_mechanism_epsilon(selection_rho / steps)
        if steps
        else 0.0,
        score_sensitivity=float(cells_changed(budget.relation)),
        measure_rho=measure_rho,
        measure_sigma=(
            accounting.gaussian_sigma_for_rho(measure_rho, measure_sensitivity)
            if num_measured
            else 0.0
        ),
        measure_sensitivity=measure_sensitivity,
        num_measured=num_measured,
    )


# --------------------------------------------------------------------------------------
# Merging rare values


@attrs.frozen(eq=False)
class Compression:
    """How one column's values map to model values.

    Attributes:
        groups: Model value of each original value code.
        weights: For decoding, the probability of each original value within its
            group, from the clipped noisy one-way counts.
    """

    groups: np.ndarray
    weights: np.ndarray

    @property
    def size(self) -> int:
        """Return the number of model values."""
        return int(self.groups.max()) + 1

    def compress(self, measurement: Measurement) -> Measurement:
        """Return a one-way measurement summed over each group."""
        counts = np.bincount(self.groups, weights=measurement.counts, minlength=self.size)
        variances = np.bincount(self.groups, weights=measurement.variances, minlength=self.size)
        return Measurement(query=measurement.query, counts=counts, variances=variances)


def compress_domain(measurement: Measurement, sigma: float, enabled: bool) -> Compression:
    """Merge the values whose noisy count is below ``RARE_VALUE_SIGMAS * sigma``."""
    counts = measurement.counts
    rare = counts < RARE_VALUE_SIGMAS * sigma
    if not enabled or rare.sum() < 2:
        rare = np.zeros_like(rare)
    kept = np.flatnonzero(~rare)
    groups = np.full(counts.size, len(kept), dtype=np.int64)
    groups[kept] = np.arange(len(kept))

    clipped = np.clip(counts, 0.0, None)
    totals = np.bincount(groups, weights=clipped)
    sizes = np.bincount(groups)
    weights = np.where(
        totals[groups] > 0,
        clipped / np.where(totals[groups] > 0, totals[groups], 1.0),
        1.0 / sizes[groups],
    )
    return Compression(groups=groups, weights=weights)


# --------------------------------------------------------------------------------------
# Choosing edges


class _Components:
    """Disjoint sets of columns (union-find), for building the tree."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))
        self.count = size

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, first: int, second: int) -> None:
        first, second = self.find(first), self.find(second)
        if first != second:
            self.parent[first] = second
            self.count -= 1


def select_edges(
    codes: np.ndarray,
    sizes: Sequence[int],
    one_way: Sequence[Measurement],
    num_rows: float,
    forced: Sequence[Sequence[int]],
    plan: SelectionPlan,
    rng: RandomSource,
) -> list[tuple[int, int]]:
    """Choose ``plan.steps`` two-way marginals that join the columns into a tree.

    Args:
        codes: Model value codes (rows, columns), after merging rare values.
        sizes: Number of model values per column.
        one_way: Noisy one-way marginals in model values, one per column.
        num_rows: Row count (public or estimated from the noisy marginals).
        forced: Queries measured anyway; their columns start joined.
        plan: The budget plan.
        rng: Secure random source for the exponential mechanism.
    """
    num_columns = len(sizes)
    probabilities = [np.clip(m.counts, 0.0, None) for m in one_way]
    probabilities = [
        p / p.sum() if p.sum() > 0 else np.full(p.size, 1.0 / p.size) for p in probabilities
    ]
    expected_noise = math.sqrt(2.0 / math.pi) * plan.measure_sigma

    pairs = [(i, j) for i in range(num_columns) for j in range(i + 1, num_columns)]
    scores = np.empty(len(pairs))
    for index, (i, j) in enumerate(pairs):
        exact = marginal_counts(codes, (i, j), sizes)
        independent = num_rows * np.outer(probabilities[i], probabilities[j]).ravel()
        scores[index] = np.abs(exact - independent).sum() - expected_noise * exact.size

    components = _joined_by(num_columns, forced)
    chosen: list[tuple[int, int]] = []
    for _ in range(plan.steps):
        open_pairs = [
            k for k, (i, j) in enumerate(pairs) if components.find(i) != components.find(j)
        ]
        if not open_pairs:
            raise InputError("automatic selection found no pair of columns left to join")
        logits = np.full(len(pairs), -np.inf)
        logits[open_pairs] = plan.step_epsilon * scores[open_pairs] / (2.0 * plan.score_sensitivity)
        picked = _exponential_mechanism(logits, rng)
        chosen.append(pairs[picked])
        components.join(*pairs[picked])
    return chosen


def _exponential_mechanism(logits: np.ndarray, rng: RandomSource) -> int:
    """Return an index drawn with probability ∝ exp(logits), by the Gumbel-max trick.

    The uniforms come from the secure generator, and the Gumbel-max trick samples
    exactly the exponential mechanism's distribution. Closed candidates have logit
    minus infinity. Every step draws one uniform per pair, so the generator is
    compiled for one shape only.
    """
    import d3p.random

    uniforms = np.asarray(d3p.random.uniform(rng.key(), (len(logits),)), dtype=np.float64)
    tiny = np.finfo(np.float64).tiny
    uniforms = np.clip(uniforms, tiny, 1.0 - np.finfo(np.float64).eps)
    gumbel = -np.log(-np.log(uniforms))
    return int(np.argmax(logits + gumbel))
