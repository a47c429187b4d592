"""Shared steps of the NAPSU-MQ benchmarks: a timed fit in its own process, and scoring.

Each fit runs as ``python -m twinify napsu ...`` in a child process. Its wall time
comes from a monotonic clock. Its CPU time (user plus system) and peak memory come
from the child's resource usage as ``os.wait4`` returns it, where ``ru_maxrss`` is
in KiB on Linux. On a machine shared with other jobs the wall time grows much more
than the CPU time.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def data_folder(option: str | None) -> Path:
    """Return the folder of the public data sets: ``--data``, TWINIFY_SHARED_DATA, or the default."""
    folder = Path(option or os.environ.get("TWINIFY_SHARED_DATA") or DEFAULT_DATA)
    if not folder.is_dir():
        sys.exit(f"data folder {folder} not found; pass --data or set TWINIFY_SHARED_DATA")
    return folder


def timed_fit(arguments: list[str]) -> dict:
    """Run ``twinify napsu ARGUMENTS`` in a child process; return time, memory and status."""
    command = [sys.executable, "-m", "twinify", "napsu", *arguments]
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    process.stdout.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"the fit failed with exit status {code}:\n{output}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "command": " ".join(command[1:]),
        "log": output,
    }


def mean_two_way_tv(synthetic: pd.DataFrame, reference: pd.DataFrame) -> float:
    """Return the mean total variation distance over all pairs of columns.

    TV = ½ Σ |p − q| over the cells of the pair's joint table; values are compared
    as strings, so integer codes and labels both work.
    """
    distances = []
    for first, second in itertools.combinations(reference.columns, 2):
        p = _joint(synthetic, first, second)
        q = _joint(reference, first, second)
        p, q = p.align(q, fill_value=0.0)
        distances.append(0.5 * float(np.abs(p.to_numpy() - q.to_numpy()).sum()))
    return float(np.mean(distances))


def _joint(frame: pd.DataFrame, first: str, second: str) -> pd.Series:
    keys = frame[first].astype(str) + "\x1f" + frame[second].astype(str)
    return keys.value_counts(normalize=True)


def machine() -> str:
    """Return a one-line description of this machine."""
    processor = platform.processor() or platform.machine()
    return f"{processor}, {os.cpu_count()} cores, Python {platform.python_version()}"


def parse_arguments(description: str) -> argparse.Namespace:
    """Parse the options every NAPSU-MQ benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default=None, help="folder of the public data sets")
    parser.add_argument("--epsilon", type=float, default=1.0, help="privacy parameter epsilon")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one fit per seed")
    parser.add_argument("--inference", default="laplace", help="the backend's --inference option")
    return parser.parse_args()


def run_seeds(
    args: argparse.Namespace,
    data_file: Path,
    model: str,
    schema: Path,
    test: pd.DataFrame,
    train: pd.DataFrame | None = None,
) -> None:
    """Fit once per seed (delta 1e-9, add/remove) and print time, memory and TV distances."""
    prefix_folder = schema.parent
    for seed in args.seeds:
        prefix = prefix_folder / f"fit{seed}"
        flags = ["--epsilon", str(args.epsilon), "--delta", "1e-9", "--relation", "add-remove"]
        flags += ["--schema", str(schema), "--seed", str(seed), "--inference", args.inference]
        run = timed_fit([str(data_file), model, str(prefix), *flags, "--quiet"])
        synthetic = pd.read_csv(f"{prefix}.csv")
        scores = f"mean two-way TV {mean_two_way_tv(synthetic, test):.4f} against test"
        if train is not None:
            scores += f", {mean_two_way_tv(synthetic, train):.4f} against train"
        print(
            f"seed {seed}: {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU, "
            f"peak {run['peak_rss_mb']:.0f} MB, {scores}"
        )
    print(f"command: {run['command']}")
