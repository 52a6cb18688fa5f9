"""A base for agents backed by a torch policy-value network.

Subclasses build the network; this class does batched evaluation with legal-move
masking, captures named layers' activations in the same forward pass (forward
hooks), fits the network to policy and value targets, and saves and loads
checkpoints with their metadata. torch is imported here and in subclasses only,
so the core runs without it.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from conceptlab.errors import CheckpointError, ComponentError
from conceptlab.interfaces import Domain, StrictParams, TrainableAgent
from conceptlab.interfaces.domain import S
from conceptlab.precision import BF16_MIN_BATCH, PrecisionError, autocast
from conceptlab.values import CheckpointInfo, Evaluation

__all__ = ["CHECKPOINT_FORMAT", "PolicyValueNet", "TorchAgent", "legal_mask"]

CHECKPOINT_FORMAT = "conceptlab-checkpoint/1"


class PolicyValueNet(nn.Module):
    """A network mapping ``(batch, *observation_shape)`` to policy logits and a value.

    ``forward`` returns ``(logits (batch, num_actions), value (batch,))`` with the
    value in ``[-1, 1]``. ``named_layers`` lists the modules whose outputs the
    agent exposes as activations, input to output.
    """

    @abstractmethod
    def named_layers(self) -> Mapping[str, nn.Module]:
        """Layer name -> module, in forward order."""


def legal_mask(domain: Domain[Any], states: Sequence[Any]) -> np.ndarray:
    """``(len(states), num_actions)`` bool mask of the legal actions of each state."""
    mask = np.zeros((len(states), domain.num_actions), dtype=bool)
    for i, state in enumerate(states):
        mask[i, list(domain.legal_actions(state))] = True
    return mask


class TorchAgent(TrainableAgent[S]):
    """A :class:`TrainableAgent` over a :class:`PolicyValueNet` built by ``build_network``.

    Args:
        domain: The domain whose states are evaluated.
        params: The subclass's validated ``Params``.
        seed: Seeds the weight initialisation (the global torch RNG is left untouched).
    """

    def __init__(self, domain: Domain[S], params: StrictParams | None = None, *, seed: int = 0) -> None:
        super().__init__(domain, params, seed=seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.network = self.build_network()
        self.network.eval()
        self.device = torch.device("cpu")
        # "fp32", or "bf16": forward and backward passes under bf16 autocast (see set_precision)
        self.precision = "fp32"

    def set_precision(self, precision: str) -> None:
        """Evaluate and fit in ``precision`` (``fp32`` or ``bf16``, see :mod:`conceptlab.precision`).

        Under ``bf16`` an evaluation of fewer than ``BF16_MIN_BATCH`` states still runs in fp32.
        """
        if precision not in ("fp32", "bf16"):
            raise PrecisionError(
                f"agent {self.name!r}: precision must be 'fp32' or 'bf16', got {precision!r}"
            )
        self.precision = precision

    @abstractmethod
    def build_network(self) -> PolicyValueNet:
        """A fresh network for ``self.domain`` with ``self.params``."""

    def encode(self, states: Sequence[S]) -> np.ndarray:
        """The network's input for ``states``: the domain's encoding unless a subclass reads states its own way."""
        return self.domain.encode(states)

    def action_logits(self, logits: torch.Tensor, states: Sequence[S]) -> torch.Tensor:
        """``(batch, num_actions)`` logits over the domain's actions from the network's policy output.

        The identity for networks whose policy is the domain's action space; a
        network with a policy of its own (e.g. lc0's 1858 moves) maps it here.
        Only legal actions' entries are read.
        """
        return logits

    # -- evaluation ----------------------------------------------------------------------------
    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(self.network.named_layers())

    def _forward(
        self, x: torch.Tensor, layers: Sequence[str]
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        modules = self.network.named_layers()
        captured: dict[str, torch.Tensor] = {}
        handles = []
        for layer in layers:
            if layer not in modules:
                raise ComponentError(
                    f"agent {self.name!r} has no layer {layer!r}; layers: {', '.join(modules)}"
                )
            handles.append(
                modules[layer].register_forward_hook(
                    lambda _m, _i, out, layer=layer: captured.__setitem__(layer, out)
                )
            )
        try:
            logits, value = self.network(x)
        finally:
            for handle in handles:
                handle.remove()
        return logits, value, captured

    def evaluate(self, states: Sequence[S], layers: Sequence[str] = ()) -> Evaluation:
        if not states:
            empty = {layer: np.zeros((0,), dtype=np.float32) for layer in layers}
            return Evaluation(
                np.zeros((0, self.domain.num_actions), np.float32), np.zeros(0, np.float32), empty
            )
        x = torch.from_numpy(self.encode(states))
        mask = torch.from_numpy(legal_mask(self.domain, states))
        # bf16 costs more than it saves on a single state (see BF16_MIN_BATCH)
        precision = self.precision if len(states) >= BF16_MIN_BATCH else "fp32"
        with torch.inference_mode():
            with autocast(precision):
                logits, value, captured = self._forward(x, layers)
            logits, value = logits.float(), value.float()
            captured = {k: v.float() for k, v in captured.items()}
            logits = self.action_logits(logits, states).masked_fill(~mask, float("-inf"))
            # a terminal state has no legal action: give it an all-zero policy, not NaNs
            policy = torch.softmax(logits, dim=-1).nan_to_num(0.0)
        return Evaluation(
            policy=policy.numpy().astype(np.float32, copy=False),
            value=value.reshape(-1).numpy().astype(np.float32, copy=False),
            activations={k: v.numpy().astype(np.float32, copy=True) for k, v in captured.items()},
        )

    # -- training -----------------------------------------------------------------------------
    def fit(
        self,
        states: Sequence[S],
        policy_targets: np.ndarray,
        value_targets: np.ndarray | None = None,
        *,
        epochs: int,
        learning_rate: float,
        batch_size: int,
        rng: np.random.Generator,
        freeze_statistics: bool = False,
    ) -> Mapping[str, float]:
        n = len(states)
        if n == 0:
            return {"policy_loss": float("nan")}
        x_all = torch.from_numpy(self.encode(states))
        mask_all = torch.from_numpy(legal_mask(self.domain, states))
        p_all = torch.from_numpy(np.asarray(policy_targets, dtype=np.float32))
        v_all = None if value_targets is None else torch.from_numpy(np.asarray(value_targets, np.float32))
        optimiser = torch.optim.Adam(self.network.parameters(), lr=learning_rate)
        self.network.train()
        if freeze_statistics:  # batch norm normalises with its running statistics and leaves them alone
            for module in self.network.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        losses: dict[str, float] = {}
        try:
            for _ in range(epochs):
                order = torch.from_numpy(rng.permutation(n))
                totals = {"policy_loss": 0.0, "value_loss": 0.0}
                for start in range(0, n, batch_size):
                    idx = order[start:start + batch_size]
                    with autocast(self.precision):
                        logits, value = self.network(x_all[idx])
                    logits, value = logits.float(), value.float()
                    logits = self.action_logits(logits, [states[i] for i in idx.tolist()])
                    log_p = torch.log_softmax(logits.masked_fill(~mask_all[idx], -1e9), dim=-1)
                    policy_loss = -(p_all[idx] * log_p).sum(dim=-1).mean()
                    loss = policy_loss
                    if v_all is not None:
                        value_loss = torch.mean((value.reshape(-1) - v_all[idx]) ** 2)
                        loss = loss + value_loss
                        totals["value_loss"] += value_loss.item() * len(idx)
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    totals["policy_loss"] += policy_loss.item() * len(idx)
                losses = {k: v / n for k, v in totals.items() if k == "policy_loss" or v_all is not None}
        finally:
            self.network.eval()
        return losses

    def clone(self) -> TorchAgent[S]:
        return copy.deepcopy(self)

    # -- checkpoints --------------------------------------------------------------------------
    def architecture(self) -> dict[str, Any]:
        """The agent's name and params: what a checkpoint must match to load."""
        return {"agent": self.name, "params": self.params.model_dump(mode="json")}

    def save(
        self, path: str | Path, *, step: int, games: int, extra: Mapping[str, Any] | None = None
    ) -> CheckpointInfo:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        weights = io.BytesIO()
        torch.save(self.network.state_dict(), weights)
        digest = hashlib.sha256(weights.getvalue()).hexdigest()
        payload = {
            "format": CHECKPOINT_FORMAT,
            "architecture": self.architecture(),
            "step": step,
            "games": games,
            "extra": dict(extra or {}),
            "sha256": digest,
            "state_dict": self.network.state_dict(),
        }
        tmp = path.with_name(path.name + ".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)
        return CheckpointInfo(str(path), step, games, payload["architecture"], digest, payload["extra"])

    def load(self, path: str | Path) -> CheckpointInfo:
        payload = read_checkpoint(path)
        mine = self.architecture()
        if payload["architecture"] != mine:
            raise CheckpointError(
                f"checkpoint {str(path)!r} was saved by {payload['architecture']}, "
                f"which does not match this agent {mine}"
            )
        self.network.load_state_dict(payload["state_dict"])
        self.network.eval()
        return CheckpointInfo(
            str(path), payload["step"], payload["games"], payload["architecture"],
            payload["sha256"], payload["extra"],
        )


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw payload of a checkpoint file; ``CheckpointError`` when missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {str(path)!r}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt or not a checkpoint: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} is not a {CHECKPOINT_FORMAT} file")
    return payload
