"""twinify's DPVI and NAPSU-MQ through its command line, timed apart from generation.

Usage: python benchmarks/run_twinify.py [--epsilons 1 4] [--methods dpvi napsu]
       [--seed 0] [--timeout SECONDS]

For every setting in benchmarks/runs.py it runs, each in its own process:

    twinify vi DATA MODEL PREFIX --epsilon E --delta D --relation R --seed S --num-synthetic 1
    twinify napsu DATA auto PREFIX --epsilon E --delta D --relation R --seed S --num-synthetic 1
    twinify generate PREFIX.twinify -n ROWS -o PREFIX.csv --seed S

The first is the fit (one synthetic row is written so that generation costs nothing
there), the second the generation of as many rows as the training file. A backend that
is not installed is recorded as "not yet measured". Writes benchmarks/results/twinify.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from common import print_table, read_results, run_job, write_results
from runs import EPSILONS, Setting, job_status, keep_synthetic, measure_epochs, score, settings

COMMANDS = {"dpvi": "vi", "napsu": "napsu"}


def twinify_command() -> list[str]:
    """Return the command that starts this checkout's twinify."""
    return [sys.executable, "-m", "twinify"]


def backend_available(method: str) -> bool:
    """Return whether ``twinify COMMAND --help`` works, that is, the backend is installed."""
    job = run_job([*twinify_command(), COMMANDS[method], "--help"], timeout_s=300)
    return job.ok


def fit_command(setting: Setting, prefix: Path, seed: int, extra: list[str] = ()) -> list[str]:
    """Return the fitting command of ``setting`` writing to ``prefix``."""
    model = str(setting.model_file) if setting.method == "dpvi" else "auto"
    return [
        *twinify_command(), COMMANDS[setting.method], str(setting.dataset.train_path()), model, str(prefix),
        "--epsilon", str(setting.epsilon), "--delta", str(setting.delta), "--relation", setting.relation,
        "--seed", str(seed), "--num-synthetic", "1", "--quiet", *extra,
    ]


def run_setting(setting: Setting, seed: int, timeout: float, workdir: Path) -> dict:
    """Fit, generate and score one setting."""
    row = {"tool": "twinify", **setting.label(), "seed": seed}
    prefix = workdir / f"{setting.method}-{setting.dataset.name}-{setting.epsilon:g}"
    fit = run_job(fit_command(setting, prefix, seed), timeout_s=timeout, cwd=workdir)
    row.update(status=job_status(fit, timeout), fit_s=fit.wall_s, peak_rss_mb=fit.peak_rss_mb)
    if not fit.ok:
        return row

    rows = _count_rows(setting.dataset.train_path())
    generate = run_job(
        [*twinify_command(), "generate", f"{prefix}.twinify", "-n", str(rows), "-o", f"{prefix}.csv",
         "--seed", str(seed), "--quiet"],
        timeout_s=timeout, cwd=workdir,
    )
    row.update(generate_s=generate.wall_s, generate_peak_rss_mb=generate.peak_rss_mb,
               total_s=fit.wall_s + generate.wall_s)
    if not generate.ok:
        row["status"] = "generation " + job_status(generate, timeout)
        return row
    keep_synthetic("twinify", setting, Path(f"{prefix}.csv"))
    row.update(score(setting, Path(f"{prefix}.csv")))
    return row


#: twinify 2.0.0's defaults, so that the time per epoch compares the same work.
TWINIFY2_SETTINGS = ["--k", "50", "--sampling_ratio", "0.01", "--clipping_threshold", "1"]


def epoch_time(setting: Setting, seed: int, timeout: float, workdir: Path) -> dict:
    """Measure DPVI's time per epoch at twinify 2.0.0's settings (``--num_epochs 1`` and ``2``)."""
    row = {"tool": "twinify", **setting.label(), "seed": seed, "settings": " ".join(TWINIFY2_SETTINGS)}
    prefix = workdir / f"epochs-{setting.dataset.name}"
    row.update(measure_epochs(
        lambda epochs: fit_command(setting, prefix, seed, [*TWINIFY2_SETTINGS, "--num_epochs", str(epochs)]),
        timeout, workdir,
    ))
    return row


def _count_rows(path: Path) -> int:
    with open(path) as handle:
        return sum(1 for _ in handle) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilons", type=float, nargs="+", default=list(EPSILONS))
    parser.add_argument("--methods", nargs="+", default=["dpvi", "napsu"], choices=["dpvi", "napsu"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per fit")
    args = parser.parse_args()

    available = {method: backend_available(method) for method in args.methods}
    # A rerun replaces only the settings it covers and keeps the other recorded runs.
    previous = read_results("twinify") or {}
    results = [row for row in previous.get("runs", [])
               if row["epsilon"] not in args.epsilons or row["method"] not in args.methods]
    epochs = [] if "dpvi" in args.methods else previous.get("epochs", [])
    workdir = Path(tempfile.mkdtemp(prefix="twinify-bench-"))
    try:
        chosen = [setting for setting in settings(args.epsilons) if setting.method in args.methods]
        for setting in chosen:
            if setting.method == "dpvi" and setting.epsilon == chosen[0].epsilon:
                epochs.append(epoch_time(setting, args.seed, args.timeout, workdir) if available["dpvi"]
                              else {"tool": "twinify", **setting.label(), "status": "not yet measured"})
        for setting in chosen:
            if not available[setting.method]:
                results.append({"tool": "twinify", **setting.label(), "status": "not yet measured"})
            else:
                results.append(run_setting(setting, args.seed, args.timeout, workdir))
            write_results("twinify", {"runs": results, "epochs": epochs, "available": available})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(epochs, ["dataset", "status", "wall_1_epoch_s", "wall_2_epoch_s", "epoch_s", "peak_rss_2_epoch_mb"])
    print()
    print_table(results, COLUMNS)


COLUMNS = ["method", "dataset", "epsilon", "relation", "status", "fit_s", "generate_s", "peak_rss_mb",
           "one_way_tv_mean", "two_way_tv_mean", "association_mad", "tstr_accuracy", "trtr_accuracy"]

if __name__ == "__main__":
    main()
