"""lc0 weight files (``.pb`` / ``.pb.gz``): read into arrays, write for tests and tools.

The message layout is ``pblczero.Net`` of the LCZero project's ``net.proto``
(field numbers below). Served: residual convolutional bodies with or without
squeeze-excitation, classical and convolutional policy heads, classical and
WDL value heads, the classical 112-plane input, ReLU activations, LINEAR16
weights (each layer's ``uint16`` values mapped linearly onto ``[min_val,
max_val]``). A moves-left head is read past and ignored. Anything else
(attention bodies or policies, other input formats, Mish, ONNX payloads) is
refused with one line naming what was found.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.errors import CheckpointError

from conceptlab_chess.lc0.proto import Fields, Fixed32, Value, encode_message, parse_message

__all__ = [
    "INPUT_FORMATS", "NETWORK_FORMATS", "POLICY_FORMATS", "VALUE_FORMATS",
    "ConvBlock", "Lc0Weights", "Residual", "SqueezeExcitation", "read_weights", "write_weights",
]

MAGIC = 0x1C0
"""``Net.magic`` of every lc0 weight file."""

INPUT_FORMATS = {
    0: "INPUT_UNKNOWN", 1: "INPUT_CLASSICAL_112_PLANE", 2: "INPUT_112_WITH_CASTLING_PLANE",
    3: "INPUT_112_WITH_CANONICALIZATION", 4: "INPUT_112_WITH_CANONICALIZATION_HECTOPLIES",
    132: "INPUT_112_WITH_CANONICALIZATION_HECTOPLIES_ARMAGEDDON", 5: "INPUT_112_WITH_CANONICALIZATION_V2",
    133: "INPUT_112_WITH_CANONICALIZATION_V2_ARMAGEDDON",
}
NETWORK_FORMATS = {
    0: "NETWORK_UNKNOWN", 1: "NETWORK_CLASSICAL", 2: "NETWORK_SE", 3: "NETWORK_CLASSICAL_WITH_HEADFORMAT",
    4: "NETWORK_SE_WITH_HEADFORMAT", 5: "NETWORK_ONNX", 6: "NETWORK_ATTENTIONBODY_WITH_HEADFORMAT",
    131: "NETWORK_CLASSICAL_WITH_MULTIHEADFORMAT", 132: "NETWORK_SE_WITH_MULTIHEADFORMAT",
    134: "NETWORK_ATTENTIONBODY_WITH_MULTIHEADFORMAT",
}
POLICY_FORMATS = {0: "POLICY_UNKNOWN", 1: "POLICY_CLASSICAL", 2: "POLICY_CONVOLUTION", 3: "POLICY_ATTENTION"}
VALUE_FORMATS = {0: "VALUE_UNKNOWN", 1: "VALUE_CLASSICAL", 2: "VALUE_WDL", 3: "VALUE_PARAM"}
_ACTIVATIONS = {0: "DEFAULT_ACTIVATION_RELU", 1: "DEFAULT_ACTIVATION_MISH"}

# pblczero.Weights field numbers (net.proto)
_W_INPUT, _W_RESIDUAL, _W_POLICY, _W_IP_POL_W, _W_IP_POL_B = 1, 2, 3, 4, 5
_W_VALUE, _W_IP1_VAL_W, _W_IP1_VAL_B, _W_IP2_VAL_W, _W_IP2_VAL_B, _W_POLICY1 = 6, 7, 8, 9, 10, 11
_ATTENTION_FIELDS = {17: "ip2_pol_w", 18: "ip2_pol_b", 19: "ip3_pol_w", 20: "ip3_pol_b", 21: "pol_encoder",
                     22: "ip4_pol_w", 25: "ip_emb_w", 27: "encoder", 44: "value_heads", 45: "policy_heads"}
# ConvBlock, Residual, SEunit and Layer field numbers
_CB_WEIGHTS, _CB_BIASES, _CB_MEANS, _CB_VARIANCES, _CB_GAMMAS, _CB_BETAS = 1, 2, 3, 4, 5, 6
_LAYER_MIN, _LAYER_MAX, _LAYER_PARAMS, _LAYER_ENCODING = 1, 2, 3, 4
_LINEAR16 = 1


@dataclass(frozen=True)
class ConvBlock:
    """A convolution and the batch norm after it, as stored (not folded).

    ``variances`` is the field that ``net.proto`` calls ``bn_stddivs``: lc0
    reads it as a variance (``1 / sqrt(v + 1e-5)``).
    """

    weights: np.ndarray
    """``(out, in, k, k)`` float32 kernel."""
    biases: np.ndarray | None = None
    """``(out,)`` bias, when stored."""
    means: np.ndarray | None = None
    """``(out,)`` batch-norm running means; ``None`` when the block has no batch norm."""
    variances: np.ndarray | None = None
    """``(out,)`` batch-norm running variances."""
    gammas: np.ndarray | None = None
    """``(out,)`` batch-norm scales (1 when not stored)."""
    betas: np.ndarray | None = None
    """``(out,)`` batch-norm shifts (0 when not stored)."""


@dataclass(frozen=True)
class SqueezeExcitation:
    """The two fully connected layers of a block's squeeze-excitation unit."""

    w1: np.ndarray
    """``(squeezed, channels)``."""
    b1: np.ndarray
    w2: np.ndarray
    """``(2 * channels, squeezed)``: the first half gates (sigmoid), the second half shifts."""
    b2: np.ndarray


@dataclass(frozen=True)
class Residual:
    """One residual block: two 3x3 convolutions and an optional squeeze-excitation unit."""

    conv1: ConvBlock
    conv2: ConvBlock
    se: SqueezeExcitation | None = None


@dataclass(frozen=True)
class Lc0Weights:
    """An lc0 network as arrays, with the formats it declares."""

    input: ConvBlock
    residual: tuple[Residual, ...]
    policy: ConvBlock
    """The policy convolution: 1x1 to a few channels (classical) or 3x3 to 80 planes (convolutional)."""
    value: ConvBlock
    ip1_val_w: np.ndarray
    ip1_val_b: np.ndarray
    ip2_val_w: np.ndarray
    ip2_val_b: np.ndarray
    policy_format: str = "POLICY_CLASSICAL"
    value_format: str = "VALUE_CLASSICAL"
    input_format: str = "INPUT_CLASSICAL_112_PLANE"
    network_format: str = "NETWORK_CLASSICAL"
    policy1: ConvBlock | None = None
    """The extra 3x3 convolution of a convolutional policy head."""
    ip_pol_w: np.ndarray | None = None
    """``(1858, channels * 64)`` of a classical policy head."""
    ip_pol_b: np.ndarray | None = None
    training: Mapping[str, Any] = field(default_factory=dict)

    @property
    def filters(self) -> int:
        """Channels of the residual tower."""
        return int(self.input.weights.shape[0])

    @property
    def blocks(self) -> int:
        return len(self.residual)

    @property
    def se_channels(self) -> int | None:
        """Width of the squeeze-excitation bottleneck (``None`` without SE)."""
        se = self.residual[0].se if self.residual else None
        return None if se is None else int(se.w1.shape[0])

    def describe(self) -> dict[str, Any]:
        """The architecture in a few JSON-able fields (what a fine-tuned checkpoint must match)."""
        return {
            "blocks": self.blocks, "filters": self.filters, "se_channels": self.se_channels,
            "policy": self.policy_format, "value": self.value_format, "input": self.input_format,
            "policy_channels": int(self.policy.weights.shape[0]), "value_channels": int(self.value.weights.shape[0]),
            "value_hidden": int(self.ip1_val_w.shape[0]),
        }


def _f32(raw: Value) -> float:
    if not isinstance(raw, bytes) or len(raw) != 4:
        raise CheckpointError("malformed lc0 layer: min_val/max_val is not a 32-bit float")
    return float(struct.unpack("<f", raw)[0])


def _layer(fields: Fields, number: int, where: str) -> np.ndarray | None:
    """The float32 values of the ``Layer`` at field ``number`` (``None`` when absent or empty)."""
    if number not in fields:
        return None
    layer = parse_message(_bytes(fields[number][-1], where))
    encoding = layer.get(_LAYER_ENCODING, [_LINEAR16])[-1]
    if encoding != _LINEAR16:
        raise CheckpointError(f"lc0 layer {where}: weight encoding {encoding} is not served (LINEAR16 only)")
    raw = _bytes(layer.get(_LAYER_PARAMS, [b""])[-1], where)
    if not raw:
        return None
    if len(raw) % 2:
        raise CheckpointError(f"lc0 layer {where}: {len(raw)} bytes of LINEAR16 values (odd)")
    low = _f32(layer.get(_LAYER_MIN, [struct.pack("<f", 0.0)])[-1])
    high = _f32(layer.get(_LAYER_MAX, [struct.pack("<f", 0.0)])[-1])
    quantised = np.frombuffer(raw, dtype="<u2").astype(np.float32)
    return (low + (high - low) * (quantised / np.float32(65535.0))).astype(np.float32)


def _bytes(value: Value, where: str) -> bytes:
    if not isinstance(value, bytes):
        raise CheckpointError(f"malformed lc0 file: {where} is not a message")
    return value


def _conv_block(fields: Fields, number: int, where: str, in_channels: int) -> ConvBlock | None:
    if number not in fields:
        return None
    block = parse_message(_bytes(fields[number][-1], where))
    weights = _layer(block, _CB_WEIGHTS, f"{where}.weights")
    if weights is None:
        return None
    biases = _layer(block, _CB_BIASES, f"{where}.biases")
    means = _layer(block, _CB_MEANS, f"{where}.bn_means")
    out = len(means) if means is not None else len(biases) if biases is not None else None
    if out is None:
        raise CheckpointError(f"lc0 {where}: neither biases nor batch-norm means give its output channels")
    per_output = weights.size // out
    k = int(round((per_output / in_channels) ** 0.5)) if in_channels else 0
    if k < 1 or out * in_channels * k * k != weights.size:
        raise CheckpointError(
            f"lc0 {where}: {weights.size} weights do not make a square kernel for {in_channels} -> {out} channels"
        )
    return ConvBlock(
        weights=weights.reshape(out, in_channels, k, k), biases=biases, means=means,
        variances=_layer(block, _CB_VARIANCES, f"{where}.bn_stddivs"),
        gammas=_layer(block, _CB_GAMMAS, f"{where}.bn_gammas"),
        betas=_layer(block, _CB_BETAS, f"{where}.bn_betas"),
    )


def _required(value: Any, where: str) -> Any:
    if value is None:
        raise CheckpointError(f"lc0 file has no {where}")
    return value


def _format(net: Fields) -> tuple[str, str, str, str, str]:
    """(input, network, policy, value, activation) format names, with net.proto's defaults."""
    if 4 not in net:
        return ("INPUT_CLASSICAL_112_PLANE", "NETWORK_CLASSICAL", "POLICY_CLASSICAL", "VALUE_CLASSICAL",
                "DEFAULT_ACTIVATION_RELU")
    fmt = parse_message(_bytes(net[4][-1], "format"))
    nf = parse_message(_bytes(fmt[2][-1], "network_format")) if 2 in fmt else {}

    def pick(number: int, names: Mapping[int, str], default: int) -> str:
        value = nf.get(number, [default])[-1]
        return names.get(int(value), f"unknown ({value})") if isinstance(value, int) else f"unknown ({value!r})"

    output_wdl = nf.get(2, [1])[-1] == 2
    return (
        pick(1, INPUT_FORMATS, 1), pick(3, NETWORK_FORMATS, 1), pick(4, POLICY_FORMATS, 1),
        pick(5, VALUE_FORMATS, 2 if output_wdl else 1), pick(7, _ACTIVATIONS, 0),
    )


def parse_weights(data: bytes, source: str = "lc0 weights") -> Lc0Weights:
    """An :class:`Lc0Weights` from the (decompressed) bytes of a ``pblczero.Net``.

    Raises:
        CheckpointError: Not an lc0 file, or a format this reader does not serve
            (one line naming the format found).
    """
    net = parse_message(data)
    magic = net.get(1, [b""])[-1]
    if not isinstance(magic, bytes) or len(magic) != 4 or struct.unpack("<I", magic)[0] != MAGIC:
        raise CheckpointError(f"{source} is not an lc0 weight file (no 0x1c0 magic)")
    input_format, network, policy_format, value_format, activation = _format(net)
    if 11 in net or network == "NETWORK_ONNX":
        raise CheckpointError(f"{source}: network format NETWORK_ONNX (an ONNX model) is not served")
    if network not in ("NETWORK_CLASSICAL", "NETWORK_SE", "NETWORK_CLASSICAL_WITH_HEADFORMAT",
                       "NETWORK_SE_WITH_HEADFORMAT"):
        raise CheckpointError(f"{source}: network format {network} is not served (residual bodies only)")
    if input_format != "INPUT_CLASSICAL_112_PLANE":
        raise CheckpointError(f"{source}: input format {input_format} is not served (INPUT_CLASSICAL_112_PLANE only)")
    if policy_format not in ("POLICY_CLASSICAL", "POLICY_CONVOLUTION"):
        raise CheckpointError(f"{source}: policy format {policy_format} is not served (classical or convolution)")
    if value_format not in ("VALUE_CLASSICAL", "VALUE_WDL"):
        raise CheckpointError(f"{source}: value format {value_format} is not served (classical or WDL)")
    if activation != "DEFAULT_ACTIVATION_RELU":
        raise CheckpointError(f"{source}: activation {activation} is not served (ReLU only)")
    if 10 not in net:
        raise CheckpointError(f"{source} holds no weights")
    w = parse_message(_bytes(net[10][-1], "weights"))
    attention = sorted(name for number, name in _ATTENTION_FIELDS.items() if number in w)
    if attention:
        raise CheckpointError(f"{source}: attention or multi-head layers ({', '.join(attention)}) are not served")
    stem = _required(_conv_block(w, _W_INPUT, "input", 112), "input convolution")
    channels = int(stem.weights.shape[0])
    residual = []
    for i, raw in enumerate(w.get(_W_RESIDUAL, [])):
        block = parse_message(_bytes(raw, f"residual[{i}]"))
        se = None
        if 3 in block:
            unit = parse_message(_bytes(block[3][-1], f"residual[{i}].se"))
            parts = [_layer(unit, n, f"residual[{i}].se.{name}") for n, name in ((1, "w1"), (2, "b1"), (3, "w2"), (4, "b2"))]
            if any(p is not None for p in parts):
                w1, b1, w2, b2 = (_required(p, f"residual[{i}].se layer") for p in parts)
                squeezed = len(b1)
                se = SqueezeExcitation(w1.reshape(squeezed, channels), b1, w2.reshape(2 * channels, squeezed), b2)
        residual.append(Residual(
            _required(_conv_block(block, 1, f"residual[{i}].conv1", channels), f"residual[{i}].conv1"),
            _required(_conv_block(block, 2, f"residual[{i}].conv2", channels), f"residual[{i}].conv2"),
            se,
        ))
    if network in ("NETWORK_SE", "NETWORK_SE_WITH_HEADFORMAT") and any(r.se is None for r in residual):
        raise CheckpointError(f"{source}: network format {network} but a residual block has no SE unit")
    policy1 = _conv_block(w, _W_POLICY1, "policy1", channels) if policy_format == "POLICY_CONVOLUTION" else None
    policy = _required(
        _conv_block(w, _W_POLICY, "policy", channels if policy1 is None else int(policy1.weights.shape[0])),
        "policy convolution",
    )
    value = _required(_conv_block(w, _W_VALUE, "value", channels), "value convolution")
    ip1_val_w = _required(_layer(w, _W_IP1_VAL_W, "ip1_val_w"), "ip1_val_w")
    ip1_val_b = _required(_layer(w, _W_IP1_VAL_B, "ip1_val_b"), "ip1_val_b")
    ip2_val_w = _required(_layer(w, _W_IP2_VAL_W, "ip2_val_w"), "ip2_val_w")
    ip2_val_b = _required(_layer(w, _W_IP2_VAL_B, "ip2_val_b"), "ip2_val_b")
    hidden, outputs = len(ip1_val_b), len(ip2_val_b)
    if outputs != (3 if value_format == "VALUE_WDL" else 1):
        raise CheckpointError(f"{source}: value format {value_format} but {outputs} value outputs")
    ip_pol_w = ip_pol_b = None
    if policy_format == "POLICY_CLASSICAL":
        ip_pol_w = _required(_layer(w, _W_IP_POL_W, "ip_pol_w"), "ip_pol_w")
        ip_pol_b = _required(_layer(w, _W_IP_POL_B, "ip_pol_b"), "ip_pol_b")
        ip_pol_w = ip_pol_w.reshape(len(ip_pol_b), -1)
    else:
        if policy1 is None:
            raise CheckpointError(f"{source}: convolutional policy without its policy1 convolution")
        if policy.weights.shape[0] != 80:
            raise CheckpointError(f"{source}: convolutional policy of {policy.weights.shape[0]} planes, not 80")
    training: dict[str, Any] = {}
    if 5 in net:
        tp = parse_message(_bytes(net[5][-1], "training_params"))
        if 1 in tp and isinstance(tp[1][-1], int):
            training["training_steps"] = tp[1][-1]
    return Lc0Weights(
        input=stem, residual=tuple(residual), policy=policy, value=value,
        ip1_val_w=ip1_val_w.reshape(hidden, -1), ip1_val_b=ip1_val_b,
        ip2_val_w=ip2_val_w.reshape(outputs, hidden), ip2_val_b=ip2_val_b,
        policy_format=policy_format, value_format=value_format, input_format=input_format,
        network_format=network, policy1=policy1, ip_pol_w=ip_pol_w, ip_pol_b=ip_pol_b, training=training,
    )


def read_weights(path: str | Path) -> Lc0Weights:
    """Read an lc0 weight file (``.pb``, or gzipped ``.pb.gz``, detected by content).

    Raises:
        CheckpointError: Missing or unreadable file, not an lc0 file, or a format not served.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read lc0 weights {str(path)!r}: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise CheckpointError(f"lc0 weights {str(path)!r}: broken gzip stream ({exc})") from None
    return parse_weights(data, repr(str(path)))


# -- writing ----------------------------------------------------------------------------------------------
def _encode_layer(values: np.ndarray) -> dict[int, list[object]]:
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    low, high = float(flat.min()), float(flat.max())
    if high == low:
        high = low + 1.0
    quantised = np.rint((flat - low) / (high - low) * 65535.0).clip(0, 65535).astype("<u2")
    return {_LAYER_MIN: [low], _LAYER_MAX: [high], _LAYER_PARAMS: [quantised.tobytes()]}


def _encode_conv(block: ConvBlock) -> dict[int, list[object]]:
    out: dict[int, list[object]] = {_CB_WEIGHTS: [_encode_layer(block.weights)]}
    for number, values in ((_CB_BIASES, block.biases), (_CB_MEANS, block.means), (_CB_VARIANCES, block.variances),
                           (_CB_GAMMAS, block.gammas), (_CB_BETAS, block.betas)):
        if values is not None:
            out[number] = [_encode_layer(values)]
    return out


def write_weights(weights: Lc0Weights, path: str | Path, *, compress: bool = True) -> Path:
    """Write ``weights`` as an lc0 file (LINEAR16, so values round to 1/65535 of each layer's range).

    Used by the tests to make small files of every served format, and by
    tools that hand a network back to lc0.
    """
    codes = {name: number for number, name in NETWORK_FORMATS.items()}
    network = "NETWORK_SE_WITH_HEADFORMAT" if weights.se_channels else "NETWORK_CLASSICAL_WITH_HEADFORMAT"
    residual = []
    for block in weights.residual:
        entry: dict[int, list[object]] = {1: [_encode_conv(block.conv1)], 2: [_encode_conv(block.conv2)]}
        if block.se is not None:
            entry[3] = [{1: [_encode_layer(block.se.w1)], 2: [_encode_layer(block.se.b1)],
                         3: [_encode_layer(block.se.w2)], 4: [_encode_layer(block.se.b2)]}]
        residual.append(entry)
    body: dict[int, list[object]] = {
        _W_INPUT: [_encode_conv(weights.input)], _W_RESIDUAL: list(residual), _W_POLICY: [_encode_conv(weights.policy)],
        _W_VALUE: [_encode_conv(weights.value)],
        _W_IP1_VAL_W: [_encode_layer(weights.ip1_val_w)], _W_IP1_VAL_B: [_encode_layer(weights.ip1_val_b)],
        _W_IP2_VAL_W: [_encode_layer(weights.ip2_val_w)], _W_IP2_VAL_B: [_encode_layer(weights.ip2_val_b)],
    }
    if weights.policy1 is not None:
        body[_W_POLICY1] = [_encode_conv(weights.policy1)]
    if weights.ip_pol_w is not None and weights.ip_pol_b is not None:
        body[_W_IP_POL_W] = [_encode_layer(weights.ip_pol_w)]
        body[_W_IP_POL_B] = [_encode_layer(weights.ip_pol_b)]
    policy = {name: number for number, name in POLICY_FORMATS.items()}[weights.policy_format]
    value = {name: number for number, name in VALUE_FORMATS.items()}[weights.value_format]
    message = encode_message({
        1: [Fixed32(MAGIC)],
        4: [{1: [_LINEAR16], 2: [{1: [1], 2: [2 if value == 2 else 1], 3: [codes[network]], 4: [policy], 5: [value]}]}],
        10: [body],
    })
    path = Path(path)
    path.write_bytes(gzip.compress(message, mtime=0) if compress else message)
    return path
