"""Plugin discovery and isolated loading, against fake installed distributions."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from twinify.errors import PluginLoadError, TwinifyPluginWarning
from twinify.plugin import LoadPolicy, PluginInfo, TwinifyPluginManager
from twinify.plugin.manager import normalize_name

LENIENT = LoadPolicy(strict=False)


def infos_by_name(manager):
    return {info.name: info for info in manager.infos()}


def test_ok_plugin_active(make_plugin_manager, fake_dists):
    manager = make_plugin_manager(folders=[fake_dists / "ok"])

    info = infos_by_name(manager)["fake-ok"]
    assert info.status == "active"
    assert info.distribution == "twinify-fake-ok"
    assert info.version == "1.0"
    assert info.builtin is False
    assert info.hooks == ("readers", "writers")
    assert info.provider == "twinify-fake-ok 1.0"
    assert manager.get_plugin("fake-ok") is not None


def test_builtins_marked_builtin(make_plugin_manager):
    manager = make_plugin_manager()

    infos = manager.infos()
    assert infos
    assert all(info.builtin for info in infos)
    assert all(info.status == "active" for info in infos)


def test_import_error_isolated(make_plugin_manager, fake_dists):
    with pytest.warns(TwinifyPluginWarning, match="fake-import-error") as caught:
        manager = make_plugin_manager(
            folders=[fake_dists / "import_error", fake_dists / "ok"], policy=LENIENT
        )

    infos = infos_by_name(manager)
    broken = infos["fake-import-error"]
    assert broken.status == "failed"
    assert broken.error == "ModuleNotFoundError: No module named 'twinify_fake_missing_dependency'"
    assert "Traceback" in broken.traceback
    assert infos["fake-ok"].status == "active"
    assert infos["csv"].status == "active"
    assert len(caught) == 1
    assert "\n" not in str(caught[0].message)


def test_import_error_strict(make_plugin_manager, fake_dists):
    with pytest.raises(PluginLoadError, match="fake-import-error .*ModuleNotFoundError"):
        make_plugin_manager(folders=[fake_dists / "import_error"], policy=LoadPolicy(strict=True))


def test_strict_from_environment(make_plugin_manager, fake_dists):
    policy = LoadPolicy.from_environment({"TWINIFY_STRICT_PLUGINS": "1"})

    assert policy.strict is True
    with pytest.raises(PluginLoadError, match="fake-import-error"):
        make_plugin_manager(folders=[fake_dists / "import_error"], policy=policy)


def test_lenient_by_default_environment():
    assert LoadPolicy.from_environment({}).strict is False
    assert LoadPolicy.from_environment({"TWINIFY_STRICT_PLUGINS": "0"}).strict is False


@pytest.mark.parametrize(
    ("scenario", "plugin", "error"),
    [
        ("misspelled_hook", "fake-misspelled", "unknown hook twinify_reader;"),
        ("bad_signature", "fake-bad-signature", "PluginValidationError: .*'config'"),
        ("class_entry_point", "fake-class", "must name a module, not a type"),
    ],
)
def test_invalid_plugin_failed(make_plugin_manager, fake_dists, scenario, plugin, error):
    with pytest.warns(TwinifyPluginWarning, match=plugin):
        manager = make_plugin_manager(folders=[fake_dists / scenario, fake_dists / "ok"], policy=LENIENT)

    infos = infos_by_name(manager)
    assert infos[plugin].status == "failed"
    assert infos[plugin].error is not None
    assert "\n" not in infos[plugin].error
    assert re.search(error, infos[plugin].error)
    assert manager.get_plugin(plugin) is None
    assert infos["fake-ok"].status == "active"


def test_failed_plugin_leaves_hooks_clean(make_plugin_manager, fake_dists):
    # After a failed validation no stray implementation may remain, or
    # check_pending() would raise on the next load.
    with pytest.warns(TwinifyPluginWarning):
        manager = make_plugin_manager(folders=[fake_dists / "misspelled_hook"], policy=LENIENT)

    manager.check_pending()
    assert not hasattr(manager.hook, "twinify_reader") or not manager.hook.twinify_reader.get_hookimpls()


def test_entry_point_clash_keeps_builtin(make_plugin_manager, fake_dists):
    with pytest.warns(TwinifyPluginWarning, match="plugin name csv is declared by"):
        manager = make_plugin_manager(folders=[fake_dists / "entry_point_clash"], policy=LENIENT)

    clashing = manager.plugin_infos["csv (twinify-fake-entry-point-clash)"]
    assert clashing.status == "failed"
    assert f"twinify {manager.plugin_infos['csv'].version}" in clashing.error
    assert "twinify-fake-entry-point-clash 1.0" in clashing.error
    assert manager.plugin_infos["csv"].builtin is True
    assert manager.plugin_infos["csv"].status == "active"
    assert "twinify_fake_entry_point_clash" not in sys.modules


def test_disable_by_distribution(make_plugin_manager, fake_dists):
    policy = LoadPolicy.from_environment({"TWINIFY_DISABLE_PLUGINS": "Twinify_Fake_OK"})

    manager = make_plugin_manager(folders=[fake_dists / "ok"], policy=policy)

    assert infos_by_name(manager)["fake-ok"].status == "disabled"
    assert manager.get_plugin("fake-ok") is None
    assert "twinify_fake_ok" not in sys.modules


def test_disable_skips_import(make_plugin_manager, fake_dists):
    # A disabled plugin is filtered out before its entry point is imported, so a
    # broken one raises nothing even in strict mode.
    policy = LoadPolicy(disabled=("fake-import-error",), strict=True)

    manager = make_plugin_manager(folders=[fake_dists / "import_error"], policy=policy)

    assert infos_by_name(manager)["fake-import-error"].status == "disabled"


def test_disable_builtin(make_plugin_manager):
    policy = LoadPolicy.from_environment({"TWINIFY_DISABLE_PLUGINS": "parquet, csv"})

    manager = make_plugin_manager(policy=policy)

    infos = infos_by_name(manager)
    assert infos["parquet"].status == "disabled"
    assert infos["csv"].status == "disabled"
    assert infos["normal"].status == "active"


def test_disable_avoids_clash(make_plugin_manager, fake_dists):
    policy = LoadPolicy(disabled=("twinify-fake-entry-point-clash",), strict=True)

    manager = make_plugin_manager(folders=[fake_dists / "entry_point_clash"], policy=policy)

    assert manager.plugin_infos["csv (twinify-fake-entry-point-clash)"].status == "disabled"
    assert manager.plugin_infos["csv"].status == "active"


def test_allow_list_empty(make_plugin_manager, fake_dists):
    policy = LoadPolicy.from_environment({"TWINIFY_LOAD_PLUGINS": ""})

    manager = make_plugin_manager(folders=[fake_dists / "ok", fake_dists / "import_error"], policy=policy)

    infos = infos_by_name(manager)
    assert policy.allowed_third_party == ()
    assert infos["fake-ok"].status == "disabled"
    assert infos["fake-import-error"].status == "disabled"
    assert infos["csv"].status == "active"


def test_allow_list_selects(make_plugin_manager, fake_dists):
    policy = LoadPolicy.from_environment(
        {"TWINIFY_LOAD_PLUGINS": "twinify-fake-ok", "TWINIFY_STRICT_PLUGINS": "1"}
    )

    manager = make_plugin_manager(folders=[fake_dists / "ok", fake_dists / "import_error"], policy=policy)

    infos = infos_by_name(manager)
    assert infos["fake-ok"].status == "active"
    assert infos["fake-import-error"].status == "disabled"
    assert "twinify_fake_import_error" not in sys.modules


def test_allow_list_unset():
    assert LoadPolicy.from_environment({}).allowed_third_party is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [("Twinify_Plugin.LogNormal", "twinify-plugin-lognormal"), ("a--b__c", "a-b-c"), (" x ", "x")],
)
def test_normalize_name(given, expected):
    assert normalize_name(given) == expected


def test_load_modules(make_plugin_manager):
    module = _module_with_hook("twinify_test_loaded_module")

    manager = make_plugin_manager(modules={"In-Test": module}, include_builtins=False)

    info = infos_by_name(manager)["in-test"]
    assert info.status == "active"
    assert info.distribution is None
    assert info.provider == "twinify_test_loaded_module"
    assert info.hooks == ("readers",)


def test_builtin_failure_raises():
    # A broken built-in is a broken installation: even lenient loading raises.
    manager = TwinifyPluginManager(LENIENT)
    info = PluginInfo(name="csv", module="twinify_io.csv_format", distribution="twinify",
                      version="0", builtin=True)

    with pytest.raises(PluginLoadError, match="plugin csv \\(twinify 0\\) failed to load: OSError"):
        manager._record_failure(info, OSError("disk unreadable"))


def test_import_discovers_nothing():
    code = textwrap.dedent(
        """
        import sys
        import twinify, twinify.api, twinify.cli, twinify.plugin
        loaded = sorted(name for name in sys.modules
                        if name.split(".")[0] in ("twinify_features", "twinify_io", "twinify_dpvi",
                                                  "twinify_napsu"))
        assert not loaded, loaded
        assert twinify.plugin.get_registry.cache_info().currsize == 0
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def _module_with_hook(name):
    import types

    from twinify import hookimpl
    from twinify.types import DataReader

    module = types.ModuleType(name)

    @hookimpl
    def twinify_readers():
        yield DataReader(name="in-test", suffixes=(".intest",), summary="test reader", read=print)

    module.twinify_readers = twinify_readers
    return module
