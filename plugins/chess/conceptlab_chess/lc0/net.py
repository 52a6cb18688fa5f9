"""A torch module that computes what an lc0 residual network computes.

Built from :class:`~conceptlab_chess.lc0.weights.Lc0Weights` with batch norm
kept as :class:`torch.nn.BatchNorm2d` (eps 1e-5, lc0's), not folded into the
convolutions, so the network can be fine-tuned like any other. Its policy is
the 1858 lc0 logits; :class:`~conceptlab_chess.lc0.agent.Lc0Agent` maps them
onto the domain's actions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from conceptlab.agents.torch import PolicyValueNet

from conceptlab_chess.lc0.moves import CONV_TO_LC0, NUM_LC0_MOVES
from conceptlab_chess.lc0.weights import ConvBlock, Lc0Weights, SqueezeExcitation

__all__ = ["Lc0Net"]

BN_EPSILON = 1e-5


def _tensor(values: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))


class _ConvBN(nn.Module):
    """A convolution (with its stored bias, if any) and its batch norm, if it has one."""

    def __init__(self, block: ConvBlock) -> None:
        super().__init__()
        out, inputs, k, _ = block.weights.shape
        self.conv = nn.Conv2d(inputs, out, k, padding=k // 2, bias=block.biases is not None)
        with torch.no_grad():
            self.conv.weight.copy_(_tensor(block.weights))
            if block.biases is not None:
                self.conv.bias.copy_(_tensor(block.biases))
        self.bn: nn.Module = nn.Identity()
        if block.means is not None:
            bn = nn.BatchNorm2d(out, eps=BN_EPSILON)
            with torch.no_grad():
                bn.running_mean.copy_(_tensor(block.means))
                bn.running_var.copy_(_tensor(block.variances if block.variances is not None else np.ones(out)))
                bn.weight.copy_(_tensor(block.gammas if block.gammas is not None else np.ones(out)))
                bn.bias.copy_(_tensor(block.betas if block.betas is not None else np.zeros(out)))
            self.bn = bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class _SE(nn.Module):
    """lc0's squeeze-excitation: pooled -> fc -> relu -> fc to (gate, shift); ``sigmoid(gate) * x + shift``."""

    def __init__(self, unit: SqueezeExcitation) -> None:
        super().__init__()
        squeezed, channels = unit.w1.shape
        self.channels = channels
        self.fc1 = nn.Linear(channels, squeezed)
        self.fc2 = nn.Linear(squeezed, 2 * channels)
        with torch.no_grad():
            self.fc1.weight.copy_(_tensor(unit.w1))
            self.fc1.bias.copy_(_tensor(unit.b1))
            self.fc2.weight.copy_(_tensor(unit.w2))
            self.fc2.bias.copy_(_tensor(unit.b2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate_shift = self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3)))))
        gate, shift = gate_shift[:, : self.channels], gate_shift[:, self.channels:]
        return torch.sigmoid(gate)[:, :, None, None] * x + shift[:, :, None, None]


class _Residual(nn.Module):
    def __init__(self, conv1: ConvBlock, conv2: ConvBlock, se: SqueezeExcitation | None) -> None:
        super().__init__()
        self.conv1 = _ConvBN(conv1)
        self.conv2 = _ConvBN(conv2)
        self.se: nn.Module = _SE(se) if se is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.se(self.conv2(torch.relu(self.conv1(x)))))


class _ConvPolicy(nn.Module):
    """policy1 (3x3, relu) -> policy (3x3 to 80 planes) -> the 1858 moves."""

    def __init__(self, policy1: ConvBlock, policy: ConvBlock) -> None:
        super().__init__()
        self.policy1 = _ConvBN(policy1)
        self.policy = _ConvBN(policy)
        order = np.zeros(NUM_LC0_MOVES, dtype=np.int64)
        used = np.flatnonzero(CONV_TO_LC0 >= 0)
        order[CONV_TO_LC0[used]] = used
        self.register_buffer("gather", torch.from_numpy(order), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        planes = self.policy(torch.relu(self.policy1(x)))
        return planes.flatten(1)[:, self.gather]


class _ClassicalPolicy(nn.Module):
    """policy (1x1, relu) -> fully connected to the 1858 moves."""

    def __init__(self, policy: ConvBlock, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.policy = _ConvBN(policy)
        self.fc = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.fc.weight.copy_(_tensor(weight))
            self.fc.bias.copy_(_tensor(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.policy(x)).flatten(1))


class _ValueHidden(nn.Module):
    """value (1x1, relu) -> fully connected hidden layer (relu)."""

    def __init__(self, value: ConvBlock, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.value = _ConvBN(value)
        self.fc = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.fc.weight.copy_(_tensor(weight))
            self.fc.bias.copy_(_tensor(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(torch.relu(self.value(x)).flatten(1)))


class Lc0Net(PolicyValueNet):
    """An lc0 residual network: ``forward`` gives the 1858 lc0 logits and a value in ``[-1, 1]``.

    The value is ``tanh`` of a classical head, or ``P(win) - P(loss)`` of a WDL
    head, for the side to move. Named layers: ``stem``, ``block0`` ..
    ``block{n-1}``, ``policy_head`` (the 1858 logits), ``value_head`` (the
    value head's hidden features).
    """

    def __init__(self, weights: Lc0Weights) -> None:
        super().__init__()
        self.stem = nn.Sequential(_ConvBN(weights.input), nn.ReLU())
        self.blocks = nn.ModuleList(_Residual(r.conv1, r.conv2, r.se) for r in weights.residual)
        if weights.policy_format == "POLICY_CONVOLUTION":
            assert weights.policy1 is not None  # checked by the reader
            self.policy_head: nn.Module = _ConvPolicy(weights.policy1, weights.policy)
        else:
            assert weights.ip_pol_w is not None and weights.ip_pol_b is not None  # checked by the reader
            self.policy_head = _ClassicalPolicy(weights.policy, weights.ip_pol_w, weights.ip_pol_b)
        self.value_head = _ValueHidden(weights.value, weights.ip1_val_w, weights.ip1_val_b)
        self.wdl = weights.value_format == "VALUE_WDL"
        self.value_out = nn.Linear(weights.ip2_val_w.shape[1], weights.ip2_val_w.shape[0])
        with torch.no_grad():
            self.value_out.weight.copy_(_tensor(weights.ip2_val_w))
            self.value_out.bias.copy_(_tensor(weights.ip2_val_b))

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
        out = self.value_out(self.value_head(h))
        if self.wdl:
            wdl = torch.softmax(out, dim=-1)
            value = wdl[:, 0] - wdl[:, 2]
        else:
            value = torch.tanh(out).reshape(-1)
        return self.policy_head(h), value
