"""Fake third-party twinify plugin for the plugin-manager tests: its import fails."""

import twinify_fake_missing_dependency  # noqa: F401

from twinify import hookimpl


@hookimpl
def twinify_distributions():
    yield from ()
