"""Isolated plugin managers and registries for tests.

Each call builds a fresh manager from exactly the plugins it is given: the installed
built-ins (optional), plugin modules, and fake installed distributions found in
folders (``*.dist-info`` folders with an ``entry_points.txt`` next to their modules).
The cached registry of :func:`twinify.plugin.get_registry` is never used or changed.

Example, in a plugin package's own tests::

    from twinify.testing import build_registry
    import my_plugin

    def test_registers_reader():
        registry = build_registry(modules={"my-plugin": my_plugin})
        assert registry.reader_for("table.xyz").name == "xyz"
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path

from twinify.plugin.manager import (
    ENTRY_POINT_GROUP,
    LoadPolicy,
    TwinifyPluginManager,
    builtin_entry_points,
)
from twinify.plugin.registry import Registry

STRICT = LoadPolicy(strict=True)


def entry_points_in(folders: Iterable[str | Path]) -> list[metadata.EntryPoint]:
    """Return the ``twinify`` entry points of the distributions installed in ``folders``.

    Only the given folders are searched, so the result does not depend on what is
    installed in the running environment.
    """
    paths = [str(folder) for folder in folders]
    found = []
    for distribution in metadata.distributions(path=paths):
        found.extend(distribution.entry_points.select(group=ENTRY_POINT_GROUP))
    return sorted(found, key=lambda entry_point: (entry_point.name, entry_point.value))


def build_manager(
    *,
    folders: Iterable[str | Path] = (),
    modules: Mapping[str, types.ModuleType] | None = None,
    include_builtins: bool = True,
    policy: LoadPolicy = STRICT,
) -> TwinifyPluginManager:
    """Build and load a fresh plugin manager.

    Args:
        folders: Folders holding fake or real installed distributions. They must be
            importable while the plugins load; use :func:`importable` around the
            call and the use of the result.
        modules: Plugin modules to register directly, by plugin name.
        include_builtins: Load twinify's built-in entry points too.
        policy: Load policy; strict by default, so a broken plugin raises.
    """
    manager = TwinifyPluginManager(policy)
    entry_points = list(builtin_entry_points()) if include_builtins else []
    entry_points.extend(entry_points_in(folders))
    manager.load_entry_points(entry_points)
    if modules:
        manager.load_modules(modules)
    return manager


def build_registry(
    *,
    folders: Iterable[str | Path] = (),
    modules: Mapping[str, types.ModuleType] | None = None,
    include_builtins: bool = True,
    policy: LoadPolicy = STRICT,
) -> Registry:
    """Build a registry from a fresh manager; see :func:`build_manager` for the arguments."""
    manager = build_manager(
        folders=folders, modules=modules, include_builtins=include_builtins, policy=policy
    )
    return Registry(manager)


@contextlib.contextmanager
def importable(folders: Iterable[str | Path]) -> Iterator[None]:
    """Put ``folders`` on ``sys.path`` and forget the modules imported from them on exit.

    Forgetting the modules makes the next test import them afresh, so one test's
    module state cannot leak into another's.
    """
    paths = [str(Path(folder).resolve()) for folder in folders]
    sys.path[:0] = paths
    try:
        yield
    finally:
        for path in paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(path)
        for name, module in list(sys.modules.items()):
            location = getattr(module, "__file__", None) or ""
            if any(location.startswith(path + "/") or location.startswith(path + "\\") for path in paths):
                del sys.modules[name]
        importlib.invalidate_caches()
