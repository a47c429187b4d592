"""Run every benchmark in one go and write docs/benchmarks.md.

Usage: python benchmarks/run_all.py [--skip peers twinify2 twinify scaling]

Runs, in order: run_peers.py (MST and AIM), run_twinify2.py (twinify 2.0.0),
run_twinify.py (this checkout) and run_scaling.py, each with its defaults, then
make_docs.py. All of them run on the same machine in one session, so the ratios in
docs/benchmarks.md compare figures measured side by side. Expect several hours on
two cores; twinify 2.0.0's DPVI alone takes minutes per epoch on Adult.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from common import BENCHMARKS

STEPS = {
    "peers": ["run_peers.py", "--repeats", "3", "--datasets", "pums_cat"],
    "peers-adult": ["run_peers.py", "--datasets", "adult_disc"],
    "twinify2": ["run_twinify2.py"],
    "twinify": ["run_twinify.py"],
    "scaling": ["run_scaling.py"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", nargs="*", default=[], choices=list(STEPS), help="steps to leave out")
    args = parser.parse_args()

    for name, (script, *arguments) in STEPS.items():
        if name in args.skip:
            continue
        print(f"== {name}: {script} {' '.join(arguments)}", flush=True)
        subprocess.run([sys.executable, BENCHMARKS / script, *arguments], check=True)
    subprocess.run([sys.executable, BENCHMARKS / "make_docs.py"], check=True)


if __name__ == "__main__":
    main()
