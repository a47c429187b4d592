"""Fake third-party twinify plugin for the plugin-manager tests: its hook raises."""

from twinify import hookimpl


@hookimpl
def twinify_readers():
    raise RuntimeError("reader table unavailable")
