"""``pip install`` of the example plugin makes it visible to twinify, end to end.

The plugin is built from a copy of plugins/twinify-plugin-lognormal and installed
with pip into a throwaway folder, without an index or build isolation so that it
runs offline. Subprocesses find it through PYTHONPATH, as they would find a
site-packages install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2]
PLUGIN_SOURCE = REPOSITORY / "plugins" / "twinify-plugin-lognormal"
PLUGIN_VERSION = tomllib.loads((PLUGIN_SOURCE / "pyproject.toml").read_text())["project"]["version"]

MODEL_FILE = """\
# Skewed positive amounts with public bounds
income: LogNormal(lower=1000, upper=1000000)
rent: LogNormal(lower=100, upper=10000)
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Folder the plugin was pip-installed into."""
    work = tmp_path_factory.mktemp("plugin-install")
    # Build from a copy, so that build files never land in the checkout.
    source = shutil.copytree(PLUGIN_SOURCE, work / "source", ignore=shutil.ignore_patterns("*.egg-info", "build"))
    target = work / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--quiet", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"pip install failed:\n{result.stdout}\n{result.stderr}"
    return target


def run_python(site, *arguments, cwd=None):
    environment = {**os.environ, "PYTHONPATH": str(site), "TWINIFY_STRICT_PLUGINS": "1"}
    return subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, env=environment, cwd=cwd, timeout=600,
    )


def test_listed_active(site):
    result = run_python(site, "-m", "twinify", "plugins", "--json")

    listing = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert result.returncode == 0, result.stderr
    assert listing["lognormal"]["status"] == "active"
    assert listing["lognormal"]["version"] == PLUGIN_VERSION
    assert listing["lognormal"]["distribution"] == "twinify-plugin-lognormal"
    assert listing["lognormal"]["builtin"] is False
    assert listing["lognormal"]["provides"] == {"distributions": ["lognormal"]}


def test_requirements_line(site):
    result = run_python(site, "-m", "twinify", "plugins", "--requirements")

    assert result.returncode == 0, result.stderr
    assert f"twinify-plugin-lognormal=={PLUGIN_VERSION}" in result.stdout.splitlines()


def test_plugin_suite_installed(site):
    # The plugin's own discovery test skips unless the plugin is installed.
    result = run_python(
        site, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
        str(PLUGIN_SOURCE / "tests"), "-k", "installed_discovery", cwd=REPOSITORY,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "skipped" not in result.stdout


def test_fit_with_lognormal(site, tmp_path):
    listing = json.loads(run_python(site, "-m", "twinify", "plugins", "--json", "--all").stdout)
    backends = {name for entry in listing for name in entry["provides"].get("backends", [])}
    if "dpvi" not in backends:
        pytest.xfail("needs the DPVI backend")

    generator = np.random.default_rng(20240611)
    data = pd.DataFrame(
        {
            "income": np.clip(generator.lognormal(10.5, 0.6, size=120), 1000, 1000000).round(2),
            "rent": np.clip(generator.lognormal(6.8, 0.4, size=120), 100, 10000).round(),
        }
    )
    data.to_csv(tmp_path / "amounts.csv", index=False)
    (tmp_path / "amounts.model").write_text(MODEL_FILE)

    result = run_python(
        site, "-m", "twinify", "vi", "amounts.csv", "amounts.model", "twin",
        "--epsilon", "1", "--k", "2", "--num_epochs", "2", "--seed", "1", "--quiet", cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    synthetic = pd.read_csv(tmp_path / "twin.csv")
    assert list(synthetic.columns) == ["income", "rent"]
    assert len(synthetic) == 120
    assert synthetic["income"].between(1000, 1000000).all()
    assert synthetic["rent"].between(100, 10000).all()
    with zipfile.ZipFile(tmp_path / "twin.twinify") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    distributions = {entry["distribution"] for entry in manifest["plugins"]}
    assert "twinify-plugin-lognormal" in distributions
