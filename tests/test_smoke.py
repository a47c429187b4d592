"""Import-level checks of the installed package."""

import subprocess
import sys


def test_import_loads_no_plugins():
    code = (
        "import sys, twinify\n"
        "assert 'twinify_features' not in sys.modules\n"
        "assert 'jax' not in sys.modules\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_registry_lists_builtin_csv(registry):
    assert "csv" in registry.names("readers")
