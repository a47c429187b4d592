"""Discovery and isolated loading of plugins from the ``twinify`` entry-point group.

Built-in plugins are entry points of the ``twinify`` distribution itself and load
through the same loop as third-party ones. Each entry point is loaded, registered and
validated on its own: a plugin that fails is recorded with its error and skipped, and
the others keep working. Strict mode re-raises the first failure instead.

Environment variables:
    TWINIFY_DISABLE_PLUGINS: comma-separated entry-point or distribution names not
        to load; built-ins may be disabled too.
    TWINIFY_LOAD_PLUGINS: comma-separated third-party distribution names to load;
        all others are skipped. An empty value loads no third-party plugin.
        Built-ins always load unless disabled.
    TWINIFY_STRICT_PLUGINS: ``1`` re-raises load and validation errors.
"""

from __future__ import annotations

import inspect
import logging
import os
import traceback
import types
import warnings
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any, Literal

import attrs
import pluggy

from twinify.errors import PluginError, PluginLoadError, TwinifyPluginWarning
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
        self.error = f"{type(error).__name__}: {error}"
        self.traceback = "".join(traceback.format_exception(error))


def _split_env_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(item.strip().lower() for item in value.split(",") if item.strip())


@attrs.frozen(kw_only=True)
class LoadPolicy:
    """Which entry points to load, and whether failures are fatal.

    Attributes:
        disabled: Entry-point or distribution names to skip.
        allowed_third_party: Third-party distribution names to load, or None to
            load all of them.
        strict: Re-raise the first load or validation error.
    """

    disabled: tuple[str, ...] = ()
    allowed_third_party: tuple[str, ...] | None = None
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
            entry_points: Entry points to load instead of the installed ones (tests).

        Raises:
            PluginLoadError: in strict mode, the first plugin that fails.
            PluginError: no built-in plugin was found, which means twinify is not
                installed as a package.
        """
        if entry_points is None:
            entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
        by_name: dict[str, list[metadata.EntryPoint]] = {}
        for entry_point in entry_points:
            by_name.setdefault(entry_point.name.lower(), []).append(entry_point)

        for name in sorted(by_name):
            entry_point = self._resolve_duplicates(by_name[name])
            if entry_point is None:
                continue
            info = _describe(entry_point)
            self.plugin_infos[info.name] = info
            if self._is_skipped(info):
                info.status = "disabled"
                continue
            self._load_one(entry_point, info)

        if not any(info.builtin for info in self.plugin_infos.values()):
            raise PluginError(
                "no built-in twinify plugins were found; install twinify as a package "
                "(for a checkout: pip install -e .) instead of adding it to PYTHONPATH"
            )
        self.check_pending()

    def _is_skipped(self, info: PluginInfo) -> bool:
        names = {info.name.lower()}
        if info.distribution:
            names.add(info.distribution.lower())
        if names & set(self.policy.disabled):
            return True
        allowed = self.policy.allowed_third_party
        if info.builtin or allowed is None:
            return False
        return (info.distribution or "").lower() not in allowed

    def _load_one(self, entry_point: metadata.EntryPoint, info: PluginInfo) -> None:
        try:
            plugin = entry_point.load()
            if not isinstance(plugin, types.ModuleType):
                raise PluginLoadError(
                    f"entry point {info.name} = {info.module} must name a module, "
                    f"not a {type(plugin).__name__}"
                )
            self.register(plugin, name=info.name)
            info.hooks = self._validate_hooks(plugin, info)
        except Exception as error:  # noqa: BLE001 - any plugin error is isolated
            self._record_failure(info, error)

    def _validate_hooks(self, plugin: types.ModuleType, info: PluginInfo) -> tuple[str, ...]:
        hook_names = []
        for caller in self.get_hookcallers(plugin) or []:
            if caller.spec is None:
                self.unregister(plugin)
                raise PluginLoadError(
                    f"plugin {info.name} ({info.provider}) implements unknown hook "
                    f"{caller.name}; check its spelling against twinify.hookspecs"
                )
            hook_names.append(caller.name.removeprefix(HOOK_PREFIX))
        if not hook_names:
            self.unregister(plugin)
            raise PluginLoadError(f"plugin {info.name} ({info.provider}) implements no twinify hook")
        return tuple(sorted(hook_names))

    def _record_failure(self, info: PluginInfo, error: BaseException) -> None:
        info.mark_failed(error)
        if info.builtin or self.policy.strict:
            raise PluginLoadError(
                f"plugin {info.name} ({info.provider}) failed to load: {info.error}"
            ) from error
        warnings.warn(
            f"plugin {info.name} ({info.provider}) failed to load and was skipped: {info.error}",
            TwinifyPluginWarning,
            stacklevel=4,
        )

    def _resolve_duplicates(
        self, entry_points: list[metadata.EntryPoint]
    ) -> metadata.EntryPoint | None:
        """Return the one entry point to load among those sharing a name.

        pluggy would register whichever was found first; instead, every third-party
        plugin that claims a taken name fails with a message naming all providers,
        and a built-in keeps its name.
        """
        if len(entry_points) == 1:
            return entry_points[0]
        infos = [_describe(entry_point) for entry_point in entry_points]
        providers = " and ".join(info.provider for info in infos)
        conflict = PluginLoadError(
            f"plugin name {infos[0].name} is declared by {providers}; uninstall all but one"
        )
        keep = None
        for entry_point, info in zip(entry_points, infos):
            if info.builtin:
                keep = entry_point
                continue
            self.plugin_infos[f"{info.name} ({info.distribution})"] = info
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
        self._unregister_by_name(name)
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
        builtin=(dist_name or "").lower() == BUILTIN_DISTRIBUTION,
    )


def builtin_entry_point_names(entry_points: Sequence[metadata.EntryPoint] | None = None) -> set[str]:
    """Return the entry-point names that the installed twinify package declares."""
    if entry_points is None:
        entry_points = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    return {info.name for info in map(_describe, entry_points) if info.builtin}
