"""The ``az-chess`` agent: an AlphaZero-style net evaluating chess states."""

from __future__ import annotations

import hashlib
import json
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

__all__ = ["SHIPPED_DIR", "AlphaZeroChessAgent", "AlphaZeroChessParams", "load_agent", "shipped_series"]

SHIPPED_DIR = Path(__file__).parent / "checkpoints"
"""Where the plugin's trained checkpoints and their ``index.json`` are installed."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shipped_series(folder: str | Path | None = None) -> tuple[list[Path], dict[str, Any]]:
    """The shipped checkpoint files, oldest first (the teacher last), and their index.

    ``folder`` holds ``index.json`` (default :data:`SHIPPED_DIR`); every file
    it lists is checked against its SHA-256.

    Raises:
        CheckpointError: No index, a listed file missing, or a file whose bytes changed.
    """
    folder = Path(folder) if folder is not None else SHIPPED_DIR
    index_path = folder / "index.json"
    if not index_path.is_file():
        raise CheckpointError(
            f"no shipped checkpoints: {str(index_path)!r} is missing (make them with 'conceptlab-chess bootstrap' "
            "and 'conceptlab-chess ship', see docs/chess.md)"
        )
    try:
        index = json.loads(index_path.read_text())
        entries = index["checkpoints"]
        paths = [folder / str(entry["file"]) for entry in entries]
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{str(index_path)!r} is not a checkpoint index: {exc}") from None
    for path, entry in zip(paths, entries):
        if not path.is_file():
            raise CheckpointError(f"shipped checkpoint {str(path)!r}, listed in {str(index_path)!r}, is missing")
        if _sha256(path) != entry.get("sha256"):
            raise CheckpointError(f"shipped checkpoint {str(path)!r} does not match the SHA-256 in {str(index_path)!r}")
    return paths, index


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

    def shipped_checkpoints(self) -> list[Path]:
        """The checkpoint series shipped with the plugin, oldest first, the teacher last.

        The train stage uses it for ``[stages.train] checkpoints = ["shipped"]``.

        Raises:
            CheckpointError: None shipped, a file altered, or the series was made
                for another architecture than this agent's (the message gives
                the domain and agent params to use instead).
        """
        paths, index = shipped_series()
        theirs, mine = index.get("architecture"), self.architecture()
        if theirs != mine:
            shape = theirs.get("observation_shape", [0]) if isinstance(theirs, dict) else [0]
            params = theirs.get("params") if isinstance(theirs, dict) else theirs
            raise CheckpointError(
                f"the shipped checkpoints are {theirs}, not this agent {mine}: use [agent] params = {params} "
                f"and [domain] params history = {(int(shape[0]) - 7) // 14}"
            )
        return paths

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
