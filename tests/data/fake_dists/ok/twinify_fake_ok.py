"""Fake third-party twinify plugin for the plugin-manager tests: loads and provides a TSV reader and writer."""

from __future__ import annotations

import pandas as pd

from twinify import hookimpl
from twinify.types import DataReader, DataWriter


def read_tsv(path: str) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def write_tsv(frame: pd.DataFrame, path: str) -> None:
    frame.to_csv(path, sep="\t", index=False)


@hookimpl
def twinify_readers():
    yield DataReader(name="tsv", suffixes=(".tsv",), summary="tab-separated values", read=read_tsv)


@hookimpl
def twinify_writers():
    yield DataWriter(name="tsv", suffixes=(".tsv",), summary="tab-separated values", write=write_tsv)
