"""The privacy budget and its validation messages."""

from __future__ import annotations

import math

import pytest

from twinify.errors import PrivacyBudgetError
from twinify.privacy import PrivacyAccountant, PrivacyBudget, default_delta
from twinify.privacy.report import Mechanism, PrivacyReport


@pytest.mark.parametrize("epsilon", [0, -1, math.inf, math.nan])
def test_budget_rejects_invalid_epsilon(epsilon):
    with pytest.raises(PrivacyBudgetError, match="epsilon"):
        PrivacyBudget(epsilon, 1e-6)


@pytest.mark.parametrize("delta", [0, 1, 1.5, -1e-6])
def test_budget_rejects_invalid_delta(delta):
    with pytest.raises(PrivacyBudgetError, match="delta"):
        PrivacyBudget(1.0, delta)


def test_budget_rejects_unknown_relation():
    with pytest.raises(PrivacyBudgetError, match="substitution or add-remove"):
        PrivacyBudget(1.0, 1e-6, "swap")


def test_budget_accepts_relation_spellings():
    assert PrivacyBudget(1.0, 1e-6, "add_remove").relation == "add-remove"
    assert PrivacyBudget(1.0, 1e-6, "Add/Remove").relation == "add-remove"


@pytest.mark.parametrize("num_rows", [1, 344, 800, 26049, 1_000_000])
def test_default_delta_below_one_over_n(num_rows):
    delta = default_delta(num_rows)
    assert delta <= 0.1 / num_rows
    assert delta > 0.01 / num_rows
    assert math.log10(delta) == round(math.log10(delta))


def _mechanism(epsilon: float, delta: float) -> Mechanism:
    return Mechanism(name="Laplace", purpose="row count", epsilon=epsilon, delta=delta,
                     accountant="test", parameters={"scale": 10.0})


def test_accountant_rejects_overspending():
    accountant = PrivacyAccountant(PrivacyBudget(1.0, 1e-6))
    accountant.spend(_mechanism(0.6, 0.0))
    with pytest.raises(PrivacyBudgetError, match="only 0.4 of epsilon 1 remains"):
        accountant.spend(_mechanism(0.5, 0.0))
    assert accountant.epsilon_spent == pytest.approx(0.6)


def test_accountant_rejects_delta_overspending():
    accountant = PrivacyAccountant(PrivacyBudget(1.0, 1e-6))
    with pytest.raises(PrivacyBudgetError, match="delta"):
        accountant.spend(_mechanism(0.5, 2e-6))


def test_report_round_trips_through_dict():
    accountant = PrivacyAccountant(PrivacyBudget(1.0, 1e-6, "add-remove"))
    accountant.spend(_mechanism(0.25, 0.0))
    report = accountant.report(public=["number of columns"], not_covered=["age (lower, upper)"], seeded=True)

    again = PrivacyReport.from_dict(report.to_dict())

    assert again == report
    text = report.format_text()
    assert "add/remove" in text
    assert "NOT covered" in text
    assert "age (lower, upper)" in text
    assert "seed" in text


def test_make_budget_default_delta_by_relation():
    from twinify.api import ADD_REMOVE_DEFAULT_DELTA, make_budget

    substitution = make_budget(1.0, None, "substitution", num_rows=26049)
    add_remove = make_budget(1.0, None, "add-remove", num_rows=26049)
    assert substitution.delta == 1e-6
    assert add_remove.delta == ADD_REMOVE_DEFAULT_DELTA


def test_make_budget_warns_when_delta_large():
    from twinify.api import make_budget

    with pytest.warns(UserWarning, match="not below 1/"):
        make_budget(1.0, 0.01, "substitution", num_rows=1000)


@pytest.mark.parametrize("value", [True, False])
def test_boolean_epsilon_rejected(value):
    with pytest.raises(PrivacyBudgetError, match="invalid epsilon"):
        PrivacyBudget(value, 1e-6)
