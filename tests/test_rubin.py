"""Rubin's rules for fully synthetic data."""

from __future__ import annotations

import math

import pytest
from scipy import stats

import twinify
from twinify.errors import InputError
from twinify.rubin import rubins_rules


def test_rules_by_hand():
    result = rubins_rules([1.0, 2.0, 3.0, 4.0], [0.1, 0.1, 0.1, 0.1], level=0.95)
    between = 5.0 / 3.0
    variance = 1.25 * between - 0.1
    degrees = 3 * (1 - 0.1 / (1.25 * between)) ** 2
    half_width = stats.t.ppf(0.975, degrees) * math.sqrt(variance)
    assert result.estimate == pytest.approx(2.5)
    assert result.between == pytest.approx(between)
    assert result.within == pytest.approx(0.1)
    assert result.variance == pytest.approx(variance)
    assert result.degrees_of_freedom == pytest.approx(degrees)
    assert result.lower == pytest.approx(2.5 - half_width)
    assert result.upper == pytest.approx(2.5 + half_width)
    assert not result.negative_variance


def test_negative_variance_falls_back():
    result = rubins_rules([1.0, 1.01, 0.99], [0.5, 0.5, 0.5], level=0.9, size_ratio=4.0)
    assert result.negative_variance
    assert result.variance == pytest.approx(4.0 * 0.5)
    assert math.isinf(result.degrees_of_freedom)
    assert result.upper - result.estimate == pytest.approx(stats.norm.ppf(0.95) * math.sqrt(2.0))


def test_exported_lazily():
    assert twinify.rubins_rules is rubins_rules


@pytest.mark.parametrize(
    "estimates, variances, level, message",
    [
        ([1.0], [0.1], 0.9, "at least two estimates"),
        ([1.0, 2.0], [0.1], 0.9, "one variance per estimate"),
        ([1.0, float("nan")], [0.1, 0.1], 0.9, "finite"),
        ([1.0, 2.0], [0.1, -0.1], 0.9, "negative"),
        ([1.0, 2.0], [0.1, 0.1], 1.5, "invalid level"),
    ],
)
def test_invalid_input(estimates, variances, level, message):
    with pytest.raises(InputError, match=message):
        rubins_rules(estimates, variances, level=level)
