"""``twinify check-model``: model-file checks and prior-predictive rows at no privacy cost."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from custom_model_sources import BAD_MODELS, GAUSS, gauss_data

from twinify.cli import main

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = ROOT / "examples" / "penguins.csv"
PENGUINS_CUSTOM = ROOT / "examples" / "penguins_custom.py"
PENGUINS_MODEL = ROOT / "examples" / "penguins.model"

# d3p's random number generator warns about a deprecated jax function when first
# imported; pytest shows DeprecationWarnings, which Python hides from users.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def gauss_csv(tmp_path):
    path = tmp_path / "data.csv"
    gauss_data().to_csv(path, index=False)
    return path


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_custom_model_passes(tmp_path, capsys, restore_logging):
    output = tmp_path / "prior.csv"
    status = main(["check-model", str(PENGUINS), str(PENGUINS_CUSTOM), "-n", "3", "-o", str(output), "--seed", "0"])

    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "a custom NumPyro model (SHA-256 " in captured.out
    assert "species: categorical, 3 categories (set by preprocess)" in captured.out
    assert "latent variables weights, measured_prob, sex_known_prob, species_probs" in captured.out
    assert "log-likelihood: finite for the first 100 rows" in captured.out
    assert "no problems found" in captured.out
    assert "warning" not in captured.err
    sample = pd.read_csv(output)
    assert list(sample.columns) == list(pd.read_csv(PENGUINS).columns)
    assert len(sample) == 3
    assert set(sample["species"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["prior.csv"]


def test_automatic_model_passes(capsys, restore_logging):
    status = main(["check-model", str(PENGUINS), str(PENGUINS_MODEL), "-n", "4", "--seed", "1"])

    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "an automatic model of 8 columns" in captured.out
    assert "bill_length_mm: normal, with missing values" in captured.out
    table = captured.out.split("not fitted to the data):\n")[1].splitlines()
    assert table[0].split() == list(pd.read_csv(PENGUINS).columns)
    assert len(table) == 1 + 4 + 1  # header, rows, summary line


def test_undeclared_domains_blanked(tmp_path, capsys, restore_logging):
    model = _write(tmp_path, "bare.model", "species: Categorical\nbody_mass_g: Normal\n")
    status = main(["check-model", str(PENGUINS), str(model), "-n", "3", "-o", str(tmp_path / "prior.csv")])

    captured = capsys.readouterr()
    assert status == 0
    assert "not covered by the privacy guarantee" in captured.err
    sample = pd.read_csv(tmp_path / "prior.csv")
    assert sample.isna().all().all()


def test_text_categories_relabelled(tmp_path, capsys, restore_logging):
    source = PENGUINS_CUSTOM.read_text().replace(
        "out[name] = pd.Categorical(df[name], categories=categories)",
        "out[name] = df[name] if name == 'island' else pd.Categorical(df[name], categories=categories)",
    )
    model = _write(tmp_path, "text_island.py", source)
    status = main(["check-model", str(PENGUINS), str(model), "-n", "20", "-o", str(tmp_path / "prior.csv")])

    captured = capsys.readouterr()
    assert status == 0
    assert "the categories of columns island are read from the data" in captured.err
    assert "island: categorical, 3 categories (read from the data)" in captured.out
    islands = set(pd.read_csv(tmp_path / "prior.csv")["island"])
    assert islands <= {"category 1", "category 2", "category 3"}


def test_statistics_in_preprocess_rejected(tmp_path, gauss_csv, capsys, restore_logging):
    standardizing = GAUSS + "\n\ndef preprocess(df):\n    return (df - df.mean()) / df.std()\n"
    model = _write(tmp_path, "standardize.py", standardizing)
    status = main(["check-model", str(gauss_csv), str(model)])

    errors = capsys.readouterr().err
    assert status == 2
    assert len(errors.splitlines()) == 1, errors
    assert "does not transform each row on its own" in errors
    assert "values or dtypes in columns a, b" in errors


def test_row_wise_preprocess_passes(tmp_path, gauss_csv, capsys, restore_logging):
    scaling = GAUSS + "\n\ndef preprocess(df):\n    return (df - 1.0) / 2.0\n"
    model = _write(tmp_path, "scale.py", scaling)
    status = main(["check-model", str(gauss_csv), str(model)])

    captured = capsys.readouterr()
    assert status == 0
    assert "warning" not in captured.err
    assert "no problems found" in captured.out


def test_missing_values_warned(tmp_path, capsys, restore_logging):
    data = gauss_data()
    data.loc[[3, 7], "a"] = float("nan")
    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    status = main(["check-model", str(path), str(_write(tmp_path, "gauss.py", GAUSS))])

    captured = capsys.readouterr()
    assert status == 0
    assert "the log-likelihood is NaN or infinite for 2 of 100 rows" in captured.err


CHECKED_BAD_MODELS = ["syntax error", "no model", "guide misses latent", "postprocess raises", "model fails when traced"]


@pytest.mark.parametrize("case", CHECKED_BAD_MODELS)
def test_bad_model_one_line(case, tmp_path, gauss_csv, capsys, restore_logging):
    text, message = BAD_MODELS[case]
    output = tmp_path / "prior.csv"
    status = main(["check-model", str(gauss_csv), str(_write(tmp_path, "model.py", text)), "-o", str(output)])

    captured = capsys.readouterr()
    assert status == 2
    assert len(captured.err.splitlines()) == 1, captured.err
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert not output.exists()


def test_bad_automatic_model(tmp_path, capsys, restore_logging):
    model = _write(tmp_path, "wrong.model", "wingspan: Normal\n")
    status = main(["check-model", str(PENGUINS), str(model)])

    captured = capsys.readouterr()
    assert status == 2
    assert "'wingspan' is not in the data" in captured.err
    assert len(captured.err.splitlines()) == 1
