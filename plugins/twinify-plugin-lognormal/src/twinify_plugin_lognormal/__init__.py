"""twinify plugin: a LogNormal feature distribution for skewed positive amounts."""

from __future__ import annotations

from twinify import hookimpl
from twinify_plugin_lognormal.distribution import LOGNORMAL

__all__ = ["LOGNORMAL", "twinify_distributions"]


@hookimpl
def twinify_distributions():
    """Provide the ``lognormal`` distribution (alias ``log-normal``)."""
    yield LOGNORMAL
