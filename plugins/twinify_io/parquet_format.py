"""Parquet reader and writer (placeholder until implemented)."""

from twinify import hookimpl


@hookimpl
def twinify_readers():
    yield from ()
