"""Shared fixtures. Every test runs with strict plugin loading."""

from __future__ import annotations

import os

import pytest

os.environ["TWINIFY_STRICT_PLUGINS"] = "1"
os.environ.setdefault("JAX_PLATFORMS", "cpu")


@pytest.fixture(scope="session")
def registry():
    """The registry of installed plugins, loaded strictly once per session."""
    from twinify.plugin import LoadPolicy, load_registry

    return load_registry(LoadPolicy(strict=True))
