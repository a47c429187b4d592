"""Feature preparation: declared versus read-from-data domains, and out-of-domain values."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import twinify
from twinify.errors import DataError, DomainNotDeclaredWarning, InputError
from twinify.features import resolve_features
from twinify.modelspec import parse_model_text
from twinify.schema import ColumnSchema, Schema

ROOT = Path(__file__).resolve().parents[1]
SECRET_NUMBER = 987654.25
SECRET_LABEL = "patient-zero-label"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "age": pd.array([30, 45, 90, 17, 52, 61], dtype="Int64"),
        "smoker": pd.array(["no", "yes", "no", "no", "yes", "no"], dtype="string"),
        "ward": pd.array(["A", "B", "C", "A", None, "B"], dtype="string"),
    })


DECLARED = Schema((
    ColumnSchema(name="age", type="integer", lower=17, upper=90, missing=False),
    ColumnSchema(name="smoker", type="boolean", categories=("no", "yes"), missing=True),
    ColumnSchema(name="ward", type="categorical", categories=("A", "B", "C"), missing=True),
))
SPECS = parse_model_text("age: Normal\nsmoker: Bernoulli\nward: Categorical")


def test_declared_schema_reads_no_domain(registry):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DomainNotDeclaredWarning)
        prepared = resolve_features(SPECS, registry, _frame(), DECLARED)

    assert prepared.schema.not_covered == []
    assert [f.wrapper_name for f in prepared.features] == [None, "missing", "missing"]


def test_undeclared_domains_warn_and_are_listed(registry):
    with pytest.warns(DomainNotDeclaredWarning, match="not covered by the privacy guarantee"):
        prepared = resolve_features(SPECS, registry, _frame())

    listed = " ".join(prepared.schema.not_covered)
    assert "age" in listed
    assert "ward (categories" in listed


def test_strict_mode_rejects_undeclared(registry):
    with pytest.raises(InputError, match="strict mode"):
        resolve_features(SPECS, registry, _frame(), strict_domains=True)


def test_out_of_domain_values_become_declared_values(registry, caplog):
    clean = _frame()
    dirty = clean.copy()
    # Row 2 holds the upper bound and row 4 a missing ward; the dirty table has a
    # value beyond the bound and an unknown label there instead.
    dirty["age"] = pd.array([30, 45, int(SECRET_NUMBER), 17, 52, 61], dtype="Int64")
    dirty["ward"] = pd.array(["A", "B", "C", "A", SECRET_LABEL, "B"], dtype="string")
    dirty["smoker"] = pd.array(["no", "yes", "no", "no", "yes", "no"], dtype="string")

    with caplog.at_level(logging.DEBUG):
        clean_prepared = resolve_features(SPECS, registry, clean, DECLARED)
        dirty_prepared = resolve_features(SPECS, registry, dirty, DECLARED)

    np.testing.assert_array_equal(clean_prepared.encoded, dirty_prepared.encoded)
    assert "987654" not in caplog.text
    assert SECRET_LABEL not in caplog.text


def test_declared_bernoulli_applies_rule_not_data_check(registry):
    frame = _frame()
    frame["smoker"] = pd.array(["no", "yes", "sometimes", "no", "yes", "no"], dtype="string")
    schema = Schema((*DECLARED.columns[:1], ColumnSchema(name="smoker", type="boolean", categories=("no", "yes")),
                     DECLARED.columns[2]))

    prepared = resolve_features(SPECS, registry, frame, schema)

    smoker = prepared.features[1]
    assert smoker.schema.missing is True
    assert "missing" in smoker.schema.inferred
    assert np.isnan(prepared.encoded[2, 1])


def test_missing_declared_false_rejects_missing(registry):
    schema = Schema((*DECLARED.columns[:2], ColumnSchema(name="ward", type="categorical",
                                                         categories=("A", "B", "C"), missing=False)))
    with pytest.raises(DataError, match="1 missing values"):
        resolve_features(SPECS, registry, _frame(), schema)


def test_inline_metadata_conflicting_with_schema(registry):
    specs = parse_model_text("age: Normal(lower=0, upper=120)\nsmoker: Bernoulli\nward: Categorical")
    with pytest.raises(InputError, match="differs from the schema file"):
        resolve_features(specs, registry, _frame(), DECLARED)


def test_all_missing_column_rejected(registry):
    frame = _frame()
    frame["ward"] = pd.array([None] * 6, dtype="string")
    with pytest.raises(DataError, match="only missing ones"):
        resolve_features(SPECS, registry, frame, DECLARED)


def _fit_twice(backend, model, clean, dirty, schema, **options):
    outputs = []
    for data in (clean, dirty):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            twin = twinify.fit(data, model, backend=backend, epsilon=1.0, delta=1e-5, schema=schema,
                               seed=5, **options)
        outputs.append(twin.generate(50, seed=6))
    return outputs


def test_dpvi_output_identical_with_out_of_domain_rows():
    clean = pd.concat([_frame()] * 20, ignore_index=True)
    dirty = clean.copy()
    dirty.loc[2, "age"] = int(SECRET_NUMBER)
    dirty.loc[4, "ward"] = SECRET_LABEL
    first, second = _fit_twice("dpvi", SPECS, clean, dirty, DECLARED, k=2, num_epochs=2, sampling_ratio=0.1)
    pd.testing.assert_frame_equal(first, second)


def test_napsu_output_identical_with_out_of_domain_rows():
    schema = Schema((
        ColumnSchema(name="age", type="integer", lower=17, upper=90, bins=(17, 30, 50, 70, 90)),
        ColumnSchema(name="smoker", type="categorical", categories=("no", "yes")),
    ))
    clean = pd.concat([_frame()[["age", "smoker"]]] * 20, ignore_index=True)
    dirty = clean.copy()
    # Row 2 holds the upper bound 90; beyond it, a value is clipped to the bound.
    dirty.loc[2, "age"] = int(SECRET_NUMBER)
    first, second = _fit_twice("napsu", "auto", clean, dirty, schema)
    pd.testing.assert_frame_equal(first, second)
