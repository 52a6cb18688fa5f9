"""Entry point of the ``openspiel`` plugin: registers the OpenSpiel domain."""

from __future__ import annotations

from conceptlab.hookspecs import hookimpl

__all__ = ["register_domains"]


@hookimpl
def register_domains() -> list[type]:
    from conceptlab_openspiel.domain import OpenSpielDomain

    return [OpenSpielDomain]
