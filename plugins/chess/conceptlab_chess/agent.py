"""The ``az-chess`` agent: an AlphaZero-style net evaluating chess states."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from conceptlab.agents.torch import PolicyValueNet, TorchAgent, read_checkpoint
from conceptlab.errors import CheckpointError, ComponentError
from conceptlab.interfaces import Domain, StrictParams
from conceptlab.values import CheckpointInfo

from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.net import AlphaZeroNet
from conceptlab_chess.state import ChessState

__all__ = ["AlphaZeroChessAgent", "AlphaZeroChessParams", "load_agent"]


class AlphaZeroChessParams(StrictParams):
    """Size of the network (AlphaZero: 19 blocks of 256 filters, no squeeze-excitation)."""

    blocks: int = Field(default=6, ge=1, le=40, description="Residual blocks in the tower.")
    filters: int = Field(default=64, ge=1, le=512, description="Channels of the tower's convolutions.")
    se_ratio: int | None = Field(
        default=None, ge=1, description="Squeeze-excitation reduction ratio per block; none when unset."
    )
    value_hidden: int = Field(default=128, ge=1, description="Hidden units of the value head.")


class AlphaZeroChessAgent(TorchAgent[ChessState]):
    """Evaluates chess states with :class:`~conceptlab_chess.net.AlphaZeroNet` (Silver et al. 2018).

    Layers: ``stem``, ``block0`` .. ``block{n-1}``, ``policy_head`` (the 4672
    logits), ``value_head``. A checkpoint records the net's params and the
    domain's input shape; loading one made for another shape or size fails
    with a ``CheckpointError`` naming both. Departure from AlphaZero: a small
    default size (6 x 64) so that inference on a CPU is fast.
    """

    name: ClassVar[str] = "az-chess"
    Params: ClassVar[type[StrictParams]] = AlphaZeroChessParams
    params: AlphaZeroChessParams

    def __init__(self, domain: Domain[ChessState], params: StrictParams | None = None, *, seed: int = 0) -> None:
        if not isinstance(domain, ChessDomain):
            raise ComponentError(
                f"agent 'az-chess' plays chess only; got domain {getattr(domain, 'name', domain)!r}"
            )
        super().__init__(domain, params, seed=seed)

    def build_network(self) -> PolicyValueNet:
        p = self.params
        return AlphaZeroNet(
            in_planes=self.domain.observation_shape[0],
            blocks=p.blocks,
            filters=p.filters,
            se_ratio=p.se_ratio,
            value_hidden=p.value_hidden,
        )

    def architecture(self) -> dict[str, Any]:
        """Name, params and the input shape (which the domain's ``history`` sets)."""
        arch = super().architecture()
        arch["observation_shape"] = list(self.domain.observation_shape)
        return arch

    def load(self, path: str | Path) -> CheckpointInfo:
        try:
            return super().load(path)
        except RuntimeError as exc:  # weights that do not fit despite matching metadata
            raise CheckpointError(f"checkpoint {str(path)!r} does not fit agent 'az-chess': {exc}") from None


def load_agent(path: str | Path, domain_params: dict[str, Any] | None = None) -> AlphaZeroChessAgent:
    """An ``az-chess`` agent (and its chess domain) built to match the checkpoint at ``path``.

    The domain's ``history`` is read from the checkpoint's input shape; other
    domain params come from ``domain_params``.

    Raises:
        CheckpointError: The file is missing, corrupt, or not an ``az-chess`` checkpoint.
    """
    payload = read_checkpoint(path)
    arch = payload["architecture"]
    if not isinstance(arch, dict) or arch.get("agent") != AlphaZeroChessAgent.name or "observation_shape" not in arch:
        raise CheckpointError(
            f"checkpoint {str(path)!r} was saved by {arch.get('agent') if isinstance(arch, dict) else arch!r}, "
            "not by agent 'az-chess'"
        )
    planes = int(arch["observation_shape"][0])
    history, rest = divmod(planes - 7, 14)
    if rest or history < 1:
        raise CheckpointError(f"checkpoint {str(path)!r} has an input of {planes} planes, not 14 * history + 7")
    domain = ChessDomain(ChessDomain.Params.model_validate({**(domain_params or {}), "history": history}))
    agent = AlphaZeroChessAgent(domain, AlphaZeroChessAgent.Params.model_validate(arch["params"]))
    agent.load(path)
    return agent
