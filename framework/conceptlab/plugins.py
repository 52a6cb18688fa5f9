"""Finding plugins and the components they register.

:func:`get_plugin_manager` builds a fresh pluggy manager: the built-in plugins
(:data:`DEFAULT_PLUGINS`) and every entry point in the group ``conceptlab`` go
through the same door. :func:`get_registry` wraps one in a
:class:`~conceptlab.registry.Registry`, the small typed wrapper the rest of
conceptlab calls (re-exported here with :class:`~conceptlab.registry.PluginInfo`
and :data:`~conceptlab.registry.REGISTER_HOOKS`).

Switches (also on the CLI): ``CONCEPTLAB_DISABLE_PLUGINS=a,b`` disables plugins
by name, ``CONCEPTLAB_DISABLE_PLUGIN_AUTOLOAD=1`` loads no entry points (only
built-ins and those passed explicitly), ``CONCEPTLAB_TRACE_HOOKS=1`` writes every
hook call to stderr.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import os
import sys
from collections.abc import Iterable

import pluggy

from conceptlab import hookspecs
from conceptlab.errors import PluginLoadError
from conceptlab.markers import PROJECT
from conceptlab.registry import REGISTER_HOOKS, PluginInfo, Registry

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "REGISTER_HOOKS",
    "PluginInfo",
    "Registry",
    "get_plugin_manager",
    "get_registry",
]

ENTRY_POINT_GROUP = "conceptlab"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "conceptlab.builtin.games",
    "conceptlab.builtin.agents",
    "conceptlab.builtin.search",
    "conceptlab.builtin.miners",
    "conceptlab.builtin.filters",
    "conceptlab.builtin.bench",
    "conceptlab.builtin.study",
)
"""Modules registered as plugins before any entry point, as ``builtin.<module>``."""


def _env_list(var: str) -> list[str]:
    return [item.strip() for item in os.environ.get(var, "").split(",") if item.strip()]


def _env_flag(var: str) -> bool:
    return os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}


def get_plugin_manager(
    *,
    autoload: bool | None = None,
    disable: Iterable[str] = (),
    trace: bool | None = None,
    extra_plugins: Iterable[tuple[str, object]] = (),
) -> pluggy.PluginManager:
    """Build a plugin manager with the built-ins, the entry points and ``extra_plugins``.

    Args:
        autoload: Load entry points of the group ``conceptlab`` (default: on,
            unless ``CONCEPTLAB_DISABLE_PLUGIN_AUTOLOAD`` is set).
        disable: Plugin names not to register (added to ``CONCEPTLAB_DISABLE_PLUGINS``).
        trace: Write every hook call to stderr (default: ``CONCEPTLAB_TRACE_HOOKS``).
        extra_plugins: ``(name, plugin)`` pairs to register after the others.

    Raises:
        PluginLoadError: A plugin failed to import, or implements a hook that
            does not exist (a misspelling); the message names the plugin, the
            cause and how to disable it.
    """
    if autoload is None:
        autoload = not _env_flag("CONCEPTLAB_DISABLE_PLUGIN_AUTOLOAD")
    if trace is None:
        trace = _env_flag("CONCEPTLAB_TRACE_HOOKS")
    disabled = set(disable) | set(_env_list("CONCEPTLAB_DISABLE_PLUGINS"))

    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)

    def fix(name: str) -> str:
        return f"disable it with --disable {name} or CONCEPTLAB_DISABLE_PLUGINS={name}"

    for module_name in DEFAULT_PLUGINS:
        name = "builtin." + module_name.rsplit(".", 1)[-1]
        if name not in disabled:
            pm.register(importlib.import_module(module_name), name=name)

    if autoload:
        eps = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
        for ep in eps:
            if ep.name in disabled or pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # any import failure is the plugin's, not ours
                raise PluginLoadError(
                    f"plugin {ep.name!r} ({ep.value}) failed to import: "
                    f"{type(exc).__name__}: {exc}; {fix(ep.name)}"
                ) from exc
            pm.register(plugin, name=ep.name)

    for name, plugin in extra_plugins:
        if name not in disabled:
            pm.register(plugin, name=name)

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginLoadError(f"plugin {name!r}: {exc}; {fix(name)}") from None

    if trace:
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    return pm


def get_registry(
    *,
    autoload: bool | None = None,
    disable: Iterable[str] = (),
    trace: bool | None = None,
    extra_plugins: Iterable[tuple[str, object]] = (),
) -> Registry:
    """A :class:`Registry` over a fresh :func:`get_plugin_manager` (same arguments)."""
    return Registry(
        get_plugin_manager(
            autoload=autoload, disable=disable, trace=trace, extra_plugins=extra_plugins
        )
    )

