"""Built-in plugin ``builtin.filters``: the domain-free teachability and novelty filters.

``kl-student`` teaches a weaker checkpoint the concept's prototypes (method.md
section 3); ``spectral`` compares the concept with the agent's and a reference
player's activation subspaces (method.md section 4). Both are registered by
import path and imported when a spec uses them.
"""

from __future__ import annotations

from conceptlab.lazy import LazyComponent
from conceptlab.markers import hookimpl

__all__ = ["register_novelty_filters", "register_teachability_filters"]


@hookimpl
def register_teachability_filters() -> list[LazyComponent]:
    return [LazyComponent("kl-student", "conceptlab.filters.kl_student:KLStudentFilter")]


@hookimpl
def register_novelty_filters() -> list[LazyComponent]:
    return [LazyComponent("spectral", "conceptlab.filters.spectral:SpectralNoveltyFilter")]
