"""Built-in plugin ``builtin.filters``: the domain-free teachability and novelty filters.

``kl-student`` teaches a weaker checkpoint the concept's prototypes (method.md
section 3); ``spectral`` compares the concept with the agent's and a reference
player's activation subspaces (method.md section 4).
"""

from __future__ import annotations

from conceptlab.filters import KLStudentFilter, SpectralNoveltyFilter
from conceptlab.hookspecs import hookimpl
from conceptlab.interfaces import NoveltyFilter, TeachabilityFilter

__all__ = ["register_novelty_filters", "register_teachability_filters"]


@hookimpl
def register_teachability_filters() -> list[type[TeachabilityFilter]]:
    return [KLStudentFilter]


@hookimpl
def register_novelty_filters() -> list[type[NoveltyFilter]]:
    return [SpectralNoveltyFilter]
