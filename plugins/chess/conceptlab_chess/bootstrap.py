"""Supervised bootstrap of the chess net from Stockfish's analysis, resumable on disk.

Two CPU cores cannot repeat AlphaZero's self-play from zero, so the reference
agent starts from a classical engine's judgement, then may be improved by
self-play. Steps:

1. **Positions**: position ``i`` is an opening from the list followed by a
   short continuation, each ply a uniformly random legal move (probability
   ``random_move_prob``) or Stockfish's quick choice; everything about position
   ``i`` comes from ``numpy.random.default_rng([seed, i])``, so the set is the
   same however often the run is interrupted.
2. **Analysis**: Stockfish with ``multipv`` lines to a depth (or time). The
   policy target is a softmax over the lines' scores (``policy_temperature_cp``
   centipawns per unit of log-probability); the value target is the best line's
   score through the logistic map ``2 / (1 + 10^(-cp / value_scale_cp)) - 1``.
   Positions are written in chunks (``analysis/chunk-NNNNNNN.npz``); a chunk on
   disk is never analysed again.
3. **Training**: ``TrainableAgent.fit`` over the analysed positions, one epoch
   at a time, saving ``checkpoints/step-NNNN.pt`` after each epoch with its
   hold-out metrics (a checkpoint series, oldest = weakest); a rerun continues
   from the latest checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chess
import chess.engine
import numpy as np
from pydantic import Field, model_validator

from conceptlab.errors import ComponentError, RunDirError
from conceptlab.interfaces import StrictParams
from conceptlab.precision import resolve_precision

from conceptlab_chess.agent import AlphaZeroChessAgent
from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.encoding import NUM_ACTIONS, move_index
from conceptlab_chess.openings import opening_set
from conceptlab_chess.state import ChessState
from conceptlab_chess.stockfish import open_stockfish

__all__ = [
    "AnalysisConfig", "Dataset", "TrainConfig", "analyse_positions", "load_dataset", "make_position",
    "ship_checkpoints", "train",
]

MATE_CP = 10_000
"""Centipawns that stand for a forced mate when scores are compared."""

Progress = Callable[[str], None]


class AnalysisConfig(StrictParams):
    """How positions are made and analysed (fixed for a bootstrap directory)."""

    seed: int = Field(default=0, description="Seed of the positions.")
    openings: str = Field(default="eco", description="Opening set the positions start from.")
    min_plies: int = Field(default=2, ge=0, description="Fewest continuation plies after the opening.")
    max_plies: int = Field(default=16, ge=0, description="Most continuation plies after the opening.")
    random_move_prob: float = Field(default=0.5, ge=0, le=1, description="Chance that a continuation ply is random.")
    continuation_depth: int = Field(default=2, ge=1, description="Stockfish depth of non-random continuation plies.")
    depth: int | None = Field(default=8, ge=1, description="Analysis depth (None: use time_limit).")
    time_limit: float | None = Field(default=None, gt=0, description="Analysis seconds per position.")
    multipv: int = Field(default=4, ge=1, le=32, description="Lines per position for the soft policy.")
    policy_temperature_cp: float = Field(default=100.0, gt=0, description="Softmax temperature over line scores.")
    value_scale_cp: float = Field(default=400.0, gt=0, description="Logistic scale from centipawns to value.")
    chunk_size: int = Field(default=64, ge=1, description="Positions per file on disk.")

    @model_validator(mode="after")
    def _bounded(self) -> AnalysisConfig:
        if self.depth is None and self.time_limit is None:
            raise ValueError("give a depth or a time_limit: an unbounded analysis never ends")
        if self.min_plies > self.max_plies:
            raise ValueError(f"min_plies {self.min_plies} > max_plies {self.max_plies}")
        return self


class TrainConfig(StrictParams):
    """How the net is trained on the analysed positions."""

    history: int = Field(default=8, ge=1, le=16, description="The chess domain's history param.")
    blocks: int = Field(default=6, ge=1)
    filters: int = Field(default=64, ge=1)
    se_ratio: int | None = Field(default=None, ge=1)
    value_hidden: int = Field(default=128, ge=1)
    epochs: int = Field(default=10, ge=1)
    batch_size: int = Field(default=256, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    lr_decay: float = Field(default=0.9, gt=0, le=1, description="Learning rate factor per epoch.")
    train_chunk: int = Field(default=8192, ge=1, description="Positions per fit call (bounds memory).")
    holdout_every: int = Field(default=20, ge=2, description="Every n-th position is held out for metrics.")
    seed: int = Field(default=0)


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def _check_manifest(out: Path, name: str, config: StrictParams, free: tuple[str, ...] = ()) -> None:
    """Refuse ``out`` when it was made with another ``config`` (settings named in ``free`` may differ)."""
    path = out / name
    mine = config.model_dump(mode="json")
    if path.is_file():
        saved = json.loads(path.read_text())
        diff = {k: (saved.get(k), v) for k, v in mine.items() if saved.get(k) != v and k not in free}
        if diff:
            raise RunDirError(
                f"{str(out)!r} holds a bootstrap made with other settings (saved, asked): {diff}; "
                "use another --out directory or the saved settings"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(mine, indent=2, sort_keys=True))


def make_position(index: int, config: AnalysisConfig, engine: chess.engine.SimpleEngine) -> chess.Board:
    """Position ``index``: an opening and a continuation, with its move stack from the start."""
    rng = np.random.default_rng([config.seed, index])
    openings = opening_set(config.openings)
    board = openings[int(rng.integers(len(openings)))].board()
    for _ in range(int(rng.integers(config.min_plies, config.max_plies + 1))):
        moves = list(board.legal_moves)
        if not moves:
            break
        if rng.random() < config.random_move_prob:
            move = moves[int(rng.integers(len(moves)))]
        else:
            move = engine.play(board, chess.engine.Limit(depth=config.continuation_depth)).move or moves[0]
        board.push(move)
        if board.is_game_over(claim_draw=True):
            board.pop()
            break
    return board


def _targets(board: chess.Board, infos: list[chess.engine.InfoDict], config: AnalysisConfig) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(policy indices, probabilities, value, best score in cp) from multipv ``infos``."""
    lines = [(info["pv"][0], info["score"].relative.score(mate_score=MATE_CP)) for info in infos if info.get("pv")]
    if not lines:  # a position Stockfish gave no line for: uniform over legal moves is never stored
        raise ComponentError(f"stockfish returned no line for {board.fen()!r}")
    indices = np.full(config.multipv, -1, dtype=np.int32)
    probs = np.zeros(config.multipv, dtype=np.float32)
    scores = np.array([cp for _, cp in lines], dtype=float)
    weights = np.exp((scores - scores.max()) / config.policy_temperature_cp)
    for k, ((move, _), w) in enumerate(zip(lines, weights / weights.sum())):
        indices[k] = move_index(move, board.turn)
        probs[k] = w
    best = int(scores.max())
    value = 2.0 / (1.0 + 10.0 ** (-best / config.value_scale_cp)) - 1.0
    return indices, probs, float(value), best


def analyse_positions(
    out: str | Path,
    positions: int,
    config: AnalysisConfig,
    *,
    stockfish_path: str | None = None,
    threads: int = 1,
    progress: Progress | None = None,
) -> dict[str, float]:
    """Analyse positions ``0 .. positions-1`` into ``out/analysis``, skipping chunks already there.

    Returns figures of this call: positions analysed, seconds, positions per second.

    Raises:
        RunDirError: ``out`` holds an analysis made with another ``config``.
        StockfishNotFoundError: No Stockfish binary.
    """
    out = Path(out)
    _check_manifest(out, "analysis.json", config)
    folder = out / "analysis"
    folder.mkdir(parents=True, exist_ok=True)
    limit = chess.engine.Limit(depth=config.depth, time=config.time_limit)
    done, started = 0, time.perf_counter()
    starts = [s for s in range(0, positions, config.chunk_size) if not (folder / f"chunk-{s:07d}.npz").is_file()]
    if not starts:
        return {"analysed": 0, "seconds": 0.0, "positions_per_second": 0.0}
    with open_stockfish(stockfish_path, threads=threads) as engine:
        for start in starts:
            rows: dict[str, list[Any]] = {k: [] for k in ("index", "moves", "fen", "policy_index", "policy_prob", "value", "best_cp")}
            for index in range(start, min(start + config.chunk_size, positions)):
                board = make_position(index, config, engine)
                infos = engine.analyse(board, limit, multipv=config.multipv)
                indices, probs, value, best = _targets(board, infos if isinstance(infos, list) else [infos], config)
                rows["index"].append(index)
                rows["moves"].append(" ".join(m.uci() for m in board.move_stack))
                rows["fen"].append(board.fen())
                rows["policy_index"].append(indices)
                rows["policy_prob"].append(probs)
                rows["value"].append(value)
                rows["best_cp"].append(best)
            _write_npz(
                folder / f"chunk-{start:07d}.npz",
                index=np.asarray(rows["index"], np.int64), moves=np.asarray(rows["moves"], dtype=str),
                fen=np.asarray(rows["fen"], dtype=str), policy_index=np.stack(rows["policy_index"]),
                policy_prob=np.stack(rows["policy_prob"]), value=np.asarray(rows["value"], np.float32),
                best_cp=np.asarray(rows["best_cp"], np.int32),
            )
            done += len(rows["index"])
            if progress is not None:
                rate = done / (time.perf_counter() - started)
                progress(f"analysed {done} positions this run ({rate:.1f}/s), chunk {start}")
    seconds = time.perf_counter() - started
    return {"analysed": done, "seconds": seconds, "positions_per_second": done / seconds}


class Dataset:
    """Analysed positions loaded from ``out/analysis``, sorted by index."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.index = arrays["index"]
        self.moves = arrays["moves"]
        self.fen = arrays["fen"]
        self.policy_index = arrays["policy_index"]
        self.policy_prob = arrays["policy_prob"]
        self.value = arrays["value"]
        self.best_cp = arrays["best_cp"]

    def __len__(self) -> int:
        return len(self.index)

    def states(self, domain: ChessDomain, rows: np.ndarray | None = None) -> list[ChessState]:
        """The positions as domain states, each replayed from the start (so with history)."""
        rows = np.arange(len(self)) if rows is None else rows
        states = []
        for r in rows:
            board = chess.Board()
            for uci in str(self.moves[r]).split():
                board.push_uci(uci)
            states.append(domain.state_from_board(board))
        return states

    def policy_targets(self, rows: np.ndarray) -> np.ndarray:
        """Dense ``(len(rows), 4672)`` policy targets."""
        dense = np.zeros((len(rows), NUM_ACTIONS), dtype=np.float32)
        for i, r in enumerate(rows):
            keep = self.policy_index[r] >= 0
            dense[i, self.policy_index[r][keep]] = self.policy_prob[r][keep]
        return dense

    def save(self, path: str | Path) -> None:
        """Write the whole dataset to one ``.npz`` file."""
        _write_npz(Path(path), index=self.index, moves=self.moves, fen=self.fen, policy_index=self.policy_index,
                   policy_prob=self.policy_prob, value=self.value, best_cp=self.best_cp)


def load_dataset(out: str | Path) -> Dataset:
    """Every chunk of ``out/analysis`` as one :class:`Dataset`.

    Raises:
        RunDirError: There is no analysed chunk in ``out``.
    """
    files = sorted((Path(out) / "analysis").glob("chunk-*.npz"))
    files = [f for f in files if not f.name.endswith(".tmp.npz")]
    if not files:
        raise RunDirError(f"no analysed positions in {str(Path(out) / 'analysis')!r}; run the analysis first")
    parts = [dict(np.load(f, allow_pickle=False)) for f in files]
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(merged["index"], kind="stable")
    return Dataset({k: v[order] for k, v in merged.items()})


def _holdout_metrics(agent: AlphaZeroChessAgent, dataset: Dataset, rows: np.ndarray, states: list[ChessState]) -> dict[str, float]:
    if len(rows) == 0:
        return {}
    top1, sq = 0, 0.0
    for start in range(0, len(rows), 256):
        batch = rows[start:start + 256]
        evaluation = agent.evaluate(states[start:start + 256])
        top1 += int((evaluation.policy.argmax(axis=1) == dataset.policy_index[batch, 0]).sum())
        sq += float(((evaluation.value - dataset.value[batch]) ** 2).sum())
    return {"holdout_top1": top1 / len(rows), "holdout_value_mse": sq / len(rows), "holdout_positions": float(len(rows))}


def train(
    out: str | Path, config: TrainConfig, *, progress: Progress | None = None, precision: str = "fp32"
) -> list[Path]:
    """Train on ``out/analysis`` and write ``out/checkpoints/step-NNNN.pt`` per epoch; returns them.

    ``precision`` (``fp32``, ``bf16`` or ``auto``, see :mod:`conceptlab.precision`)
    is how the net fits and evaluates; it is said through ``progress``.

    A rerun loads the latest checkpoint and continues with the next epoch; a
    rerun with more ``epochs`` (the one setting that may change) extends the
    series, each epoch's learning rate depending on its number only.

    Raises:
        RunDirError: No analysis in ``out``, or ``out`` was trained with another ``config``.
    """
    out = Path(out)
    dataset = load_dataset(out)
    _check_manifest(out, "train.json", config, free=("epochs",))  # more epochs extend the series
    domain = ChessDomain(ChessDomain.Params(history=config.history))
    agent = AlphaZeroChessAgent(domain, AlphaZeroChessAgent.Params(
        blocks=config.blocks, filters=config.filters, se_ratio=config.se_ratio, value_hidden=config.value_hidden,
    ), seed=config.seed)
    choice = resolve_precision(precision)
    agent.set_precision(choice.used)
    if progress is not None:
        progress(f"precision: {choice.used} (asked {choice.requested}: {choice.reason})")
    folder = out / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("step-*.pt"))
    first_epoch = 0
    if existing:
        first_epoch = agent.load(existing[-1]).step
    held = dataset.index % config.holdout_every == 0
    train_rows, holdout_rows = np.flatnonzero(~held), np.flatnonzero(held)
    states = dataset.states(domain)
    holdout_states = [states[r] for r in holdout_rows]
    saved = list(existing)
    for epoch in range(first_epoch, config.epochs):
        rng = np.random.default_rng([config.seed, epoch])
        lr = config.learning_rate * config.lr_decay ** epoch
        order = train_rows[rng.permutation(len(train_rows))]
        totals: dict[str, float] = {}
        started = time.perf_counter()
        for start in range(0, len(order), config.train_chunk):
            rows = order[start:start + config.train_chunk]
            losses = agent.fit(
                [states[r] for r in rows], dataset.policy_targets(rows), dataset.value[rows],
                epochs=1, learning_rate=lr, batch_size=config.batch_size, rng=rng,
            )
            for k, v in losses.items():
                totals[k] = totals.get(k, 0.0) + v * len(rows)
        metrics = {k: v / max(len(order), 1) for k, v in totals.items()}
        metrics.update(_holdout_metrics(agent, dataset, holdout_rows, holdout_states))
        metrics["seconds"] = time.perf_counter() - started
        metrics["learning_rate"] = lr
        path = folder / f"step-{epoch + 1:04d}.pt"
        agent.save(path, step=epoch + 1, games=len(order) * (epoch + 1), extra={
            "source": "stockfish bootstrap", "metrics": {k: float(v) for k, v in metrics.items() if math.isfinite(v)},
        })
        with (out / "metrics.jsonl").open("a") as log:
            log.write(json.dumps({"step": epoch + 1, **metrics}) + "\n")
        saved.append(path)
        if progress is not None:
            progress(f"epoch {epoch + 1}/{config.epochs}: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
    return saved


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ship_checkpoints(out: str | Path, steps: list[int], dest: str | Path, *, note: str = "",
                     strength: list[dict[str, Any]] | None = None) -> Path:
    """Copy checkpoints ``steps`` of ``out/checkpoints`` into ``dest`` with an ``index.json``; returns it.

    The last of ``steps`` (sorted) becomes ``teacher.pt``, the others keep
    their ``step-NNNN.pt`` names. The index lists them oldest first with their
    step, the training positions seen, the hold-out metrics saved with them,
    their size and SHA-256; ``note`` records how they were made. ``strength``
    holds match results (what ``conceptlab chess match --json`` writes); each is
    attached to the entry of the checkpoint it played with (by file name).

    Raises:
        RunDirError: A step has no checkpoint in ``out``.
    """
    out, dest = Path(out), Path(dest)
    steps = sorted(set(steps))
    if not steps:
        raise RunDirError("give at least one step to ship")
    from conceptlab.agents.torch import read_checkpoint

    dest.mkdir(parents=True, exist_ok=True)
    entries = []
    architecture: Any = None
    for step in steps:
        source = out / "checkpoints" / f"step-{step:04d}.pt"
        if not source.is_file():
            raise RunDirError(f"no checkpoint {str(source)!r}; the bootstrap in {str(out)!r} has not reached step {step}")
        name = "teacher.pt" if step == steps[-1] else source.name
        shutil.copyfile(source, dest / name)
        payload = read_checkpoint(dest / name)
        architecture = payload["architecture"]
        entries.append({
            "file": name,
            "role": "teacher" if step == steps[-1] else "earlier",
            "step": int(payload["step"]),
            "positions_seen": int(payload["games"]),
            "metrics": payload["extra"].get("metrics", {}),
            "bytes": (dest / name).stat().st_size,
            "sha256": file_sha256(dest / name),
            "strength": [_match_summary(m) for m in strength or () if Path(str(m.get("checkpoint"))).name == source.name],
        })
    index = dest / "index.json"
    index.write_text(json.dumps(
        {"agent": AlphaZeroChessAgent.name, "architecture": architecture, "note": note, "checkpoints": entries},
        indent=2, sort_keys=True,
    ) + "\n")
    return index


def _match_summary(match: dict[str, Any]) -> dict[str, Any]:
    """The figures of a match result that an index keeps (not the games)."""
    keys = ("opponent", "simulations", "games", "wins", "draws", "losses", "score", "score_low", "score_high",
            "elo", "elo_low", "elo_high", "opponent_elo")
    return {k: match.get(k) for k in keys}
