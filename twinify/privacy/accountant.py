"""One accountant per fit: it registers every mechanism and enforces the budget.

A backend plans its mechanisms before reading the data, registers each with
:meth:`PrivacyAccountant.spend`, and builds the privacy report from the accountant at
the end. Mechanisms are composed by basic composition: their ε and δ add up. Within
one registered mechanism a backend may compose tighter (the Fourier accountant for
DP-SGD steps, zCDP for NAPSU-MQ's selection and measurements); that inner
composition is recorded in the mechanism's parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from twinify.errors import PrivacyBudgetError
from twinify.privacy.accounting import EPSILON_TOLERANCE
from twinify.privacy.budget import PrivacyBudget
from twinify.privacy.report import Mechanism, PrivacyReport

logger = logging.getLogger(__name__)


@attrs.define
class PrivacyAccountant:
    """Tracks what one fit spends of its budget.

    Args:
        budget: The requested (ε, δ) and neighbouring relation.
    """

    budget: PrivacyBudget
    mechanisms: list[Mechanism] = attrs.field(factory=list)

    @property
    def epsilon_spent(self) -> float:
        """Return the total ε of the registered mechanisms."""
        return sum(mechanism.epsilon for mechanism in self.mechanisms)

    @property
    def delta_spent(self) -> float:
        """Return the total δ of the registered mechanisms."""
        return sum(mechanism.delta for mechanism in self.mechanisms)

    @property
    def epsilon_remaining(self) -> float:
        """Return the ε not yet spent."""
        return max(self.budget.epsilon - self.epsilon_spent, 0.0)

    @property
    def delta_remaining(self) -> float:
        """Return the δ not yet spent."""
        return max(self.budget.delta - self.delta_spent, 0.0)

    def spend(self, mechanism: Mechanism) -> None:
        """Register ``mechanism``; raise if the total would exceed the budget.

        Raises:
            PrivacyBudgetError: the mechanism's ε or δ does not fit in what remains.
        """
        epsilon = self.epsilon_spent + mechanism.epsilon
        delta = self.delta_spent + mechanism.delta
        if epsilon > self.budget.epsilon * (1 + EPSILON_TOLERANCE):
            raise PrivacyBudgetError(
                f"the {mechanism.purpose} step needs epsilon {mechanism.epsilon:.6g} but only "
                f"{self.epsilon_remaining:.6g} of epsilon {self.budget.epsilon:g} remains"
            )
        if delta > self.budget.delta * (1 + EPSILON_TOLERANCE):
            raise PrivacyBudgetError(
                f"the {mechanism.purpose} step needs delta {mechanism.delta:.3g} but only "
                f"{self.delta_remaining:.3g} of delta {self.budget.delta:g} remains"
            )
        self.mechanisms.append(mechanism)
        logger.info(
            "privacy plan: %s (%s), epsilon %.4g, delta %.3g",
            mechanism.purpose, mechanism.name, mechanism.epsilon, mechanism.delta,
        )

    def report(
        self,
        *,
        public: Iterable[str] = (),
        not_covered: Iterable[str] = (),
        seeded: bool = False,
        notes: Iterable[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> PrivacyReport:
        """Build the privacy report of everything spent so far.

        Args:
            public: What was treated as public, in words (``"number of rows"``,
                ``"categories of column 'sex' (declared in the schema)"``).
            not_covered: Columns whose domain was read from the data, so that the
                guarantee does not cover it.
            seeded: Whether the user fixed the random seed.
            notes: Further statements for the user.
            extra: Backend-specific JSON-compatible details.
        """
        return PrivacyReport(
            epsilon=self.budget.epsilon,
            delta=self.budget.delta,
            relation=self.budget.relation,
            epsilon_spent=self.epsilon_spent,
            delta_spent=self.delta_spent,
            composition="basic composition of the mechanisms below",
            mechanisms=tuple(self.mechanisms),
            public=tuple(public),
            not_covered=tuple(not_covered),
            seeded=seeded,
            notes=tuple(notes),
            extra=dict(extra or {}),
        )
