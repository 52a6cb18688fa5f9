"""Entry point of the ``openspiel`` plugin: the OpenSpiel domain."""

from __future__ import annotations

from conceptlab.hookspecs import hookimpl
from conceptlab.lazy import LazyComponent

__all__ = ["register_domains"]


@hookimpl
def register_domains() -> list[LazyComponent]:
    return [LazyComponent("openspiel", "conceptlab_openspiel.domain:OpenSpielDomain")]

