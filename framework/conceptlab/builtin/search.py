"""Built-in plugin ``builtin.search``: the domain-free PUCT Monte-Carlo tree search."""

from __future__ import annotations

from conceptlab.lazy import LazyComponent
from conceptlab.markers import hookimpl

__all__ = ["register_searches"]


@hookimpl
def register_searches() -> list[LazyComponent]:
    return [LazyComponent("puct", "conceptlab.search.puct:PUCTSearch")]
