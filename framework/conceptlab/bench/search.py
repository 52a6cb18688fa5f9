"""How fast the batched search runs, next to one-leaf search and the raw network.

Three figures from one run, on the same positions and agent:

* ``batched_sims_per_s``: the search as configured (``batch_size`` leaves per
  network call);
* ``one_leaf_sims_per_s``: the same search with ``batch_size = 1``, one network
  call per simulation, as in most small AlphaZero re-implementations;
* ``net_evals_per_s``: ``agent.evaluate`` alone on batches of ``batch_size``
  states - the ceiling a search with perfect batching and free tree work reaches.

Inside the batched search, the calls to ``agent.evaluate`` are timed too, which
splits its time into the network's (``search_evals_per_s``: states evaluated per
second of those calls, at the batch sizes the search really forms,
``search_mean_batch``) and the tree's (``tree_us_per_sim``: everything else, per
simulation). The difference between ``search_evals_per_s`` and
``net_evals_per_s`` is what evaluating inside a search costs over evaluating
full batches back to back.
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


class _TimedAgent:
    """``agent`` with its ``evaluate`` calls counted and timed; everything else passes through."""

    def __init__(self, agent: Agent[Any]) -> None:
        self._agent = agent
        self.seconds = 0.0
        self.calls = 0
        self.states = 0

    def evaluate(self, states: Sequence[Any], layers: Sequence[str] = ()) -> Any:
        start = time.perf_counter()
        out = self._agent.evaluate(states, layers)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        self.states += len(states)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._agent, name)


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
    repeats: int = 1,
) -> dict[str, float]:
    """Measure batched search, one-leaf search and raw evaluation throughput.

    The three timings are taken in turn, ``repeats`` times over (so that a slow
    spell of a shared machine hits all three alike), and each figure is the best
    of its repeats, as ``timeit`` does.

    Args:
        domain: The game.
        agent: Gives priors and values (e.g. a fresh or trained ``pvnet``).
        search_params: Params of ``search_cls``; it must have a ``batch_size`` field.
        positions: Root states, or how many to draw from ``domain.opening_states``
            (terminal ones are skipped).
        rng: Draws the positions and seeds both searches alike.
        search_cls: The search to measure (default ``puct``).
        repeats: Rounds of the three timings (at least 1).

    Returns:
        ``positions``, ``batch_size``, ``simulations`` (per search), ``repeats``,
        ``batched_sims_per_s``, ``one_leaf_sims_per_s``, ``net_evals_per_s`` (best
        of the repeats), ``batched_over_one_leaf`` and ``search_efficiency``
        (``batched_sims_per_s / net_evals_per_s``) from those, and the lowest and
        highest per-round ratios (``batched_over_one_leaf_min`` / ``_max``,
        ``search_efficiency_min`` / ``_max``) to show the spread, and
        ``outside_net_us_per_sim``: microseconds a batched simulation spends
        beyond its share of the network's time (``1e6 / batched_sims_per_s -
        1e6 / net_evals_per_s``; tree work, encoding, move generation);
        and, timed inside the batched search (see the module's docstring),
        ``search_evals_per_s`` (best round), ``search_mean_batch`` and
        ``tree_us_per_sim`` (least round).
    """
    params = build_params(search_cls, search_params)  # type: ignore[arg-type]
    batch_size = getattr(params, "batch_size", None)
    if not isinstance(batch_size, int):
        raise ParamsError(f"search {search_cls.name!r} has no batch_size param to benchmark")
    if repeats < 1:
        raise ParamsError(f"bench_search: repeats must be >= 1 (got {repeats})")
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
    rounds: list[tuple[float, float, float]] = []
    inside: list[tuple[float, float, float]] = []  # (search_evals_per_s, search_mean_batch, tree_us_per_sim)
    for _ in range(repeats):
        timed = _TimedAgent(agent)
        sims_b, secs_b = _timed_searches(batched, timed, states, seed)  # type: ignore[arg-type]
        sims_1, secs_1 = _timed_searches(one_leaf, agent, states, seed)
        evals, secs_e = _timed_evaluations(agent, states, batch_size, sims_b)
        rounds.append((sims_b / secs_b, sims_1 / secs_1, evals / secs_e))
        inside.append((
            timed.states / timed.seconds if timed.seconds > 0 else float("nan"),
            timed.states / max(timed.calls, 1),
            1e6 * (secs_b - timed.seconds) / sims_b,
        ))

    batched_rate = max(r[0] for r in rounds)
    one_leaf_rate = max(r[1] for r in rounds)
    eval_rate = max(r[2] for r in rounds)
    ratios = [r[0] / r[1] for r in rounds]
    efficiencies = [r[0] / r[2] for r in rounds]
    return {
        "positions": len(states),
        "batch_size": batch_size,
        "simulations": int(getattr(params, "simulations", sims_b // len(states))),
        "repeats": repeats,
        "batched_sims_per_s": batched_rate,
        "one_leaf_sims_per_s": one_leaf_rate,
        "net_evals_per_s": eval_rate,
        "batched_over_one_leaf": batched_rate / one_leaf_rate,
        "search_efficiency": batched_rate / eval_rate,
        "batched_over_one_leaf_min": min(ratios),
        "batched_over_one_leaf_max": max(ratios),
        "search_efficiency_min": min(efficiencies),
        "search_efficiency_max": max(efficiencies),
        "outside_net_us_per_sim": 1e6 * (1.0 / batched_rate - 1.0 / eval_rate),
        "search_evals_per_s": max(r[0] for r in inside),
        "search_mean_batch": inside[0][1],
        "tree_us_per_sim": min(r[2] for r in inside),
    }
