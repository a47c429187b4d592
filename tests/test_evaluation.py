"""Evaluation metrics on small tables whose values are known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinify.errors import DataError, InputError
from twinify.evaluation import correlation_ratio, cramers_v, evaluate, pearson, total_variation
from twinify.evaluation.columns import MISSING_LABEL, code_columns, column_kinds


def test_total_variation_known_pair():
    # 0.5 * (|0.5 - 0.9| + |0.5 - 0.1|) = 0.4
    assert total_variation([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4)


def test_total_variation_identical_and_disjoint():
    assert total_variation([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    assert total_variation([1.0, 0.0], [0.0, 1.0]) == 1.0


def test_total_variation_normalises_counts():
    assert total_variation([1, 1], [9, 1]) == pytest.approx(0.4)


def test_total_variation_rejects_empty():
    with pytest.raises(ValueError):
        total_variation([0, 0], [1, 0])


def test_cramers_v_perfect_association():
    first = np.array([0, 1, 2, 0, 1, 2])
    second = np.array([5, 3, 4, 5, 3, 4])
    assert cramers_v(first, second) == pytest.approx(1.0)


def test_cramers_v_independent_table():
    # Every combination of two binary columns appears equally often: chi2 = 0.
    first = np.array([0, 0, 1, 1] * 5)
    second = np.array([0, 1, 0, 1] * 5)
    assert cramers_v(first, second) == pytest.approx(0.0)


def test_cramers_v_single_category_undefined():
    assert np.isnan(cramers_v(np.zeros(4, dtype=int), np.array([0, 1, 0, 1])))


def test_correlation_ratio_extremes():
    categories = np.array([0, 0, 1, 1, 2, 2])
    assert correlation_ratio(categories, np.array([1.0, 1.0, 5.0, 5.0, 9.0, 9.0])) == pytest.approx(1.0)
    # Equal group means: the categories explain none of the variance.
    assert correlation_ratio(categories, np.array([1.0, 3.0, 1.0, 3.0, 1.0, 3.0])) == pytest.approx(0.0)


def test_pearson_linear():
    x = np.arange(10.0)
    assert pearson(x, 3 * x + 1) == pytest.approx(1.0)
    assert pearson(x, -x) == pytest.approx(-1.0)
    assert np.isnan(pearson(x, np.ones(10)))


def _mixed_table(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    size = rng.normal(size=rows) + (colour == "red") * 2.0
    label = np.where(size > 1.0, "big", "small")
    return pd.DataFrame({"colour": colour, "size": size, "weight": 2 * size + rng.normal(size=rows), "label": label})


def test_evaluate_identical_tables():
    real = _mixed_table()
    metrics = evaluate(real, real.copy()).metrics
    assert metrics["one_way_tv"]["max"] == 0.0
    assert metrics["two_way_tv"]["max"] == 0.0
    assert metrics["association"]["max_abs_difference"] == pytest.approx(0.0)
    assert metrics["two_way_tv"]["pairs"] == 6


def test_evaluate_disjoint_categories():
    real = pd.DataFrame({"letter": ["a", "b"] * 10})
    synthetic = pd.DataFrame({"letter": ["c", "d"] * 10})
    metrics = evaluate(real, synthetic).metrics
    assert metrics["columns"]["letter"]["tv"] == 1.0


def test_evaluate_swapped_pairs():
    # Same one-way marginals, but every real combination is absent from the synthetic rows.
    real = pd.DataFrame({"a": ["x", "y"] * 10, "b": ["p", "q"] * 10})
    synthetic = pd.DataFrame({"a": ["x", "y"] * 10, "b": ["q", "p"] * 10})
    metrics = evaluate(real, synthetic).metrics
    assert metrics["one_way_tv"]["max"] == 0.0
    assert metrics["two_way_tv"]["worst"][0] == {"columns": ["a", "b"], "tv": 1.0}
    assert metrics["association"]["mean_abs_difference"] == pytest.approx(0.0)


def test_evaluate_numeric_outside_range():
    real = pd.DataFrame({"x": np.arange(100.0)})
    above = pd.DataFrame({"x": np.arange(200.0, 300.0)})
    same = pd.DataFrame({"x": np.arange(100.0)})
    assert evaluate(real, above).metrics["columns"]["x"]["tv"] == 1.0
    assert evaluate(real, same).metrics["columns"]["x"]["tv"] == 0.0


def test_quantile_bins_of_real_data():
    real = pd.DataFrame({"x": np.arange(100.0)})
    synthetic = pd.DataFrame({"x": np.full(10, 5.0)})
    (column,) = code_columns(real, synthetic, {"x": "numeric"}, bins=4)
    # Edges at 0, 24.75, 49.5, 74.25, 99: four bins plus below and above.
    assert len(column.labels) == 6
    assert np.bincount(column.real_codes, minlength=6).tolist() == [0, 25, 25, 25, 25, 0]
    assert set(column.synthetic_codes.tolist()) == {1}


def test_point_mass_gets_own_bin():
    # 90% zeros: quantile bins alone would put every value in one bin and hide the
    # difference. The zero bin exposes the 10% of real rows that are not zero.
    real = pd.DataFrame({"gain": [0.0] * 90 + list(range(1, 11))})
    synthetic = pd.DataFrame({"gain": [0.0] * 100})
    metrics = evaluate(real, synthetic).metrics
    assert metrics["columns"]["gain"]["tv"] == pytest.approx(0.1)


def test_missing_values_counted():
    real = pd.DataFrame({"c": ["a", None] * 10})
    synthetic = pd.DataFrame({"c": ["a"] * 20})
    metrics = evaluate(real, synthetic).metrics
    assert metrics["columns"]["c"]["missing_rate_real"] == 0.5
    assert metrics["columns"]["c"]["missing_rate_synthetic"] == 0.0
    # The missing label is a category of its own: half the real mass is on it.
    assert metrics["columns"]["c"]["tv"] == pytest.approx(0.5)


def test_labels_match_across_number_types():
    real = pd.DataFrame({"code": [1, 2, 3, 1]})
    synthetic = pd.DataFrame({"code": [1.0, 2.0, 3.0, np.nan]})
    (column,) = code_columns(real, synthetic, column_kinds(real, "all"))
    assert column.labels == ("1", "2", "3", MISSING_LABEL)


def test_column_kinds_overrides():
    table = pd.DataFrame({"n": [1, 2], "s": ["a", "b"], "flag": [True, False]})
    assert column_kinds(table) == {"n": "numeric", "s": "categorical", "flag": "categorical"}
    assert column_kinds(table, ["n"])["n"] == "categorical"
    with pytest.raises(InputError, match="'nope'"):
        column_kinds(table, ["nope"])


def test_evaluate_missing_column():
    with pytest.raises(DataError, match="'b'"):
        evaluate(pd.DataFrame({"a": [1], "b": [2]}), pd.DataFrame({"a": [1]}))


def test_evaluate_text_in_numeric_column():
    with pytest.raises(DataError, match="not numbers"):
        evaluate(pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"x": ["one", "two"]}))


def test_utility_learnable_target():
    real = _mixed_table(rows=300)
    test = _mixed_table(rows=200, seed=1)
    utility = evaluate(real, real.copy(), target="label", test=test).metrics["utility"]
    # label is a threshold of size, so both classifiers are near perfect on fresh rows;
    # 0.95 leaves room for a few rows near the threshold.
    assert utility["train_on_synthetic_accuracy"] >= 0.95
    assert utility["train_on_real_accuracy"] == utility["train_on_synthetic_accuracy"]
    expected_majority = (test["label"] == real["label"].mode()[0]).mean()
    assert utility["majority_class_accuracy"] == pytest.approx(expected_majority)
    assert "separate test table" in utility["test_source"]


def test_utility_uninformative_synthetic():
    real = _mixed_table(rows=300)
    synthetic = real.copy()
    synthetic["label"] = "small"
    utility = evaluate(real, synthetic, target="label").metrics["utility"]
    # A single class in the synthetic rows: the classifier predicts it everywhere.
    held_out_small = utility["train_on_synthetic_accuracy"]
    assert 0.0 < held_out_small < 1.0
    assert "held out" in utility["test_source"]
    assert utility["test_rows"] < 300


def test_utility_rejects_continuous_target():
    real = _mixed_table()
    with pytest.raises(InputError, match="numeric with"):
        evaluate(real, real, target="size")
