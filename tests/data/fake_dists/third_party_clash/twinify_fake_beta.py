"""Fake third-party twinify plugin for the plugin-manager tests: provides a writer named fake, as twinify-fake-alpha does."""

from twinify import hookimpl
from twinify.types import DataReader, DataWriter


@hookimpl
def twinify_writers():
    yield DataWriter(name="fake", suffixes=(".fake",), summary="writer beta", write=print)
