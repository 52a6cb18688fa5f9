"""How the work scales past one process: self-play on Ray workers, novelty memory with the pool.

Figures, all measured in one run:

* ``selfplay_games_per_s_1`` / ``selfplay_games_per_s_2``: self-play games of the
  spec's agent (freshly initialised) and search, one game per Ray task, on a
  local Ray instance of 1 and then of 2 CPUs (or, with ``address``, on that
  cluster with 1 and 2 tasks at a time), the best of ``repeats`` timings each;
  ``efficiency`` is their ratio over 2 (1.0 is perfect scaling). Workers are
  warmed up first (imports, components), so the figures are steady-state
  throughput.
* ``novelty_peak_mb_small`` / ``novelty_peak_mb_large``: peak memory of the
  novelty computation at pools of ``pool`` and ``4 * pool`` rows per side. A
  fresh child process opens two activation stores from disk, resets its peak
  resident set (Linux ``/proc/self/clear_refs``), runs the spectral novelty
  filter (``prepare`` and ``assess``) with the streamed randomized SVD, and
  reports its peak resident set (``VmHWM``) minus its resident set just before:
  the memory the computation added, without the interpreter and its imports
  (``process_peak_mb_*`` is the whole process's peak, imports included).
  ``exact_peak_mb_*`` is the same with the exact SVD, for contrast;
  ``pool_mb_*`` is the size of the two stores on disk. The activations are
  synthetic (low rank plus noise): memory depends on their shape, not their values.
* ``load_average_1min`` / ``cpu_count``: the machine's load when self-play
  started and its cores, since other work on the machine takes from both figures.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.activations import STORE_DIR, ActivationStore, build_store
from conceptlab.executors import RayExecutor, run_all
from conceptlab.spec import RunSpec

__all__ = ["bench_novelty_memory", "bench_scale", "bench_selfplay", "selfplay_unit"]

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    del message


def selfplay_unit(payload: Mapping[str, Any]) -> int:
    """One self-play game (payload: ``spec``, ``checkpoint``, ``start``, ``seed``, move limits); its length."""
    from conceptlab.stages.train import play_unit_game

    return len(play_unit_game(payload)[1].actions)


def bench_selfplay(
    spec: RunSpec,
    games: int,
    *,
    repeats: int = 3,
    address: str | None = None,
    workdir: Path,
    progress: Progress = _quiet,
) -> dict[str, float]:
    """Self-play games per second on 1 and 2 Ray workers, and the scaling efficiency.

    Without ``address``, "n workers" is a local Ray instance of ``n`` CPUs,
    started for the measurement (every CPU used, units queued ahead). With
    ``address``, both measurements run on that cluster with at most ``n`` units
    at a time.
    """
    from conceptlab.pipeline import components_for

    comps = components_for(spec.model_dump(mode="json"))
    checkpoint = workdir / "agent.ckpt"
    comps.new_agent(spec.seed).save(checkpoint, step=0, games=0)  # type: ignore[attr-defined]
    domain = comps.domain
    cfg = spec.stages.collect
    starts = domain.opening_states(games, np.random.default_rng(spec.seed))
    payloads = [
        {
            "spec": spec.model_dump(mode="json"), "checkpoint": str(checkpoint),
            "start": domain.to_text(start), "seed": spec.seed * 100_003 + i,
            "max_moves": cfg.max_moves, "temperature_moves": cfg.temperature_moves,
        }
        for i, start in enumerate(starts)
    ]
    figures: dict[str, float] = {"cpu_count": os.cpu_count() or 0}
    if hasattr(os, "getloadavg"):
        figures["load_average_1min"] = os.getloadavg()[0]
    for n in (1, 2):
        executor = RayExecutor(address, workers=n) if address else RayExecutor(num_cpus=n)
        try:
            progress(f"self-play on {n} worker(s): starting Ray and warming up")
            run_all(executor, selfplay_unit, payloads[: min(len(payloads), 4 * n)])
            seconds = []
            for repeat in range(repeats):
                progress(f"self-play on {n} worker(s): {games} games ({repeat + 1}/{repeats})")
                started = time.perf_counter()
                plies = sum(run_all(executor, selfplay_unit, payloads))
                seconds.append(time.perf_counter() - started)
        finally:
            executor.close()
        # the best repeat: other work on the machine only ever slows a repeat down
        figures[f"selfplay_games_per_s_{n}"] = games / min(seconds)
        figures[f"selfplay_plies_{n}"] = plies
    figures["efficiency"] = figures["selfplay_games_per_s_2"] / figures["selfplay_games_per_s_1"] / 2
    return figures


def _write_pool(folder: Path, rows: int, dim: int, rank: int, seed: int, block: int = 2048) -> ActivationStore:
    """A store of ``rows`` synthetic activations (rank ``rank`` plus noise), written block by block."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(rank, dim)) * (0.8 ** np.arange(rank))[:, None]
    units = []
    folder.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, rows, block)):
        count = min(block, rows - start)
        acts = rng.normal(size=(count, rank)) @ directions + 0.05 * rng.normal(size=(count, dim))
        path = folder / f"{i:05d}.npz"
        np.savez(path, layer=acts.astype(np.float32))
        units.append(path)
    store = build_store(units, folder / STORE_DIR)
    for path in units:
        path.unlink()
    return store


def _child_peak_mb(agent: Path, reference: Path, svd: str, concepts: int) -> dict[str, float]:
    """Peak memory (MB) of a fresh process that runs the novelty filter on two stores."""
    command = [sys.executable, "-m", "conceptlab.bench.scale", str(agent), str(reference), svd, str(concepts)]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"novelty child process failed: {result.stderr.strip()[-2000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def bench_novelty_memory(
    pool: int, dim: int, *, workdir: Path, concepts: int = 8, progress: Progress = _quiet
) -> dict[str, float]:
    """Peak memory of the novelty filter on pools of ``pool`` and ``4 * pool`` rows per side."""
    figures: dict[str, float] = {}
    for label, rows in (("small", pool), ("large", 4 * pool)):
        progress(f"novelty: writing two stores of {rows} x {dim} activations")
        agent = _write_pool(workdir / f"agent-{label}", rows, dim, rank=32, seed=1)
        reference = _write_pool(workdir / f"reference-{label}", rows, dim, rank=32, seed=2)
        figures[f"pool_mb_{label}"] = (agent.nbytes() + reference.nbytes()) / 2**20
        for svd, key in (("randomized", "novelty_peak_mb"), ("exact", "exact_peak_mb")):
            progress(f"novelty: {svd} SVD on the {label} pool")
            measured = _child_peak_mb(agent.path, reference.path, svd, concepts)
            figures[f"{key}_{label}"] = measured["peak_mb"]
            if svd == "randomized":
                figures[f"process_peak_mb_{label}"] = measured["process_peak_mb"]
    figures["novelty_peak_ratio"] = figures["novelty_peak_mb_large"] / figures["novelty_peak_mb_small"]
    figures["exact_peak_ratio"] = figures["exact_peak_mb_large"] / figures["exact_peak_mb_small"]
    return figures


def bench_scale(
    spec: RunSpec,
    *,
    games: int = 64,
    repeats: int = 3,
    pool: int = 8192,
    dim: int = 512,
    address: str | None = None,
    progress: Progress = _quiet,
) -> dict[str, float]:
    """Every figure of ``conceptlab bench scale`` (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="conceptlab-bench-scale-") as tmp:
        figures = bench_selfplay(
            spec, games, repeats=repeats, address=address, workdir=Path(tmp), progress=progress
        )
        figures.update(bench_novelty_memory(pool, dim, workdir=Path(tmp), progress=progress))
    figures["games"] = games
    figures["repeats"] = repeats
    figures["pool_rows_small"] = pool
    figures["pool_rows_large"] = 4 * pool
    figures["dim"] = dim
    return figures


def _novelty_child(agent_store: str, reference_store: str, svd: str, concepts: int) -> None:
    """Run the spectral filter on two stores and print this process's peak RSS as JSON."""
    from conceptlab.filters.spectral import SpectralNoveltyFilter
    from conceptlab.interfaces import NoveltyContext
    from conceptlab.values import Concept

    agent, reference = ActivationStore(agent_store), ActivationStore(reference_store)
    context = NoveltyContext(
        {"layer": agent.layer("layer")}, {"layer": reference.layer("layer")}, "synthetic reference"
    )
    flt = SpectralNoveltyFilter(SpectralNoveltyFilter.Params(svd=svd))  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    reset = _reset_peak()
    before = _status_kb("VmRSS")
    flt.prepare(context, rng)
    dim = agent.layers["layer"].dim
    for i in range(concepts):
        flt.assess(Concept(f"c{i}", "layer", rng.normal(size=dim), {}, {}), rng)
    peak = _status_kb("VmHWM")
    if not reset:  # no reset: the peak may be the imports'; ru_maxrss is no better, say so
        print("warning: could not reset the peak resident set; figures include imports", file=sys.stderr)
    print(json.dumps({"peak_mb": (peak - before) / 1024, "process_peak_mb": peak / 1024}))


def _reset_peak() -> bool:
    """Reset this process's peak resident set (Linux >= 4.0); whether it worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_kb(field: str) -> float:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``); ru_maxrss where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


if __name__ == "__main__":
    _novelty_child(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
