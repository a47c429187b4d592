"""``twinify plugins``: table, JSON, filters, and a broken plugin beside good ones."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from twinify.cli import build_parser
from twinify.errors import TwinifyPluginWarning
from twinify.plugin import LoadPolicy
from twinify.plugin.builtins import BUILTIN_ENTRY_POINTS

LENIENT = LoadPolicy(strict=False)
IMPORT_ERROR = "ModuleNotFoundError: No module named 'twinify_fake_missing_dependency'"
HEADER = re.compile(r"^twinify \S+ from \S+ \(python 3\.\d+\.\d+ at \S+\), plugin API 1$")


@pytest.fixture
def mixed_registry(make_registry, fake_dists):
    """Built-ins, one working third-party plugin and one whose import fails."""
    with pytest.warns(TwinifyPluginWarning, match="fake-import-error"):
        return make_registry(folders=[fake_dists / "ok", fake_dists / "import_error"], policy=LENIENT)


def run_command(registry, capsys, *arguments):
    args = build_parser(registry).parse_args(["plugins", *arguments])
    status = args.handler(args, registry)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_table_golden(mixed_registry, capsys):
    status, out, _ = run_command(mixed_registry, capsys)

    lines = out.splitlines()
    assert status == 0
    assert HEADER.match(lines[0]), lines[0]
    assert lines[1:] == [
        "Name               Package                    Version  Status  Provides",
        "-----------------  -------------------------  -------  ------  --------",
        f"fake-import-error  twinify-fake-import-error  1.0      failed  {IMPORT_ERROR}",
        "fake-ok            twinify-fake-ok            1.0      active  readers: tsv; writers: tsv",
        f"2 third-party plugins (use --all to include {len(BUILTIN_ENTRY_POINTS)} built-in plugins)",
    ]


def test_table_all(mixed_registry, capsys):
    _, out, _ = run_command(mixed_registry, capsys, "--all")

    rows = [line.split() for line in out.splitlines()[3:]]
    assert [row[0] for row in rows] == [*sorted(BUILTIN_ENTRY_POINTS), "fake-import-error", "fake-ok"]
    assert ["csv", "twinify"] in [row[:2] for row in rows]
    assert "use --all" not in out


def test_table_disabled(make_registry, fake_dists, capsys):
    registry = make_registry(folders=[fake_dists / "ok"], policy=LoadPolicy(allowed_third_party=()))

    _, out, _ = run_command(registry, capsys)

    row = out.splitlines()[3]
    assert row.split()[:4] == ["fake-ok", "twinify-fake-ok", "1.0", "disabled"]
    assert row.endswith("disabled by TWINIFY_DISABLE_PLUGINS or TWINIFY_LOAD_PLUGINS")


def test_json_shape(mixed_registry, capsys):
    _, out, _ = run_command(mixed_registry, capsys, "--json")

    listing = json.loads(out)
    assert [entry["name"] for entry in listing] == ["fake-import-error", "fake-ok"]
    assert listing[1] == {
        "name": "fake-ok",
        "distribution": "twinify-fake-ok",
        "version": "1.0",
        "module": "twinify_fake_ok",
        "builtin": False,
        "status": "active",
        "error": None,
        "hooks": ["readers", "writers"],
        "provides": {"readers": ["tsv"], "writers": ["tsv"]},
    }
    assert listing[0]["status"] == "failed"
    assert listing[0]["error"] == IMPORT_ERROR
    assert listing[0]["hooks"] == []


def test_json_all_has_builtins(mixed_registry, capsys):
    _, out, _ = run_command(mixed_registry, capsys, "--json", "--all")

    builtins = {entry["name"] for entry in json.loads(out) if entry["builtin"]}
    assert builtins == set(BUILTIN_ENTRY_POINTS)


def test_hook_filter(mixed_registry, capsys):
    _, out, _ = run_command(mixed_registry, capsys, "--json", "--all", "--hook", "writers")

    entries = json.loads(out)
    names = [entry["name"] for entry in entries]
    assert "fake-ok" in names
    assert "csv" in names
    # A plugin that failed to import has no known hooks, so it stays listed.
    assert "fake-import-error" in names
    assert all("writers" in entry["hooks"] for entry in entries if entry["status"] != "failed")


def test_hook_filter_empty(mixed_registry, capsys):
    _, out, _ = run_command(mixed_registry, capsys, "--hook", "backends")

    assert "no plugin implements that hook" in out


def test_hook_unknown(mixed_registry, capsys):
    with pytest.raises(SystemExit) as raised:
        run_command(mixed_registry, capsys, "--hook", "reader")

    assert raised.value.code == 2
    assert "invalid choice: 'reader'" in capsys.readouterr().err


def test_requirements(make_registry, fake_dists, capsys):
    with pytest.warns(TwinifyPluginWarning):
        registry = make_registry(folders=[fake_dists / "ok", fake_dists / "third_party_clash"], policy=LENIENT)

    _, out, _ = run_command(registry, capsys, "--requirements")

    assert out.splitlines() == ["twinify-fake-alpha==1.0", "twinify-fake-beta==2.0", "twinify-fake-ok==1.0"]


def test_requirements_none(make_registry, capsys):
    _, out, _ = run_command(make_registry(), capsys, "--requirements")

    assert out == ""


def test_strict_flag(mixed_registry, capsys):
    status, _, err = run_command(mixed_registry, capsys, "--strict")

    assert status == 1
    assert err.strip() == "twinify: error: 1 plugin failed to load: fake-import-error"


def test_strict_flag_healthy(make_registry, fake_dists, capsys):
    status, _, _ = run_command(make_registry(folders=[fake_dists / "ok"]), capsys, "--strict")

    assert status == 0


# --------------------------------------------------------------------------------------
# The real command in a subprocess, with a broken plugin installed beside a good one


def run_twinify(fake_dists, *arguments, **env):
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(fake_dists / name) for name in ("import_error", "ok")),
        "TWINIFY_STRICT_PLUGINS": "0",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "twinify", *arguments],
        capture_output=True, text=True, env=environment, timeout=120,
    )


def test_cli_lists_broken_plugin(fake_dists):
    result = run_twinify(fake_dists, "plugins", "--json")

    listing = {entry["name"]: entry for entry in json.loads(result.stdout)}
    warnings = [line for line in result.stderr.splitlines() if "fake-import-error" in line]
    assert result.returncode == 0, result.stderr
    assert listing["fake-import-error"]["status"] == "failed"
    assert listing["fake-import-error"]["error"] == IMPORT_ERROR
    assert listing["fake-ok"]["status"] == "active"
    assert warnings == [
        "twinify: warning: plugin fake-import-error (twinify-fake-import-error 1.0) failed to load "
        f"and was skipped: {IMPORT_ERROR}"
    ]


def test_cli_help_survives_broken_plugin(fake_dists):
    result = run_twinify(fake_dists, "--help")

    assert result.returncode == 0, result.stderr
    assert "plugins" in result.stdout
    assert "Traceback" not in result.stderr


def test_cli_strict_environment(fake_dists):
    result = run_twinify(fake_dists, "plugins", TWINIFY_STRICT_PLUGINS="1")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "twinify: error: plugin fake-import-error (twinify-fake-import-error 1.0) failed to load: "
        f"{IMPORT_ERROR}"
    )


def test_cli_allow_list(fake_dists):
    result = run_twinify(fake_dists, "plugins", "--json", TWINIFY_LOAD_PLUGINS="twinify-fake-ok")

    statuses = {entry["name"]: entry["status"] for entry in json.loads(result.stdout)}
    assert result.returncode == 0, result.stderr
    assert statuses["fake-ok"] == "active"
    assert statuses["fake-import-error"] == "disabled"
    assert result.stderr == ""
