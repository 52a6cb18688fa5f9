"""The registry: which component class is ``name``, and which plugin registered it.

:class:`Registry` is the small typed wrapper the rest of conceptlab calls. It
asks each plugin's registration hooks for their components once, checks them,
and answers "which class is ``name``" with errors that name the culprit. A hook
returns classes, or :class:`~conceptlab.lazy.LazyComponent` import paths that the
registry imports only when a component is used; so building a registry costs
only the plugins' own (small) modules.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy

from conceptlab.errors import (
    ComponentError,
    DuplicateComponentError,
    PluginLoadError,
    UnknownComponentError,
)
from conceptlab.interfaces import COMPONENT_KINDS, Component, build_params
from conceptlab.lazy import LazyComponent, LazyComponentError

__all__ = ["REGISTER_HOOKS", "PluginInfo", "Registry"]

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


class Registry:
    """The components all plugins register, by kind and name.

    Built once from a plugin manager; registration hooks are called here and
    nowhere else. Classes registered lazily are imported (and checked) the
    first time :meth:`get` asks for them.
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.hook = pm.hook
        self._entries: dict[str, dict[str, type[Component] | LazyComponent]] = {
            k: {} for k in REGISTER_HOOKS
        }
        self._providers: dict[tuple[str, str], str] = {}
        for kind, hook_name in REGISTER_HOOKS.items():
            caller = getattr(pm.hook, hook_name)
            # Each implementation is called on its own (not through ``caller()``) so that
            # every class is attributed to the plugin that registered it.
            for impl in caller.get_hookimpls():
                try:
                    entries = impl.function() or []
                except Exception as exc:
                    raise PluginLoadError(
                        f"plugin {impl.plugin_name!r} failed in {hook_name}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                for entry in entries:
                    self._add(kind, entry, impl.plugin_name)

    def _add(self, kind: str, entry: Any, plugin: str) -> None:
        if isinstance(entry, LazyComponent):
            name: Any = entry.name
        else:
            self._check_class(kind, entry, plugin)
            name = getattr(entry, "name", None)
        if not isinstance(name, str) or not name:
            what = repr(entry) if isinstance(entry, LazyComponent) else f"class {entry.__name__}"
            raise PluginLoadError(f"plugin {plugin!r}: {kind} {what} has no 'name'")
        if name in self._entries[kind]:
            other = self._providers[(kind, name)]
            raise DuplicateComponentError(
                f"{kind} {name!r} is registered by both plugin {other!r} and plugin "
                f"{plugin!r}; disable one of them (--disable {plugin})"
            )
        self._entries[kind][name] = entry
        self._providers[(kind, name)] = plugin

    @staticmethod
    def _check_class(kind: str, cls: Any, plugin: str) -> None:
        interface = COMPONENT_KINDS[kind]
        if not (isinstance(cls, type) and issubclass(cls, interface)):
            raise PluginLoadError(
                f"plugin {plugin!r} registered {cls!r} as a {kind}, "
                f"but it is not a subclass of {interface.__name__}"
            )

    def _load(self, kind: str, lazy: LazyComponent) -> type[Component]:
        plugin = self.provider(kind, lazy.name)
        label = f"{kind.replace('_', ' ')} {lazy.name!r} (plugin {plugin!r})"
        try:
            cls = lazy.load()
        except LazyComponentError as exc:
            raise ComponentError(f"{label} is unavailable: {exc}") from exc
        self._check_class(kind, cls, plugin)
        if getattr(cls, "name", None) != lazy.name:
            raise PluginLoadError(
                f"plugin {plugin!r} registered {lazy.target!r} as {kind} {lazy.name!r}, "
                f"but the class is named {getattr(cls, 'name', None)!r}"
            )
        self._entries[kind][lazy.name] = cls
        return cls

    # -- lookups ---------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        """Registered names of one kind, sorted (imports nothing)."""
        return sorted(self._entries[kind])

    def get(self, kind: str, name: str) -> type[Component]:
        """The class registered as ``name``, imported now if it was registered lazily.

        Raises:
            UnknownComponentError: No plugin registered ``name`` (with a suggestion).
            ComponentError: The class cannot be imported (e.g. a missing
                dependency); the message names the component, its plugin and the cause.
            PluginLoadError: The import path leads to something that is not a
                class of this kind named ``name``.
        """
        try:
            entry = self._entries[kind][name]
        except KeyError:
            raise UnknownComponentError(kind.replace("_", " "), name, self._entries[kind]) from None
        if isinstance(entry, LazyComponent):
            return self._load(kind, entry)
        return entry

    def loaded(self, kind: str, name: str) -> type[Component] | None:
        """The class of ``name`` if it is imported already, else ``None`` (imports nothing)."""
        entry = self._entries[kind][name]
        if isinstance(entry, LazyComponent):
            module = sys.modules.get(entry.module)
            value = getattr(module, entry.target.partition(":")[2], None) if module else None
            return value if isinstance(value, type) else None
        return entry

    def location(self, kind: str, name: str) -> str:
        """Where the class of ``name`` is defined, ``"package.module:ClassName"`` (imports nothing)."""
        entry = self._entries[kind][name]
        if isinstance(entry, LazyComponent):
            return entry.target
        return f"{entry.__module__}:{entry.__qualname__}"

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
        distributions = metadata.packages_distributions()  # one scan of the environment
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            dist_name, version = _own_distribution(plugin, distributions)
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            components = tuple(
                (kind, comp)
                for (kind, comp), provider in sorted(self._providers.items())
                if provider == name
            )
            infos.append(PluginInfo(name, dist_name, version, hooks, components))
        return infos


def _own_distribution(plugin: object, distributions: Mapping[str, list[str]]) -> tuple[str, str]:
    module = plugin if isinstance(plugin, ModuleType) else sys.modules.get(type(plugin).__module__)
    top = (getattr(module, "__name__", "") or "").split(".")[0]
    for dist_name in distributions.get(top, []):
        return dist_name, metadata.version(dist_name)
    return "(not installed)", "-"
