"""Fake third-party twinify plugin for the plugin-manager tests: its hook takes an argument the spec lacks."""

from twinify import hookimpl
from twinify.types import DataReader, DataWriter


@hookimpl
def twinify_readers(config):
    yield DataReader(name="signature", suffixes=(".signature",), summary="never loaded", read=print)
