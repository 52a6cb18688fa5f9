"""The hook markers, in a module of their own so that importing them pulls in nothing else.

Plugins write ``from conceptlab import hookimpl`` (the same object); the core's
hook specifications (:mod:`conceptlab.hookspecs`) and plugin manager
(:mod:`conceptlab.plugins`) import the project name and markers from here.
"""

from __future__ import annotations

from typing import Final

import pluggy

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT: Final[str] = "conceptlab"
"""The pluggy project name: hook implementations are marked for it."""

hookspec: Final[pluggy.HookspecMarker] = pluggy.HookspecMarker(PROJECT)
"""Marks a hook specification (only :mod:`conceptlab.hookspecs` uses it)."""

hookimpl: Final[pluggy.HookimplMarker] = pluggy.HookimplMarker(PROJECT)
"""Marks a plugin's hook implementation: ``@hookimpl def register_domains(): ...``."""
