"""Write docs/benchmarks.md from the JSON files under benchmarks/results/.

Usage: python benchmarks/make_docs.py

Figures that are missing from the results (a benchmark not run yet, or twinify's
backend not installed when it ran) appear as "not yet measured".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from statistics import mean
from typing import Any

from common import REPO_ROOT, peer_result_names, read_results
from runs import settings

NOT_MEASURED = "not yet measured"
#: Mean two-way TV distances measured with upstream private-pgm at epsilon 1, delta
#: 1e-9, against the test split, on this project's machine before this benchmark.
REFERENCE_TWO_WAY = {("MST", "adult_disc"): 0.035, ("AIM", "adult_disc"): 0.026,
                     ("MST", "pums_cat"): 0.17, ("AIM", "pums_cat"): 0.12}
#: The NAPSU-MQ data sets and the peers' coding of the same table.
PEER_DATASET = {"adult_disc_str": "adult_disc", "pums_cat": "pums_cat"}
QUALITY = ["one_way_tv_mean", "two_way_tv_mean", "association_mad", "tstr_accuracy"]


def fmt(value: Any, digits: int = 3) -> str:
    """Format a figure for a table cell."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def ratio(ours: Any, other: Any) -> str:
    """Return ours/other, or "not yet measured" when twinify's figure is missing."""
    if not isinstance(ours, int | float) or isinstance(ours, bool):
        return NOT_MEASURED
    if not isinstance(other, int | float) or other == 0:
        return "-"
    return f"{ours / other:.2f}"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Return a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def averaged(runs: list[dict], keys: Sequence[str]) -> dict[tuple, dict[str, Any]]:
    """Average successful runs over seeds, keyed by (tool, sampler, dataset, epsilon)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        if run.get("status") == "ok":
            groups[(run["tool"], run.get("sampler"), run["dataset"], run["epsilon"])].append(run)
    result = {}
    for key, members in groups.items():
        figures = {name: mean(m[name] for m in members if m.get(name) is not None)
                   for name in keys if any(m.get(name) is not None for m in members)}
        result[key] = {**figures, "repeats": len(members)}
    return result


def _run_for(runs: list[dict], **match: Any) -> dict[str, Any]:
    for run in runs:
        if all(run.get(key) == value for key, value in match.items()):
            return run
    return {}


def machine_section(results: dict[str, dict | None]) -> str:
    """Describe the machine and dates of every result file."""
    lines = ["## Machine and commands", ""]
    for name, payload in results.items():
        if payload is None:
            lines.append(f"- `{name}`: not run yet.")
            continue
        machine = payload["machine"]
        lines.append(
            f"- `{name}`: `{payload['command']}` on {machine['date']}; {machine['cpu']}, "
            f"{machine['cores']} cores, {machine['ram_gib']} GiB RAM, Python {machine['python']}, "
            f"jax {machine['jax']}, numpyro {machine['numpyro']}, twinify {machine['twinify']}."
        )
    return "\n".join(lines)


def peers_section(twinify: dict | None, peers: dict | None) -> str:
    """Compare NAPSU-MQ with MST and AIM: quality, time and the ratios."""
    if peers is None:
        return "## NAPSU-MQ beside MST and AIM\n\nThe peers benchmark has not run yet."
    peer_runs = averaged(peers["runs"], ["fit_s", "generate_s", "peak_rss_mb", "model_gap_two_way", *QUALITY])
    ours = twinify["runs"] if twinify else []
    floors = {row["dataset"]: row for row in peers.get("real_floor", [])}
    rows = []
    for ours_dataset, dataset in PEER_DATASET.items():
        for epsilon in sorted({run["epsilon"] for run in peers["runs"] if run["dataset"] == dataset}):
            mine = _run_for(ours, method="napsu", dataset=ours_dataset, epsilon=epsilon)
            rows.append(["twinify NAPSU-MQ", dataset, epsilon, 1 if "fit_s" in mine else "-",
                         mine.get("fit_s", NOT_MEASURED),
                         mine.get("peak_rss_mb", NOT_MEASURED),
                         *[mine.get(name, NOT_MEASURED) for name in QUALITY], "", ""])
            for tool in ("MST", "MST (thirds)", "AIM"):
                if not any(key[0] == tool and key[2:] == (dataset, epsilon) for key in peer_runs):
                    status = _failure(peers["runs"], tool, dataset, epsilon)
                    if status:
                        rows.append([tool, dataset, epsilon, 0, status, "-", "-", "-", "-", "-", "", ""])
                for sampler in ("independent rows", "mbi 1.1.0 sampler"):
                    peer = peer_runs.get((tool, sampler, dataset, epsilon))
                    if peer is None:
                        continue
                    rows.append([f"{tool} ({sampler})", dataset, epsilon, peer["repeats"], peer["fit_s"],
                                 peer["peak_rss_mb"], *[peer.get(name) for name in QUALITY],
                                 ratio(mine.get("two_way_tv_mean"), peer["two_way_tv_mean"]),
                                 ratio(mine.get("fit_s"), peer["fit_s"])])
        floor = floors.get(dataset)
        if floor:
            rows.append(["real training rows (sampling floor)", dataset, "-", "-", "-", "-",
                         *[floor.get(name) for name in QUALITY], "", ""])
    header = ["tool", "data", "epsilon", "fits", "fit s", "peak MB", "1-way TV", "2-way TV", "assoc. diff",
              "TSTR acc.", "2-way TV ratio twinify/peer", "fit time ratio twinify/peer"]
    return (
        "## NAPSU-MQ beside MST and AIM\n\n"
        "Add/remove-one-row relation, delta = 1e-9, every column's categories public "
        "(private-pgm's published Adult domain; for PUMS the values in the train and test "
        "files). Distances compare the synthetic rows with the test split; TSTR trains "
        "HistGradientBoostingClassifier on the synthetic rows and tests on the test split "
        "(target income>50K on Adult, married on PUMS). MST and AIM are OpenDP 0.16.0's "
        "(`opendp[mbi]`, private-pgm's mbi 1.1.0) with OpenDP's default budget split, "
        "epsilon and delta turned into zCDP rho with the bound of Canonne, Kamath and "
        "Steinke (2020). \"MST (thirds)\" gives a third of rho to each of MST's steps "
        "(one-way marginals, choosing pairs, measuring pairs) as the MST paper does, where "
        "OpenDP's default gives half to the one-way marginals and 5% to choosing pairs. "
        "Their rows are drawn independently from the fitted model; the rows "
        "of mbi 1.1.0's own sampler are shown for comparison. Peer figures are means over "
        "the fits counted in the table.\n\n"
        + table(header, rows)
        + "\n\n"
        + _model_gap_table(peer_runs)
        + "\n\n"
        + _reference_table(peer_runs)
    )


def _failure(runs: list[dict], tool: str, dataset: str, epsilon: float) -> str | None:
    for run in runs:
        if (run["tool"], run["dataset"], run["epsilon"]) == (tool, dataset, epsilon) and run["status"] != "ok":
            return run["status"].splitlines()[0][:120]
    return None


def _model_gap_table(peer_runs: dict[tuple, dict]) -> str:
    rows = [[tool, sampler, dataset, epsilon, figures.get("model_gap_two_way")]
            for (tool, sampler, dataset, epsilon), figures in sorted(peer_runs.items(), key=str)]
    return (
        "How far the sampled rows are from the fitted model itself (mean TV distance between "
        "the model's two-way marginals and those of the rows; sampling noise alone for a "
        "correct sampler):\n\n" + table(["tool", "sampler", "data", "epsilon", "mean 2-way TV to model"], rows)
    )


def _reference_table(peer_runs: dict[tuple, dict]) -> str:
    rows = []
    for (tool, dataset), reference in REFERENCE_TWO_WAY.items():
        for variant in (tool, f"{tool} (thirds)"):
            measured = peer_runs.get((variant, "independent rows", dataset, 1.0), {}).get("two_way_tv_mean")
            if measured is not None or variant == tool:
                rows.append([variant, dataset, reference, measured])
    return (
        "Check against mean two-way TV distances measured earlier on this machine with "
        "upstream private-pgm (epsilon 1, delta 1e-9, about 1.5 CPU minutes for MST and 8 "
        "for AIM on Adult):\n\n" + table(["tool", "data", "upstream private-pgm", "this run"], rows)
    )


def twinify2_section(twinify: dict | None, twinify2: dict | None) -> str:
    """Compare twinify with twinify 2.0.0: time, memory, quality, per-epoch time."""
    if twinify2 is None:
        return "## twinify beside twinify 2.0.0\n\nThe twinify 2.0.0 benchmark has not run yet."
    ours = twinify["runs"] if twinify else []
    rows = []
    for setting in settings():
        old = _run_for(twinify2["runs"], method=setting.method, dataset=setting.dataset.name,
                       epsilon=setting.epsilon) or {**setting.label(), "status": "not run yet"}
        mine = _run_for(ours, method=old["method"], dataset=old["dataset"], epsilon=old["epsilon"])
        mine_total = mine.get("total_s", NOT_MEASURED)
        rows.append([old["method"], old["dataset"], old["epsilon"], old["status"], old.get("total_s"),
                     old.get("peak_rss_mb"), old.get("two_way_tv_mean"), old.get("tstr_accuracy"),
                     mine.get("status", NOT_MEASURED), mine_total, mine.get("peak_rss_mb", NOT_MEASURED),
                     mine.get("two_way_tv_mean", NOT_MEASURED), mine.get("tstr_accuracy", NOT_MEASURED),
                     ratio(mine.get("total_s"), old.get("total_s") if old["status"] == "ok" else None),
                     ratio(mine.get("peak_rss_mb"), old.get("peak_rss_mb"))])
    header = ["method", "data", "epsilon", "2.0.0 status", "2.0.0 s", "2.0.0 peak MB", "2.0.0 2-way TV",
              "2.0.0 TSTR", "twinify status", "twinify s (fit + generate)", "twinify peak MB",
              "twinify 2-way TV", "twinify TSTR", "time ratio twinify/2.0.0", "memory ratio twinify/2.0.0"]
    epochs = _epoch_table(twinify, twinify2)
    return (
        "## twinify beside twinify 2.0.0\n\n"
        "twinify 2.0.0 from PyPI in its own environment (jax 0.4.13, numpyro 0.10.1, "
        "pandas 1.5.3). DPVI: the model files in benchmarks/models, delta 1e-5, "
        "substitution relation (twinify 2.0.0's only one), 200 epochs at sampling ratio "
        "0.01 and k = 50 mixture components (its defaults). A run that hit the time cap "
        "says so. twinify 2.0.0's NAPSU-MQ gets the integer-coded tables (it rejects "
        "text categories) and an empty query file (its query-file parser keeps line breaks "
        "in column names), so it selects queries with MST and spends its budget twice: "
        "its output is (2 epsilon, 2 delta)-DP under substitution, while twinify's NAPSU-MQ "
        "runs at add/remove. twinify 2.0.0 fits and generates in one process, so its "
        "time is the sum of both.\n\n"
        + table(header, rows)
        + "\n\n" + epochs
    )


def _epoch_table(twinify: dict | None, twinify2: dict) -> str:
    ours = twinify.get("epochs", []) if twinify else []
    rows, checks = [], []
    for old in twinify2.get("epochs", []):
        mine = _run_for(ours, dataset=old["dataset"])
        estimate = None
        if old.get("epoch_s") is not None:
            estimate = old["overhead_s"] + 200 * old["epoch_s"]
            full = _run_for(twinify2["runs"], method="dpvi", dataset=old["dataset"], epsilon=old["epsilon"])
            if full.get("status") == "ok":
                checks.append(f"{old['dataset']}: the full run took {full['total_s']:.0f} s against an "
                              f"estimate of {estimate:.0f} s")
        rows.append([old["dataset"], old["status"], old.get("epoch_s"), old.get("overhead_s"), estimate,
                     old.get("peak_rss_2_epoch_mb"), mine.get("epoch_s", NOT_MEASURED),
                     mine.get("peak_rss_2_epoch_mb", NOT_MEASURED), ratio(mine.get("epoch_s"), old.get("epoch_s"))])
    header = ["data", "2.0.0 status", "2.0.0 s per epoch", "2.0.0 other s",
              "2.0.0 s for 200 epochs (estimate)", "2.0.0 peak MB",
              "twinify s per epoch", "twinify peak MB", "epoch time ratio twinify/2.0.0"]
    return (
        "DPVI time per epoch (a 2-epoch run minus a 1-epoch run, epsilon 1, default "
        "settings of each tool). The estimate for 200 epochs is the other time plus 200 "
        "epochs; a full run whose estimate exceeds the cap of run_twinify2.py is only run "
        "for its short cap. On a shared machine the difference of two runs is noisy, so "
        "take the estimate as an order of magnitude"
        + (" (" + "; ".join(checks) + ")" if checks else "")
        + ":\n\n" + table(header, rows)
    )


def scaling_section(scaling: dict | None) -> str:
    """Show twinify's fit time and memory against rows and columns."""
    if scaling is None:
        return "## Scaling\n\nThe scaling benchmark has not run yet."
    rows = [[run["method"], run.get("rows"), run.get("columns"), run.get("status"), run.get("fit_s"),
             run.get("peak_rss_mb")] for run in scaling["runs"]]
    return (
        "## Scaling\n\nDPVI on rows drawn with replacement from Adult (epsilon 1, "
        "substitution); NAPSU-MQ with automatic queries on the first 5, 10 and 14 columns of "
        "discrete Adult (epsilon 1, delta 1e-9, add/remove).\n\n"
        + table(["method", "rows", "columns", "status", "fit s", "peak MB"], rows)
    )


def merged_peer_results(names: Sequence[str]) -> dict[str, Any] | None:
    """Merge peer result files, later files first, but never a failed run over a good one."""
    runs: dict[tuple, dict] = {}
    floors: dict[str, dict] = {}
    for name in names:
        payload = read_results(name)
        for run in payload["runs"]:
            key = (run["tool"], run.get("sampler"), run["dataset"], run["epsilon"], run.get("seed"))
            if run.get("status") == "ok" or runs.get(key, {}).get("status") != "ok":
                runs[key] = run
        floors.update({row["dataset"]: row for row in payload.get("real_floor", [])})
    if not names:
        return None
    return {"runs": list(runs.values()), "real_floor": list(floors.values())}


NOTES = """## Notes on the other tools

- twinify 2.0.0's DPVI does not rescale numeric columns. With the prior N(0, 10) on
  a Normal column's mean, its samples of PUMS age and income stay near 0: in a
  2-epoch check the one-way TV distance of age was 1.0 and of income 0.9. The
  `worst_columns` field of benchmarks/results/twinify2.json records the worst columns
  of a run.
- twinify 2.0.0's NAPSU-MQ rejects text categories (it converts them to integers),
  and its query-file parser keeps the line break in the last column name of every
  line but the last, so a query file of more than one line fails. Its automatic query
  selection spends the whole budget once more on top of the measurements.
- OpenDP 0.16.0's MST can fail on Adult with "insufficient budget for query: X > Y",
  X and Y differing in the last digits (floating-point rounding when the selection
  budget is split into 13 parts). peers/peer_synth.py then refits with rho lowered
  by a relative 1e-6 (1e-9 in the first recorded runs), and the JSON records the
  attempts; the fit time is that of the successful attempt.
- private-pgm's mbi 1.1.0 sampler (`synthetic_data(method="round")`) assigns each
  column by ranking rows within groups of the columns sampled before it, so its rows
  are not independent draws from the model: the table of distances to the model
  above shows the effect. For the independent sampler that distance is sampling
  noise of as many rows as the training file (800 for PUMS, 39,074 for Adult).
- OpenDP's MST with independent rows gives a mean two-way TV of about 0.066 on Adult
  at epsilon 1, against 0.035 measured earlier with upstream private-pgm, and the
  split of the budget does not change it (default split and thirds alike). The
  sampler reproduces the fitted model (distance to the model 0.014 to 0.020), so the
  difference lies in the fit. Candidates, not yet tested: OpenDP adds a null
  category to every column, its estimator runs mbi's mirror descent for 1000
  iterations, and its selection differs from upstream's.
- The first figures were taken on two cores shared with other jobs (load average 6
  to 10), so every time here is preliminary. Under that load AIM on Adult did not
  finish in an hour at epsilon 1, and twinify 2.0.0's NAPSU-MQ did not finish in 30
  minutes on Adult. On PUMS it did not finish in 30 minutes either, nor in 25
  minutes in a second try at a load average of 2 to 4.
- The peak memory of a run stopped at its cap is its peak until then: twinify 2.0.0's
  DPVI on Adult used 1.4 GB in the first 600 s of its full run, but 8.2 GB in its
  complete 1- and 2-epoch runs."""


def main() -> None:
    peer_names = peer_result_names()
    results: dict[str, dict | None] = {name: read_results(name) for name in peer_names}
    results.update({name: read_results(name) for name in ("twinify2", "twinify", "scaling")})
    page = "\n\n".join([
        "# Benchmarks",
        "Produced by `python benchmarks/run_all.py` (see benchmarks/README.md); the tables "
        "are written by `python benchmarks/make_docs.py` from benchmarks/results/*.json. "
        "Times are wall-clock seconds of each fit in its own process and memory is the "
        "peak resident set size of that process (ru_maxrss). Times measured on a machine "
        "shared with other jobs are preliminary.",
        machine_section(results),
        peers_section(results["twinify"], merged_peer_results(peer_names)),
        twinify2_section(results["twinify"], results["twinify2"]),
        scaling_section(results["scaling"]),
        NOTES,
    ]) + "\n"
    path = REPO_ROOT / "docs" / "benchmarks.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(page)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
