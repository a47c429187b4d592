"""twinify: differentially private synthetic twins of sensitive tables.

Importing twinify loads no plugins; they are discovered on first use.
"""

from __future__ import annotations

from typing import Any

from twinify.hookspecs import PLUGIN_API_VERSION, hookimpl

__all__ = [
    "PLUGIN_API_VERSION",
    "ColumnSchema",
    "PrivacyBudget",
    "PrivacyReport",
    "Schema",
    "TwinModel",
    "__version__",
    "fit",
    "hookimpl",
    "load",
    "read_schema",
    "read_table",
    "rubins_rules",
    "write_table",
]

_LAZY = {
    "fit": "twinify.api",
    "load": "twinify.api",
    "TwinModel": "twinify.api",
    "Schema": "twinify.schema",
    "ColumnSchema": "twinify.schema",
    "read_schema": "twinify.schema",
    "PrivacyBudget": "twinify.privacy",
    "PrivacyReport": "twinify.privacy",
    "rubins_rules": "twinify.rubin",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name == "__version__":
        from twinify.persistence import twinify_version

        return twinify_version()
    if name in ("read_table", "write_table"):
        return _table_function(name)
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'twinify' has no attribute {name!r}")


def _table_function(name: str) -> Any:
    import twinify.tableio as tableio
    from twinify.plugin import get_registry

    function = getattr(tableio, name)

    def with_installed_plugins(*args: Any, **kwargs: Any) -> Any:
        return function(*args, registry=get_registry(), **kwargs)

    with_installed_plugins.__name__ = name
    with_installed_plugins.__doc__ = function.__doc__
    return with_installed_plugins
