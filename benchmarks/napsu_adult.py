"""NAPSU-MQ on discrete Adult with automatic query selection: time, memory, two-way TV.

Usage: python benchmarks/napsu_adult.py [--data FOLDER] [--epsilon 1] [--seeds 0 1 2]

Runs ``twinify napsu adult_disc_train.csv auto PREFIX`` with delta 1e-9 and the
add/remove relation. Every column's categories are public: the schema is built from
private-pgm's published domain sizes. The synthetic rows are scored by the mean
total variation distance of all two-way marginals against the test split, and for
reference against the training split.

Two reference points print first: the training split's own distance to the test
split, and a non-private tree model, which is what MST-style selection aims at
without privacy noise: the spanning tree with the largest L1 distances from
independence, fitted exactly to the training split's two-way marginals, sampled
with as many rows as the training split.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from napsu_common import data_folder, machine, mean_two_way_tv, parse_arguments, run_seeds


def write_schema(domain_file: Path, path: Path) -> None:
    """Write a schema declaring categories 0..k-1 for every column of the domain file."""
    sizes = json.loads(domain_file.read_text())
    blocks = [
        f'[columns."{name}"]\ntype = "categorical"\ncategories = {list(range(size))}\n'
        for name, size in sizes.items()
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")


def non_private_tree(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Sample rows from the exact tree model of ``train`` (no privacy), as described above."""
    columns = list(train.columns)
    codes = {name: pd.factorize(train[name], sort=True) for name in columns}

    def joint(first: str, second: str) -> np.ndarray:
        table = pd.crosstab(codes[first][0], codes[second][0]).to_numpy(dtype=float)
        return table / table.sum()

    scores = {}
    for first, second in itertools.combinations(columns, 2):
        table = joint(first, second)
        scores[first, second] = np.abs(table - np.outer(table.sum(1), table.sum(0))).sum()
    component = {name: name for name in columns}

    def find(name: str) -> str:
        while component[name] != name:
            name = component[name]
        return name

    neighbours: dict[str, list[str]] = {name: [] for name in columns}
    for first, second in sorted(scores, key=scores.get, reverse=True):
        if find(first) != find(second):
            component[find(first)] = find(second)
            neighbours[first].append(second)
            neighbours[second].append(first)

    generator = np.random.default_rng(seed)
    size = len(train)
    root = columns[0]
    root_codes, root_values = codes[root]
    probabilities = np.bincount(root_codes) / size
    sampled = {root: generator.choice(len(root_values), size=size, p=probabilities)}
    queue = [root]
    for parent in queue:
        for child in neighbours[parent]:
            if child in sampled:
                continue
            table = joint(parent, child)
            child_codes = np.empty(size, dtype=np.int64)
            for value in np.unique(sampled[parent]):
                rows = np.flatnonzero(sampled[parent] == value)
                conditional = table[value] / table[value].sum()
                child_codes[rows] = generator.choice(table.shape[1], size=len(rows), p=conditional)
            sampled[child] = child_codes
            queue.append(child)
    return pd.DataFrame({name: codes[name][1][sampled[name]] for name in columns})


def main() -> None:
    args = parse_arguments(__doc__.splitlines()[0])
    folder = data_folder(args.data)
    train = pd.read_csv(folder / "adult_disc_train.csv")
    test = pd.read_csv(folder / "adult_disc_test.csv")
    print(f"machine: {machine()}")
    print(f"training split against test split: mean two-way TV {mean_two_way_tv(train, test):.4f}")
    tree = non_private_tree(train, seed=0)
    print(
        f"non-private tree model: mean two-way TV {mean_two_way_tv(tree, test):.4f} against test, "
        f"{mean_two_way_tv(tree, train):.4f} against train"
    )

    with tempfile.TemporaryDirectory() as workdir:
        schema = Path(workdir) / "adult.toml"
        write_schema(folder / "adult_pgm_discretized-domain.json", schema)
        run_seeds(args, folder / "adult_disc_train.csv", "auto", schema, test, train)


if __name__ == "__main__":
    main()
