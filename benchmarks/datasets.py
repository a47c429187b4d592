"""The benchmark data sets: training and test files, target column and public domain."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import attrs

from common import data_dir


@attrs.frozen
class Dataset:
    """One benchmark table.

    Attributes:
        name: Short name used in result files.
        train: Training file name in the data folder.
        test: Test file name in the data folder.
        target: Column the classifiers predict.
        discrete: Whether every column is compared as categorical.
    """

    name: str
    train: str
    test: str
    target: str
    discrete: bool

    def train_path(self) -> Path:
        """Return the path of the training file."""
        return data_dir() / self.train

    def test_path(self) -> Path:
        """Return the path of the test file."""
        return data_dir() / self.test


ADULT_RAW = Dataset("adult_raw", "adult_raw_train.csv", "adult_raw_test.csv", "income", discrete=False)
PUMS = Dataset("pums", "PUMS_train.csv", "PUMS_test.csv", "married", discrete=False)
ADULT_DISC = Dataset("adult_disc", "adult_disc_train.csv", "adult_disc_test.csv", "income>50K", discrete=True)
ADULT_DISC_STR = Dataset(
    "adult_disc_str", "adult_disc_str_train.csv", "adult_disc_str_test.csv", "income>50K", discrete=True
)
PUMS_CAT = Dataset("pums_cat", "PUMS_cat_train.csv", "PUMS_cat_test.csv", "married", discrete=True)
# The same tables coded 0..k-1, for twinify 2.0.0's NAPSU-MQ, which rejects text categories.
ADULT_DISC_DENSE = Dataset(
    "adult_disc_dense", "adult_disc_dense_train.csv", "adult_disc_dense_test.csv", "income>50K", discrete=True
)
PUMS_CAT_DENSE = Dataset(
    "pums_cat_dense", "PUMS_cat_dense_train.csv", "PUMS_cat_dense_test.csv", "married", discrete=True
)


def public_domain(dataset: Dataset) -> dict[str, list[str]]:
    """Return each column's categories, treated as public by every tool in the benchmark.

    The integer-coded Adult table uses private-pgm's published domain sizes (codes
    0..size-1); the string-coded Adult table the same codes prefixed with ``c``.
    Other tables use the values seen in the training and test files.
    """
    sizes_file = data_dir() / "adult_pgm_discretized-domain.json"
    if dataset.name in ("adult_disc", "adult_disc_str"):
        sizes = json.loads(sizes_file.read_text())
        prefix = "c" if dataset.name == "adult_disc_str" else ""
        return {column: [f"{prefix}{code}" for code in range(size)] for column, size in sizes.items()}

    values: dict[str, set[str]] = {}
    for path in (dataset.train_path(), dataset.test_path()):
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                for column, value in row.items():
                    values.setdefault(column, set()).add(value)
    return {column: sorted(found) for column, found in values.items()}


def write_domain(dataset: Dataset, path: Path) -> Path:
    """Write :func:`public_domain` as JSON to ``path``."""
    path.write_text(json.dumps(public_domain(dataset)))
    return path
