"""``twinify napsu`` end to end: fitting, saving, generating, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest

from twinify.cli import main

pytest.importorskip("jax")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# Small settings keep each fit to a few seconds; quality is measured by benchmarks/.
FAST = ["--num_samples", "4", "--max_iterations", "400", "--refit_iterations", "100"]


def _fit(arguments, capsys):
    try:
        code = main(["napsu", *arguments])
    except SystemExit as exit_:  # argparse exits on usage errors
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _outputs(prefix: Path) -> list[Path]:
    return [Path(f"{prefix}{suffix}") for suffix in (".csv", ".twinify", ".privacy.json")]


@pytest.fixture(scope="module")
def pums_fit(shared_data, tmp_path_factory):
    """One fit of PUMS_cat with the example query file, shared by several tests."""
    prefix = tmp_path_factory.mktemp("pums") / "pums"
    arguments = [
        str(shared_data / "PUMS_cat_train.csv"),
        str(EXAMPLES / "pums_cat.queries"),
        str(prefix),
        "--epsilon",
        "1",
        "--delta",
        "1e-6",
        "--relation",
        "add-remove",
        "--seed",
        "0",
        *FAST,
    ]
    code = main(["napsu", *arguments])
    return code, prefix, arguments


def test_query_file_fit_writes_outputs(pums_fit, shared_data):
    code, prefix, _ = pums_fit
    assert code == 0
    for path in _outputs(prefix):
        assert path.is_file()
    synthetic = pd.read_csv(f"{prefix}.csv")
    real = pd.read_csv(shared_data / "PUMS_cat_train.csv")
    assert list(synthetic.columns) == list(real.columns)
    for column in real.columns:
        assert set(synthetic[column]) <= set(real[column])
    report = json.loads(Path(f"{prefix}.privacy.json").read_text())
    assert report["relation"] == "add-remove"
    # Under add/remove the row count is private: the output has the DP estimate's size.
    assert len(synthetic) == max(round(report["extra"]["number of rows used"]), 1)
    assert len(synthetic) != len(real)
    assert report["epsilon_spent"] <= 1.0 * (1 + 1e-9)
    parameters = report["mechanisms"][0]["parameters"]
    assert parameters["queries"][5] == "age, married"
    assert parameters["l2 sensitivity"] == pytest.approx(3.0)
    assert any("age (categories)" in item for item in report["not_covered"])


def test_same_seed_same_output(pums_fit, tmp_path):
    code, prefix, arguments = pums_fit
    assert code == 0
    again = tmp_path / "again"
    assert main(["napsumq", *arguments[:2], str(again), *arguments[3:]]) == 0
    assert Path(f"{prefix}.csv").read_text() == Path(f"{again}.csv").read_text()


def test_generate_after_load_in_new_process(pums_fit, tmp_path):
    import twinify

    code, prefix, _ = pums_fit
    assert code == 0
    output = tmp_path / "generated.csv"
    command = [
        sys.executable,
        "-m",
        "twinify",
        "generate",
        f"{prefix}.twinify",
        "-n",
        "300",
        "-o",
        str(output),
        "--seed",
        "11",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    in_process = twinify.load(f"{prefix}.twinify").generate(300, seed=11)
    pd.testing.assert_frame_equal(
        pd.read_csv(output), pd.read_csv(StringIO(in_process.to_csv(index=False)))
    )


def test_auto_on_small_table(shared_data, tmp_path, capsys):
    prefix = tmp_path / "auto"
    code, out, err = _fit(
        [
            str(shared_data / "PUMS_cat_train.csv"),
            "auto",
            str(prefix),
            "--epsilon",
            "2",
            "--seed",
            "1",
            "--relation",
            "add-remove",
            *FAST,
        ],
        capsys,
    )
    assert code == 0, err
    assert "MST-style selection" in out
    assert "selected two-way marginals" in out
    assert Path(f"{prefix}.csv").is_file()


@pytest.mark.parametrize(
    "case, extra, message",
    [
        ("unknown column", ["--epsilon", "1"], "column 'height' is not in the data"),
        ("bad inference", ["--inference", "gibbs"], "invalid choice"),
        (
            "forced without auto",
            ["--forced_queries", "x.txt"],
            "applies to automatic selection only",
        ),
    ],
)
def test_error_is_one_line(case, extra, message, shared_data, tmp_path, capsys):
    queries = tmp_path / "bad.queries"
    queries.write_text(
        "age, height\n" if case == "unknown column" else "age, sex\n", encoding="utf-8"
    )
    prefix = tmp_path / "out"
    code, _, err = _fit(
        [str(shared_data / "PUMS_cat_train.csv"), str(queries), str(prefix), *extra], capsys
    )
    assert code == 2
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1
    assert message in error_lines[0]
    assert not any(path.exists() for path in _outputs(prefix))


def test_real_column_without_bins(shared_data, tmp_path, capsys):
    queries = tmp_path / "penguins.queries"
    queries.write_text("species, bill_length_mm\n", encoding="utf-8")
    prefix = tmp_path / "penguins"
    code, _, err = _fit(
        [str(shared_data / "penguins.csv"), str(queries), str(prefix), "--drop_na"], capsys
    )
    assert code == 2
    assert "bill_length_mm" in err
    assert "declare bins" in err
    assert not any(path.exists() for path in _outputs(prefix))


def test_missing_values_need_drop_na(shared_data, tmp_path, capsys):
    queries = tmp_path / "penguins.queries"
    queries.write_text("species, sex\nisland\n", encoding="utf-8")
    prefix = tmp_path / "penguins"
    code, _, err = _fit(
        [str(shared_data / "penguins.csv"), str(queries), str(prefix), *FAST], capsys
    )
    assert code == 2
    assert "--drop_na" in err
    assert "'sex'" in err
    assert not any(path.exists() for path in _outputs(prefix))
