"""Built-in plugin ``builtin.agents``: the generic policy-value net agent ``pvnet``.

``pvnet`` needs torch (the ``torch`` extra). It is registered by import path, so
the name is known without torch, and a spec naming it where torch is missing
fails with "agent 'pvnet' (plugin 'builtin.agents') is unavailable: No module
named 'torch'" rather than "unknown agent".
"""

from __future__ import annotations

from conceptlab.lazy import LazyComponent
from conceptlab.markers import hookimpl

__all__ = ["register_agents"]


@hookimpl
def register_agents() -> list[LazyComponent]:
    return [LazyComponent("pvnet", "conceptlab.agents.pvnet:PVNetAgent")]
