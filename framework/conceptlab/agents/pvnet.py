"""``pvnet``: a generic policy-value network agent for any domain (the built-in agent).

A residual convolutional tower when the domain's observation is ``(C, H, W)``
planes, a residual MLP otherwise; a policy head of logits over the domain's
actions and a value head ending in ``tanh``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import torch
from pydantic import Field
from torch import nn

from conceptlab.agents.torch import PolicyValueNet, TorchAgent
from conceptlab.interfaces import StrictParams
from conceptlab.interfaces.domain import S

__all__ = ["ConvPolicyValueNet", "MLPPolicyValueNet", "PVNetAgent", "PVNetParams"]


class PVNetParams(StrictParams):
    """Params of :class:`PVNetAgent`."""

    blocks: int = Field(default=2, ge=0, le=64, description="Residual blocks in the torso.")
    channels: int = Field(
        default=32, ge=1, description="Channels of the convolutional torso (planar observations)."
    )
    hidden: int = Field(
        default=64, ge=1, description="Width of the MLP torso (flat observations)."
    )
    value_hidden: int = Field(
        default=32, ge=1, description="Width of the value head's hidden layer."
    )
    policy_channels: int = Field(
        default=2, ge=1, description="Channels of the 1x1 convolution that starts the policy head."
    )
    squeeze_excitation: bool = Field(
        default=False,
        description="Add a squeeze-and-excitation gate to each convolutional residual block.",
    )
    se_ratio: int = Field(
        default=4, ge=1, description="Channel reduction of the squeeze-and-excitation gate."
    )


class SqueezeExcitation(nn.Module):
    """Channel gating by globally pooled features (Hu et al., 2018)."""

    def __init__(self, channels: int, ratio: int) -> None:
        super().__init__()
        squeezed = max(channels // ratio, 1)
        self.gate = nn.Sequential(
            nn.Linear(channels, squeezed), nn.ReLU(), nn.Linear(squeezed, channels), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x.mean(dim=(2, 3)))[:, :, None, None]


class ConvBlock(nn.Module):
    """conv-bn-relu-conv-bn (+SE), added to the input, then relu."""

    def __init__(self, channels: int, se_ratio: int | None) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.se = SqueezeExcitation(channels, se_ratio) if se_ratio else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.se(self.body(x)))


class MLPBlock(nn.Module):
    """layernorm-linear-relu-linear, added to the input, then relu."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LayerNorm(width), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class _Net(PolicyValueNet):
    """Shared forward pass: stem, blocks, then the two heads."""

    stem: nn.Module
    blocks: nn.ModuleList
    policy_head: nn.Module
    value_head: nn.Module
    value_out: nn.Module

    def named_layers(self) -> Mapping[str, nn.Module]:
        layers: dict[str, nn.Module] = {"stem": self.stem}
        layers.update({f"block{i}": block for i, block in enumerate(self.blocks)})
        layers["policy_head"] = self.policy_head
        layers["value_head"] = self.value_head
        return layers

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        logits = self.policy_head(h)
        value = torch.tanh(self.value_out(self.value_head(h))).reshape(-1)
        return logits, value


class ConvPolicyValueNet(_Net):
    """AlphaZero-shaped network over ``(C, H, W)`` planes."""

    def __init__(self, shape: tuple[int, int, int], num_actions: int, p: PVNetParams) -> None:
        super().__init__()
        c_in, height, width = shape
        ch = p.channels
        self.stem = nn.Sequential(
            nn.Conv2d(c_in, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch), nn.ReLU()
        )
        se = p.se_ratio if p.squeeze_excitation else None
        self.blocks = nn.ModuleList(ConvBlock(ch, se) for _ in range(p.blocks))
        self.policy_head = nn.Sequential(
            nn.Conv2d(ch, p.policy_channels, 1, bias=False),
            nn.BatchNorm2d(p.policy_channels),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(p.policy_channels * height * width, num_actions),
        )
        self.value_head = nn.Sequential(
            nn.Conv2d(ch, 1, 1, bias=False),
            nn.BatchNorm2d(1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(height * width, p.value_hidden),
            nn.ReLU(),
        )
        self.value_out = nn.Linear(p.value_hidden, 1)


class MLPPolicyValueNet(_Net):
    """Residual MLP over a flattened observation."""

    def __init__(self, shape: tuple[int, ...], num_actions: int, p: PVNetParams) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape), p.hidden), nn.ReLU())
        self.blocks = nn.ModuleList(MLPBlock(p.hidden) for _ in range(p.blocks))
        self.policy_head = nn.Linear(p.hidden, num_actions)
        self.value_head = nn.Sequential(nn.Linear(p.hidden, p.value_hidden), nn.ReLU())
        self.value_out = nn.Linear(p.value_hidden, 1)


class PVNetAgent(TorchAgent[S]):
    """A generic AlphaZero-style policy-value network for any domain.

    The architecture follows Silver et al., "A general reinforcement learning
    algorithm that masters chess, shogi, and Go through self-play" (Science,
    2018), scaled down: a convolutional stem, ``blocks`` residual blocks
    (optionally with squeeze-and-excitation gates, as in later AlphaZero
    re-implementations), a policy head and a value head. Observations that are
    not ``(C, H, W)`` planes get a residual MLP torso instead.

    Named layers, input to output: ``stem``, ``block0`` .. ``block{n-1}``,
    ``policy_head`` (the policy logits, before legal-move masking) and
    ``value_head`` (the value head's hidden features, before the final linear
    layer and ``tanh``).
    """

    name: ClassVar[str] = "pvnet"
    Params: ClassVar[type[StrictParams]] = PVNetParams
    params: PVNetParams

    def build_network(self) -> PolicyValueNet:
        shape = tuple(int(d) for d in self.domain.observation_shape)
        if len(shape) == 3:
            return ConvPolicyValueNet(shape, self.domain.num_actions, self.params)  # type: ignore[arg-type]
        return MLPPolicyValueNet(shape, self.domain.num_actions, self.params)
