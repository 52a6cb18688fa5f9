"""Finding plugins and the components they register.

:func:`get_plugin_manager` builds a fresh pluggy manager: the built-in plugins
(:data:`DEFAULT_PLUGINS`) and every entry point in the group ``conceptlab`` go
through the same door. :class:`Registry` is the small typed wrapper the rest of
conceptlab calls: it asks each plugin for its component classes once, checks
them, and answers "which class is ``name``" with errors that name the culprit.

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy

from conceptlab import hookspecs
from conceptlab.errors import (
    ComponentError,
    DuplicateComponentError,
    PluginLoadError,
    UnknownComponentError,
)
from conceptlab.interfaces import COMPONENT_KINDS, Component, build_params

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
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
)
"""Modules registered as plugins before any entry point, as ``builtin.<module>``."""

REGISTER_HOOKS: Mapping[str, str] = {
    "domain": "register_domains",
    "agent": "register_agents",
    "search": "register_searches",
    "concept_miner": "register_concept_miners",
    "teachability_filter": "register_teachability_filters",
    "novelty_filter": "register_novelty_filters",
}
"""Component kind -> the hook that registers it."""


@dataclass(frozen=True)
class PluginInfo:
    """A registered plugin, as ``conceptlab plugins`` shows it."""

    name: str
    distribution: str
    """The distribution that provides it (``conceptlab`` for built-ins)."""
    version: str
    hooks: tuple[str, ...]
    """Hooks it implements."""
    components: tuple[tuple[str, str], ...]
    """(kind, name) of each component it registers."""


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

    pm = pluggy.PluginManager(hookspecs.PROJECT)
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


class Registry:
    """The components all plugins register, by kind and name.

    Built once from a plugin manager; registration hooks are called here and
    nowhere else.
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.hook = pm.hook
        self._classes: dict[str, dict[str, type[Component]]] = {k: {} for k in REGISTER_HOOKS}
        self._providers: dict[tuple[str, str], str] = {}
        for kind, hook_name in REGISTER_HOOKS.items():
            caller = getattr(pm.hook, hook_name)
            for impl in caller.get_hookimpls():
                try:
                    classes = impl.function() or []
                except Exception as exc:
                    raise PluginLoadError(
                        f"plugin {impl.plugin_name!r} failed in {hook_name}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                for cls in classes:
                    self._add(kind, cls, impl.plugin_name)

    def _add(self, kind: str, cls: Any, plugin: str) -> None:
        interface = COMPONENT_KINDS[kind]
        if not (isinstance(cls, type) and issubclass(cls, interface)):
            raise PluginLoadError(
                f"plugin {plugin!r} registered {cls!r} as a {kind}, "
                f"but it is not a subclass of {interface.__name__}"
            )
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginLoadError(f"plugin {plugin!r}: {kind} class {cls.__name__} has no 'name'")
        if name in self._classes[kind]:
            other = self._providers[(kind, name)]
            raise DuplicateComponentError(
                f"{kind} {name!r} is registered by both plugin {other!r} and plugin "
                f"{plugin!r}; disable one of them (--disable {plugin})"
            )
        self._classes[kind][name] = cls
        self._providers[(kind, name)] = plugin

    # -- lookups ---------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        """Registered names of one kind, sorted."""
        return sorted(self._classes[kind])

    def get(self, kind: str, name: str) -> type[Component]:
        """The class registered as ``name``; ``UnknownComponentError`` with a suggestion otherwise."""
        try:
            return self._classes[kind][name]
        except KeyError:
            raise UnknownComponentError(kind.replace("_", " "), name, self._classes[kind]) from None

    def provider(self, kind: str, name: str) -> str:
        """Name of the plugin that registered ``name``."""
        return self._providers[(kind, name)]

    def create(self, kind: str, name: str, params: Mapping[str, Any] | None, *args: Any) -> Any:
        """Instantiate ``name`` with validated ``params``; ``args`` go before params.

        Domains take no positional arguments; agents and searches take the domain.
        """
        cls = self.get(kind, name)
        validated = build_params(cls, dict(params or {}))
        try:
            return cls(*args, validated)
        except ComponentError:
            raise
        except ImportError as exc:
            raise ComponentError(
                f"{kind.replace('_', ' ')} {name!r} (plugin {self.provider(kind, name)!r}) "
                f"is unavailable: {exc}"
            ) from exc

    def plugins(self) -> list[PluginInfo]:
        """Every registered plugin, with its distribution, hooks and components."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            dist_name, version = _own_distribution(plugin)
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            components = tuple(
                (kind, comp)
                for (kind, comp), provider in sorted(self._providers.items())
                if provider == name
            )
            infos.append(PluginInfo(name, dist_name, version, hooks, components))
        return infos


def _own_distribution(plugin: object) -> tuple[str, str]:
    module = plugin if isinstance(plugin, ModuleType) else sys.modules.get(type(plugin).__module__)
    top = (getattr(module, "__name__", "") or "").split(".")[0]
    for dist_name in metadata.packages_distributions().get(top, []):
        return dist_name, metadata.version(dist_name)
    return "(not installed)", "-"


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

