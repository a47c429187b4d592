"""The fitted NAPSU-MQ model through the API: generation, data sets, saving, loading."""

from __future__ import annotations

import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from twinify.errors import InputError

pytest.importorskip("jax")

FAST = {"num_samples": 5, "max_iterations": 400, "refit_iterations": 100}


@pytest.fixture(scope="module")
def twin(registry):
    import twinify
    from twinify.schema import ColumnSchema, Schema

    generator = np.random.default_rng(0)
    size = 600
    colour = generator.choice(["red", "green", "blue"], size)
    count = np.where(
        colour == "red", generator.integers(0, 3, size), generator.integers(1, 4, size)
    )
    height = generator.uniform(0, 3, size)
    data = pd.DataFrame(
        {
            "colour": pd.array(colour, dtype="string"),
            "count": pd.array(count, dtype="Int64"),
            "height": height,
        }
    )
    schema = Schema(
        (
            ColumnSchema(
                name="colour", type="categorical", categories=("red", "green", "blue", "black")
            ),
            ColumnSchema(name="height", type="real", bins=(0.0, 1.0, 2.0, 3.0)),
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return twinify.fit(
            data,
            [("colour", "count"), ("count", "height")],
            epsilon=2.0,
            delta=1e-6,
            backend="napsu",
            schema=schema,
            seed=3,
            registry=registry,
            **FAST,
        )


def test_generate_keeps_labels_and_dtypes(twin):
    synthetic = twin.generate(400, seed=1)
    assert list(synthetic.columns) == ["colour", "count", "height"]
    assert len(synthetic) == 400
    assert set(synthetic["colour"]) <= {"red", "green", "blue", "black"}
    assert str(synthetic["colour"].dtype) == "string"
    assert str(synthetic["count"].dtype) == "Int64"
    assert set(synthetic["height"]) <= {0.5, 1.5, 2.5}


def test_report_lists_public_and_inferred(twin):
    report = twin.privacy_report
    assert any("column 'colour' (declared in the schema)" in item for item in report.public)
    assert any("column 'height' (declared in the schema)" in item for item in report.public)
    assert report.not_covered == ("count (categories)",)


def test_generate_datasets_one_per_draw(twin):
    datasets = twin.generate_datasets(200, 5, seed=2)
    assert len(datasets) == 5
    assert all(len(dataset) == 200 for dataset in datasets)
    # Different posterior draws give different data sets.
    assert not datasets[0].equals(datasets[1])
    with pytest.raises(InputError, match="contains 5 posterior draws"):
        twin.generate_datasets(200, 6, seed=2)


def test_same_seed_same_rows(twin):
    pd.testing.assert_frame_equal(twin.generate(100, seed=9), twin.generate(100, seed=9))
    assert not twin.generate(100, seed=9).equals(twin.generate(100, seed=10))


def test_save_and_load_reproduce_rows(twin, tmp_path):
    import twinify

    path = twin.save(tmp_path / "model.twinify")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["arrays.npz", "backend.json", "manifest.json"]
    loaded = twinify.load(path)
    assert loaded.backend == "napsu"
    pd.testing.assert_frame_equal(loaded.generate(150, seed=4), twin.generate(150, seed=4))
    assert loaded.privacy_report == twin.privacy_report
    assert (
        loaded.fitted.diagnostics["fit"]["iterations"]
        == twin.fitted.diagnostics["fit"]["iterations"]
    )


def test_diagnostics_available(twin):
    diagnostics = twin.fitted.diagnostics
    assert diagnostics["fit"]["iterations"] >= 1
    assert "converged" in diagnostics["fit"]
    assert diagnostics["posterior"]["draws"] == 5
