"""Built-in plugin ``builtin.search``: the domain-free PUCT Monte-Carlo tree search."""

from __future__ import annotations

from conceptlab.hookspecs import hookimpl
from conceptlab.search.puct import PUCTSearch

__all__ = ["register_searches"]


@hookimpl
def register_searches() -> list[type]:
    return [PUCTSearch]
