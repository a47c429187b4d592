"""Numeric bounds bought from the budget with DP quantiles, in DPVI fits."""

from __future__ import annotations

import warnings
from pathlib import Path

import dp_accounting
import numpy as np
import pandas as pd
import pytest
from dp_accounting import pld

import twinify
from twinify.errors import InputError
from twinify.features import columns_without_bounds
from twinify.modelspec import parse_model_text
from twinify.plugin import get_registry
from twinify.privacy import PrivacyAccountant, PrivacyBudget
from twinify.privacy.dp_bounds import register_bounds, warn_if_too_little
from twinify_dpvi.plan import plan_privacy

BARE_MODEL = "weight: Normal\nvisits: Poisson\ngroup: Categorical\n"
FAST = {"k": 2, "num_epochs": 2, "sampling_ratio": 0.05}


@pytest.fixture(scope="module")
def table():
    generator = np.random.default_rng(3)
    return pd.DataFrame({
        "weight": generator.normal(70.0, 10.0, 5000).round(1),
        "visits": generator.poisson(3.0, 5000),
        "group": generator.choice(["a", "b", "c"], 5000),
    })


@pytest.fixture(scope="module")
def twin(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # seed and undeclared categories
        return twinify.fit(table, BARE_MODEL, epsilon=1.0, delta=1e-6, relation="add-remove",
                           seed=4, bounds_epsilon=0.2, **FAST)


def test_only_numeric_columns_without_bounds_are_listed():
    registry = get_registry()
    assert columns_without_bounds(parse_model_text(BARE_MODEL), registry) == ["weight"]
    declared = parse_model_text("weight: Normal(lower=0, upper=200)\ngroup: Categorical\n")
    assert columns_without_bounds(declared, registry) == []


def test_bought_bounds_cover_data(twin):
    column = twin.schema["weight"]
    # The 5% and 95% quantiles of N(70, 10) are 53.5 and 86.5. At epsilon 0.1 per
    # quantile on 5,000 rows the estimates land within about 2 of them, and the
    # widening by half the width puts the bounds near 37 and 103.
    assert 30 <= column.lower <= 45
    assert 95 <= column.upper <= 110
    assert "lower" not in column.inferred
    assert "upper" not in column.inferred
    assert column.out_of_domain == "clip"
    assert not any("weight (lower" in item for item in twin.privacy_report.not_covered)


def test_report_composes_bounds_with_training_by_pld(twin):
    report = twin.privacy_report
    bounds = [m for m in report.mechanisms if m.purpose.startswith("bounds of column")]
    assert [m.purpose for m in bounds] == ["bounds of column 'weight'"]
    assert bounds[0].epsilon == pytest.approx(0.2)

    training = next(m for m in report.mechanisms if m.purpose == "training steps")
    parameters = training.parameters
    accountant = pld.PLDAccountant(dp_accounting.NeighboringRelation.ADD_OR_REMOVE_ONE)
    event = dp_accounting.PoissonSampledDpEvent(
        parameters["sampling_ratio"], dp_accounting.GaussianDpEvent(parameters["noise_multiplier"])
    )
    accountant.compose(event, parameters["steps"])
    # The other mechanisms are pure epsilon-DP, so basic composition adds their
    # epsilons to the training's; the PLD discretization moves epsilon by well
    # under 1e-3.
    pure = sum(m.epsilon for m in report.mechanisms if m is not training)
    assert accountant.get_epsilon(report.delta) + pure <= report.epsilon + 1e-3


def test_training_gets_what_the_bounds_leave():
    accountant = PrivacyAccountant(PrivacyBudget(1.0, 1e-5))
    register_bounds(["a", "b"], 0.4, accountant)
    plan_privacy(accountant, {"sampling_ratio": 0.1, "num_epochs": 2, "clipping_threshold": 1.0}, 1000)
    training = accountant.mechanisms[-1]
    assert training.epsilon == pytest.approx(0.6, rel=1e-3)
    assert accountant.epsilon_spent <= 1.0 * (1 + 1e-9)


@pytest.mark.parametrize("bounds_epsilon", [0.0, -0.1, 1.0, 2.0, float("nan")])
def test_bounds_epsilon_must_leave_budget(table, bounds_epsilon):
    with pytest.raises(InputError, match="epsilon for DP bounds"):
        twinify.fit(table, BARE_MODEL, epsilon=1.0, bounds_epsilon=bounds_epsilon, **FAST)


def test_small_table_warns():
    # 300 rows need about 4.5 per column (2.3 per quantile) for epsilon * p * n of 34.
    with pytest.warns(UserWarning, match="bounds will likely be far off"):
        warn_if_too_little(["weight"], 0.5, 300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_too_little(["weight"], 5.0, 300)


def test_napsu_rejects_dp_bounds(table):
    with pytest.raises(InputError, match="no bounds to buy"):
        twinify.fit(table[["group"]], "auto", epsilon=1.0, backend="napsu", bounds_epsilon=0.1)


def test_custom_model_rejects_dp_bounds(table):
    model_file = Path(__file__).resolve().parents[1] / "examples" / "penguins_custom.py"
    with pytest.raises(InputError, match="no bounds to buy"):
        twinify.fit(table, model_file, epsilon=1.0, bounds_epsilon=0.1)
