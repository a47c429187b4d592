"""The LogNormal plugin: contract conformance, encoding, and discovery once installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

import numpy as np
import pandas as pd
import pytest

import twinify_plugin_lognormal
from twinify.errors import DataError, InputError
from twinify.schema import ColumnSchema
from twinify.testing import build_registry, check_distribution, check_wrapper
from twinify_plugin_lognormal import LOGNORMAL

INCOMES = pd.Series([18500.0, 23000.0, 31250.5, 47800.0, 52000.0, 96000.0, 250000.0], name="income")


def income_column(**fields):
    declared = {"name": "income", "type": "real", "lower": 1000.0, "upper": 1000000.0, "missing": False,
                "dtype": "float64"}
    return ColumnSchema(**{**declared, **fields})


def test_conforms_inferred():
    check_distribution(LOGNORMAL, sample=INCOMES)


def test_conforms_declared_integers():
    sample = pd.Series([1200, 5400, 33000, 870000], dtype="int64")

    check_distribution(LOGNORMAL, sample=sample, column=income_column(type="integer", dtype="int64"))


def test_conforms_wrapped_for_missing():
    registry = build_registry()
    try:
        wrapper = registry.wrapper_for("missing-values")
    except InputError:
        pytest.skip("no missing-value wrapper is installed")

    check_wrapper(wrapper, LOGNORMAL, sample=INCOMES)


def test_encode_fixed_scale():
    column = income_column()
    geometric_midpoint = np.sqrt(1000.0 * 1000000.0)

    encoded = LOGNORMAL.encode(pd.Series([1000.0, geometric_midpoint, 1000000.0, None]), column)

    np.testing.assert_allclose(encoded[:3], [0.0, 0.5, 1.0])
    assert np.isnan(encoded[3])


def test_decode_clips_and_restores_dtype():
    column = income_column(type="integer", dtype="Int64", missing=True)

    decoded = LOGNORMAL.decode(np.array([-0.5, 0.5, 1.7, np.nan]), column)

    assert str(decoded.dtype) == "Int64"
    assert decoded.tolist()[:3] == [1000, 31623, 1000000]
    assert decoded.isna().tolist() == [False, False, False, True]


def test_decode_int64_with_missing():
    decoded = LOGNORMAL.decode(np.array([0.25, np.nan]), income_column(type="integer", dtype="int64"))

    assert str(decoded.dtype) == "Int64"


@pytest.mark.parametrize("values", [[100.0, 0.0, 250.0], [100.0, -3.0, 250.0]])
def test_infer_rejects_non_positive(values):
    with pytest.raises(DataError) as raised:
        LOGNORMAL.infer_schema(pd.Series(values), "income")

    message = str(raised.value)
    assert "1 values are zero or negative" in message
    assert "100" not in message
    assert "250" not in message


def test_infer_rejects_text():
    with pytest.raises(DataError, match="1 values are not numbers"):
        LOGNORMAL.infer_schema(pd.Series(["120", "many"]), "income")


def test_infer_reads_bounds():
    column = LOGNORMAL.infer_schema(pd.Series([1200, None, 5600], dtype="Int64"), "rent")

    assert (column.type, column.lower, column.upper) == ("integer", 1200.0, 5600.0)
    assert column.missing is True
    assert column.dtype == "Int64"
    assert set(column.inferred) == {"lower", "upper", "missing"}


@pytest.mark.parametrize(("lower", "upper"), [(None, 100.0), (0.0, 100.0), (-5.0, 100.0)])
def test_check_schema_needs_positive_bounds(lower, upper):
    with pytest.raises(InputError, match="needs public bounds with 0 < lower < upper"):
        LOGNORMAL.check_schema(income_column(lower=lower, upper=upper))


def test_priors_ignore_schema():
    wide = LOGNORMAL.priors(income_column())
    narrow = LOGNORMAL.priors(income_column(lower=10.0, upper=20.0))

    assert set(wide) == {"loc", "scale"}
    assert float(wide["loc"].loc) == float(narrow["loc"].loc) == 0.5
    assert float(wide["scale"].loc) == -2.0


def test_registered_through_hook():
    registry = build_registry(modules={"lognormal": twinify_plugin_lognormal})

    assert registry.distribution("LogNormal") is LOGNORMAL
    assert registry.distribution("log-normal") is LOGNORMAL
    assert registry.manager.plugin_infos["lognormal"].provides == {"distributions": ("lognormal",)}


def test_installed_discovery():
    try:
        version = metadata.version("twinify-plugin-lognormal")
    except metadata.PackageNotFoundError:
        pytest.skip("twinify-plugin-lognormal is not installed")

    result = subprocess.run(
        [sys.executable, "-m", "twinify", "plugins", "--json"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TWINIFY_STRICT_PLUGINS": "1"},
    )

    listing = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert result.returncode == 0, result.stderr
    assert listing["lognormal"]["status"] == "active"
    assert listing["lognormal"]["distribution"] == "twinify-plugin-lognormal"
    assert listing["lognormal"]["version"] == version
    assert listing["lognormal"]["provides"] == {"distributions": ["lognormal"]}
