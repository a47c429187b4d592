"""Benchmark DPVI on UCI Adult: speed, memory and the utility of the synthetic data.

Runs ``twinify vi`` on the Adult training split in a child process and measures:

* fit time (the whole command: reading, calibration, compilation, training,
  generation and writing) and peak memory (the child's ``ru_maxrss``);
* generation time of ``twinify generate`` from the saved model;
* one-way total-variation distance between synthetic and real training data per
  column, averaged. Numeric columns are binned into 20 equal-width bins over the
  public bounds of examples/adult.model, categorical columns use their declared
  categories, and a missing value counts as one more bin;
* accuracy on the Adult test split of a HistGradientBoosting classifier of
  ``income`` trained on the synthetic data, next to the majority-class baseline
  and the same classifier trained on the real training data.

Prints a table and writes JSON to benchmarks/results/. Usage::

    python benchmarks/dpvi_adult.py [--epsilon 1] [--seed 0] [-- extra twinify vi flags]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from twinify.modelspec import read_model_file

ROOT = Path(__file__).resolve().parents[1]
MODEL_FILE = ROOT / "examples" / "adult.model"
RESULTS = ROOT / "benchmarks" / "results"
TARGET = "income"
NUM_BINS = 20


def main() -> None:
    args = _parse_arguments()
    train_path, test_path = args.data / "adult_raw_train.csv", args.data / "adult_raw_test.csv"
    with tempfile.TemporaryDirectory() as folder:
        prefix = Path(folder) / "adult-twin"
        command = [sys.executable, "-m", "twinify", "vi", str(train_path), str(MODEL_FILE), str(prefix),
                   "--epsilon", str(args.epsilon), "--seed", str(args.seed), "--quiet", *args.extra]
        fit_seconds, fit_memory = _run_measured(command)
        generated = Path(folder) / "generated.csv"
        generate_command = [sys.executable, "-m", "twinify", "generate", f"{prefix}.twinify",
                            "-n", "26049", "-o", str(generated), "--seed", "1"]
        generate_seconds, _ = _run_measured(generate_command)
        synthetic = _read(Path(f"{prefix}.csv"))
        report = json.loads(Path(f"{prefix}.privacy.json").read_text())

    real_train, real_test = _read(train_path), _read(test_path)
    specs = {spec.column: spec.metadata for spec in read_model_file(MODEL_FILE)}
    results = {
        "command": " ".join(command[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "fit_seconds": fit_seconds,
        "fit_peak_memory_mb": fit_memory,
        "generate_seconds": generate_seconds,
        "mean_tv_synthetic": _mean_tv(real_train, synthetic, specs),
        "mean_tv_real_test": _mean_tv(real_train, real_test, specs),
        "tv_per_column": _tv_per_column(real_train, synthetic, specs),
        "accuracy_synthetic": _accuracy(synthetic, real_test, specs, args.seed),
        "accuracy_real": _accuracy(real_train, real_test, specs, args.seed),
        "accuracy_majority": float(real_test[TARGET].value_counts(normalize=True).max()),
        "ranges": {column: [_plain(synthetic[column].min()), _plain(synthetic[column].max())]
                   for column in ("age", "hours-per-week", "capital-gain", "capital-loss", "fnlwgt")},
        "noise_multiplier": report["mechanisms"][-1]["parameters"]["noise_multiplier"],
    }
    _print_table(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / f"dpvi_adult_{time.strftime('%Y%m%d_%H%M%S')}.json"
    output.write_text(json.dumps(results, indent=2))
    print(f"wrote {output}")


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder holding adult_raw_train.csv and adult_raw_test.csv")
    parser.add_argument("extra", nargs="*", help="further twinify vi flags, after --")
    args = parser.parse_args()
    if not (args.data / "adult_raw_train.csv").is_file():
        args.data = Path(os.environ.get("TWINIFY_SHARED_DATA", "/work/shared/data"))
    return args


def _run_measured(command: list[str]) -> tuple[float, float]:
    """Run ``command`` and return its wall time in seconds and peak memory in MB."""
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(command)}")
    return seconds, usage.ru_maxrss / 1024.0


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype_backend="numpy_nullable", skipinitialspace=True)


def _binned(series: pd.Series, metadata: dict) -> pd.Series:
    """Return each value's bin label; missing values get their own label."""
    if "categories" in metadata:
        labels = series.astype(object).map(str)
    else:
        edges = np.linspace(metadata["lower"], metadata["upper"], NUM_BINS + 1)
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        labels = pd.Series(np.clip(np.digitize(values, edges[1:-1]), 0, NUM_BINS - 1).astype(str))
    return labels.where(series.notna().to_numpy(), "<missing>")


def _tv_per_column(real: pd.DataFrame, other: pd.DataFrame, specs: dict) -> dict[str, float]:
    distances = {}
    for column, metadata in specs.items():
        p = _binned(real[column], metadata).value_counts(normalize=True)
        q = _binned(other[column], metadata).value_counts(normalize=True)
        distances[column] = float(0.5 * p.subtract(q, fill_value=0.0).abs().sum())
    return distances


def _mean_tv(real: pd.DataFrame, other: pd.DataFrame, specs: dict) -> float:
    return float(np.mean(list(_tv_per_column(real, other, specs).values())))


def _classifier_inputs(frame: pd.DataFrame, specs: dict) -> pd.DataFrame:
    inputs = {}
    for column, metadata in specs.items():
        if column == TARGET:
            continue
        if "categories" in metadata:
            dtype = pd.CategoricalDtype([str(c) for c in metadata["categories"]])
            inputs[column] = frame[column].astype(object).map(str, na_action="ignore").astype(dtype)
        else:
            inputs[column] = pd.to_numeric(frame[column]).astype(float)
    return pd.DataFrame(inputs)


def _accuracy(train: pd.DataFrame, test: pd.DataFrame, specs: dict, seed: int) -> float:
    labels = train[TARGET].astype(str)
    if labels.nunique() < 2:
        return float((test[TARGET].astype(str) == labels.iloc[0]).mean())
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    model.fit(_classifier_inputs(train, specs), labels)
    return float((model.predict(_classifier_inputs(test, specs)) == test[TARGET].astype(str)).mean())


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def _print_table(results: dict) -> None:
    rows = [
        ("fit time (s)", f"{results['fit_seconds']:.0f}"),
        ("fit peak memory (MB)", f"{results['fit_peak_memory_mb']:.0f}"),
        ("generate 26049 rows (s)", f"{results['generate_seconds']:.1f}"),
        ("mean one-way TV, synthetic vs train", f"{results['mean_tv_synthetic']:.3f}"),
        ("mean one-way TV, real test vs train", f"{results['mean_tv_real_test']:.3f}"),
        ("income accuracy, trained on synthetic", f"{results['accuracy_synthetic']:.3f}"),
        ("income accuracy, trained on real", f"{results['accuracy_real']:.3f}"),
        ("income accuracy, majority class", f"{results['accuracy_majority']:.3f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    for column, (low, high) in results["ranges"].items():
        print(f"{('range of ' + column).ljust(width)}  {low} .. {high}")


if __name__ == "__main__":
    main()
