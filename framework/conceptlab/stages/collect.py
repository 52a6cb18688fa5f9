"""The collect stage: the positions and activations that mining and the filters read.

Following Schut et al. (2023), section "novel by construction" (method.md section 1):

1. self-play games of the final agent from diverse opening states;
2. positions of those games where the final agent and a weaker checkpoint (or a
   named player, e.g. a model of human play), both searching, choose different actions; at each, the final agent's chosen
   and subpar rollouts;
3. activations of the recorded layers for every state on those rollouts;
4. a pool of self-play positions (prototypes for the teachability filter, and the
   agent's side of the novelty filter) with their activations;
5. reference positions (human games read by the domain, games of a checkpoint, or
   games of a named player sampling its policy) with the final agent's activations.

Artifacts: ``games/``, ``disagreements/``, ``rollouts.json``, ``rollout_games.json`` (the game
of each rollout position), ``rollout_acts/``,
``pool.json``, ``pool_games.json`` (the game of each pool position), ``pool_acts/``,
``strata.json`` (the game-phase stratum of each pool and reference position), ``reference.json``, ``reference_acts/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from conceptlab.errors import SpecError
from conceptlab.run.components import PLAYER_PREFIX
from conceptlab.run.context import StageContext
from conceptlab.run.worker import components_for
from conceptlab.stages.common import activations_for, checkpoint_series, chunks, record_layers
from conceptlab.training.selfplay import play_game

__all__ = ["run_collect"]

POSITIONS_PER_UNIT = 4


def _policy_game(domain: Any, agent: Any, start: Any, rng: np.random.Generator, max_moves: int,
                 temperature: float) -> tuple[list[Any], list[int]]:
    """A game of ``agent`` sampling each move from its policy raised to ``1 / temperature``
    (both sides; a uniformly random player when ``agent`` is ``None``)."""
    states, actions = [start], []
    while not domain.is_terminal(states[-1]) and len(actions) < max_moves:
        legal = np.asarray(domain.legal_actions(states[-1]))
        if agent is None:
            action = int(legal[rng.integers(len(legal))])
        else:
            weights = np.asarray(agent.evaluate([states[-1]]).policy[0][legal], dtype=np.float64)
            weights = np.power(np.maximum(weights, 0.0), 1.0 / temperature)
            total = weights.sum()
            probs = weights / total if total > 0 and np.isfinite(total) else None
            action = int(legal[rng.choice(len(legal), p=probs)])
        actions.append(action)
        states.append(domain.apply(states[-1], action))
    return states, actions


def _game_unit(payload: Mapping[str, Any]) -> dict[str, Any]:
    comps = components_for(payload["spec"])
    checkpoint = payload["checkpoint"]
    agent = comps.agent(checkpoint) if checkpoint else None
    domain = comps.domain
    rng = np.random.default_rng(payload["seed"])
    start = domain.from_text(payload["start"])
    if agent is None or checkpoint.startswith(PLAYER_PREFIX):  # 'random', or a player sampling its policy
        states, actions = _policy_game(domain, agent, start, rng, payload["max_moves"],
                                       payload.get("temperature", 1.0))
    else:
        record = play_game(
            domain, agent, comps.search, start, rng,
            max_moves=payload["max_moves"], temperature_moves=payload["temperature_moves"],
        )
        states, actions = list(record.states), list(record.actions)
    return {"states": [domain.to_text(s) for s in states], "actions": [int(a) for a in actions]}


def _describe(ref: Any) -> str:
    """A player's component and params, e.g. ``lc0 weights=maia-1900``."""
    params = " ".join(f"{k}={v}" for k, v in ref.params.items())
    return f"{ref.name} {params}".strip()


def _rollout_json(domain: Any, line: Any) -> dict[str, Any]:
    return {
        "states": [domain.to_text(s) for s in line.states],
        "actions": [int(a) for a in line.actions],
        "branch_depth": int(line.branch_depth),
        "value": None if np.isnan(line.value) else float(line.value),
        "visits": int(line.visits),
    }


def _disagreement_unit(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    comps = components_for(payload["spec"])
    cfg = comps.spec.stages.collect
    domain, search = comps.domain, comps.search_with(cfg.rollout_search, "stages.collect.rollout_search")
    final, weaker = comps.agent(payload["final"]), comps.agent(payload["weaker"])
    rollout_params = cfg.rollout
    out = []
    for text, seed in zip(payload["states"], payload["seeds"], strict=True):
        state = domain.from_text(text)
        final_result = search.run(state, final, np.random.default_rng(seed))
        weaker_result = search.run(state, weaker, np.random.default_rng(seed))
        record: dict[str, Any] = {
            "state": text,
            "final_action": int(final_result.chosen_action),
            "weaker_action": int(weaker_result.chosen_action),
        }
        if final_result.chosen_action != weaker_result.chosen_action:
            rollouts = search.rollouts(final_result, rollout_params, final)
            record["chosen"] = _rollout_json(domain, rollouts.chosen)
            record["subpar"] = [_rollout_json(domain, line) for line in rollouts.subpar]
        out.append(record)
    return out


def _positions(games: list[dict[str, Any]], comps: Any) -> list[str]:
    """Distinct non-terminal positions of the games, in order of first appearance."""
    return list(_position_games(games, comps))


def _position_games(games: list[dict[str, Any]], comps: Any) -> dict[str, int]:
    """Distinct non-terminal positions of the games -> the game each first appears in."""
    seen: dict[str, int] = {}
    domain = comps.domain
    for index, game in enumerate(games):
        for text in game["states"]:
            if text not in seen and not domain.is_terminal(domain.from_text(text)):
                seen[text] = index
    return seen


def _sample(items: list[str], count: int, rng: np.random.Generator) -> list[str]:
    if len(items) <= count:
        return list(items)
    return [items[i] for i in sorted(rng.choice(len(items), size=count, replace=False))]


def _play(
    ctx: StageContext, group: str, checkpoint: str | None, count: int
) -> list[dict[str, Any]]:
    """``count`` games from opening states: self-play of ``checkpoint``, games of a player
    (``agent:NAME``, sampling its policy) or of a random player (``None``)."""
    cfg = ctx.spec.stages.collect
    domain = ctx.components.domain
    starts = domain.opening_states(count, ctx.rng(group, "openings", count))
    payloads = [
        {
            "spec": ctx.run.spec_data, "checkpoint": checkpoint,
            "start": domain.to_text(start), "seed": ctx.seed(group, i),
            "max_moves": cfg.max_moves, "temperature_moves": cfg.temperature_moves,
            "temperature": cfg.reference_temperature,
        }
        for i, start in enumerate(starts)
    ]
    return ctx.units(group, _game_unit, payloads, desc=f"{group} (self-play)")


def _play_until(
    ctx: StageContext, group: str, checkpoint: str | None, positions: int
) -> list[str]:
    """Distinct positions from rounds of games (8, 16, 32, ... at most 6 rounds) until enough."""
    found: list[str] = []
    for round_ in range(6):
        games = _play(ctx, f"{group}-{round_}", checkpoint, 8 * 2**round_)
        found = list(dict.fromkeys(found + _positions(games, ctx.components)))
        if len(found) >= positions:
            break
    return found


def _reference_positions(ctx: StageContext, series: list[Any]) -> tuple[list[str], str]:
    cfg = ctx.spec.stages.collect
    domain = ctx.components.domain
    rng = ctx.rng("reference")
    if cfg.reference_source:
        texts: list[str] = []
        for game in domain.reference_games(cfg.reference_source):
            texts.extend(domain.to_text(s) for s in game if not domain.is_terminal(s))
            if len(texts) >= 20 * cfg.reference_size:
                break
        if not texts:
            raise SpecError(f"reference_source {cfg.reference_source!r} gave no positions")
        return _sample(list(dict.fromkeys(texts)), cfg.reference_size, rng), f"games from {cfg.reference_source}"
    player = cfg.reference_player
    if player == "random":
        checkpoint, name = None, "a uniformly random player"
    elif player.startswith("checkpoint:"):
        try:
            info = series[int(player.split(":", 1)[1])]
        except (ValueError, IndexError):
            raise SpecError(
                f"reference_player {player!r}: expected 'checkpoint:I' with 0 <= I < {len(series)}"
            ) from None
        checkpoint, name = info.path, f"self-play games of checkpoint step {info.step}"
    elif player.startswith(PLAYER_PREFIX):
        checkpoint = player
        ref = ctx.spec.players[player.removeprefix(PLAYER_PREFIX)]
        name = (f"games of player {player.removeprefix(PLAYER_PREFIX)!r} ({_describe(ref)}) sampling its policy "
                f"at temperature {cfg.reference_temperature:g}")
    else:
        raise SpecError(f"reference_player {player!r}: expected 'random', 'checkpoint:I' or 'agent:NAME'")
    positions = _play_until(ctx, "reference_games", checkpoint, cfg.reference_size)
    return _sample(positions, cfg.reference_size, rng), name


def run_collect(ctx: StageContext) -> dict[str, Any]:
    cfg = ctx.spec.stages.collect
    series = checkpoint_series(ctx)
    final = series[-1].path
    if cfg.weaker_player is not None:
        weaker = cfg.weaker_player
        ref = ctx.spec.players[weaker.removeprefix(PLAYER_PREFIX)]
        weaker_name = f"player {weaker.removeprefix(PLAYER_PREFIX)!r} ({_describe(ref)})"
    else:
        try:
            weaker_info = series[cfg.weaker_checkpoint]
        except IndexError:
            raise SpecError(
                f"stages.collect.weaker_checkpoint = {cfg.weaker_checkpoint}, but the series has "
                f"{len(series)} checkpoints"
            ) from None
        weaker, weaker_name = weaker_info.path, f"checkpoint step {weaker_info.step}"
    layers = record_layers(ctx)

    games = _play(ctx, "games", final, cfg.games)
    position_games = _position_games(games, ctx.components)
    positions = list(position_games)
    examined = _sample(positions, cfg.positions_examined, ctx.rng("examined"))
    seeds = [ctx.seed("search", i) for i in range(len(examined))]
    payloads = [
        {"spec": ctx.run.spec_data, "final": final, "weaker": weaker, "states": s, "seeds": k}
        for s, k in zip(chunks(examined, POSITIONS_PER_UNIT), chunks(seeds, POSITIONS_PER_UNIT), strict=True)
    ]
    results = [r for unit in ctx.units("disagreements", _disagreement_unit, payloads) for r in unit]
    disagreements = [r for r in results if "chosen" in r][: cfg.max_positions]
    ctx.write_json("rollouts.json", disagreements)
    ctx.write_json("rollout_games.json", [position_games[r["state"]] for r in disagreements])

    rollout_states = [
        text for r in disagreements for line in (r["chosen"], *r["subpar"]) for text in line["states"]
    ]
    activations_for(ctx, "rollout_acts", rollout_states, final, layers)

    pool = _sample(positions, cfg.pool_size, ctx.rng("pool"))
    ctx.write_json("pool.json", pool)
    ctx.write_json("pool_games.json", [position_games[text] for text in pool])
    activations_for(ctx, "pool_acts", pool, final, layers)

    reference, reference_name = _reference_positions(ctx, series)
    ctx.write_json("reference.json", {"source": reference_name, "states": reference})
    domain = ctx.components.domain
    ctx.write_json("strata.json", {
        "pool": [domain.stratum(domain.from_text(t)) for t in pool],
        "reference": [domain.stratum(domain.from_text(t)) for t in reference],
    })
    activations_for(ctx, "reference_acts", reference, final, layers)

    # how the rejected lines branch, and how many root alternatives the search valued within 0.05
    # of the chosen move (rejected for fewer visits, not a worse value; same node, same player)
    depths: dict[str, int] = {}
    near = lines = 0
    for record in disagreements:
        chosen_value = record["chosen"]["value"]
        for line in record["subpar"]:
            lines += 1
            depths[str(line["branch_depth"])] = depths.get(str(line["branch_depth"]), 0) + 1
            if line["branch_depth"] == 0 and chosen_value is not None and line["value"] is not None:
                near += abs(line["value"] - chosen_value) <= 0.05
    return {
        "games": len(games),
        "positions": len(positions),
        "rollout_simulations": ctx.components.search_with(cfg.rollout_search, "stages.collect.rollout_search")
        .params.model_dump().get("simulations"),
        "subpar_lines": lines,
        "subpar_branch_depths": dict(sorted(depths.items(), key=lambda kv: int(kv[0]))),
        "subpar_depth0_within_0.05_of_chosen_value": int(near),
        "positions_examined": len(examined),
        "disagreements": sum(1 for r in results if "chosen" in r),
        "rollout_positions": len(disagreements),
        "pool": len(pool),
        "reference": len(reference),
        "reference_source": reference_name,
        "weaker_player": weaker_name,
        "layers": layers,
    }
