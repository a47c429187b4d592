"""MST and AIM (OpenDP 0.16.0 on private-pgm's mbi 1.1.0) on the discrete benchmark tables.

Usage: python benchmarks/run_peers.py [--epsilons 1 4] [--datasets pums_cat adult_disc]
       [--algorithms mst aim] [--repeats N] [--timeout SECONDS]

Each fit runs in the ``benchmarks/.envs/peers`` environment (created on first use) at
(epsilon, delta=1e-9) under the add/remove-one-row relation. Rows are drawn
independently from each fitted model (see benchmarks/peers/peer_synth.py); the
figures of mbi's own sampler are recorded beside them. Writes
benchmarks/results/peers.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


from common import BENCHMARKS, peers_python, print_table, read_results, run_job, write_results
from datasets import ADULT_DISC, PUMS_CAT, write_domain
from quality import quality, read_csv
from runs import job_status

DATASETS = {dataset.name: dataset for dataset in (PUMS_CAT, ADULT_DISC)}
DELTA = 1e-9
RELATION = "add-remove"


def run_peer(
    algorithm: str, dataset, epsilon: float, seed: int, timeout: float, workdir: Path, thirds: bool = False
) -> list[dict]:
    """Fit one peer once and return its result rows (independent and mbi sampler)."""
    domain = write_domain(dataset, workdir / f"{dataset.name}.domain.json")
    prefix = workdir / f"{dataset.name}-{algorithm}-{epsilon:g}-{seed}"
    command = [
        peers_python(), BENCHMARKS / "peers" / "peer_synth.py", algorithm, dataset.train_path(), domain, prefix,
        "--epsilon", epsilon, "--delta", DELTA, "--seed", seed, *(["--thirds"] if thirds else []),
    ]
    job = run_job(command, timeout_s=timeout, cwd=workdir)
    base = {
        "tool": algorithm.upper() + (" (thirds)" if thirds else ""), "dataset": dataset.name, "epsilon": epsilon, "delta": DELTA,
        "relation": RELATION, "seed": seed, "wall_s": job.wall_s, "peak_rss_mb": job.peak_rss_mb,
    }
    if not job.ok:
        return [{**base, "status": job_status(job, timeout)}]

    timings = json.loads(job.stdout.strip().splitlines()[-1])
    train = read_csv(dataset.train_path())
    test = read_csv(dataset.test_path())
    rows = []
    samplers = (("independent rows", ".csv", "model_gap_independent"),
                ("mbi 1.1.0 sampler", ".mbi-round.csv", "model_gap_mbi"))
    for sampler, suffix, gap in samplers:
        synthetic = read_csv(f"{prefix}{suffix}")
        rows.append({
            **base, "status": "ok", "sampler": sampler,
            "fit_s": timings["fit_s"], "generate_s": timings["generate_s"] if suffix == ".csv" else None,
            # Mean TV between the model's own two-way marginals and the sampled rows'.
            "model_gap_two_way": timings.get(gap, {}).get("mean"),
            # OpenDP's rounding failures retried with a slightly smaller rho (peer_synth.py).
            "attempts": timings.get("attempts", 1),
            **quality(train, test, synthetic, dataset.target, categorical="all"),
        })
    return rows


def real_floor(dataset) -> dict:
    """Return the figures of the real training rows themselves, the floor set by sampling."""
    train = read_csv(dataset.train_path())
    test = read_csv(dataset.test_path())
    return {"tool": "real training data", "dataset": dataset.name, "status": "ok",
            **quality(train, test, train, dataset.target, categorical="all")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--algorithms", nargs="+", default=["mst", "aim"], choices=["mst", "aim"])
    parser.add_argument("--repeats", type=int, default=1, help="fits per setting, with seeds 0..N-1")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per fit")
    parser.add_argument("--thirds", action="store_true",
                        help="MST with a third of the budget per step, as in the MST paper")
    parser.add_argument("--results", default="peers",
                        help="name of the result file (benchmarks/results/NAME.json); make_docs.py "
                        "reads every file whose name starts with peers")
    args = parser.parse_args()

    previous = read_results(args.results) or {}
    results = [row for row in previous.get("runs", []) if not _selected(row, args)]
    floors = {row["dataset"]: row for row in previous.get("real_floor", [])}
    with tempfile.TemporaryDirectory(prefix="twinify-peers-") as workdir:
        for name in args.datasets:
            floors[name] = real_floor(DATASETS[name])
            for algorithm in args.algorithms:
                for epsilon in args.epsilons:
                    for seed in range(args.repeats):
                        rows = run_peer(algorithm, DATASETS[name], epsilon, seed, args.timeout, Path(workdir),
                                        args.thirds)
                        results.extend(rows)
                        print_table(rows, COLUMNS)
                        sys.stdout.flush()
                        write_results(args.results, {"runs": results, "real_floor": list(floors.values())})

    print()
    print_table(list(floors.values()) + results, COLUMNS)


def _selected(row: dict, args: argparse.Namespace) -> bool:
    # A rerun replaces only the settings it covers and keeps the other recorded runs.
    return (row["dataset"] in args.datasets and row["tool"].split()[0].lower() in args.algorithms
            and row["epsilon"] in args.epsilons)


COLUMNS = ["tool", "sampler", "dataset", "epsilon", "seed", "status", "fit_s", "wall_s", "peak_rss_mb",
           "one_way_tv_mean", "two_way_tv_mean", "association_mad", "tstr_accuracy", "trtr_accuracy"]

if __name__ == "__main__":
    main()
