"""The numeric precision of network evaluation and training: ``fp32``, ``bf16`` or ``auto``.

``bf16`` runs the network's forward pass (and, when training, its backward pass)
under ``torch.autocast`` with bfloat16: matrix products and convolutions in
bf16, reductions, softmax and losses in fp32, outputs handed back in fp32. On a
CPU with native bf16 instructions (x86 ``avx512_bf16`` or ``amx_bf16``, Arm
``bf16``) this is much faster; on one without, torch emulates it and it is
several times *slower*. So ``auto`` chooses bf16 only when both hold:

1. the CPU reports native bf16 in its feature flags (:func:`cpu_has_native_bf16`);
2. a quick measured check (:func:`calibrate`: a small convolution stack at batch
   16, about a quarter of a second) finds bf16 at least :data:`MIN_SPEEDUP` times
   faster than fp32 here.

Otherwise ``auto`` is ``fp32``. The choice, with its reason and measurements, is
a :class:`PrecisionChoice` recorded in the run manifest. A forced ``bf16`` runs
on any CPU (slowly without native support) and changes the network's outputs by
bf16 rounding: results are no longer bit-identical to an fp32 run. In either
case an evaluation of fewer than :data:`BF16_MIN_BATCH` states runs in fp32,
where bf16 is slower.
"""

from __future__ import annotations

import functools
import os
import platform
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from conceptlab.errors import ConceptlabError

__all__ = [
    "AUTO_PRECISION_ENV",
    "BF16_MIN_BATCH",
    "MIN_SPEEDUP",
    "PRECISIONS",
    "Precision",
    "PrecisionChoice",
    "PrecisionError",
    "autocast",
    "calibrate",
    "check_precision",
    "cpu_has_native_bf16",
    "resolve_precision",
]

Precision = Literal["fp32", "bf16", "auto"]
"""A requested precision."""

PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "auto")
"""The precisions a spec or a command may request."""

MIN_SPEEDUP = 1.1
"""How much faster bf16 must measure than fp32 for ``auto`` to choose it."""

BF16_MIN_BATCH = 2
"""The fewest states a network evaluation runs in bf16; a smaller batch runs in fp32.

At batch 1 autocast's casts cost more than bf16 saves: on a Zen 4 core with
native bf16, the shipped chess teacher evaluated 0.73x as many single states per
second in bf16 as in fp32, and 1.07x, 1.21x, 1.39x at batches 2, 4 and 16
(docs/results.md, "Speed on a shared machine")."""

AUTO_PRECISION_ENV = "CONCEPTLAB_AUTO_PRECISION"
"""Set by the process that resolved ``auto`` (``fp32`` or ``bf16``), so its workers reuse the choice."""

_NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
"""CPU feature flags (``/proc/cpuinfo``) of native bf16 arithmetic (x86, x86 AMX, Arm)."""


class PrecisionError(ConceptlabError):
    """A precision that is not one of ``fp32``, ``bf16``, ``auto``."""


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a process uses, and why."""

    requested: str
    """What the spec or command asked for: ``fp32``, ``bf16`` or ``auto``."""
    used: str
    """What runs: ``fp32`` or ``bf16``."""
    native_bf16: bool
    """Whether the CPU's feature flags report native bf16 arithmetic."""
    reason: str
    """Why ``used`` follows from ``requested`` on this machine."""
    fp32_per_s: float | None = None
    """Calibration forward passes per second in fp32 (``auto`` with native bf16 only)."""
    bf16_per_s: float | None = None
    """The same in bf16."""

    def as_dict(self) -> dict[str, Any]:
        """The choice as JSON data (for manifests and benchmark figures)."""
        return asdict(self)


def check_precision(value: str, where: str = "precision") -> str:
    """``value`` when it is a known precision; a :class:`PrecisionError` quoting it otherwise."""
    if value not in PRECISIONS:
        raise PrecisionError(f"{where}: unknown precision {value!r}; choose one of {', '.join(PRECISIONS)}")
    return value


def _cpu_flags(cpuinfo: Path) -> frozenset[str]:
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    return frozenset(flags)


def cpu_has_native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether the CPU reports native bf16 arithmetic in its feature flags.

    Reads ``cpuinfo`` (Linux); elsewhere, or when it cannot be read, False (and
    ``auto`` then stays in fp32).
    """
    return bool(_cpu_flags(Path(cpuinfo)) & _NATIVE_BF16_FLAGS)


def autocast(precision: str, *, device_type: str = "cpu") -> AbstractContextManager[Any]:
    """The context a forward (and backward) pass runs in for ``precision`` (``fp32``: none)."""
    if precision == "fp32":
        return nullcontext()
    if precision != "bf16":
        raise PrecisionError(f"autocast: precision must be 'fp32' or 'bf16' once resolved, got {precision!r}")
    import torch

    return torch.autocast(device_type, dtype=torch.bfloat16)


def calibrate(seconds: float = 0.12, batch: int = 16) -> tuple[float, float]:
    """(fp32, bf16) forward passes per second of a small convolution stack at ``batch``.

    The stack (four 3x3 convolutions of 64 channels on 8x8 planes) has the shape of
    a board-game residual tower; each precision is timed for about ``seconds``
    after a warm-up, in this process's thread setting.
    """
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = nn.Sequential(*[m for _ in range(4) for m in (nn.Conv2d(64, 64, 3, padding=1), nn.ReLU())])
    net.eval()
    x = torch.randn(batch, 64, 8, 8)
    rates = []
    for precision in ("fp32", "bf16"):
        with torch.inference_mode(), autocast(precision):
            net(x)  # warm-up (and one-time kernel selection)
            calls, start = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - start) < seconds or calls < 3:
                net(x)
                calls += 1
        rates.append(calls / elapsed)
    return rates[0], rates[1]


@functools.cache
def _auto_choice() -> PrecisionChoice:
    native = cpu_has_native_bf16()
    inherited = os.environ.get(AUTO_PRECISION_ENV)
    if inherited in ("fp32", "bf16"):
        return PrecisionChoice("auto", inherited, native, "chosen by the process that started this one")
    if not native:
        return PrecisionChoice(
            "auto", "fp32", False,
            f"the CPU ({platform.machine()}) reports no native bf16 (flags avx512_bf16, amx_bf16 or bf16); "
            "emulated bf16 is slower than fp32",
        )
    fp32_rate, bf16_rate = calibrate()
    speedup = bf16_rate / fp32_rate
    faster = speedup >= MIN_SPEEDUP
    reason = (
        f"native bf16, and bf16 measured {speedup:.2f}x fp32 "
        f"({'at least' if faster else 'below'} the {MIN_SPEEDUP}x required)"
    )
    return PrecisionChoice("auto", "bf16" if faster else "fp32", True, reason, fp32_rate, bf16_rate)


def resolve_precision(requested: str) -> PrecisionChoice:
    """What ``requested`` means on this machine; ``auto`` is resolved once per process.

    Raises:
        PrecisionError: ``requested`` is not ``fp32``, ``bf16`` or ``auto``.
    """
    check_precision(requested)
    if requested == "auto":
        return _auto_choice()
    native = cpu_has_native_bf16()
    if requested == "bf16":
        reason = "requested" if native else "requested; the CPU reports no native bf16, so it is emulated (slow)"
        return PrecisionChoice("bf16", "bf16", native, reason)
    return PrecisionChoice("fp32", "fp32", native, "requested")
