"""The registry: records per hook, providers, conflicts and lookups."""

from __future__ import annotations

import types

import pandas as pd
import pytest

from twinify import hookimpl
from twinify.errors import InputError, PluginLoadError, TwinifyPluginWarning
from twinify.plugin import LoadPolicy
from twinify.tableio import read_table, write_table
from twinify.types import (
    BackendOption,
    DataReader,
    DataWriter,
    DistributionWrapper,
    FeatureDistribution,
    InferenceBackend,
)

LENIENT = LoadPolicy(strict=False)


def plugin_module(name, **hooks):
    """Return a module whose hook functions yield the given records."""
    module = types.ModuleType(name)
    for hook, records in hooks.items():

        def implementation(records=records):
            yield from records

        implementation.__name__ = f"twinify_{hook}"
        setattr(module, f"twinify_{hook}", hookimpl(implementation))
    return module


def distribution(name, aliases=()):
    return FeatureDistribution(
        name=name, kind="continuous", summary="test distribution", column_types=("real",),
        infer_schema=print, check_schema=print, encode=print, decode=print, priors=print,
        likelihood=print, aliases=aliases,
    )


def backend(name, commands):
    return InferenceBackend(
        name=name, summary="test backend", commands=commands, model_help="unused",
        options=(BackendOption(name="steps", type=int, default=1, help="steps"),),
        fit=print, load=print,
    )


# --------------------------------------------------------------------------------------
# One test per hook: records reach the registry and are found by name


def test_hook_distributions(make_registry):
    module = plugin_module("twinify_test_dists", distributions=[distribution("gumbel", aliases=("GEV1",))])

    registry = make_registry(modules={"gumbel-plugin": module})

    record = registry.distribution("Gumbel")
    assert record.name == "gumbel"
    assert registry.distribution(" gev1 ") is record
    assert registry.provider(record).name == "gumbel-plugin"
    assert "gumbel" in registry.names("distributions")


def test_hook_distribution_wrappers(make_registry):
    wrapper = DistributionWrapper(name="zeros", role="missing-values", summary="test", wrap=print)
    module = plugin_module("twinify_test_wrappers", distribution_wrappers=[wrapper])

    # The built-in missing-value wrapper has the same role, so disable it here.
    policy = LoadPolicy(disabled=("missing",), strict=True)
    registry = make_registry(modules={"zeros-plugin": module}, policy=policy)

    assert registry.wrapper_for("missing-values") is wrapper
    assert registry.names("distribution_wrappers") == ["zeros"]


def test_hook_backends(make_registry):
    record = backend("anneal", commands=("anneal", "sa"))
    module = plugin_module("twinify_test_backends", backends=[record])

    registry = make_registry(modules={"anneal-plugin": module})

    assert registry.backend("anneal") is record
    assert registry.backend("SA") is record
    with pytest.raises(InputError, match="unknown inference backend 'annealing'; installed: anneal"):
        registry.backend("annealing")


def test_hook_readers(make_registry, fake_dists, tmp_path):
    registry = make_registry(folders=[fake_dists / "ok"])
    path = tmp_path / "table.TSV"
    path.write_text("a\tb\n1\tx\n2\ty\n")

    reader = registry.reader_for(path)
    frame = read_table(path, registry)

    assert reader.name == "tsv"
    assert registry.provider(reader).distribution == "twinify-fake-ok"
    assert list(frame.columns) == ["a", "b"]
    assert frame["a"].tolist() == [1, 2]


def test_hook_writers(make_registry, fake_dists, tmp_path):
    registry = make_registry(folders=[fake_dists / "ok"])
    path = tmp_path / "out.tsv"

    write_table(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), path, registry)

    assert registry.writer_for(path).name == "tsv"
    assert path.read_text().splitlines() == ["a\tb", "1\tx", "2\ty"]


# --------------------------------------------------------------------------------------
# Provenance and what a plugin provides


def test_provides_recorded(make_registry, fake_dists):
    registry = make_registry(folders=[fake_dists / "ok"])

    info = registry.manager.plugin_infos["fake-ok"]
    assert info.provides == {"readers": ("tsv",), "writers": ("tsv",)}
    assert registry.manager.plugin_infos["csv"].provides == {"readers": ("csv",), "writers": ("csv",)}


def test_specname_hookimpl(make_registry):
    module = types.ModuleType("twinify_test_specname")

    @hookimpl(specname="twinify_readers")
    def provide_readers():
        yield DataReader(name="renamed", suffixes=(".renamed",), summary="test", read=print)

    module.provide_readers = provide_readers

    registry = make_registry(modules={"renamed-plugin": module})

    assert registry.reader_for("a.renamed").name == "renamed"


def test_list_return_accepted(make_registry):
    module = types.ModuleType("twinify_test_list")
    module.twinify_writers = hookimpl(
        lambda: [DataWriter(name="listed", suffixes=(".listed",), summary="test", write=print)]
    )
    module.twinify_writers.__name__ = "twinify_writers"

    registry = make_registry(modules={"list-plugin": module})

    assert registry.writer_for("x.listed").name == "listed"


# --------------------------------------------------------------------------------------
# Broken hooks fail their own plugin only


@pytest.mark.parametrize(
    ("scenario", "plugin", "error"),
    [
        ("hook_raises", "fake-hook-raises", "RuntimeError: reader table unavailable"),
        ("non_record", "fake-non-record",
         "PluginError: hook twinify_readers yielded a dict; it must yield twinify.types.DataReader records"),
    ],
)
def test_broken_hook_isolated(make_registry, fake_dists, scenario, plugin, error):
    with pytest.warns(TwinifyPluginWarning, match=plugin):
        registry = make_registry(folders=[fake_dists / scenario, fake_dists / "ok"], policy=LENIENT)

    info = registry.manager.plugin_infos[plugin]
    assert info.status == "failed"
    assert info.error == error
    assert registry.manager.get_plugin(plugin) is None
    assert registry.reader_for("x.tsv").name == "tsv"


def test_broken_hook_strict(make_registry, fake_dists):
    with pytest.raises(PluginLoadError, match="fake-hook-raises .*RuntimeError: reader table unavailable"):
        make_registry(folders=[fake_dists / "hook_raises"])


def test_single_record_returned(make_registry):
    module = types.ModuleType("twinify_test_single")
    single = DataReader(name="single", suffixes=(".single",), summary="test", read=print)
    module.twinify_readers = hookimpl(lambda: single)
    module.twinify_readers.__name__ = "twinify_readers"

    with pytest.raises(PluginLoadError, match="returned one DataReader; yield each record"):
        make_registry(modules={"single-plugin": module})


def test_repeated_name_in_plugin(make_registry):
    module = plugin_module("twinify_test_twice", distributions=[distribution("twice"), distribution("twice")])

    with pytest.raises(PluginLoadError, match="yields the name twice twice"):
        make_registry(modules={"twice-plugin": module})


# --------------------------------------------------------------------------------------
# Conflicts


def test_builtin_clash_lenient(make_registry, fake_dists):
    with pytest.warns(TwinifyPluginWarning, match="readers name csv is provided by"):
        registry = make_registry(folders=[fake_dists / "builtin_clash"], policy=LENIENT)

    clashing = registry.manager.plugin_infos["fake-csv"]
    builtin = registry.manager.plugin_infos["csv"]
    assert clashing.status == "failed"
    assert f"csv ({builtin.provider})" in clashing.error
    assert "fake-csv (twinify-fake-builtin-clash 1.0)" in clashing.error
    assert registry.provider(registry.reader_for("x.csv")) is builtin


def test_builtin_clash_strict(make_registry, fake_dists):
    with pytest.raises(PluginLoadError, match="readers name csv is provided by csv \\(twinify .*\\) and fake-csv"):
        make_registry(folders=[fake_dists / "builtin_clash"])


def test_third_party_clash(make_registry, fake_dists):
    with pytest.warns(TwinifyPluginWarning) as caught:
        registry = make_registry(folders=[fake_dists / "third_party_clash"], policy=LENIENT)

    infos = registry.manager.plugin_infos
    for name in ("fake-alpha", "fake-beta"):
        assert infos[name].status == "failed"
        assert "twinify-fake-alpha 1.0" in infos[name].error
        assert "twinify-fake-beta 2.0" in infos[name].error
    assert len(caught) == 2
    with pytest.raises(InputError, match="unknown file suffix '.fake'.*fake-alpha .*failed to load"):
        registry.writer_for("out.fake")


def test_alias_clash(make_registry):
    first = plugin_module("twinify_test_first", distributions=[distribution("weibull")])
    second = plugin_module("twinify_test_second", distributions=[distribution("frechet", aliases=("weibull",))])

    with pytest.warns(TwinifyPluginWarning, match="distributions name weibull is provided by first .* and second"):
        registry = make_registry(modules={"first": first, "second": second}, policy=LENIENT)

    assert registry.manager.plugin_infos["first"].status == "failed"
    assert registry.manager.plugin_infos["second"].status == "failed"


# --------------------------------------------------------------------------------------
# Errors name failed and disabled plugins


def test_failed_note(make_registry, fake_dists):
    with pytest.warns(TwinifyPluginWarning):
        registry = make_registry(folders=[fake_dists / "import_error"], policy=LENIENT)

    with pytest.raises(InputError) as raised:
        registry.distribution("lognormal")

    message = str(raised.value)
    assert message.startswith("unknown distribution 'lognormal'; installed: ")
    assert (
        "Note: fake-import-error (twinify-fake-import-error 1.0) failed to load: "
        "ModuleNotFoundError: No module named 'twinify_fake_missing_dependency'"
    ) in message
    assert "\n" not in message


def test_disabled_note(make_registry, fake_dists):
    registry = make_registry(folders=[fake_dists / "ok"], policy=LoadPolicy(disabled=("fake-ok",)))

    with pytest.raises(InputError, match="disabled by TWINIFY_DISABLE_PLUGINS or TWINIFY_LOAD_PLUGINS: "
                                         "fake-ok \\(twinify-fake-ok 1.0\\)"):
        registry.reader_for("table.tsv")


def test_no_note_when_healthy(registry):
    with pytest.raises(InputError) as raised:
        registry.reader_for("table.unknown")

    assert "Note" not in str(raised.value)
    assert "unknown file suffix '.unknown'; use one of .csv" in str(raised.value)
