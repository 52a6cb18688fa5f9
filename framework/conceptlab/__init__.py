"""conceptlab: find what a self-play agent knows that people don't, and teach it.

Implements Schut et al., *Bridging the Human-AI Knowledge Gap: Concept Discovery
and Transfer in AlphaZero* (arXiv 2310.16410) as a plugin framework: domains,
agents, searches, concept miners and filters are components that plugins register
through the hooks in :mod:`conceptlab.hookspecs`. Importing this package
imports only the hook markers and :class:`~conceptlab.lazy.LazyComponent`.
"""

from conceptlab.lazy import LazyComponent
from conceptlab.markers import hookimpl

__all__ = ["LazyComponent", "__version__", "hookimpl"]

__version__ = "0.1.0"
