"""Fake third-party twinify plugin for the plugin-manager tests: its hook yields a dict instead of a record."""

from twinify import hookimpl


@hookimpl
def twinify_readers():
    yield {"name": "dict", "suffixes": [".dict"]}
