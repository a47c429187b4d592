"""The registry: every record the active plugins yield, checked and indexed by name.

Records are collected one plugin at a time, so each record's provider is known and a
plugin whose hook raises, or yields something that is not a record, fails on its own.
Two plugins providing the same name for the same hook is a conflict. Between a
built-in and a third-party plugin, or between two third-party plugins, the
third-party plugins involved fail with an error naming every provider (strict mode
raises it); a conflict between two built-ins is a bug and always raises.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from twinify.errors import InputError, PluginConflictError, PluginError
from twinify.hookspecs import HOOK_NAMES
from twinify.plugin.manager import HOOK_PREFIX, PluginInfo, TwinifyPluginManager
from twinify.types import (
    RECORD_TYPES,
    DataReader,
    DataWriter,
    DistributionWrapper,
    FeatureDistribution,
    InferenceBackend,
)

logger = logging.getLogger(__name__)


def _record_keys(hook: str, record: Any) -> list[str]:
    """Return the names under which ``record`` is looked up for ``hook``."""
    if hook == "distributions":
        return [record.name, *record.aliases]
    if hook == "distribution_wrappers":
        return [record.name, f"role:{record.role}"]
    if hook == "backends":
        return [record.name, *(f"command:{command}" for command in record.commands)]
    if hook in ("readers", "writers"):
        return [record.name, *(f"suffix:{suffix}" for suffix in record.suffixes)]
    raise KeyError(hook)


def _hook_results(result: Any, hook: str, expected: type) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, expected):
        raise PluginError(
            f"hook {HOOK_PREFIX}{hook} returned one {expected.__name__}; yield each record "
            "or return a list of them"
        )
    try:
        return list(result)
    except TypeError:
        raise PluginError(
            f"hook {HOOK_PREFIX}{hook} returned a {type(result).__name__}; yield "
            f"twinify.types.{expected.__name__} records"
        ) from None


class Registry:
    """Records from all active plugins, by hook and name.

    Args:
        manager: A manager whose entry points are already loaded.
    """

    def __init__(self, manager: TwinifyPluginManager) -> None:
        self.manager = manager
        self._records: dict[str, dict[str, Any]] = {hook: {} for hook in HOOK_NAMES}
        self._providers: dict[int, PluginInfo] = {}
        self._collect()

    # ----------------------------------------------------------------------------
    # Building

    def _collect(self) -> None:
        collected = self._collect_per_plugin()
        owners = self._find_owners(collected)
        conflicted = self._resolve_conflicts(owners)
        for name, per_hook in collected.items():
            if name in conflicted:
                continue
            info = self.manager.plugin_infos[name]
            info.provides = {hook: tuple(sorted(r.name for r in recs)) for hook, recs in per_hook.items() if recs}
            for hook, records in per_hook.items():
                for record in records:
                    self._providers[id(record)] = info
                    for key in _record_keys(hook, record):
                        self._records[hook][key] = record

    def _collect_per_plugin(self) -> dict[str, dict[str, list[Any]]]:
        collected: dict[str, dict[str, list[Any]]] = {}
        for info in self.manager.infos():
            if info.status != "active":
                continue
            plugin = self.manager.get_plugin(info.name)
            try:
                collected[info.name] = {hook: self._call_hook(plugin, hook) for hook in HOOK_NAMES}
            except Exception as error:  # noqa: BLE001 - a broken hook fails its plugin only
                self.manager.fail_plugin(info.name, error)
        return collected

    def _call_hook(self, plugin: Any, hook: str) -> list[Any]:
        caller = getattr(self.manager.hook, HOOK_PREFIX + hook)
        functions = [impl.function for impl in caller.get_hookimpls() if impl.plugin is plugin]
        expected = RECORD_TYPES[hook]
        records = []
        for function in functions:
            records.extend(_hook_results(function(), hook, expected))
        keys: list[str] = []
        for record in records:
            if not isinstance(record, expected):
                raise PluginError(
                    f"hook {HOOK_PREFIX}{hook} yielded a {type(record).__name__}; "
                    f"it must yield twinify.types.{expected.__name__} records"
                )
            keys.extend(_record_keys(hook, record))
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise PluginError(f"hook {HOOK_PREFIX}{hook} yields the name {repeated[0]} twice")
        return records

    @staticmethod
    def _find_owners(
        collected: dict[str, dict[str, list[Any]]]
    ) -> dict[tuple[str, str], list[str]]:
        owners: dict[tuple[str, str], list[str]] = {}
        for plugin_name, per_hook in collected.items():
            for hook, records in per_hook.items():
                for record in records:
                    for key in _record_keys(hook, record):
                        owners.setdefault((hook, key), []).append(plugin_name)
        return owners

    def _resolve_conflicts(self, owners: dict[tuple[str, str], list[str]]) -> set[str]:
        conflicted: set[str] = set()
        for (hook, key), plugin_names in sorted(owners.items()):
            if len(plugin_names) < 2:
                continue
            infos = [self.manager.plugin_infos[name] for name in plugin_names]
            providers = " and ".join(f"{info.name} ({info.provider})" for info in infos)
            error = PluginConflictError(
                f"{hook.replace('_', ' ')} name {key.replace(':', ' ')} is provided by "
                f"{providers}; uninstall one of them or disable it with TWINIFY_DISABLE_PLUGINS"
            )
            if sum(info.builtin for info in infos) > 1:
                raise error
            for info in infos:
                if info.builtin:
                    continue
                if info.status == "active":
                    self.manager.fail_plugin(info.name, error)
                conflicted.add(info.name)
        return conflicted

    # ----------------------------------------------------------------------------
    # Lookups

    def records(self, hook: str) -> list[Any]:
        """Return the distinct records of ``hook``, sorted by name."""
        unique = {id(record): record for record in self._records[hook].values()}
        return sorted(unique.values(), key=lambda record: record.name)

    def provider(self, record: Any) -> PluginInfo:
        """Return the plugin that yielded ``record``."""
        return self._providers[id(record)]

    def distribution(self, name: str) -> FeatureDistribution:
        """Return the feature distribution called ``name`` (any case, or an alias)."""
        return self._lookup("distributions", name.strip().lower(), name, "distribution")

    def wrapper_for(self, role: str) -> DistributionWrapper:
        """Return the distribution wrapper with ``role``, such as ``"missing-values"``."""
        return self._lookup("distribution_wrappers", f"role:{role}", role, "distribution wrapper for")

    def backend(self, name: str) -> InferenceBackend:
        """Return the backend called ``name`` or one whose CLI command is ``name``."""
        key = name.strip().lower()
        record = self._records["backends"].get(key) or self._records["backends"].get(f"command:{key}")
        if record is None:
            self._raise_not_found("backends", name, "inference backend")
        return record

    def reader_for(self, path: str | Path) -> DataReader:
        """Return the reader whose suffix matches ``path``."""
        return self._by_suffix("readers", path, "read")

    def writer_for(self, path: str | Path) -> DataWriter:
        """Return the writer whose suffix matches ``path``."""
        return self._by_suffix("writers", path, "write")

    def _by_suffix(self, hook: str, path: str | Path, verb: str) -> Any:
        suffix = Path(path).suffix.lower()
        record = self._records[hook].get(f"suffix:{suffix}")
        if record is None:
            known = sorted({s for r in self.records(hook) for s in r.suffixes})
            raise InputError(
                f"cannot {verb} {str(path)!r}: unknown file suffix {suffix or '(none)'!r}; "
                f"use one of {', '.join(known)}{self.failed_note()}"
            )
        return record

    def _lookup(self, hook: str, key: str, shown: str, what: str) -> Any:
        record = self._records[hook].get(key)
        if record is None:
            self._raise_not_found(hook, shown, what)
        return record

    def _raise_not_found(self, hook: str, name: str, what: str) -> None:
        known = ", ".join(record.name for record in self.records(hook)) or "none"
        raise InputError(
            f"unknown {what} {name!r}; installed: {known}{self.failed_note()}"
        )

    def failed_note(self) -> str:
        """Return a sentence naming the plugins that failed or were disabled, or ""."""
        details = [
            f"{info.name} ({info.provider}) failed to load: {info.error}" for info in self.manager.failed()
        ]
        disabled = [info for info in self.manager.infos() if info.status == "disabled"]
        if disabled:
            names = ", ".join(f"{info.name} ({info.provider})" for info in disabled)
            details.append(f"disabled by TWINIFY_DISABLE_PLUGINS or TWINIFY_LOAD_PLUGINS: {names}")
        if not details:
            return ""
        return f". Note: {'; '.join(details)}"

    def names(self, hook: str) -> Iterable[str]:
        """Return the record names of ``hook``, sorted."""
        return [record.name for record in self.records(hook)]
