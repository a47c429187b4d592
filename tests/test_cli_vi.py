"""``twinify vi`` end to end on the penguins example, and its one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from twinify.cli import main

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = ROOT / "examples" / "penguins.csv"
PENGUINS_MODEL = ROOT / "examples" / "penguins.model"
FAST_FLAGS = ["-e", "1", "--k", "2", "-q", "0.1"]


def _outputs(prefix: Path) -> list[Path]:
    return [Path(f"{prefix}{suffix}") for suffix in (".csv", ".twinify", ".privacy.json")]


def test_fit_and_generate_end_to_end(tmp_path):
    prefix = tmp_path / "penguins-twin"
    fit = subprocess.run(
        [sys.executable, "-m", "twinify", "vi", str(PENGUINS), str(PENGUINS_MODEL), str(prefix),
         "--epsilon", "1", "--seed", "0", *FAST_FLAGS],
        capture_output=True, text=True,
    )
    assert fit.returncode == 0, fit.stderr
    assert "Privacy guarantee: (1, " in fit.stdout
    assert all(path.is_file() for path in _outputs(prefix))
    real = pd.read_csv(PENGUINS)
    synthetic = pd.read_csv(f"{prefix}.csv")
    assert list(synthetic.columns) == list(real.columns)
    assert len(synthetic) == len(real)

    generated = tmp_path / "more.csv"
    generate = subprocess.run(
        [sys.executable, "-m", "twinify", "generate", f"{prefix}.twinify", "-n", "25", "-o", str(generated),
         "--seed", "1"],
        capture_output=True, text=True,
    )
    assert generate.returncode == 0, generate.stderr
    assert len(pd.read_csv(generated)) == 25


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


BAD_INPUTS = {
    "missing data file": ("missing.csv", None, [], "not found"),
    "empty data file": ("empty.csv", None, [], "empty"),
    "unknown column": (None, "wingspan: Normal\n", [], "'wingspan' is not in the data"),
    "unknown distribution": (None, "species: Dirichletish\n", [], "unknown distribution 'Dirichletish'"),
    "text in Normal column": (None, "species: Normal\n", [], "not numbers"),
    "negative Poisson counts": ("counts.csv", "count: Poisson\n", [], "negative"),
    "three Bernoulli values": (None, "species: Bernoulli\n", [], "3 distinct values"),
    "zero epsilon": (None, None, ["--epsilon", "0"], "invalid epsilon"),
    "negative epsilon": (None, None, ["--epsilon", "-1"], "invalid epsilon"),
    "zero delta": (None, None, ["--delta", "0"], "invalid delta"),
    "delta above one": (None, None, ["--delta", "1.5"], "invalid delta"),
    "python model file without output": (None, "model.py", [], "returned None and has no sample site 'x'"),
}


# d3p's random number generator warns about a deprecated jax function when first
# imported; pytest shows DeprecationWarnings, which Python hides from users.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_one_line(case, tmp_path, capsys, restore_logging):
    data_name, model_text, flags, message = BAD_INPUTS[case]
    data = PENGUINS
    if data_name == "empty.csv":
        data = _write(tmp_path, "empty.csv", "")
    elif data_name == "counts.csv":
        data = _write(tmp_path, "counts.csv", "count\n" + "\n".join(str(n) for n in range(-2, 342)) + "\n")
    elif data_name == "missing.csv":
        data = tmp_path / "missing.csv"
    model = PENGUINS_MODEL
    if model_text == "model.py":
        model = _write(tmp_path, "model.py", "def model(x=None, num_obs_total=None):\n    pass\n")
    elif model_text is not None:
        model = _write(tmp_path, "case.model", model_text)
    prefix = tmp_path / "out"

    status = main(["vi", str(data), str(model), str(prefix), "--quiet", *FAST_FLAGS, *flags])

    errors = capsys.readouterr().err
    assert status == 2
    assert len(errors.splitlines()) == 1, errors
    assert errors.startswith("twinify: error: ")
    assert message in errors
    assert "Traceback" not in errors
    assert not any(path.exists() for path in _outputs(prefix))


@pytest.mark.parametrize("blocked", [".csv", ".twinify", ".privacy.json"])
def test_output_blocked_by_folder(blocked, tmp_path, capsys, restore_logging):
    prefix = tmp_path / "out"
    Path(f"{prefix}{blocked}").mkdir()

    status = main(["vi", str(PENGUINS), str(PENGUINS_MODEL), str(prefix), "--quiet", *FAST_FLAGS])

    errors = capsys.readouterr().err
    assert status == 2
    assert len(errors.splitlines()) == 1, errors
    assert "a folder of that name exists" in errors
    assert not any(path.is_file() for path in _outputs(prefix))


def test_too_many_synthetic_rows(tmp_path, capsys, restore_logging):
    prefix = tmp_path / "out"

    status = main(["vi", str(PENGUINS), str(PENGUINS_MODEL), str(prefix), "--quiet", "-n", "99999999999999"])

    errors = capsys.readouterr().err
    assert status == 2
    assert "generate at most" in errors
    assert not any(path.exists() for path in _outputs(prefix))
