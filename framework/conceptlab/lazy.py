"""Components registered by import path, so that registering one imports nothing.

A registration hook may return a :class:`LazyComponent` instead of a class: the
registry then knows the component's name and where it lives, and imports its
module only when a spec or command uses the component. ``conceptlab --help``,
``conceptlab plugins`` and a spec error therefore never import torch, cvxpy or
a game library that only one component needs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

__all__ = ["LazyComponent", "LazyComponentError"]


class LazyComponentError(ImportError):
    """A :class:`LazyComponent`'s target cannot be imported or is not in its module."""


@dataclass(frozen=True)
class LazyComponent:
    """A component class named by ``name`` and found at ``target``, imported on first use.

    Example::

        @hookimpl
        def register_agents():
            return [LazyComponent("pvnet", "conceptlab.agents.pvnet:PVNetAgent")]
    """

    name: str
    """The name a spec selects the component by; must equal the class's ``name``."""
    target: str
    """``"package.module:ClassName"``: where the class is defined."""

    def __post_init__(self) -> None:
        module, sep, attr = self.target.partition(":")
        if not (sep and module and attr):
            raise ValueError(
                f"LazyComponent {self.name!r}: target {self.target!r} is not 'package.module:ClassName'"
            )

    @property
    def module(self) -> str:
        """The module that defines the class."""
        return self.target.partition(":")[0]

    def load(self) -> type:
        """Import the module and return the class.

        Raises:
            LazyComponentError: The module (or a module it needs) cannot be
                imported, or it has no attribute of that name.
        """
        module_name, _, attr = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise LazyComponentError(str(exc)) from exc
        try:
            value = getattr(module, attr)
        except AttributeError:
            raise LazyComponentError(f"module {module_name!r} has no attribute {attr!r}") from None
        if not isinstance(value, type):
            raise LazyComponentError(f"{self.target!r} is {value!r}, not a class")
        return value
