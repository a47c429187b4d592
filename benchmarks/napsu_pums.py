"""NAPSU-MQ on categorical PUMS with a user query file: time, memory, two-way TV.

Usage: python benchmarks/napsu_pums.py [--data FOLDER] [--epsilon 1] [--seeds 0 1 2]

Runs ``twinify napsu PUMS_cat_train.csv examples/pums_cat.queries PREFIX`` (all
one-way and four two-way marginals) with delta 1e-9 and the add/remove relation.
The categories are public: the schema lists the values found in the train and test
files, as the peer benchmark does. Scores are the mean total variation distance of
all two-way marginals against the test split.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from napsu_common import data_folder, machine, mean_two_way_tv, parse_arguments, run_seeds

QUERIES = Path(__file__).resolve().parents[1] / "examples" / "pums_cat.queries"


def write_schema(frames: list[pd.DataFrame], path: Path) -> None:
    """Write a schema whose categories are the values found in ``frames``."""
    blocks = []
    for name in frames[0].columns:
        values = sorted({str(value) for frame in frames for value in frame[name]})
        blocks.append(
            f'[columns."{name}"]\ntype = "categorical"\ncategories = {json.dumps(values)}\n'
        )
    path.write_text("\n".join(blocks), encoding="utf-8")


def main() -> None:
    args = parse_arguments(__doc__.splitlines()[0])
    folder = data_folder(args.data)
    train = pd.read_csv(folder / "PUMS_cat_train.csv")
    test = pd.read_csv(folder / "PUMS_cat_test.csv")
    print(f"machine: {machine()}")
    print(f"training split against test split: mean two-way TV {mean_two_way_tv(train, test):.4f}")

    with tempfile.TemporaryDirectory() as workdir:
        schema = Path(workdir) / "pums.toml"
        write_schema([train, test], schema)
        run_seeds(args, folder / "PUMS_cat_train.csv", str(QUERIES), schema, test)


if __name__ == "__main__":
    main()
