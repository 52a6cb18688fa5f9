"""How fast the batched search runs, next to one-leaf search and the raw network.

Three figures from one run, on the same positions and agent:

* ``batched_sims_per_s``: the search as configured (``batch_size`` leaves per
  network call);
* ``one_leaf_sims_per_s``: the same search with ``batch_size = 1``, one network
  call per simulation, as in most small AlphaZero re-implementations;
* ``net_evals_per_s``: ``agent.evaluate`` alone on batches of ``batch_size``
  states - the ceiling a search with perfect batching and free tree work reaches.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from conceptlab.errors import ParamsError
from conceptlab.interfaces import Agent, Domain, Search, StrictParams, build_params
from conceptlab.search.puct import PUCTSearch

__all__ = ["bench_search"]


def _timed_searches(
    search: Search[Any], agent: Agent[Any], states: Sequence[Any], seed: int
) -> tuple[int, float]:
    """Simulations run and seconds spent searching every state once."""
    rng = np.random.default_rng(seed)
    sims = 0
    start = time.perf_counter()
    for state in states:
        sims += search.run(state, agent, rng).simulations
    return sims, time.perf_counter() - start


def _timed_evaluations(
    agent: Agent[Any], states: Sequence[Any], batch_size: int, evaluations: int
) -> tuple[int, float]:
    """States evaluated and seconds spent, in batches of ``batch_size`` cycling over ``states``."""
    batches = [
        [states[(start + k) % len(states)] for k in range(batch_size)]
        for start in range(0, max(evaluations, batch_size), batch_size)
    ]
    agent.evaluate(batches[0])  # warm-up
    start = time.perf_counter()
    for batch in batches:
        agent.evaluate(batch)
    return len(batches) * batch_size, time.perf_counter() - start


def bench_search(
    domain: Domain[Any],
    agent: Agent[Any],
    search_params: Mapping[str, Any] | StrictParams | None,
    *,
    positions: int | Sequence[Any],
    rng: np.random.Generator,
    search_cls: type[Search[Any]] = PUCTSearch,
) -> dict[str, float]:
    """Measure batched search, one-leaf search and raw evaluation throughput.

    Args:
        domain: The game.
        agent: Gives priors and values (e.g. a fresh or trained ``pvnet``).
        search_params: Params of ``search_cls``; it must have a ``batch_size`` field.
        positions: Root states, or how many to draw from ``domain.opening_states``
            (terminal ones are skipped).
        rng: Draws the positions and seeds both searches alike.
        search_cls: The search to measure (default ``puct``).

    Returns:
        ``positions``, ``batch_size``, ``simulations`` (per search),
        ``batched_sims_per_s``, ``one_leaf_sims_per_s``, ``net_evals_per_s``,
        ``batched_over_one_leaf`` and ``search_efficiency``
        (``batched_sims_per_s / net_evals_per_s``).
    """
    params = build_params(search_cls, search_params)  # type: ignore[arg-type]
    batch_size = getattr(params, "batch_size", None)
    if not isinstance(batch_size, int):
        raise ParamsError(f"search {search_cls.name!r} has no batch_size param to benchmark")
    if isinstance(positions, int):
        states = domain.opening_states(positions, rng)
    else:
        states = list(positions)
    states = [s for s in states if not domain.is_terminal(s)]
    if not states:
        raise ParamsError(f"bench_search: no non-terminal positions to search (got {positions!r})")
    seed = int(rng.integers(2**63))
    batched = search_cls(domain, params)
    one_leaf = search_cls(domain, params.model_copy(update={"batch_size": 1}))

    _timed_searches(batched, agent, states[:1], seed)  # warm-up
    sims_b, secs_b = _timed_searches(batched, agent, states, seed)
    sims_1, secs_1 = _timed_searches(one_leaf, agent, states, seed)
    evals, secs_e = _timed_evaluations(agent, states, batch_size, sims_b)

    batched_rate = sims_b / secs_b
    one_leaf_rate = sims_1 / secs_1
    eval_rate = evals / secs_e
    return {
        "positions": len(states),
        "batch_size": batch_size,
        "simulations": int(getattr(params, "simulations", sims_b // len(states))),
        "batched_sims_per_s": batched_rate,
        "one_leaf_sims_per_s": one_leaf_rate,
        "net_evals_per_s": eval_rate,
        "batched_over_one_leaf": batched_rate / one_leaf_rate,
        "search_efficiency": batched_rate / eval_rate,
    }
