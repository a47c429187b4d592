"""The original twinify 2.0.0 (PyPI) on the same settings as benchmarks/run_twinify.py.

Usage: python benchmarks/run_twinify2.py [--epsilons 1 4] [--methods dpvi napsu]
       [--seed 0] [--timeout SECONDS] [--skip-epochs]

twinify 2.0.0 is installed into benchmarks/.envs/twinify2 with the pins of
benchmarks/envs/twinify2-constraints.txt (jax 0.4.13, numpyro 0.10.1, pandas 1.5.3,
matplotlib 3.9.4; newer numpyro or matplotlib break its import). Its commands:

    twinify vi DATA MODEL PREFIX --epsilon E --delta D --seed S [-e EPOCHS]
    twinify napsumq DENSE_DATA EMPTY_QUERY_FILE PREFIX --epsilon E --delta D --seed S

Its CLI fits and generates in one process, so its time is fit plus generation. The
per-epoch time of DPVI comes from the difference of a 1-epoch and a 2-epoch run at
its default settings (sampling ratio 0.01, k = 50). A full run (200 epochs) is capped
by --timeout, or by --short-timeout when the epoch runs put its estimate above
--timeout, and a setting that hit its cap is not repeated at the next epsilon. Its NAPSU-MQ reads integer-coded tables only and its query-file
parser keeps the line break in the last column of every line but the last, so it gets
the 0..k-1 coded tables and an empty query file: it then selects queries with MST,
spending the budget once for selection and once more for measurement (so the
guarantee of its output is (2ε, 2δ)). Writes benchmarks/results/twinify2.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from common import BENCHMARKS, print_table, read_results, run_job, twinify2_python, write_results
from datasets import ADULT_DISC_DENSE, PUMS_CAT_DENSE
from runs import EPSILONS, Setting, job_status, keep_synthetic, measure_epochs, score, settings

#: twinify 2.0.0's default number of DPVI epochs.
DEFAULT_EPOCHS = 200
DENSE = {"adult_disc_str": ADULT_DISC_DENSE, "pums_cat": PUMS_CAT_DENSE}
EMPTY_QUERIES = BENCHMARKS / "models" / "empty.queries"


def twinify2_command() -> list[str]:
    """Return the command that starts twinify 2.0.0's CLI."""
    return [str(Path(twinify2_python()).parent / "twinify")]


def command_for(setting: Setting, prefix: Path, seed: int, epochs: int | None = None) -> list[str]:
    """Return twinify 2.0.0's command for ``setting``."""
    if setting.method == "dpvi":
        data, model, command = setting.dataset.train_path(), setting.model_file, "vi"
    else:
        data, model, command = DENSE[setting.dataset.name].train_path(), EMPTY_QUERIES, "napsumq"
    arguments = [
        *twinify2_command(), command, str(data), str(model), str(prefix),
        "--epsilon", str(setting.epsilon), "--delta", str(setting.delta), "--seed", str(seed),
    ]
    if epochs is not None:
        arguments += ["--num_epochs", str(epochs)]
    return arguments


def _environment() -> dict[str, str]:
    # Keep this checkout's twinify off the path of the old one.
    environment = dict(os.environ)
    environment.pop("PYTHONPATH", None)
    return environment


def run_setting(setting: Setting, seed: int, timeout: float, workdir: Path) -> dict:
    """Run one setting with twinify 2.0.0 and score its output."""
    row = {"tool": "twinify 2.0.0", **setting.label(), "seed": seed}
    if setting.method == "napsu":
        row["relation"] = "substitution (its only relation); budget spent twice"
    prefix = workdir / f"{setting.method}-{setting.dataset.name}-{setting.epsilon:g}"
    job = run_job(command_for(setting, prefix, seed), timeout_s=timeout, cwd=workdir, env=_environment())
    row.update(status=job_status(job, timeout), total_s=job.wall_s, peak_rss_mb=job.peak_rss_mb)
    if job.ok:
        keep_synthetic("twinify 2.0.0", setting, Path(f"{prefix}.csv"))
        row.update(score(setting, Path(f"{prefix}.csv"), DENSE.get(setting.dataset.name)))
    return row


def epoch_time(setting: Setting, seed: int, timeout: float, workdir: Path) -> dict:
    """Measure DPVI's time per epoch at twinify 2.0.0's default settings."""
    row = {"tool": "twinify 2.0.0", **setting.label(), "seed": seed}
    prefix = workdir / f"epochs-{setting.dataset.name}"
    row.update(measure_epochs(lambda epochs: command_for(setting, prefix, seed, epochs), timeout, workdir,
                              _environment()))
    return row


def _cap(setting: Setting, epochs: list[dict], timeout: float, short_timeout: float) -> float:
    # A DPVI fit whose 200 epochs are estimated from the epoch runs to take more than
    # the cap gets the short cap only: it confirms the estimate without spending hours.
    measured = next((row for row in epochs if row["dataset"] == setting.dataset.name
                     and row.get("status") == "ok"), None)
    if setting.method != "dpvi" or measured is None:
        return timeout
    estimate = measured["overhead_s"] + DEFAULT_EPOCHS * measured["epoch_s"]
    return short_timeout if estimate > timeout else timeout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilons", type=float, nargs="+", default=list(EPSILONS))
    parser.add_argument("--methods", nargs="+", default=["dpvi", "napsu"], choices=["dpvi", "napsu"])
    parser.add_argument("--datasets", nargs="+", default=None,
                        help="data set names to run (default all: adult_raw pums adult_disc_str pums_cat)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per full run")
    parser.add_argument("--skip-epochs", action="store_true",
                        help="keep the recorded 1- and 2-epoch DPVI runs instead of repeating them")
    parser.add_argument("--short-timeout", type=float, default=600,
                        help="seconds for a DPVI fit whose estimated time exceeds --timeout")
    args = parser.parse_args()

    twinify2_python()
    previous = read_results("twinify2") or {}
    # A rerun replaces only the settings it covers and keeps the other recorded runs.
    runs: list[dict] = [row for row in previous.get("runs", [])
                        if row["epsilon"] not in args.epsilons or row["method"] not in args.methods
                        or (args.datasets is not None and row["dataset"] not in args.datasets)]
    epochs = previous.get("epochs", []) if args.skip_epochs else []
    workdir = Path(tempfile.mkdtemp(prefix="twinify2-bench-"))
    try:
        chosen = [setting for setting in settings(args.epsilons) if setting.method in args.methods
                  and (args.datasets is None or setting.dataset.name in args.datasets)]
        if "dpvi" in args.methods and not args.skip_epochs:
            for setting in chosen:
                if setting.method == "dpvi" and setting.epsilon == chosen[0].epsilon:
                    epochs.append(epoch_time(setting, args.seed, args.timeout, workdir))
                    write_results("twinify2", {"runs": runs, "epochs": epochs})
        timed_out: set[tuple[str, str]] = set()
        for setting in chosen:
            key = (setting.method, setting.dataset.name)
            if key in timed_out:
                # Epsilon changes only the noise, not the work per epoch or the epochs.
                runs.append({"tool": "twinify 2.0.0", **setting.label(),
                             "status": f"not run: the same fit at a smaller epsilon did not finish in "
                             f"{args.timeout:.0f} s"})
            else:
                timeout = _cap(setting, epochs, args.timeout, args.short_timeout)
                runs.append(run_setting(setting, args.seed, timeout, workdir))
                if runs[-1]["status"].startswith("did not finish"):
                    timed_out.add(key)
            write_results("twinify2", {"runs": runs, "epochs": epochs})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(epochs, ["dataset", "status", "wall_1_epoch_s", "wall_2_epoch_s", "epoch_s", "peak_rss_2_epoch_mb"])
    print()
    print_table(runs, COLUMNS)


COLUMNS = ["method", "dataset", "epsilon", "status", "total_s", "peak_rss_mb", "one_way_tv_mean",
           "two_way_tv_mean", "association_mad", "tstr_accuracy", "trtr_accuracy"]

if __name__ == "__main__":
    main()
