"""Fake third-party twinify plugin for the plugin-manager tests: its entry point names a class, not a module."""

from twinify import hookimpl
from twinify.types import DataReader, DataWriter


class Plugin:
    @hookimpl
    def twinify_readers(self):
        yield DataReader(name="classy", suffixes=(".classy",), summary="never loaded", read=print)
