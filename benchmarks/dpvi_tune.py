"""Fit DPVI on a public data set with given settings and print utility figures as one JSON line.

Used to choose the DPVI defaults. It fits through ``twinify.fit`` in this process
(so the time includes calibration and compilation) and scores the synthetic data
with the metrics of benchmarks/dpvi_adult.py: the mean one-way total-variation
distance to the training data and, for Adult, the income accuracy on the test
split. Data sets:

* ``adult``: adult_raw_train.csv (26,049 rows) with examples/adult.model;
* ``penguins``: examples/penguins.csv (344 rows) with examples/penguins.model,
  also printing the share of missing values per column, synthetic and real;
* ``pums``: PUMS_train.csv (800 rows) with examples/pums.model.

Usage::

    python benchmarks/dpvi_tune.py --k 20 --num_epochs 50 --learning_rate 0.01
    python benchmarks/dpvi_tune.py --data-set penguins --sampling_ratio 0.1
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import twinify
from twinify.modelspec import read_model_file

import dpvi_adult

EXAMPLES = dpvi_adult.ROOT / "examples"

#: Per data set: training file, test file (None: no classifier) and model file.
DATA_SETS = {
    "adult": ("adult_raw_train.csv", "adult_raw_test.csv", EXAMPLES / "adult.model"),
    "penguins": (EXAMPLES / "penguins.csv", None, EXAMPLES / "penguins.model"),
    "pums": ("PUMS_train.csv", None, EXAMPLES / "pums.model"),
}

OPTIONS = (("k", int), ("num_epochs", int), ("learning_rate", float), ("clipping_threshold", float),
           ("sampling_ratio", float))


def main() -> None:
    args = _parse_arguments()
    options = {name: getattr(args, name) for name, _ in OPTIONS if getattr(args, name) is not None}
    train_name, test_name, model_file = DATA_SETS[args.data_set]
    train = dpvi_adult._read(args.data / train_name)
    specs = {spec.column: spec.metadata for spec in read_model_file(model_file)}

    warnings.simplefilter("ignore", UserWarning)
    start = time.perf_counter()
    twin = twinify.fit(train, model_file, epsilon=args.epsilon, seed=args.seed, **options)
    seconds = time.perf_counter() - start
    synthetic = twin.generate(len(train), seed=args.seed + 1)

    results = {
        "data_set": args.data_set,
        "seed": args.seed,
        **options,
        "fit_seconds": round(seconds, 1),
        "mean_tv": round(dpvi_adult._mean_tv(train, synthetic, specs), 4),
    }
    if test_name is not None:
        test = dpvi_adult._read(args.data / test_name)
        results["accuracy"] = round(dpvi_adult._accuracy(synthetic, test, specs, args.seed), 4)
    if args.data_set == "penguins":
        results["missing_synthetic"] = _rounded(synthetic.isna().mean())
        results["missing_real"] = _rounded(train.isna().mean())
    if args.columns:
        results["tv_per_column"] = _rounded(dpvi_adult._tv_per_column(train, synthetic, specs))
    print(json.dumps(results))


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-set", choices=sorted(DATA_SETS), default="adult")
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("TWINIFY_SHARED_DATA", "/work/shared/data")),
                        help="folder holding the public data sets (default: $TWINIFY_SHARED_DATA)")
    parser.add_argument("--columns", action="store_true", help="also print the distance per column")
    for name, kind in OPTIONS:
        parser.add_argument(f"--{name}", type=kind, default=None)
    return parser.parse_args()


def _rounded(values) -> dict[str, float]:
    return {str(name): round(float(value), 3) for name, value in dict(values).items()}


if __name__ == "__main__":
    main()
