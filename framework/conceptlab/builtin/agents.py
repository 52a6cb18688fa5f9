"""Built-in plugin ``builtin.agents``: the generic policy-value net agent ``pvnet``.

``pvnet`` needs torch (the ``torch`` extra). Without it the name is still
registered, so that a spec naming it fails with "agent 'pvnet' is unavailable:
No module named 'torch'" rather than "unknown agent".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conceptlab.hookspecs import hookimpl
from conceptlab.interfaces import Agent, Domain, StrictParams
from conceptlab.values import Evaluation

__all__ = ["register_agents"]


def _unavailable(name: str, error: ImportError) -> type[Agent[Any]]:
    """An Agent class registered as ``name`` whose constructor re-raises ``error``."""

    class Unavailable(Agent[Any]):
        __doc__ = f"Unavailable here: {error}."

        def __init__(
            self, domain: Domain[Any], params: StrictParams | None = None, *, seed: int = 0
        ) -> None:
            raise ImportError(str(error))

        @property
        def layer_names(self) -> tuple[str, ...]:
            raise ImportError(str(error))

        def evaluate(self, states: Sequence[Any], layers: Sequence[str] = ()) -> Evaluation:
            raise ImportError(str(error))

    Unavailable.name = name  # type: ignore[misc]
    Unavailable.__name__ = Unavailable.__qualname__ = "UnavailablePVNetAgent"
    return Unavailable


@hookimpl
def register_agents() -> list[type]:
    try:
        from conceptlab.agents.pvnet import PVNetAgent
    except ImportError as exc:
        return [_unavailable("pvnet", exc)]
    return [PVNetAgent]
