"""The ``lc0`` agent: any lc0 residual network (Leela Chess Zero, Maia) evaluating chess states."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import chess
import numpy as np
import torch
from pydantic import Field

from conceptlab.agents.torch import PolicyValueNet, TorchAgent
from conceptlab.errors import CheckpointError, ComponentError
from conceptlab.interfaces import Domain, StrictParams
from conceptlab.values import CheckpointInfo

from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.lc0.moves import CASTLING, NUM_LC0_MOVES, action_table
from conceptlab_chess.lc0.named import resolve
from conceptlab_chess.lc0.net import Lc0Net
from conceptlab_chess.lc0.planes import encode_lc0
from conceptlab_chess.lc0.weights import Lc0Weights, read_weights
from conceptlab_chess.state import ChessState

__all__ = ["Lc0Agent", "Lc0Params"]

_PLAIN, _QUEEN = action_table()


class Lc0Params(StrictParams):
    """Which lc0 network to load."""

    weights: str = Field(
        description="An lc0 weight file (.pb or .pb.gz), or the name of a fetched network ('maia-1900').",
    )


class Lc0Agent(TorchAgent[ChessState]):
    """Evaluates chess states with an lc0 network read from its weight file.

    The network (:class:`~conceptlab_chess.lc0.net.Lc0Net`) sees lc0's 112
    input planes (:mod:`conceptlab_chess.lc0.planes`, eight positions of the
    state's history) and scores lc0's 1858 moves, mapped here onto the
    domain's actions (a queen-plane move from the seventh rank by a pawn is
    lc0's queen promotion; the knight underpromotion is lc0's plain move;
    castling is the king's move onto its rook).
    Its value is for the side to move (``P(win) - P(loss)`` for WDL nets).

    Trainable like any torch agent, so it can be a student; a fine-tuned copy
    is saved in conceptlab's checkpoint format and loads into any ``lc0``
    agent whose network has the same shape. Layers: ``stem``, ``block0`` ..
    ``block{n-1}``, ``policy_head`` (the 1858 logits), ``value_head``.
    """

    name: ClassVar[str] = "lc0"
    Params: ClassVar[type[StrictParams]] = Lc0Params
    example_params: ClassVar[dict[str, Any]] = {"weights": "maia-1900"}
    params: Lc0Params

    def __init__(self, domain: Domain[ChessState], params: StrictParams | None = None, *, seed: int = 0) -> None:
        if not isinstance(domain, ChessDomain):
            raise ComponentError(f"agent 'lc0' plays chess only; got domain {getattr(domain, 'name', domain)!r}")
        if params is None:
            raise ComponentError("agent 'lc0' needs params: weights = PATH or a named network ('maia-1900')")
        self.weights_path: Path = resolve(params.weights)  # type: ignore[attr-defined]
        self.lc0_weights: Lc0Weights = read_weights(self.weights_path)
        super().__init__(domain, params, seed=seed)

    def build_network(self) -> PolicyValueNet:
        return Lc0Net(self.lc0_weights)

    def encode(self, states: Sequence[ChessState]) -> np.ndarray:
        return encode_lc0(states)

    def action_logits(self, logits: torch.Tensor, states: Sequence[ChessState]) -> torch.Tensor:
        index = np.full((len(states), self.domain.num_actions), NUM_LC0_MOVES, dtype=np.int64)
        for row, state in zip(index, states):
            for action, move in state.moves.items():
                if move.promotion == chess.QUEEN:
                    row[action] = _QUEEN[action]
                elif action in CASTLING and state.board.is_castling(move):
                    row[action] = CASTLING[action]
                else:
                    row[action] = _PLAIN[action]
        padded = torch.cat([logits, logits.new_zeros((logits.shape[0], 1))], dim=1)
        return padded.gather(1, torch.from_numpy(index))

    def architecture(self) -> dict[str, Any]:
        """The network's shape and formats: what a fine-tuned checkpoint must match (not the file's path)."""
        return {"agent": self.name, "params": self.lc0_weights.describe()}

    def load(self, path: str | Path) -> CheckpointInfo:
        try:
            return super().load(path)
        except RuntimeError as exc:  # weights that do not fit despite matching metadata
            raise CheckpointError(f"checkpoint {str(path)!r} does not fit agent 'lc0': {exc}") from None
