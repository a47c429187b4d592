"""Placeholder until implemented."""

from twinify import hookimpl


@hookimpl
def twinify_backends():
    yield from ()
