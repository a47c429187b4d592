"""Placeholder until implemented."""

from twinify import hookimpl


@hookimpl
def twinify_distribution_wrappers():
    yield from ()
