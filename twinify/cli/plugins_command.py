"""``twinify plugins``: list discovered plugins, their status and what they provide."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import twinify
from twinify.hookspecs import HOOK_NAMES, PLUGIN_API_VERSION
from twinify.persistence import twinify_version
from twinify.plugin.manager import PluginInfo
from twinify.plugin.registry import Registry

EPILOG = """environment variables:
  TWINIFY_DISABLE_PLUGINS  comma-separated plugin or package names not to load
                           (built-ins too, e.g. TWINIFY_DISABLE_PLUGINS=parquet)
  TWINIFY_LOAD_PLUGINS     comma-separated third-party package names to load; all
                           others are skipped ('' loads none; built-ins always load)
  TWINIFY_STRICT_PLUGINS   1 turns a plugin's load error into a fatal error
"""


def add_plugins_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``plugins`` subcommand."""
    parser = subparsers.add_parser(
        "plugins",
        help="list installed plugins and what they provide",
        description="List the plugins found in the 'twinify' entry-point group, with their "
        "status (active, disabled or failed) and the records each provides.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--all", action="store_true", help="include the built-in plugins")
    parser.add_argument("--hook", action="append", default=[], choices=HOOK_NAMES,
                        help="only plugins implementing this hook (repeatable)")
    parser.add_argument("--requirements", action="store_true",
                        help="print pip requirement lines (name==version) of third-party plugins")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 if any plugin failed")
    parser.set_defaults(handler=run_plugins)


def run_plugins(args: argparse.Namespace, registry: Registry) -> int:
    """Print the plugin listing in the requested form."""
    infos = _selected(registry.manager.infos(), args)
    if args.requirements:
        lines = sorted({f"{info.distribution}=={info.version}" for info in infos
                        if not info.builtin and info.distribution})
        if lines:
            print("\n".join(lines))
    elif args.json:
        print(json.dumps([plugin_as_dict(info) for info in infos], indent=2))
    else:
        print(_format_table(infos, registry, args))

    failed = registry.manager.failed()
    if args.strict and failed:
        names = ", ".join(info.name for info in failed)
        print(f"twinify: error: {_count(len(failed), 'plugin')} failed to load: {names}", file=sys.stderr)
        return 1
    return 0


def plugin_as_dict(info: PluginInfo) -> dict[str, Any]:
    """Return the JSON form of one plugin."""
    return {
        "name": info.name,
        "distribution": info.distribution,
        "version": info.version,
        "module": info.module,
        "builtin": info.builtin,
        "status": info.status,
        "error": info.error,
        "hooks": list(info.hooks),
        "provides": {hook: list(names) for hook, names in info.provides.items()},
    }


def _selected(infos: list[PluginInfo], args: argparse.Namespace) -> list[PluginInfo]:
    selected = [info for info in infos if args.all or args.requirements or not info.builtin]
    if args.hook:
        # A plugin that failed to import has no known hooks; keep it visible.
        selected = [info for info in selected if set(args.hook) & set(info.hooks) or info.status == "failed"]
    return sorted(selected, key=lambda info: (not info.builtin, info.distribution or "", info.name))


def _format_table(infos: list[PluginInfo], registry: Registry, args: argparse.Namespace) -> str:
    location = Path(twinify.__file__).parent
    header = (
        f"twinify {twinify_version()} from {location} (python {sys.version.split()[0]} at "
        f"{sys.executable}), plugin API {PLUGIN_API_VERSION}"
    )
    rows = [("Name", "Package", "Version", "Status")]
    rows.extend((info.name, info.distribution or "-", info.version or "-", info.status) for info in infos)
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    rules = tuple("-" * width for width in widths)

    lines = [header]
    for row, provides in zip([rows[0], rules, *rows[1:]], ["Provides", "--------", *map(_provides, infos)]):
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        lines.append("  ".join([*cells, provides]))
    if args.hook and all(info.status == "failed" for info in infos):
        lines.append("no plugin implements that hook")
    if not args.all:
        all_infos = registry.manager.infos()
        num_builtin = sum(info.builtin for info in all_infos)
        lines.append(
            f"{_count(len(all_infos) - num_builtin, 'third-party plugin')} "
            f"(use --all to include {_count(num_builtin, 'built-in plugin')})"
        )
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _provides(info: PluginInfo) -> str:
    if info.status == "failed":
        return info.error or "failed"
    if info.status == "disabled":
        return "disabled by TWINIFY_DISABLE_PLUGINS or TWINIFY_LOAD_PLUGINS"
    parts = [f"{hook.replace('_', ' ')}: {', '.join(names)}" for hook, names in info.provides.items() if names]
    return "; ".join(parts) or "-"
