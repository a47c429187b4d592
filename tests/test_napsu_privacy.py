"""NAPSU-MQ privacy: noise calibration, composition, and the order of spending and reading."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from twinify.errors import InputError
from twinify.privacy import PrivacyBudget
from twinify.privacy import accounting
from twinify_napsu.measurement import l2_sensitivity, plan_query_file
from twinify_napsu.selection import plan_selection

dp_event = pytest.importorskip("dp_accounting.dp_event")
pld_accountant = pytest.importorskip("dp_accounting.pld.pld_privacy_accountant")
rdp_accountant = pytest.importorskip("dp_accounting.rdp.rdp_privacy_accountant")

QUERIES = [["a"], ["b"], ["c"], ["a", "b"], ["b", "c"]]

# Orders for the RDP accountant: fine near 1 and up to large orders, which small ρ needs.
RDP_ORDERS = [
    *np.linspace(1.01, 2.0, 100),
    *np.arange(2.0, 1000.0, 0.5),
    *np.arange(1000.0, 20000.0, 10.0),
]


@pytest.mark.parametrize("relation, cells", [("add-remove", 1), ("substitution", 2)])
def test_sensitivity_counts_changed_cells(relation, cells):
    assert l2_sensitivity(5, relation) == pytest.approx(math.sqrt(5 * cells))


@pytest.mark.parametrize("epsilon", [0.01, 0.1, 1.0, 10.0, 100.0])
@pytest.mark.parametrize("relation", ["add-remove", "substitution"])
def test_query_sigma_matches_pld(epsilon, relation):
    budget = PrivacyBudget(epsilon, 1e-6, relation)
    sigma, mechanism = plan_query_file(budget, QUERIES)
    multiplier = sigma / l2_sensitivity(len(QUERIES), relation)
    # Coarser discretization for large epsilon keeps the accountant fast; its error
    # is below the interval, so the tolerance is one interval plus rounding.
    interval = 1e-4 if epsilon <= 10 else 1e-3
    accountant = pld_accountant.PLDAccountant(value_discretization_interval=interval)
    accountant.compose(dp_event.GaussianDpEvent(multiplier))
    independent = accountant.get_epsilon(1e-6)
    assert independent == pytest.approx(epsilon, abs=interval + 1e-9 * epsilon)
    assert mechanism.epsilon <= epsilon * (1 + accounting.EPSILON_TOLERANCE)
    assert mechanism.delta == 1e-6


@pytest.mark.parametrize("epsilon", [0.01, 1.0, 1000.0])
def test_query_sigma_finite_over_range(epsilon):
    budget = PrivacyBudget(epsilon, 1e-9, "add-remove")
    sigma, mechanism = plan_query_file(budget, QUERIES)
    assert math.isfinite(sigma)
    assert sigma > 0
    assert mechanism.epsilon == pytest.approx(epsilon, rel=1e-9)


@pytest.mark.parametrize("epsilon", [0.05, 1.0, 10.0])
@pytest.mark.parametrize("relation", ["add-remove", "substitution"])
@pytest.mark.parametrize("forced", [[], [(0, 1)], [(0, 1, 2), (3, 4)]])
def test_selection_plan_matches_rdp(epsilon, relation, forced):
    budget = PrivacyBudget(epsilon, 1e-9, relation)
    plan = plan_selection(budget, 6, forced, selection_share=0.2)
    accountant = rdp_accountant.RdpAccountant(orders=RDP_ORDERS)
    if plan.steps:
        accountant.compose(
            dp_event.ZCDpEvent(accounting.exponential_mechanism_rho(plan.step_epsilon)), plan.steps
        )
    accountant.compose(dp_event.GaussianDpEvent(plan.one_way_sigma / plan.one_way_sensitivity))
    if plan.num_measured:
        accountant.compose(dp_event.GaussianDpEvent(plan.measure_sigma / plan.measure_sensitivity))
    independent = accountant.get_epsilon(1e-9)
    # The RDP accountant minimizes over its grid of orders, the zCDP conversion over
    # all orders, so it can only come out above, by the grid's resolution: 0.5% here.
    assert independent <= epsilon * 1.005
    assert independent >= epsilon * 0.9

    mechanism = plan.mechanism(budget, list("abcdef"), [])
    assert mechanism.epsilon <= epsilon * (1 + accounting.EPSILON_TOLERANCE)
    assert plan.one_way_rho + plan.selection_rho + plan.measure_rho == pytest.approx(plan.rho)
    assert plan.rho <= accounting.zcdp_rho(epsilon, 1e-9) * (1 + 1e-12)


@pytest.mark.parametrize(
    "relation, score_sensitivity", [("add-remove", 1.0), ("substitution", 2.0)]
)
def test_selection_plan_parts(relation, score_sensitivity):
    budget = PrivacyBudget(1.0, 1e-9, relation)
    plan = plan_selection(budget, 5, [(0, 1)], selection_share=0.25)
    assert plan.steps == 3
    assert plan.num_measured == 4
    assert plan.score_sensitivity == score_sensitivity
    assert plan.selection_rho == pytest.approx(0.25 * plan.rho)
    assert plan.steps * accounting.exponential_mechanism_rho(plan.step_epsilon) == pytest.approx(
        plan.selection_rho
    )
    assert accounting.gaussian_rho(plan.one_way_sigma, plan.one_way_sensitivity) == pytest.approx(
        plan.one_way_rho
    )
    assert accounting.gaussian_rho(plan.measure_sigma, plan.measure_sensitivity) == pytest.approx(
        plan.measure_rho
    )


def test_selection_plan_without_steps():
    budget = PrivacyBudget(1.0, 1e-9, "add-remove")
    plan = plan_selection(budget, 3, [(0, 1, 2)], selection_share=0.5)
    assert plan.steps == 0
    assert plan.selection_rho == 0.0
    assert plan.one_way_rho + plan.measure_rho == pytest.approx(plan.rho)


# --------------------------------------------------------------------------------------
# Whole fits


def _small_table(num_rows=300, seed=0):
    generator = np.random.default_rng(seed)
    a = generator.integers(0, 3, num_rows)
    b = (a + generator.integers(0, 2, num_rows)) % 3
    c = generator.choice(["x", "y"], num_rows)
    return pd.DataFrame({"a": a, "b": b, "c": c})


FAST = {"num_samples": 3, "max_iterations": 300, "refit_iterations": 50}


@pytest.mark.parametrize("relation", ["add-remove", "substitution"])
def test_auto_fit_within_budget(registry, relation):
    import twinify

    with pytest.warns(UserWarning):
        twin = twinify.fit(
            _small_table(),
            "auto",
            epsilon=0.5,
            delta=1e-6,
            backend="napsu",
            relation=relation,
            seed=0,
            registry=registry,
            **FAST,
        )
    report = twin.privacy_report
    assert report.relation == relation
    assert report.epsilon_spent <= 0.5 * (1 + accounting.EPSILON_TOLERANCE)
    assert report.delta_spent <= 1e-6
    assert len(report.mechanisms) == 1
    parameters = report.mechanisms[0].parameters
    assert parameters["rho"] <= accounting.zcdp_rho(0.5, 1e-6) * (1 + 1e-12)


def test_add_remove_row_count_is_estimated(registry):
    import twinify

    data = _small_table(num_rows=400)
    with pytest.warns(UserWarning):
        twin = twinify.fit(
            data,
            [("a", "b"), ("c",)],
            epsilon=1.0,
            delta=1e-6,
            backend="napsu",
            relation="add-remove",
            seed=1,
            registry=registry,
            **FAST,
        )
    num_rows = twin.fitted.num_rows
    # The estimate is noisy, never the exact count, and within a few noise standard
    # deviations of it (sigma is about 5 here, the estimate's about 4).
    assert num_rows != len(data)
    assert abs(num_rows - len(data)) < 40
    assert not any("number of rows" in item for item in twin.privacy_report.public)


def test_substitution_row_count_is_public(registry):
    import twinify

    data = _small_table(num_rows=400)
    with pytest.warns(UserWarning):
        twin = twinify.fit(
            data,
            [("a", "b")],
            epsilon=1.0,
            delta=1e-6,
            backend="napsu",
            relation="substitution",
            seed=1,
            registry=registry,
            **FAST,
        )
    assert twin.fitted.num_rows == len(data)
    assert any("number of rows, 400" in item for item in twin.privacy_report.public)


def test_unknown_column_fails_before_spending(registry, monkeypatch):
    import twinify
    from twinify.privacy import PrivacyAccountant

    spent = []
    monkeypatch.setattr(PrivacyAccountant, "spend", lambda self, mechanism: spent.append(mechanism))
    with pytest.raises(InputError, match="column 'd' is not in the data"):
        twinify.fit(_small_table(), [("a", "d")], epsilon=1.0, backend="napsu", registry=registry)
    assert spent == []


def test_mechanism_registered_before_counting(registry, monkeypatch):
    import twinify
    from twinify.privacy import PrivacyAccountant
    from twinify_napsu import measurement, selection

    events = []
    original_spend = PrivacyAccountant.spend
    original_counts = measurement.marginal_counts

    def spend(self, mechanism):
        events.append("spend")
        return original_spend(self, mechanism)

    def counts(*args, **kwargs):
        events.append("count")
        return original_counts(*args, **kwargs)

    monkeypatch.setattr(PrivacyAccountant, "spend", spend)
    monkeypatch.setattr(measurement, "marginal_counts", counts)
    monkeypatch.setattr(selection, "marginal_counts", counts)
    with pytest.warns(UserWarning):
        twinify.fit(
            _small_table(),
            "auto",
            epsilon=1.0,
            delta=1e-6,
            backend="napsu",
            seed=2,
            registry=registry,
            **FAST,
        )
    assert events[0] == "spend"
    assert events.count("spend") == 1
    assert "count" in events
