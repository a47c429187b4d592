"""Helpers shared by the benchmark scripts: paths, virtual environments and timed jobs.

Every fit runs in its own subprocess so that its wall time and peak memory
(``ru_maxrss`` of that child and the children it waited for, from ``os.wait4``) are
measured apart from the benchmark driver.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO_ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
ENVS = BENCHMARKS / ".envs"

#: Default location of the public data sets: ../shared/data next to the checkout.
DATA_ENV_VAR = "TWINIFY_BENCH_DATA"


def data_dir() -> Path:
    """Return the folder of the public data sets (``$TWINIFY_BENCH_DATA`` overrides it)."""
    configured = os.environ.get(DATA_ENV_VAR)
    folder = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"
    if not (folder / "adult_raw_train.csv").is_file():
        sys.exit(f"benchmark data not found in {folder}; set {DATA_ENV_VAR} to the folder of adult_raw_train.csv")
    return folder


@attrs.frozen
class JobResult:
    """Outcome of one subprocess: exit status, wall time, peak memory and output."""

    command: tuple[str, ...]
    returncode: int | None
    wall_s: float
    peak_rss_mb: float
    timed_out: bool
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """Return whether the job finished in time with status 0."""
        return not self.timed_out and self.returncode == 0

    def tail(self, lines: int = 15) -> str:
        """Return the last lines of standard error, for failure messages."""
        return "\n".join(self.stderr.strip().splitlines()[-lines:])


def run_job(
    command: Sequence[str],
    *,
    timeout_s: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> JobResult:
    """Run ``command``, measuring wall time and the peak resident memory of the child.

    On timeout the whole process group is killed and ``timed_out`` is set; the wall
    time then equals the timeout.
    """
    command = tuple(str(part) for part in command)
    full_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            command, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            start_new_session=True,
        )
        timed_out = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout_s:
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                timed_out = True
                break
            time.sleep(0.2)
        wall = time.perf_counter() - start
        stdout.seek(0)
        stderr.seek(0)
        output, errors = stdout.read(), stderr.read()
    # Mark the Popen object as reaped so that its destructor does not wait again.
    process.returncode = os.waitstatus_to_exitcode(status)
    return JobResult(
        command=command,
        returncode=None if timed_out else process.returncode,
        wall_s=min(wall, timeout_s) if timed_out else wall,
        # ru_maxrss is in kilobytes on Linux.
        peak_rss_mb=usage.ru_maxrss / 1024,
        timed_out=timed_out,
        stdout=output,
        stderr=errors,
    )


def ensure_env(name: str, install_args: Sequence[str], check_import: str) -> Path:
    """Create ``benchmarks/.envs/NAME`` with pip installing ``install_args``, once.

    The environment is reused when ``python -c check_import`` already succeeds in it.
    Returns the environment's Python executable.
    """
    folder = ENVS / name
    python = folder / "bin" / "python"
    # Checks run from the environment's folder so that this checkout's twinify
    # package does not shadow the installed one.
    check = [python, "-c", check_import]
    if python.exists() and subprocess.run(check, capture_output=True, cwd=folder).returncode == 0:
        return python
    print(f"creating the {name} environment in {folder} (a few minutes)", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", *install_args], check=True)
    subprocess.run(check, check=True, cwd=folder)
    return python


def twinify2_python() -> Path:
    """Return the Python of the environment holding the original twinify 2.0.0."""
    constraints = BENCHMARKS / "envs" / "twinify2-constraints.txt"
    return ensure_env("twinify2", ["twinify==2.0.0", "-c", str(constraints)], "import twinify.cli")


def peers_python() -> Path:
    """Return the Python of the environment holding OpenDP's MST and AIM."""
    requirements = BENCHMARKS / "envs" / "peers-requirements.txt"
    return ensure_env("peers", ["-r", str(requirements)], "import opendp.extras.mbi, mbi")


def machine_info() -> dict[str, Any]:
    """Describe the machine and software the figures were measured on."""
    info: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }
    for package in ("jax", "numpyro", "d3p", "twinify"):
        info[package] = _version(package)
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/NAME.json`` with the machine description added."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"machine": machine_info(), "command": " ".join(sys.argv), **payload}
    path.write_text(json.dumps(payload, indent=2))
    return path


def read_results(name: str) -> dict[str, Any] | None:
    """Read ``benchmarks/results/NAME.json``, or None when that benchmark has not run."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def peer_result_names() -> list[str]:
    """Return the names of the peer result files (``peers*.json``), oldest first."""
    paths = sorted(RESULTS.glob("peers*.json"), key=lambda path: path.stat().st_mtime)
    return [path.stem for path in paths]


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print ``rows`` as an aligned plain-text table."""
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(row[i]) for row in cells)) for i, column in enumerate(columns)]
    print("  ".join(column.ljust(width) for column, width in zip(columns, widths)))
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
