"""conceptlab: find what a self-play agent knows that people don't, and teach it.

Implements Schut et al., *Bridging the Human-AI Knowledge Gap: Concept Discovery
and Transfer in AlphaZero* (arXiv 2310.16410) as a plugin framework: domains,
agents, searches, concept miners and filters are components that plugins register
through the hooks in :mod:`conceptlab.hookspecs`. Importing this package
imports only the hook markers and :class:`~conceptlab.lazy.LazyComponent`;
:func:`open_run` (:func:`conceptlab.run.store.open_run`, reading a run directory)
is imported on first use.
"""

from typing import Any

from conceptlab.lazy import LazyComponent
from conceptlab.markers import hookimpl

__all__ = ["LazyComponent", "__version__", "hookimpl", "open_run"]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "open_run":
        from conceptlab.run.store import open_run

        return open_run
    raise AttributeError(f"module 'conceptlab' has no attribute {name!r}")
