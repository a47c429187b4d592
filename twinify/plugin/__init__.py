"""Plugin machinery: the manager, the registry and the cached default instances.

Nothing is discovered when twinify is imported. :func:`get_registry` loads the
``twinify`` entry points the first time it is called and caches the result.
"""

from __future__ import annotations

import functools

from twinify.hookspecs import hookimpl
from twinify.plugin.manager import LoadPolicy, PluginInfo, TwinifyPluginManager
from twinify.plugin.registry import Registry

__all__ = [
    "LoadPolicy",
    "PluginInfo",
    "Registry",
    "TwinifyPluginManager",
    "get_registry",
    "hookimpl",
    "load_registry",
    "reset_registry",
]


def load_registry(policy: LoadPolicy | None = None) -> Registry:
    """Discover and load the installed plugins into a new registry (not cached)."""
    manager = TwinifyPluginManager(policy or LoadPolicy.from_environment())
    manager.load_entry_points()
    return Registry(manager)


@functools.cache
def get_registry() -> Registry:
    """Return the registry of installed plugins, loading them on first use."""
    return load_registry()


def reset_registry() -> None:
    """Forget the cached registry, so the next call rediscovers plugins."""
    get_registry.cache_clear()
