"""The train stage: the agent's checkpoint series, by AlphaZero-style self-play.

Iteration 0 saves the freshly initialised agent. Iteration ``i`` loads checkpoint
``i - 1`` and replay buffer ``i - 1``, plays ``games_per_iteration`` self-play
games (one unit each, on the executor), adds them to the buffer in game order,
fits the agent, and saves buffer ``i`` and then checkpoint ``i``. Everything an
iteration draws comes from the spec's seed and the iteration number, so a run
killed anywhere resumes to the same bytes.

Self-play may search with other params than the spec's search
(``selfplay_search``, e.g. fewer simulations), mix the root search value into
the value targets (``value_mix``), and the fit may add the positions' images
under the domain's exact symmetries (``symmetries``); by default none of this.

With ``stages.train.checkpoints`` set, no training happens: the given files are
checked to load into the spec's agent and become the series. The single entry
``"shipped"`` stands for the series the agent's plugin ships: the agent must
have a ``shipped_checkpoints()`` method returning its files, oldest first.

Artifacts: ``checkpoints/ckpt-<i>.pt``, ``buffers/buffer-<i>.npz``,
``games-<i>/<g>.npz``, ``checkpoints.json`` (the series, with the SHA-256 of each file), ``losses.json``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.errors import ComponentError
from conceptlab.interfaces import Search, TrainableAgent
from conceptlab.run.components import Components
from conceptlab.run.context import StageContext
from conceptlab.run.worker import components_for
from conceptlab.rundir import file_sha256, read_json
from conceptlab.spec import SHIPPED
from conceptlab.training.selfplay import GameRecord, ReplayBuffer, play_game, train_on_buffer

__all__ = ["play_unit_game", "run_train", "selfplay_search"]

def selfplay_search(comps: Components, overrides: Mapping[str, Any]) -> Search[Any]:
    """The spec's search with ``overrides`` of its params (``stages.train.selfplay_search``).

    Raises:
        ComponentError: An override names no param of the search, or gives a bad value.
    """
    return comps.search_with(overrides, "stages.train.selfplay_search")


def play_unit_game(payload: Mapping[str, Any]) -> tuple[Any, GameRecord]:
    """The domain and the self-play game of one unit.

    ``payload``: ``spec``, ``checkpoint``, ``start`` (a state's text form),
    ``seed``, ``max_moves`` and ``temperature_moves``; optionally ``search``
    (overrides of the search's params) and ``value_mix`` (see :func:`play_game`).
    """
    comps = components_for(payload["spec"])
    domain = comps.domain
    record = play_game(
        domain, comps.agent(payload["checkpoint"]), selfplay_search(comps, payload.get("search", {})),
        domain.from_text(payload["start"]), np.random.default_rng(payload["seed"]),
        max_moves=payload["max_moves"], temperature_moves=payload["temperature_moves"],
        value_mix=float(payload.get("value_mix", 0.0)),
    )
    return domain, record


def _selfplay_unit(payload: Mapping[str, Any]) -> dict[str, np.ndarray]:
    domain, record = play_unit_game(payload)
    return {
        "states": np.asarray([domain.to_text(s) for s in record.states], dtype=str),
        "actions": record.actions,
        "visit_distributions": record.visit_distributions,
        "players": record.players,
        "value_targets": record.value_targets,
        "final_returns": np.asarray(record.final_returns, dtype=np.float64),
        "terminated": np.asarray(record.terminated),
    }


def _record(domain: Any, data: Mapping[str, np.ndarray]) -> GameRecord:
    returns = data["final_returns"]
    return GameRecord(
        states=tuple(domain.from_text(str(t)) for t in data["states"]),
        actions=data["actions"],
        visit_distributions=data["visit_distributions"].reshape(-1, domain.num_actions),
        players=data["players"],
        final_returns=(float(returns[0]), float(returns[1])),
        value_targets=data["value_targets"],
        terminated=bool(data["terminated"]),
    )


def _given_paths(ctx: StageContext) -> list[Path]:
    given = ctx.spec.stages.train.checkpoints
    if given != [SHIPPED]:
        return [Path(path).expanduser().resolve() for path in given]
    shipped = getattr(ctx.components.new_agent(0), "shipped_checkpoints", None)
    if not callable(shipped):
        raise ComponentError(
            f"agent {ctx.spec.agent.name!r} ships no checkpoints; give stages.train.checkpoints as files"
        )
    paths = [Path(path) for path in shipped()]
    if not paths:
        raise ComponentError(f"agent {ctx.spec.agent.name!r} ships an empty checkpoint series")
    return paths


def _given_series(ctx: StageContext) -> list[dict[str, Any]]:
    series = []
    for path in _given_paths(ctx):
        agent = ctx.components.new_agent(0)
        if not isinstance(agent, TrainableAgent):
            raise ComponentError(f"agent {ctx.spec.agent.name!r} cannot load checkpoints")
        info = agent.load(path)
        series.append({**dataclasses.asdict(info), "file_sha256": file_sha256(path)})
    return series


def run_train(ctx: StageContext) -> dict[str, Any]:
    cfg = ctx.spec.stages.train
    if cfg.checkpoints:
        series = _given_series(ctx)
        ctx.write_json("checkpoints.json", series)
        return {"checkpoints": len(series), "trained": False}

    comps = ctx.components
    domain = comps.domain
    selfplay_search(comps, cfg.selfplay_search)  # bad overrides fail before any game
    if cfg.symmetries and not domain.symmetries(domain.initial_state()):
        raise ComponentError(
            f"stages.train.symmetries: domain {ctx.spec.domain.name!r} declares no symmetries; "
            "turn it off"
        )
    options: dict[str, Any] = {}
    if cfg.selfplay_search:
        options["search"] = dict(cfg.selfplay_search)
    if cfg.value_mix > 0:
        options["value_mix"] = cfg.value_mix
    ckpt = ctx.dir / "checkpoints"
    path = ckpt / "ckpt-0000.pt"
    if not path.exists():
        agent = comps.new_agent(ctx.seed("init"))
        if not isinstance(agent, TrainableAgent):
            raise ComponentError(
                f"agent {ctx.spec.agent.name!r} is not trainable; give stages.train.checkpoints"
            )
        agent.save(path, step=0, games=0)
    losses_path = ctx.dir / "losses.json"
    losses: list[dict[str, float]] = read_json(losses_path) if losses_path.exists() else []

    for it in range(1, cfg.iterations + 1):
        path = ckpt / f"ckpt-{it:04d}.pt"
        if path.exists():
            continue
        previous = str(ckpt / f"ckpt-{it - 1:04d}.pt")
        starts = domain.opening_states(cfg.games_per_iteration, ctx.rng("openings", it))
        payloads = [
            {
                "spec": ctx.run.spec_data, "checkpoint": previous, "start": domain.to_text(start),
                "seed": ctx.seed("game", it, g), "max_moves": cfg.max_moves,
                "temperature_moves": cfg.temperature_moves, **options,
            }
            for g, start in enumerate(starts)
        ]
        games = ctx.units(f"games-{it:04d}", _selfplay_unit, payloads, kind="npz",
                          desc=f"iteration {it}/{cfg.iterations} self-play")
        buffer = ReplayBuffer(domain, cfg.buffer_size)
        if it > 1:
            buffer.load(ctx.dir / "buffers" / f"buffer-{it - 1:04d}.npz")
        for game in games:
            buffer.add(_record(domain, game))
        agent = comps.new_agent(0)
        agent.load(previous)  # type: ignore[attr-defined]
        result = train_on_buffer(
            agent, buffer, epochs=cfg.epochs, batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate, rng=ctx.rng("fit", it), symmetries=cfg.symmetries,
        )
        losses = [row for row in losses if row["iteration"] != it] + [{"iteration": it, **result}]
        ctx.write_json("losses.json", losses)
        buffer.save(ctx.dir / "buffers" / f"buffer-{it:04d}.npz")
        agent.save(path, step=it, games=buffer.games_added)  # type: ignore[attr-defined]

    series = []
    for it in range(cfg.iterations + 1):
        agent = comps.new_agent(0)
        info = agent.load(ckpt / f"ckpt-{it:04d}.pt")  # type: ignore[attr-defined]
        record = dataclasses.asdict(info)
        record["path"] = str(Path(info.path).relative_to(ctx.run.path))
        record["file_sha256"] = file_sha256(info.path)
        series.append(record)
    ctx.write_json("checkpoints.json", series)
    return {
        "checkpoints": len(series),
        "trained": True,
        "games": series[-1]["games"],
        "final_losses": losses[-1] if losses else {},
    }
