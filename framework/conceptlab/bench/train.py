"""How fast the agent's supervised fit runs: samples per second of ``TrainableAgent.fit``.

The supervised path (the self-play train stage, the chess plugin's bootstrap
and the teachability filter's students all fit through it) is timed on
positions from random play, with a uniform policy over the legal moves and
random values as targets: its cost does not depend on what the targets say.
Each round fits a fresh copy of the agent, so that every round starts from the
same weights; each figure is the best of its rounds, as ``timeit`` does.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from conceptlab.bench.mine import random_play_positions
from conceptlab.errors import ParamsError
from conceptlab.interfaces import Agent, Domain

__all__ = ["bench_train"]


def _targets(domain: Domain[Any], states: list[Any], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(uniform policy over each state's legal moves, random values in [-1, 1])."""
    policy = np.zeros((len(states), domain.num_actions), dtype=np.float32)
    for i, state in enumerate(states):
        legal = list(domain.legal_actions(state))
        policy[i, legal] = 1.0 / len(legal)
    return policy, rng.uniform(-1.0, 1.0, size=len(states)).astype(np.float32)


def bench_train(
    domain: Domain[Any],
    agent: Agent[Any],
    *,
    positions: int,
    batch_size: int,
    rng: np.random.Generator,
    epochs: int = 1,
    repeats: int = 3,
    learning_rate: float = 1e-3,
) -> dict[str, Any]:
    """Measure supervised training throughput of ``agent``.

    Args:
        domain: The game.
        agent: A trainable agent (with ``fit`` and ``clone``); it is not modified.
        positions: Training positions per round (distinct, from random play).
        batch_size: Positions per optimiser step.
        rng: Draws the positions, the targets and each round's shuffling.
        epochs: Passes over the positions per round.
        repeats: Rounds timed (at least 1).
        learning_rate: Adam's step size.

    Returns:
        ``positions``, ``batch_size``, ``epochs``, ``repeats``, ``samples_per_s`` (best
        round), ``samples_per_s_min`` (slowest round) and ``seconds_per_round`` (best).

    Raises:
        ParamsError: An argument is out of range, or the agent cannot be fitted.
    """
    if min(positions, batch_size, epochs, repeats) < 1:
        raise ParamsError(
            "bench_train needs positions, batch_size, epochs and repeats >= 1 (got "
            f"positions={positions!r}, batch_size={batch_size!r}, epochs={epochs!r}, repeats={repeats!r})"
        )
    if not (hasattr(agent, "fit") and hasattr(agent, "clone")):
        raise ParamsError(f"agent {agent.name!r} has no fit (it is not a TrainableAgent): nothing to train")
    states = random_play_positions(domain, positions, rng)
    policy, values = _targets(domain, states, rng)
    fit_args = {"learning_rate": learning_rate, "batch_size": batch_size}
    warm = min(len(states), batch_size)
    agent.clone().fit(states[:warm], policy[:warm], values[:warm], epochs=1,  # type: ignore[attr-defined]
                      rng=np.random.default_rng(0), **fit_args)
    seconds = []
    for round_index in range(repeats):
        student = agent.clone()  # type: ignore[attr-defined]
        round_rng = np.random.default_rng([round_index, positions])
        start = time.perf_counter()
        student.fit(states, policy, values, epochs=epochs, rng=round_rng, **fit_args)
        seconds.append(time.perf_counter() - start)
    samples = len(states) * epochs
    return {
        "positions": len(states),
        "batch_size": batch_size,
        "epochs": epochs,
        "repeats": repeats,
        "samples_per_s": samples / min(seconds),
        "samples_per_s_min": samples / max(seconds),
        "seconds_per_round": min(seconds),
    }
