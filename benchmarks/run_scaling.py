"""How twinify's fit time and peak memory grow with rows (DPVI) and columns (NAPSU-MQ).

Usage: python benchmarks/run_scaling.py [--rows 10000 100000 1000000]
       [--columns 5 10 14] [--timeout SECONDS] [--epochs N]

DPVI: rows drawn with replacement (seed 0) from adult_raw_train.csv into a temporary
file, then ``twinify vi FILE benchmarks/models/adult_raw.model PREFIX --epsilon 1
--relation substitution --seed 0`` with the default delta for that many rows (and
``--num_epochs N`` when --epochs is given). NAPSU-MQ: the first 5, 10 and 14 columns of
adult_disc_str_train.csv with ``twinify napsu FILE auto PREFIX --epsilon 1 --delta 1e-9
--relation add-remove --seed 0``. Writes benchmarks/results/scaling.json.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from common import print_table, run_job, write_results
from datasets import ADULT_DISC_STR, ADULT_RAW
from run_twinify import backend_available, twinify_command
from runs import MODELS, job_status


def dpvi_scaling(rows: int, epochs: int | None, timeout: float, workdir: Path) -> dict:
    """Fit DPVI to ``rows`` rows resampled from Adult and return time and memory."""
    data = pd.read_csv(ADULT_RAW.train_path())
    sample = data.sample(n=rows, replace=True, random_state=0)
    path = workdir / f"adult-{rows}.csv"
    sample.to_csv(path, index=False)
    command = [
        *twinify_command(), "vi", str(path), str(MODELS / "adult_raw.model"), str(workdir / f"dpvi-{rows}"),
        "--epsilon", "1", "--relation", "substitution", "--seed", "0", "--num-synthetic", "1", "--quiet",
    ]
    if epochs is not None:
        command += ["--num_epochs", str(epochs)]
    job = run_job(command, timeout_s=timeout, cwd=workdir)
    path.unlink()
    return {"method": "dpvi", "rows": rows, "columns": data.shape[1], "epochs": epochs or "default",
            "status": job_status(job, timeout), "fit_s": job.wall_s, "peak_rss_mb": job.peak_rss_mb}


def napsu_scaling(columns: int, timeout: float, workdir: Path) -> dict:
    """Fit NAPSU-MQ with automatic queries to the first ``columns`` columns of discrete Adult."""
    data = pd.read_csv(ADULT_DISC_STR.train_path(), dtype=str)
    path = workdir / f"adult-disc-{columns}.csv"
    data.iloc[:, :columns].to_csv(path, index=False)
    command = [
        *twinify_command(), "napsu", str(path), "auto", str(workdir / f"napsu-{columns}"),
        "--epsilon", "1", "--delta", "1e-9", "--relation", "add-remove", "--seed", "0",
        "--num-synthetic", "1", "--quiet",
    ]
    job = run_job(command, timeout_s=timeout, cwd=workdir)
    return {"method": "napsu", "rows": data.shape[0], "columns": columns, "status": job_status(job, timeout),
            "fit_s": job.wall_s, "peak_rss_mb": job.peak_rss_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--columns", type=int, nargs="+", default=[5, 10, 14])
    parser.add_argument("--epochs", type=int, default=None, help="DPVI epochs (default: twinify's default)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per fit")
    args = parser.parse_args()

    results = []
    workdir = Path(tempfile.mkdtemp(prefix="twinify-scaling-"))
    try:
        for method, sizes in (("dpvi", args.rows), ("napsu", args.columns)):
            if not backend_available(method):
                key = "rows" if method == "dpvi" else "columns"
                results.extend({"method": method, key: size, "status": "not yet measured"} for size in sizes)
                continue
            for size in sizes:
                if method == "dpvi":
                    results.append(dpvi_scaling(size, args.epochs, args.timeout, workdir))
                else:
                    results.append(napsu_scaling(size, args.timeout, workdir))
                write_results("scaling", {"runs": results})
        write_results("scaling", {"runs": results})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results, ["method", "rows", "columns", "epochs", "status", "fit_s", "peak_rss_mb"])


if __name__ == "__main__":
    main()
