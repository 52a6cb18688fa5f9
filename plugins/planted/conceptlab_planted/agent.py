"""``pvnet-checkpoint``: the core's ``pvnet`` with its weights read from a checkpoint file.

A spec's ``[players.NAME]`` are built from their params alone, so a trained
``pvnet`` (the reference player trained on the standard game, or an early
checkpoint of the teacher as student) needs its file among its params. The
network is ``pvnet``'s and the checkpoints are interchangeable: this agent
loads any ``pvnet`` checkpoint of the same architecture, and its own saves load
into ``pvnet``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from conceptlab.agents.pvnet import PVNetAgent, PVNetParams
from conceptlab.errors import CheckpointError
from conceptlab.interfaces import Domain, StrictParams

__all__ = ["CheckpointPVNet", "CheckpointPVNetParams"]


class CheckpointPVNetParams(PVNetParams):
    """``pvnet``'s params, and the checkpoint file to load."""

    checkpoint: str | None = Field(
        default=None,
        description="A pvnet checkpoint file (e.g. runs/planted-reference/train/checkpoints/ckpt-0040.pt) "
        "whose weights are loaded; its architecture must match the other params. None: freshly initialised.",
    )


class CheckpointPVNet(PVNetAgent[Any]):
    """The core's pvnet with its weights read from a checkpoint file, for a spec's players."""

    name: ClassVar[str] = "pvnet-checkpoint"
    Params: ClassVar[type[StrictParams]] = CheckpointPVNetParams
    params: CheckpointPVNetParams

    def __init__(self, domain: Domain[Any], params: StrictParams | None = None, *, seed: int = 0) -> None:
        super().__init__(domain, params, seed=seed)
        if self.params.checkpoint is not None:
            path = Path(self.params.checkpoint).expanduser()
            if not path.is_file():
                raise CheckpointError(f"agent {self.name!r}: checkpoint file not found: {str(path)!r}")
            self.load(path)

    def architecture(self) -> dict[str, Any]:
        """``pvnet``'s architecture record (the checkpoint param left out), so files load both ways."""
        params = self.params.model_dump(mode="json")
        params.pop("checkpoint")
        return {"agent": PVNetAgent.name, "params": params}
