"""Discovery and isolated loading of plugins from the ``twinify`` entry-point group.

Built-in plugins are entry points of the ``twinify`` distribution itself and load
through the same loop as third-party ones. Each entry point is loaded, registered and
validated on its own: a plugin that fails is recorded with its error and skipped, and
the others keep working. Strict mode re-raises the first failure instead.

Environment variables:
    TWINIFY_DISABLE_PLUGINS: comma-separated entry-point or distribution names not
        to load; built-ins may be disabled too.
    TWINIFY_LOAD_PLUGINS: comma-separated third-party distribution or entry-point
        names to load; all others are skipped. An empty value loads no third-party
        plugin. Built-ins always load unless disabled.
    TWINIFY_STRICT_PLUGINS: ``1`` re-raises load and validation errors.

Distribution names are compared in their normalized form (PEP 503: lower case, runs
of ``-``, ``_`` and ``.`` read as one ``-``), so ``twinify_plugin_x`` matches the
package ``twinify-plugin-x``. Skipped entry points are never imported.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import traceback
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any, Literal

import attrs
import pluggy

from twinify.errors import PluginConflictError, PluginError, PluginLoadError, TwinifyPluginWarning
from twinify.hookspecs import PROJECT_NAME, TwinifySpecs

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = PROJECT_NAME
HOOK_PREFIX = "twinify_"
BUILTIN_DISTRIBUTION = "twinify"

PluginStatus = Literal["active", "disabled", "failed"]


@attrs.define(kw_only=True)
class PluginInfo:
    """What the manager knows about one entry point of the ``twinify`` group.

    Attributes:
        name: Entry-point name, also the plugin's name in the manager.
        module: The entry point's value (a dotted module path).
        distribution: Name of the installed package that declares the entry point.
        version: That package's version.
        builtin: Whether the entry point belongs to twinify itself.
        status: ``"active"``, ``"disabled"`` or ``"failed"``.
        error: ``"ExceptionType: message"`` for a failed plugin, else None.
        traceback: Formatted traceback of the failure, else None.
        hooks: Implemented hooks, without the ``twinify_`` prefix.
        provides: Record names per hook, filled in when the registry is built.
    """

    name: str
    module: str
    distribution: str | None
    version: str | None
    builtin: bool
    status: PluginStatus = "active"
    error: str | None = None
    traceback: str | None = None
    hooks: tuple[str, ...] = ()
    provides: dict[str, tuple[str, ...]] = attrs.field(factory=dict)

    @property
    def provider(self) -> str:
        """Return ``"distribution version"``, the form used in messages."""
        if self.distribution is None:
            return self.module
        return f"{self.distribution} {self.version}"

    def mark_failed(self, error: BaseException) -> None:
        """Record ``error`` as the reason this plugin cannot be used."""
        self.status = "failed"
        # One line, because the error is shown in warnings and in table cells;
        # pluggy's validation messages span several lines.
        self.error = " ".join(f"{type(error).__name__}: {error}".split())
        self.traceback = "".join(traceback.format_exception(error))


def normalize_name(name: str) -> str:
    """Return ``name`` in PEP 503 normalized form, as package indexes compare names."""
    return re.sub(r"[-_.]+", "-", name).strip().lower()


def _split_env_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(item for item in value.split(",") if item.strip())


def _normalize_names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(normalize_name(name) for name in names)


def _normalize_optional_names(names: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if names is None else _normalize_names(names)


@attrs.frozen(kw_only=True)
class LoadPolicy:
    """Which entry points to load, and whether failures are fatal.

    Attributes:
        disabled: Entry-point or distribution names to skip.
        allowed_third_party: Third-party distribution or entry-point names to
            load, or None to load all of them.
        strict: Re-raise the first load or validation error.
    """

    disabled: tuple[str, ...] = attrs.field(default=(), converter=_normalize_names)
    allowed_third_party: tuple[str, ...] | None = attrs.field(
        default=None, converter=_normalize_optional_names
    )
    strict: bool = False

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> LoadPolicy:
        """Read the policy from the ``TWINIFY_*_PLUGINS`` environment variables."""
        env = os.environ if environ is None else environ
        strict = env.get("TWINIFY_STRICT_PLUGINS", "").strip().lower() in ("1", "true", "yes")
        return cls(
            disabled=_split_env_list(env.get("TWINIFY_DISABLE_PLUGINS")) or (),
            allowed_third_party=_split_env_list(env.get("TWINIFY_LOAD_PLUGINS")),
            strict=strict,
        )


class TwinifyPluginManager(pluggy.PluginManager):
    """A pluggy manager that loads each ``twinify`` entry point in isolation."""

    def __init__(self, policy: LoadPolicy | None = None) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(TwinifySpecs)
        self.policy = policy or LoadPolicy()
        self.plugin_infos: dict[str, PluginInfo] = {}

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        # Functions named twinify_* count as hook implementations even without the
        # @hookimpl marker, so that a misspelled or unmarked hook is reported
        # instead of being silently ignored.
        options = super().parse_hookimpl_opts(plugin, name)
        if options is None and name.startswith(HOOK_PREFIX):
            function = getattr(plugin, name, None)
            if inspect.isfunction(function):
                return {}
        return options

    # ----------------------------------------------------------------------------
    # Loading

    def load_entry_points(self, entry_points: Iterable[metadata.EntryPoint] | None = None) -> None:
        """Load and register every entry point of the ``twinify`` group.

        Args:
            entry_points: Entry points to load instead of the installed ones, for
                tests and :mod:`twinify.testing`.

        Raises:
            PluginLoadError: a built-in plugin fails, or, in strict mode, any plugin.
            PluginError: the installed entry points include no built-in plugin, which
                means twinify is not installed as a package.
        """
        scan_installed = entry_points is None
        if entry_points is None:
            entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
        by_name: dict[str, list[tuple[metadata.EntryPoint, PluginInfo]]] = {}
        for entry_point in entry_points:
            by_name.setdefault(entry_point.name.lower(), []).append((entry_point, _describe(entry_point)))

        for name in sorted(by_name):
            candidates = by_name[name]
            enabled = []
            for entry_point, info in candidates:
                if self._is_skipped(info):
                    info.status = "disabled"
                    self._remember(info, shared_name=len(candidates) > 1)
                else:
                    enabled.append((entry_point, info))
            chosen = self._resolve_duplicates(enabled)
            if chosen is None:
                continue
            entry_point, info = chosen
            self.plugin_infos[info.name] = info
            self._load_one(entry_point.load, info)

        if scan_installed and not any(info.builtin for info in self.plugin_infos.values()):
            raise PluginError(
                "no built-in twinify plugins were found; install twinify as a package "
                "(for a checkout: pip install -e .) instead of adding it to PYTHONPATH"
            )
        self.check_pending()

    def load_modules(self, modules: Mapping[str, types.ModuleType]) -> None:
        """Register plugin modules directly, each validated like an entry point.

        For tests: the modules count as third-party plugins without a distribution.

        Args:
            modules: Plugin name to module.
        """
        for name, module in modules.items():
            info = PluginInfo(name=name.lower(), module=module.__name__, distribution=None,
                              version=None, builtin=False)
            if self._is_skipped(info):
                info.status = "disabled"
                self._remember(info, shared_name=False)
                continue
            if info.name in self.plugin_infos:
                raise PluginError(f"plugin name {info.name} is already taken; choose another name")
            self.plugin_infos[info.name] = info
            self._load_one(lambda module=module: module, info)
        self.check_pending()

    def _remember(self, info: PluginInfo, shared_name: bool) -> None:
        # Several distributions may declare one entry-point name, so each gets its own key.
        key = f"{info.name} ({info.distribution})" if shared_name else info.name
        self.plugin_infos[key] = info

    def _is_skipped(self, info: PluginInfo) -> bool:
        names = {normalize_name(info.name)}
        if info.distribution:
            names.add(normalize_name(info.distribution))
        if names & set(self.policy.disabled):
            return True
        allowed = self.policy.allowed_third_party
        if info.builtin or allowed is None:
            return False
        return not names & set(allowed)

    def _load_one(self, load: Callable[[], Any], info: PluginInfo) -> None:
        try:
            plugin = load()
            if not isinstance(plugin, types.ModuleType):
                raise PluginLoadError(
                    f"entry point {info.name} = {info.module} must name a module, "
                    f"not a {type(plugin).__name__}"
                )
            self.register(plugin, name=info.name)
            info.hooks = self._validate_hooks(plugin)
        except Exception as error:  # noqa: BLE001 - any plugin error is isolated
            self._record_failure(info, error)

    def _validate_hooks(self, plugin: types.ModuleType) -> tuple[str, ...]:
        hook_names = []
        for caller in self.get_hookcallers(plugin) or []:
            if caller.spec is None:
                self.unregister(plugin)
                raise PluginLoadError(
                    f"it implements unknown hook {caller.name}; check the spelling against "
                    "twinify.hookspecs.HOOK_NAMES (each with the prefix twinify_)"
                )
            hook_names.append(caller.name.removeprefix(HOOK_PREFIX))
        if not hook_names:
            self.unregister(plugin)
            raise PluginLoadError("it implements no twinify hook; mark the hook functions with @twinify.hookimpl")
        return tuple(sorted(hook_names))

    def _record_failure(self, info: PluginInfo, error: BaseException) -> None:
        info.mark_failed(error)
        if info.builtin or self.policy.strict:
            raise PluginLoadError(
                f"plugin {info.name} ({info.provider}) failed to load: {info.error}"
            ) from error
        logger.debug("plugin %s failed to load:\n%s", info.name, info.traceback)
        warnings.warn(
            f"plugin {info.name} ({info.provider}) failed to load and was skipped: {info.error}",
            TwinifyPluginWarning,
            stacklevel=4,
        )

    def _resolve_duplicates(
        self, candidates: list[tuple[metadata.EntryPoint, PluginInfo]]
    ) -> tuple[metadata.EntryPoint, PluginInfo] | None:
        """Return the one entry point to load among the enabled ones sharing a name.

        pluggy would register whichever was found first. Here a built-in keeps its
        name, and every third-party plugin that claims the name fails with a
        message naming all providers.
        """
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        infos = [info for _, info in candidates]
        providers = " and ".join(info.provider for info in infos)
        conflict = PluginConflictError(
            f"plugin name {infos[0].name} is declared by {providers}; uninstall all but one "
            "or disable one with TWINIFY_DISABLE_PLUGINS"
        )
        keep = None
        for entry_point, info in candidates:
            if info.builtin:
                keep = (entry_point, info)
                continue
            self._remember(info, shared_name=True)
            self._record_failure(info, conflict)
        return keep

    # ----------------------------------------------------------------------------
    # Queries

    def infos(self) -> list[PluginInfo]:
        """Return every known plugin, sorted by distribution and entry-point name."""
        return sorted(
            self.plugin_infos.values(), key=lambda info: ((info.distribution or ""), info.name)
        )

    def failed(self) -> list[PluginInfo]:
        """Return the plugins that failed to load or to validate."""
        return [info for info in self.infos() if info.status == "failed"]

    def fail_plugin(self, name: str, error: BaseException) -> None:
        """Unregister an active plugin after a later check found it broken.

        Raises:
            PluginError: the plugin is built in, or strict mode is on.
        """
        info = self.plugin_infos[name]
        self.unregister(name=name)
        self._record_failure(info, error)


def _describe(entry_point: metadata.EntryPoint) -> PluginInfo:
    distribution = getattr(entry_point, "dist", None)
    dist_name = distribution.metadata["Name"] if distribution is not None else None
    version = distribution.version if distribution is not None else None
    return PluginInfo(
        name=entry_point.name.lower(),
        module=entry_point.value,
        distribution=dist_name,
        version=version,
        builtin=normalize_name(dist_name or "") == BUILTIN_DISTRIBUTION,
    )


def builtin_entry_points() -> list[metadata.EntryPoint]:
    """Return the ``twinify`` entry points that the installed twinify package declares.

    Raises:
        PluginError: twinify is not installed as a package.
    """
    try:
        distribution = metadata.distribution(BUILTIN_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise PluginError(
            "twinify is not installed as a package; for a checkout run pip install -e ."
        ) from None
    return list(distribution.entry_points.select(group=ENTRY_POINT_GROUP))


def builtin_entry_point_names() -> set[str]:
    """Return the entry-point names that the installed twinify package declares."""
    return {entry_point.name.lower() for entry_point in builtin_entry_points()}
