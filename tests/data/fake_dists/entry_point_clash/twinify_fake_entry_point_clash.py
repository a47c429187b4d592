"""Fake third-party twinify plugin for the plugin-manager tests: its entry point is named csv, like a built-in."""

from twinify import hookimpl
from twinify.types import DataReader, DataWriter


@hookimpl
def twinify_readers():
    yield DataReader(name="csv2", suffixes=(".csv2",), summary="never loaded", read=print)
