"""Fit DPVI on UCI Adult with given settings and print utility figures as one JSON line.

Used to choose the DPVI defaults. It fits through ``twinify.fit`` in this process
(so the time includes calibration and compilation) and scores the synthetic data
with the metrics of benchmarks/dpvi_adult.py. Usage::

    python benchmarks/dpvi_tune.py --k 20 --num_epochs 50 --learning_rate 0.01
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import twinify
from twinify.modelspec import read_model_file

import dpvi_adult


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    for name, kind in (("k", int), ("num_epochs", int), ("learning_rate", float),
                       ("clipping_threshold", float), ("sampling_ratio", float)):
        parser.add_argument(f"--{name}", type=kind, default=None)
    args = parser.parse_args()
    options = {name: getattr(args, name) for name in
               ("k", "num_epochs", "learning_rate", "clipping_threshold", "sampling_ratio")
               if getattr(args, name) is not None}

    train = dpvi_adult._read(args.data / "adult_raw_train.csv")
    test = dpvi_adult._read(args.data / "adult_raw_test.csv")
    specs = {spec.column: spec.metadata for spec in read_model_file(dpvi_adult.MODEL_FILE)}
    warnings.simplefilter("ignore", UserWarning)
    start = time.perf_counter()
    twin = twinify.fit(train, dpvi_adult.MODEL_FILE, epsilon=args.epsilon, seed=args.seed, **options)
    seconds = time.perf_counter() - start
    synthetic = twin.generate(len(train), seed=args.seed + 1)
    print(json.dumps({
        **options,
        "fit_seconds": round(seconds),
        "mean_tv": round(dpvi_adult._mean_tv(train, synthetic, specs), 4),
        "accuracy": round(dpvi_adult._accuracy(synthetic, test, specs, args.seed), 4),
    }))


if __name__ == "__main__":
    main()
