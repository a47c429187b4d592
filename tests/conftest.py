"""Shared fixtures. Every test runs with strict plugin loading."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import pytest

os.environ["TWINIFY_STRICT_PLUGINS"] = "1"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

pytest_plugins = ["twinify.testing.fixtures"]

FAKE_DISTS = Path(__file__).parent / "data" / "fake_dists"


@pytest.fixture(scope="session")
def registry():
    """The registry of installed plugins, loaded strictly once per session."""
    from twinify.plugin import LoadPolicy, load_registry

    return load_registry(LoadPolicy(strict=True))


@pytest.fixture
def fake_dists():
    """Folder of the fake installed plugin distributions, one subfolder per scenario."""
    return FAKE_DISTS


def _shared_data_dir():
    configured = os.environ.get("TWINIFY_SHARED_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """Folder of the public benchmark data sets (UCI Adult, PUMS, penguins).

    The project does not ship copies of them; they live in ../shared/data next to
    the checkout (or where TWINIFY_SHARED_DATA points).
    """
    folder = _shared_data_dir()
    if not (folder / "adult_raw_train.csv").is_file():
        pytest.skip(f"public data sets not found in {folder}; set TWINIFY_SHARED_DATA")
    return folder


@pytest.fixture
def restore_logging():
    """Undo the CLI's logging setup, which replaces handlers and the warning format."""
    format_warning = warnings.formatwarning
    yield
    logging.captureWarnings(False)
    warnings.formatwarning = format_warning
