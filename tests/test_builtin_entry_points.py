"""The built-in plugins: declared once, installed, importable and removable."""

from __future__ import annotations

import importlib
import tomllib
import types
from pathlib import Path

import pytest

from twinify.hookspecs import HOOK_NAMES
from twinify.plugin import LoadPolicy
from twinify.plugin.builtins import BUILTIN_ENTRY_POINTS
from twinify.plugin.manager import builtin_entry_points

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_pyproject_matches_builtins():
    table = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]["twinify"]

    assert table == BUILTIN_ENTRY_POINTS


def test_installed_metadata_matches_builtins():
    installed = {entry_point.name: entry_point.value for entry_point in builtin_entry_points()}

    assert installed == BUILTIN_ENTRY_POINTS, (
        "the installed twinify metadata is stale; reinstall with pip install -e ."
    )


@pytest.mark.parametrize("name", sorted(BUILTIN_ENTRY_POINTS))
def test_builtin_imports(name):
    module = importlib.import_module(BUILTIN_ENTRY_POINTS[name])

    hooks = [hook for hook in HOOK_NAMES if callable(getattr(module, f"twinify_{hook}", None))]
    assert isinstance(module, types.ModuleType)
    assert hooks, f"built-in plugin {name} implements no twinify hook"


@pytest.mark.parametrize("name", sorted(BUILTIN_ENTRY_POINTS))
def test_builtin_can_be_disabled(make_registry, name):
    registry = make_registry(policy=LoadPolicy(disabled=(name,), strict=True))

    statuses = {info.name: info.status for info in registry.manager.infos()}
    assert statuses[name] == "disabled"
    assert all(status == "active" for other, status in statuses.items() if other != name)
