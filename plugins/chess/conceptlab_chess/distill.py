"""Distillation of Stockfish into the chess net: engine games labelled by nodes-limited searches.

The bootstrap of :mod:`conceptlab_chess.bootstrap` analyses isolated positions
with multi-PV searches to a depth (about 20 labels a second on one core). This
route labels the positions of whole games that Stockfish plays against itself,
each ply searched to a fixed number of nodes with a single line, and gets a
label per engine call (the search that labels a position also chooses the move
played from it). Steps:

1. **Games** (:func:`generate`): shard ``s`` holds ``games_per_shard`` games,
   everything about it drawn from ``numpy.random.default_rng([seed, s])``: an
   opening from the list, then plies that are, with probability
   ``random_move_prob`` (``early_random_move_prob`` in the first
   ``early_plies``), a uniformly random legal move and otherwise the engine's
   choice. Every position is labelled with the engine's best move (the policy
   target, also for positions where a random move was then played), its score
   from the side to move's view and the game's result. A game ends by the
   rules, by adjudication (a score beyond ``resign_cp`` for
   ``resign_plies`` plies in a row; mate scores at once) or at ``max_plies``
   (scored as a draw). Shards are written atomically
   (``games/shard-NNNNN.npz``) and a shard on disk is never played again, so
   an interrupted run resumes; shards run in parallel over the project's
   executors (local processes, or Ray).
2. **Training** (:func:`train_distilled`): the planes of every position are
   kept in memory as bytes (1,344 a position at history 1); the net trains with
   one optimiser over the whole run (SGD with Nesterov momentum, a linear
   warm-up then a cosine decay), saving ``checkpoints/step-NNNN.pt`` every
   ``checkpoint_every`` samples, each with hold-out metrics on whole games that
   it never trained on. The value target mixes the engine's score and the
   result: ``(1 - result_weight) * (2 / (1 + 10^(-cp / value_scale_cp)) - 1) +
   result_weight * result``.

Stockfish is spoken to over its UCI pipe directly: python-chess's engine layer
costs 1.3-3.8 ms of CPU per call, more than a 1,000-node search.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import chess
import numpy as np
from pydantic import Field, model_validator

from conceptlab.errors import ComponentError, RunDirError
from conceptlab.interfaces import StrictParams

from conceptlab_chess.bootstrap import _check_manifest, _write_npz
from conceptlab_chess.encoding import move_index
from conceptlab_chess.openings import opening_set
from conceptlab_chess.planes import encode_states, num_planes
from conceptlab_chess.stockfish import find_stockfish

__all__ = ["GamesConfig", "DistillTrainConfig", "GameData", "UciPipe", "generate", "load_games", "play_shard",
           "train_distilled"]

MATE_CP = 10_000
"""Centipawns that stand for a forced mate."""

Progress = Callable[[str], None]


class GamesConfig(StrictParams):
    """How the engine games are played and labelled (fixed for a distillation directory)."""

    seed: int = Field(default=0, description="Seed of the games; shard s draws from default_rng([seed, s]).")
    openings: str = Field(default="eco", description="Opening set every game starts from.")
    nodes: int = Field(default=1000, ge=1, description="Stockfish nodes per labelled position.")
    hash_mb: int = Field(default=16, ge=1, description="Stockfish hash table per worker (MB).")
    games_per_shard: int = Field(default=16, ge=1, description="Games per file on disk (the unit of resumption).")
    early_plies: int = Field(default=12, ge=0, description="Plies after the opening that use early_random_move_prob.")
    early_random_move_prob: float = Field(default=0.25, ge=0, le=1, description="Chance of a random move early on.")
    random_move_prob: float = Field(default=0.04, ge=0, le=1, description="Chance of a random move later.")
    resign_cp: int = Field(default=1000, ge=100, description="Adjudicated win beyond this score...")
    resign_plies: int = Field(default=4, ge=1, description="...held for this many plies in a row.")
    max_plies: int = Field(default=300, ge=1, description="Plies after which a game is scored a draw.")


class DistillTrainConfig(StrictParams):
    """How the net is trained on the labelled games."""

    history: int = Field(default=1, ge=1, le=16, description="The chess domain's history param.")
    blocks: int = Field(default=6, ge=1)
    filters: int = Field(default=64, ge=1)
    se_ratio: int | None = Field(default=None, ge=1)
    value_hidden: int = Field(default=128, ge=1)
    samples: int = Field(default=2_000_000, ge=1, description="Training samples in all (batches x batch size).")
    checkpoint_every: int = Field(default=250_000, ge=1, description="Samples between checkpoints.")
    batch_size: int = Field(default=256, ge=1)
    learning_rate: float = Field(default=0.1, gt=0, description="Peak SGD learning rate.")
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=1e-4, ge=0)
    warmup: int = Field(default=20_000, ge=0, description="Samples of linear learning-rate warm-up.")
    value_weight: float = Field(default=1.0, ge=0, description="Weight of the value loss beside the policy loss.")
    value_scale_cp: float = Field(default=400.0, gt=0, description="Logistic scale from centipawns to value.")
    result_weight: float = Field(default=0.25, ge=0, le=1, description="Share of the game result in the value target.")
    holdout_every: int = Field(default=50, ge=2, description="Every n-th game is held out for metrics.")
    seed: int = Field(default=0)

    @model_validator(mode="after")
    def _sane(self) -> DistillTrainConfig:
        if self.checkpoint_every > self.samples:
            raise ValueError(f"checkpoint_every {self.checkpoint_every} > samples {self.samples}: no checkpoint")
        return self


# -- the engine, over its pipe ------------------------------------------------------------------


class UciPipe:
    """A Stockfish process driven with bare UCI lines: ``position`` + ``go nodes`` -> (best move, score)."""

    def __init__(self, path: str | None = None, *, hash_mb: int = 16) -> None:
        self.path = find_stockfish(path)
        self._proc = subprocess.Popen(
            [self.path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1,
        )
        self._send("uci")
        self._until("uciok")
        self._send("setoption name Threads value 1")
        self._send(f"setoption name Hash value {hash_mb}")
        self.new_game()

    def _send(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")

    def _until(self, word: str) -> list[str]:
        assert self._proc.stdout is not None
        lines = []
        while True:
            line = self._proc.stdout.readline()
            if not line:
                raise ComponentError(f"stockfish ({self.path}) exited while we waited for {word!r}")
            lines.append(line)
            if line.startswith(word):
                return lines

    def new_game(self) -> None:
        """Forget the previous game (hash table and history)."""
        self._send("ucinewgame")
        self._send("isready")
        self._until("readyok")

    def search(self, moves: Sequence[str], nodes: int) -> tuple[str, int]:
        """Best move (UCI) and score in centipawns for the side to move after ``moves`` from the start."""
        self._send("position startpos moves " + " ".join(moves) if moves else "position startpos")
        self._send(f"go nodes {nodes}")
        lines = self._until("bestmove")
        score: int | None = None
        for line in reversed(lines):
            if " score " in line:
                words = line.split()
                k = words.index("score")
                value = int(words[k + 2])
                if words[k + 1] == "mate":
                    score = MATE_CP - abs(value) if value > 0 else -(MATE_CP - abs(value))
                else:
                    score = value
                break
        best = lines[-1].split()[1]
        if score is None or best == "(none)":
            raise ComponentError(f"stockfish gave no line after moves {' '.join(moves)!r}")
        return best, score

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._send("quit")
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()

    def __enter__(self) -> UciPipe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- games ---------------------------------------------------------------------------------------


def _play_game(engine: UciPipe, config: GamesConfig, rng: np.random.Generator, history: int) -> dict[str, Any]:
    from conceptlab_chess.domain import ChessDomain

    domain = ChessDomain(ChessDomain.Params(history=history))
    openings = opening_set(config.openings)
    board = chess.Board()
    for move in openings[int(rng.integers(len(openings)))].moves():
        board.push(move)
    state = domain.state_from_board(board)
    moves = [m.uci() for m in board.move_stack]
    opening_plies = len(moves)
    engine.new_game()
    states, labels, scores = [], [], []
    result: float | None = None  # from White's view
    streak, streak_sign = 0, 0
    for ply in range(config.max_plies):
        outcome = board.outcome(claim_draw=True)
        if outcome is not None:
            result = 0.0 if outcome.winner is None else (1.0 if outcome.winner == chess.WHITE else -1.0)
            break
        best_uci, score = engine.search(moves, config.nodes)
        best = chess.Move.from_uci(best_uci)
        states.append(state)
        labels.append(move_index(best, board.turn))
        scores.append(score)
        white_score = score if board.turn == chess.WHITE else -score
        if abs(score) >= MATE_CP - 1000:
            result = 1.0 if white_score > 0 else -1.0
            break
        if abs(score) >= config.resign_cp:
            sign = 1 if white_score > 0 else -1
            streak = streak + 1 if sign == streak_sign else 1
            streak_sign = sign
        else:
            streak = 0
        if streak >= config.resign_plies:
            result = 1.0 if white_score > 0 else -1.0
            break
        p = config.early_random_move_prob if ply < config.early_plies else config.random_move_prob
        move = best
        if rng.random() < p:
            legal = list(board.legal_moves)
            move = legal[int(rng.integers(len(legal)))]
        board.push(move)
        state = domain.apply_move(state, move)
        moves.append(move.uci())
    if result is None:
        result = 0.0
    turns = np.array([s.board.turn for s in states], dtype=bool)
    return {
        "moves": " ".join(moves),
        "opening_plies": opening_plies,
        "planes": encode_states(states, history) if states else np.zeros((0, num_planes(history), 8, 8), np.float32),
        "policy": np.asarray(labels, np.int32),
        "score_cp": np.asarray(scores, np.int32),
        "result": np.where(turns, result, -result).astype(np.int8),
    }


def _to_bytes(planes: np.ndarray, history: int) -> np.ndarray:
    """Planes as uint8: the two scaled counters (move number, no-progress) stored times 100."""
    out = planes.copy()
    n = num_planes(history)
    out[:, n - 6] *= 100.0
    out[:, n - 1] *= 100.0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _from_bytes(planes: np.ndarray, history: int) -> np.ndarray:
    out = planes.astype(np.float32)
    n = num_planes(history)
    out[:, n - 6] /= 100.0
    out[:, n - 1] /= 100.0
    return out


def play_shard(payload: dict[str, Any]) -> dict[str, Any]:
    """Play and write one shard (a top-level function, so a worker process can run it)."""
    config = GamesConfig.model_validate(payload["config"])
    shard, path, history = int(payload["shard"]), Path(payload["path"]), int(payload["history"])
    rng = np.random.default_rng([config.seed, shard])
    started = time.perf_counter()
    games = []
    with UciPipe(payload.get("stockfish"), hash_mb=config.hash_mb) as engine:
        for _ in range(config.games_per_shard):
            games.append(_play_game(engine, config, rng, history))
    lengths = np.asarray([len(g["policy"]) for g in games], np.int32)
    _write_npz(
        path,
        planes=_to_bytes(np.concatenate([g["planes"] for g in games]), history),
        policy=np.concatenate([g["policy"] for g in games]),
        score_cp=np.concatenate([g["score_cp"] for g in games]),
        result=np.concatenate([g["result"] for g in games]),
        game_lengths=lengths,
        game_moves=np.asarray([g["moves"] for g in games], dtype=str),
        opening_plies=np.asarray([g["opening_plies"] for g in games], np.int32),
    )
    return {"shard": shard, "positions": int(lengths.sum()), "seconds": time.perf_counter() - started}


def generate(
    out: str | Path,
    shards: int,
    config: GamesConfig,
    *,
    history: int = 1,
    workers: int = 1,
    executor: Any = None,
    stockfish_path: str | None = None,
    progress: Progress | None = None,
) -> dict[str, float]:
    """Play shards ``0 .. shards-1`` into ``out/games``, skipping those on disk; returns this call's figures.

    Args:
        executor: A :class:`conceptlab.executors.Executor`; default local processes (``workers``),
            or this process when ``workers`` is 1.

    Raises:
        RunDirError: ``out`` holds games made with another ``config``.
        StockfishNotFoundError: No Stockfish binary.
    """
    from conceptlab.executors import LocalExecutor, SerialExecutor

    out = Path(out)
    _check_manifest(out, "games.json", config)
    folder = out / "games"
    folder.mkdir(parents=True, exist_ok=True)
    find_stockfish(stockfish_path)  # fail before any worker starts
    todo = [s for s in range(shards) if not (folder / f"shard-{s:05d}.npz").is_file()]
    payloads = [{"config": config.model_dump(mode="json"), "shard": s, "history": history,
                 "path": str(folder / f"shard-{s:05d}.npz"), "stockfish": stockfish_path} for s in todo]
    if executor is None:
        executor = SerialExecutor() if workers <= 1 else LocalExecutor(workers)
    started, positions, done = time.perf_counter(), 0, 0
    with executor:
        for _, figures in executor.imap(play_shard, payloads):
            done += 1
            positions += figures["positions"]
            if progress is not None:
                elapsed = time.perf_counter() - started
                progress(f"shard {figures['shard']} done ({done}/{len(todo)} this run, {shards} in all): "
                         f"{positions} positions, {positions / elapsed:.0f} labels/s")
    seconds = time.perf_counter() - started
    return {"shards": float(len(todo)), "positions": float(positions), "seconds": seconds,
            "labels_per_second": positions / seconds if seconds > 0 else 0.0}


class GameData:
    """Every labelled position of ``out/games`` in memory, with the game each one came from."""

    def __init__(self, planes: np.ndarray, policy: np.ndarray, score_cp: np.ndarray, result: np.ndarray,
                 game: np.ndarray) -> None:
        self.planes, self.policy, self.score_cp, self.result, self.game = planes, policy, score_cp, result, game

    def __len__(self) -> int:
        return len(self.policy)

    def value_targets(self, rows: np.ndarray, config: DistillTrainConfig) -> np.ndarray:
        cp = np.clip(self.score_cp[rows].astype(np.float64), -MATE_CP, MATE_CP)
        engine = 2.0 / (1.0 + 10.0 ** (-cp / config.value_scale_cp)) - 1.0
        mixed = (1 - config.result_weight) * engine + config.result_weight * self.result[rows]
        return mixed.astype(np.float32)


def load_games(out: str | Path) -> GameData:
    """Load every shard of ``out/games`` (game numbers run across shards in shard order).

    Raises:
        RunDirError: No shard in ``out``.
    """
    files = sorted(f for f in (Path(out) / "games").glob("shard-*.npz") if not f.name.endswith(".tmp.npz"))
    if not files:
        raise RunDirError(f"no games in {str(Path(out) / 'games')!r}; run the generation first")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("planes", "policy", "score_cp", "result", "game")}
    first_game = 0
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            lengths = z["game_lengths"]
            for k in ("planes", "policy", "score_cp", "result"):
                parts[k].append(z[k])
            parts["game"].append(np.repeat(np.arange(first_game, first_game + len(lengths)), lengths))
            first_game += len(lengths)
    return GameData(*(np.concatenate(parts[k]) for k in ("planes", "policy", "score_cp", "result", "game")))


def _learning_rate(seen: int, config: DistillTrainConfig) -> float:
    if seen < config.warmup:
        return config.learning_rate * (seen + config.batch_size) / max(config.warmup, 1)
    done = (seen - config.warmup) / max(config.samples - config.warmup, 1)
    return 0.5 * config.learning_rate * (1 + math.cos(math.pi * min(done, 1.0)))


def train_distilled(
    out: str | Path, config: DistillTrainConfig, *, precision: str = "fp32", progress: Progress | None = None,
    stop_after: int | None = None,
) -> list[Path]:
    """Train on ``out/games``; write ``out/checkpoints/step-NNNN.pt`` every ``checkpoint_every`` samples.

    ``stop_after`` ends this call after that many new checkpoints (a time-boxed
    share of the run; the next call goes on from there).

    A rerun continues from the latest checkpoint (weights, optimiser and the
    shuffling stream are restored, so the series is the same as one
    uninterrupted run up to the floating-point order of the workers).

    Raises:
        RunDirError: No games in ``out`` or ``out`` was trained with another ``config``.
    """
    import torch

    from conceptlab.precision import autocast, resolve_precision

    from conceptlab_chess.agent import AlphaZeroChessAgent
    from conceptlab_chess.domain import ChessDomain

    out = Path(out)
    data = load_games(out)
    _check_manifest(out, "train.json", config, free=("samples",))
    domain = ChessDomain(ChessDomain.Params(history=config.history))
    agent = AlphaZeroChessAgent(domain, AlphaZeroChessAgent.Params(
        blocks=config.blocks, filters=config.filters, se_ratio=config.se_ratio, value_hidden=config.value_hidden,
    ), seed=config.seed)
    choice = resolve_precision(precision)
    agent.set_precision(choice.used)
    say = progress or (lambda line: None)
    say(f"precision: {choice.used} (asked {choice.requested}: {choice.reason}); {len(data)} positions, "
        f"{int(data.game.max()) + 1} games")
    net = agent.network
    optimiser = torch.optim.SGD(net.parameters(), lr=config.learning_rate, momentum=config.momentum,
                                nesterov=config.momentum > 0, weight_decay=config.weight_decay)
    folder = out / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    held = data.game % config.holdout_every == 0
    train_rows, hold_rows = np.flatnonzero(~held), np.flatnonzero(held)
    hold_rows = hold_rows[:: max(1, len(hold_rows) // 8192)]
    existing = sorted(folder.glob("step-*.pt"))
    step = 0
    if existing:
        step = agent.load(existing[-1]).step
        state_path = folder / f"optimiser-{step:04d}.pt"
        if state_path.is_file():
            optimiser.load_state_dict(torch.load(state_path, weights_only=True))
    per_step = config.checkpoint_every
    total_steps = math.ceil(config.samples / per_step)
    saved = list(existing)
    x_hold = torch.from_numpy(_from_bytes(data.planes[hold_rows], config.history))
    v_hold = data.value_targets(hold_rows, config)
    last_step = total_steps if stop_after is None else min(total_steps, step + stop_after)
    for k in range(step, last_step):
        rng = np.random.default_rng([config.seed, k])
        seen = k * per_step
        end = min((k + 1) * per_step, config.samples)
        order = train_rows[rng.integers(0, len(train_rows), size=end - seen)]
        net.train()
        totals = {"policy_loss": 0.0, "value_loss": 0.0, "top1": 0.0}
        started, last = time.perf_counter(), time.perf_counter()
        for start in range(0, len(order), config.batch_size):
            rows = np.sort(order[start:start + config.batch_size])
            lr = _learning_rate(seen + start, config)
            for group in optimiser.param_groups:
                group["lr"] = lr
            x = torch.from_numpy(_from_bytes(data.planes[rows], config.history))
            target = torch.from_numpy(data.policy[rows].astype(np.int64))
            v_target = torch.from_numpy(data.value_targets(rows, config))
            with autocast(agent.precision):
                logits, value = net(x)
            logits, value = logits.float(), value.float().reshape(-1)
            policy_loss = torch.nn.functional.cross_entropy(logits, target)
            value_loss = torch.mean((value - v_target) ** 2)
            loss = policy_loss + config.value_weight * value_loss
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            totals["policy_loss"] += policy_loss.item() * len(rows)
            totals["value_loss"] += value_loss.item() * len(rows)
            totals["top1"] += float((logits.argmax(dim=1) == target).sum())
            if time.perf_counter() - last > 30:
                last = time.perf_counter()
                rate = (start + len(rows)) / (last - started)
                say(f"  checkpoint {k + 1}/{total_steps}: {start + len(rows)}/{len(order)} samples, "
                    f"{rate:.0f} samples/s, lr {lr:.4f}, policy loss {totals['policy_loss'] / (start + len(rows)):.3f}")
        net.eval()
        metrics = {name: v / max(len(order), 1) for name, v in totals.items()}
        metrics.update(_holdout(agent, x_hold, data.policy[hold_rows], v_hold))
        metrics["seconds"] = time.perf_counter() - started
        metrics["samples_per_second"] = len(order) / metrics["seconds"]
        metrics["learning_rate"] = lr
        path = folder / f"step-{k + 1:04d}.pt"
        agent.save(path, step=k + 1, games=end, extra={
            "source": "stockfish distillation",
            "metrics": {name: float(v) for name, v in metrics.items() if math.isfinite(v)},
        })
        torch.save(optimiser.state_dict(), folder / f"optimiser-{k + 1:04d}.pt")
        stale = folder / f"optimiser-{k:04d}.pt"
        if stale.is_file():
            stale.unlink()
        with (out / "metrics.jsonl").open("a") as log:
            log.write(json.dumps({"step": k + 1, "samples": end, **metrics}) + "\n")
        saved.append(path)
        say(f"checkpoint {k + 1}/{total_steps} ({end} samples): " + ", ".join(f"{n} {v:.4g}" for n, v in metrics.items()))
    return saved


def _holdout(agent: Any, x: Any, policy: np.ndarray, value: np.ndarray) -> dict[str, float]:
    import torch

    if len(policy) == 0:
        return {}
    top1, sq = 0, 0.0
    with torch.inference_mode():
        for start in range(0, len(policy), 1024):
            logits, v = agent.network(x[start:start + 1024])
            top1 += int((logits.argmax(dim=1).numpy() == policy[start:start + 1024]).sum())
            sq += float(((v.reshape(-1).numpy() - value[start:start + 1024]) ** 2).sum())
    return {"holdout_top1": top1 / len(policy), "holdout_value_mse": sq / len(policy),
            "holdout_positions": float(len(policy))}


def environment() -> dict[str, Any]:
    """Where the figures were measured: CPU count and load."""
    return {"cpus": os.cpu_count(), "load": os.getloadavg()}
