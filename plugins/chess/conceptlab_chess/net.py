"""AlphaZero's residual policy-value network for chess, at a size a CPU can run.

Silver et al. 2018 (supplementary "Architecture"): a convolutional stem, a tower
of residual blocks (two 3x3 convolutions with batch norm, a skip connection,
ReLU), a policy head (3x3 convolution, then a 1x1 convolution to 73 planes whose
logits are read in the move encoding's layout) and a value head (1x1
convolution, a hidden fully connected layer, tanh).

Departures: sizes are parameters with small defaults (AlphaZero: 19 or 20
blocks of 256 filters); blocks may carry squeeze-and-excitation (Hu et al. 2018,
as Leela Chess Zero does), which AlphaZero did not.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from conceptlab.agents.torch import PolicyValueNet

from conceptlab_chess.encoding import NUM_PLANES

__all__ = ["AlphaZeroNet", "PolicyHead", "ResidualBlock", "SqueezeExcitation", "ValueHead"]


def _conv_bn(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class SqueezeExcitation(nn.Module):
    """Channel gates from globally pooled features (Hu et al. 2018)."""

    def __init__(self, channels: int, ratio: int) -> None:
        super().__init__()
        hidden = max(1, channels // ratio)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * gate[:, :, None, None]


class ResidualBlock(nn.Module):
    """conv-bn-relu-conv-bn (+ squeeze-excitation), plus the input, then ReLU."""

    def __init__(self, filters: int, se_ratio: int | None) -> None:
        super().__init__()
        self.conv1 = _conv_bn(filters, filters, 3)
        self.conv2 = _conv_bn(filters, filters, 3)
        self.se = SqueezeExcitation(filters, se_ratio) if se_ratio else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.se(self.conv2(torch.relu(self.conv1(x))))
        return torch.relu(x + y)


class PolicyHead(nn.Module):
    """3x3 conv-bn-relu, then a 1x1 conv to 73 planes, flattened to ``(batch, 73 * 64)`` logits."""

    def __init__(self, filters: int) -> None:
        super().__init__()
        self.conv = _conv_bn(filters, filters, 3)
        self.out = nn.Conv2d(filters, NUM_PLANES, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.conv(x))).flatten(1)


class ValueHead(nn.Module):
    """1x1 conv-bn-relu to one plane, a hidden layer, and tanh: ``(batch,)`` values."""

    def __init__(self, filters: int, hidden: int) -> None:
        super().__init__()
        self.conv = _conv_bn(filters, 1, 1)
        self.fc1 = nn.Linear(64, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x)).flatten(1)
        return torch.tanh(self.fc2(torch.relu(self.fc1(h)))).reshape(-1)


class AlphaZeroNet(PolicyValueNet):
    """The residual tower and the two heads; named layers ``stem``, ``block0``.., ``policy_head``, ``value_head``.

    Args:
        in_planes: Input planes (``14 * history + 7``).
        blocks: Residual blocks in the tower.
        filters: Channels of every convolution in the tower.
        se_ratio: Squeeze-excitation reduction ratio; ``None`` for plain blocks.
        value_hidden: Width of the value head's hidden layer.
    """

    def __init__(self, in_planes: int, blocks: int, filters: int, se_ratio: int | None, value_hidden: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv_bn(in_planes, filters, 3), nn.ReLU())
        self.blocks = nn.ModuleList(ResidualBlock(filters, se_ratio) for _ in range(blocks))
        self.policy_head = PolicyHead(filters)
        self.value_head = ValueHead(filters, value_hidden)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits (batch, 4672), value (batch,))`` for ``(batch, in_planes, 8, 8)`` planes."""
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return self.policy_head(h), self.value_head(h)

    def named_layers(self) -> Mapping[str, nn.Module]:
        layers: dict[str, nn.Module] = {"stem": self.stem}
        layers.update({f"block{i}": block for i, block in enumerate(self.blocks)})
        layers["policy_head"] = self.policy_head
        layers["value_head"] = self.value_head
        return layers
