"""This machine's measured arithmetic peak, and the floating-point work of a network.

A benchmark's throughput means little without the machine's ceiling beside it.
:func:`measure_peak` times square matrix products of a few sizes (the most
FMA-dense work a BLAS does) in this process, with its current thread setting
(one intra-op thread under the default thread policy: the peak of one core),
and returns the best rate of any. :func:`network_flops` counts the floating-point
operations of a network's forward pass (and optionally its backward pass) with
torch's ``FlopCounterMode``, so that evaluations/s and samples/s can be printed
as a fraction of that peak. Counts follow torch's convention: a multiply-add is
two operations; only matrix products and convolutions are counted.
"""

from __future__ import annotations

import time
from copy import deepcopy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PEAK_SIZES", "Peak", "fraction_of_peak", "measure_peak", "network_flops"]


@dataclass(frozen=True)
class Peak:
    """A measured matrix-product rate."""

    gflops: float
    """Best billions of floating-point operations per second over the timed products."""
    dtype: str
    """``"float32"`` or ``"bfloat16"``."""
    size: int
    """Side of the square matrices multiplied."""
    threads: int
    """Intra-op threads the products ran on."""


PEAK_SIZES = (256, 512, 1024)
"""Sides of the square products :func:`measure_peak` tries by default.

One size is not enough: on a 2-core Zen 4 virtual machine, fp32 products of
side 256 ran at 103-104 GFLOP/s in every reading of one sweep, while side 1024
(whose three matrices, 12 MB, live in the L3 cache other tenants share) read
72-101 across that sweep and the benchmarks of the same session; in the sweep,
bf16 was fastest at 512 (220-225 against 207-211 at 256 and 1024)."""


def measure_peak(
    dtype: str = "float32", *, size: int | Sequence[int] = PEAK_SIZES, seconds: float = 0.4
) -> Peak:
    """The best GFLOP/s of square matrix products in ``dtype`` over the sides in ``size``.

    Each side is timed for about ``seconds / len(sizes)``; the peak is the best
    single product of any side, and :attr:`Peak.size` says which.

    Raises:
        ValueError: ``dtype`` is neither ``"float32"`` nor ``"bfloat16"``, or a size is below 64.
    """
    import torch

    if dtype not in ("float32", "bfloat16"):
        raise ValueError(f"measure_peak: dtype must be 'float32' or 'bfloat16', got {dtype!r}")
    sizes = (size,) if isinstance(size, int) else tuple(size)
    if not sizes or min(sizes) < 64:
        raise ValueError(f"measure_peak: sizes must be at least 64, got {size!r}")
    best_rate, best_size = 0.0, sizes[0]
    for side in sizes:
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(side, side, generator=generator).to(getattr(torch, dtype))
        b = torch.randn(side, side, generator=generator).to(getattr(torch, dtype))
        out = torch.empty(side, side, dtype=a.dtype)
        torch.mm(a, b, out=out)  # warm-up
        best = float("inf")
        deadline = time.perf_counter() + seconds / len(sizes)
        calls = 0
        while calls < 3 or time.perf_counter() < deadline:
            start = time.perf_counter()
            torch.mm(a, b, out=out)
            best = min(best, time.perf_counter() - start)
            calls += 1
        rate = 2.0 * side**3 / best / 1e9
        if rate > best_rate:
            best_rate, best_size = rate, side
    return Peak(best_rate, dtype, best_size, torch.get_num_threads())


def network_flops(agent: Any, states: Sequence[Any], *, backward: bool = False) -> float | None:
    """Floating-point operations per state of ``agent``'s network on ``states``.

    Forward only, or forward and backward (``backward=True``, the cost of a
    training step before the optimiser). None for an agent without a torch
    ``network`` (and ``encode``).
    """
    network = getattr(agent, "network", None)
    encode = getattr(agent, "encode", None)
    if network is None or encode is None or not states:
        return None
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.from_numpy(encode(list(states)))
    counter = FlopCounterMode(display=False)
    if backward:
        copy = deepcopy(network)  # a training pass updates normalisation statistics: not the agent's
        copy.train()
        with counter:
            logits, value = copy(x)
            (logits.sum() + value.sum()).backward()
    else:
        with counter, torch.inference_mode():
            network(x)
    return float(counter.get_total_flops()) / len(states)


def fraction_of_peak(per_second: float, flops_each: float | None, peak: Peak) -> float | None:
    """``per_second`` items of ``flops_each`` operations as a fraction of ``peak`` (None without a count)."""
    if flops_each is None or peak.gflops <= 0:
        return None
    return per_second * flops_each / (peak.gflops * 1e9)
