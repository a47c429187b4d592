"""UCI Adult converted to Parquet, through `twinify vi` and `twinify generate`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from twinify.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def adult_parquet(shared_data, tmp_path_factory):
    frame = pd.read_csv(shared_data / "adult_raw_train.csv", dtype_backend="numpy_nullable", nrows=3000)
    path = tmp_path_factory.mktemp("adult") / "adult.parquet"
    frame.to_parquet(path)
    return path, frame


def test_vi_and_generate_with_parquet(adult_parquet, tmp_path):
    path, frame = adult_parquet
    prefix = tmp_path / "twin"
    status = main([
        "--quiet", "vi", str(path), str(ROOT / "examples" / "adult.model"), str(prefix),
        "--epsilon", "1", "--seed", "3", "--k", "3", "--num_epochs", "2", "--sampling_ratio", "0.05",
        "--output-format", "parquet",
    ])
    assert status == 0
    fitted = pd.read_parquet(f"{prefix}.parquet")
    assert list(fitted.columns) == list(frame.columns)
    assert len(fitted) == len(frame)

    generated_path = tmp_path / "more.parquet"
    assert main(["--quiet", "generate", f"{prefix}.twinify", "-n", "500", "-o", str(generated_path)]) == 0
    generated = pd.read_parquet(generated_path)
    assert generated.shape == (500, frame.shape[1])
    assert generated["age"].between(17, 90).all()
    assert set(generated["sex"].dropna()) <= {"Female", "Male"}
    assert dict(generated.dtypes.astype(str)) == dict(fitted.dtypes.astype(str))
