"""Fake third-party twinify plugin for the plugin-manager tests: implements twinify_reader instead of twinify_readers."""

from twinify import hookimpl
from twinify.types import DataReader, DataWriter


@hookimpl
def twinify_reader():
    yield DataReader(name="misspelled", suffixes=(".misspelled",), summary="never loaded", read=print)
