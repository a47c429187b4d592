"""pytest fixtures for plugin authors; list this module in ``pytest_plugins``.

In a plugin package's ``conftest.py``::

    pytest_plugins = ["twinify.testing.fixtures"]

and in a test::

    def test_reader_found(make_registry):
        registry = make_registry(modules={"my-plugin": my_plugin})
        assert registry.reader_for("data.xyz").name == "xyz"
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from twinify.plugin.manager import LoadPolicy, TwinifyPluginManager
from twinify.plugin.registry import Registry
from twinify.testing.plugins import STRICT, build_manager, importable


@pytest.fixture
def make_plugin_manager() -> Iterator[Any]:
    """Return a factory of fresh plugin managers; see :func:`twinify.testing.build_manager`.

    Folders given to the factory stay importable until the test ends, and modules
    imported from them are forgotten afterwards.
    """
    with contextlib.ExitStack() as stack:

        def factory(
            *,
            folders: Iterable[str | Path] = (),
            modules: Mapping[str, types.ModuleType] | None = None,
            include_builtins: bool = True,
            policy: LoadPolicy = STRICT,
        ) -> TwinifyPluginManager:
            folders = list(folders)
            stack.enter_context(importable(folders))
            return build_manager(
                folders=folders, modules=modules, include_builtins=include_builtins, policy=policy
            )

        yield factory


@pytest.fixture
def make_registry(make_plugin_manager: Any) -> Any:
    """Return a factory of registries built from fresh plugin managers."""

    def factory(**kwargs: Any) -> Registry:
        return Registry(make_plugin_manager(**kwargs))

    return factory
