"""The benchmark settings shared by twinify and twinify 2.0.0, and the scoring of one run."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from common import RESULTS, JobResult, run_job
from datasets import ADULT_DISC_STR, ADULT_RAW, PUMS, PUMS_CAT, Dataset
from quality import quality, read_csv

EPSILONS = (1.0, 4.0)
#: DPVI runs compare with twinify 2.0.0, whose only relation is substitution.
DPVI_DELTA = 1e-5
DPVI_RELATION = "substitution"
#: NAPSU-MQ runs compare with MST and AIM, measured at add/remove with delta 1e-9.
NAPSU_DELTA = 1e-9
NAPSU_RELATION = "add-remove"
MODELS = Path(__file__).resolve().parent / "models"


@attrs.frozen
class Setting:
    """One fit: method, data set and privacy parameters."""

    method: str
    dataset: Dataset
    epsilon: float
    delta: float
    relation: str

    @property
    def model_file(self) -> Path:
        """Return the DPVI model file of the data set."""
        return MODELS / f"{self.dataset.name}.model"

    def label(self) -> dict[str, Any]:
        """Return the fields that identify the setting in a result row."""
        return {
            "method": self.method, "dataset": self.dataset.name, "epsilon": self.epsilon,
            "delta": self.delta, "relation": self.relation,
        }


def settings(epsilons=EPSILONS) -> list[Setting]:
    """Return every DPVI and NAPSU-MQ setting of the side-by-side benchmark."""
    found = []
    for epsilon in epsilons:
        for dataset in (ADULT_RAW, PUMS):
            found.append(Setting("dpvi", dataset, epsilon, DPVI_DELTA, DPVI_RELATION))
        for dataset in (ADULT_DISC_STR, PUMS_CAT):
            found.append(Setting("napsu", dataset, epsilon, NAPSU_DELTA, NAPSU_RELATION))
    return found


def job_status(job: JobResult, timeout: float) -> str:
    """Return "ok", "did not finish in N s", "stopped by signal N" or "failed (exit N): <last line>"."""
    if job.timed_out:
        return f"did not finish in {timeout:.0f} s"
    if job.returncode is not None and job.returncode < 0:
        return f"stopped by signal {-job.returncode} after {job.wall_s:.0f} s"
    if job.returncode != 0:
        lines = job.tail(1) or job.stdout.strip().splitlines()[-1:] or ["no output"]
        return f"failed (exit {job.returncode}): {lines[-1][:200]}"
    return "ok"


def keep_synthetic(tool: str, setting: Setting, synthetic_path: Path) -> Path:
    """Copy a synthetic file to benchmarks/results/synthetic/ for later inspection."""
    folder = RESULTS / "synthetic"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{tool.replace(' ', '-')}-{setting.method}-{setting.dataset.name}-{setting.epsilon:g}.csv"
    shutil.copyfile(synthetic_path, target)
    return target


def score(setting: Setting, synthetic_path: Path, test_dataset: Dataset | None = None) -> dict[str, Any]:
    """Return the quality figures of a synthetic file against the setting's test file.

    ``test_dataset`` replaces the setting's data set for reading train and test rows,
    for a tool that needs another coding of the same table.
    """
    dataset = test_dataset or setting.dataset
    train = read_csv(dataset.train_path())
    test = read_csv(dataset.test_path())
    synthetic = read_csv(synthetic_path)
    return quality(train, test, synthetic, dataset.target, categorical="all" if dataset.discrete else None)


def measure_epochs(
    command_for: Callable[[int], list[str]], timeout: float, cwd: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Time a 1-epoch and a 2-epoch DPVI run; their difference is the time of one epoch.

    ``command_for(epochs)`` returns the command line for that many epochs. The rest
    of the 1-epoch run's time (start-up, accounting, data handling) is ``overhead_s``.
    """
    row: dict[str, Any] = {}
    walls = {}
    for epochs in (1, 2):
        job = run_job(command_for(epochs), timeout_s=timeout, cwd=cwd, env=env)
        row[f"wall_{epochs}_epoch_s"] = job.wall_s
        row[f"peak_rss_{epochs}_epoch_mb"] = job.peak_rss_mb
        if not job.ok:
            row["status"] = f"{epochs} epoch(s): {job_status(job, timeout)}"
            return row
        walls[epochs] = job.wall_s
    row["status"] = "ok"
    row["epoch_s"] = walls[2] - walls[1]
    row["overhead_s"] = walls[1] - row["epoch_s"]
    return row
