"""Fake third-party twinify plugin for the plugin-manager tests: provides a reader named csv, like the built-in."""

from twinify import hookimpl
from twinify.types import DataReader, DataWriter


@hookimpl
def twinify_readers():
    yield DataReader(name="csv", suffixes=(".csv",), summary="a second CSV reader", read=print)
