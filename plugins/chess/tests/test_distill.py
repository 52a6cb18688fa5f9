"""Distillation of Stockfish games: the engine pipe, the games on disk, resumption, training, shipping."""

from __future__ import annotations

import json
from pathlib import Path

import chess
import numpy as np
import pytest
import torch

from conceptlab.errors import RunDirError
from conceptlab_chess import cli
from conceptlab_chess.agent import load_agent
from conceptlab_chess.distill import (
    MATE_CP, DistillTrainConfig, GamesConfig, UciPipe, _from_bytes, _to_bytes, generate, load_games, train_distilled,
)
from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.encoding import index_to_move
from conceptlab_chess.planes import encode_states

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[3]
TINY_GAMES = GamesConfig(games_per_shard=2, nodes=64, max_plies=40)
TINY_TRAIN = DistillTrainConfig(blocks=1, filters=8, value_hidden=8, samples=256, checkpoint_every=128,
                                batch_size=32, warmup=32, holdout_every=2)


def test_the_pipe_finds_a_mate_in_one_and_scores_it(stockfish_path: str) -> None:
    # 1. f3 e5 2. g4: Black mates with Qh4
    with UciPipe(stockfish_path) as engine:
        best, score = engine.search(["f2f3", "e7e5", "g2g4"], 2000)
        assert best == "d8h4" and score == MATE_CP - 1
        best, score = engine.search([], 200)
        assert chess.Move.from_uci(best) in chess.Board().legal_moves and abs(score) < 200


def test_planes_survive_the_byte_store() -> None:
    domain = ChessDomain(ChessDomain.Params(history=1))
    board = chess.Board()
    for uci in ["e2e4", "e7e5", "g1f3", "b8c6", "f1b5", "a7a6"]:
        board.push_uci(uci)
    board.halfmove_clock, board.fullmove_number = 37, 140
    planes = encode_states([domain.state_from_board(board)], 1)
    assert np.array_equal(_from_bytes(_to_bytes(planes, 1), 1), planes.astype(np.float32))


def test_games_are_labelled_legal_and_resume_without_replaying(tmp_path: Path, stockfish_path: str) -> None:
    out = tmp_path / "d"
    first = generate(out, 2, TINY_GAMES, stockfish_path=stockfish_path)
    assert first["shards"] == 2 and first["positions"] > 0
    shard0 = (out / "games" / "shard-00000.npz").read_bytes()
    again = generate(out, 3, TINY_GAMES, stockfish_path=stockfish_path)
    assert again["shards"] == 1  # shards 0 and 1 stay as they were
    assert (out / "games" / "shard-00000.npz").read_bytes() == shard0
    with np.load(out / "games" / "shard-00000.npz") as z:
        lengths, moves, opening = z["game_lengths"], z["game_moves"], z["opening_plies"]
        policy, result, score = z["policy"], z["result"], z["score_cp"]
        offset = 0
        for g in range(len(lengths)):
            played = str(moves[g]).split()
            board = chess.Board()
            for uci in played[: opening[g]]:
                board.push_uci(uci)
            for i in range(lengths[g]):
                label = index_to_move(board, int(policy[offset + i]))  # raises on an illegal label
                assert label in board.legal_moves
                if opening[g] + i < len(played):
                    board.push_uci(played[opening[g] + i])
            # the result is stored from the mover's view: consecutive positions alternate its sign
            r = result[offset: offset + lengths[g]]
            assert np.all(r[:-1] == -r[1:]) or np.all(r == 0)
            offset += lengths[g]
        assert np.all(np.abs(score) <= MATE_CP)
    data = load_games(out)
    assert len(data) == first["positions"] + again["positions"]
    assert data.game.max() + 1 == 3 * TINY_GAMES.games_per_shard


def test_other_game_settings_in_the_same_directory_are_refused(tmp_path: Path, stockfish_path: str) -> None:
    generate(tmp_path, 1, TINY_GAMES, stockfish_path=stockfish_path)
    with pytest.raises(RunDirError, match="nodes"):
        generate(tmp_path, 1, TINY_GAMES.model_copy(update={"nodes": 65}), stockfish_path=stockfish_path)


def test_training_checkpoints_resume_and_load(tmp_path: Path, stockfish_path: str) -> None:
    generate(tmp_path, 2, TINY_GAMES, stockfish_path=stockfish_path)
    first = train_distilled(tmp_path, TINY_TRAIN, stop_after=1)  # as if killed after the first checkpoint
    assert [p.name for p in first] == ["step-0001.pt"]
    resumed = train_distilled(tmp_path, TINY_TRAIN)
    assert [p.name for p in resumed] == ["step-0001.pt", "step-0002.pt"]
    straight = tmp_path / "straight"
    straight.mkdir()
    (straight / "games").symlink_to(tmp_path / "games")
    train_distilled(straight, TINY_TRAIN)
    a = torch.load(tmp_path / "checkpoints" / "step-0002.pt", weights_only=False)["state_dict"]
    b = torch.load(straight / "checkpoints" / "step-0002.pt", weights_only=False)["state_dict"]
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)  # resume = one straight run
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2] and all(np.isfinite(line["policy_loss"]) for line in lines)
    agent = load_agent(tmp_path / "checkpoints" / "step-0002.pt")
    assert agent.evaluate([agent.domain.initial_state()]).policy.shape == (1, 4672)


def test_the_command_trains_and_ships_with_strength(tmp_path: Path, stockfish_path: str) -> None:
    config = tmp_path / "distill.toml"
    config.write_text(
        "shards = 1\n[games]\ngames_per_shard = 2\nnodes = 64\nmax_plies = 30\n"
        "[train]\nblocks = 1\nfilters = 8\nvalue_hidden = 8\nsamples = 128\ncheckpoint_every = 64\n"
        "batch_size = 32\nwarmup = 32\nholdout_every = 2\n[ship]\nsteps = [1, 2]\nnote = 'tiny'\n"
    )
    out = tmp_path / "run"
    assert cli.main(["distill", "--config", str(config), "--out", str(out), "--workers", "1"]) == 0
    match = tmp_path / "match.json"
    match.write_text(json.dumps({"checkpoint": str(out / "checkpoints" / "step-0002.pt"), "opponent": "x",
                                 "games": 2, "score": 0.5, "elo_low": -300.0}))
    dest = tmp_path / "shipped"
    assert cli.main(["ship", "--config", str(config), "--out", str(out), "--dest", str(dest),
                     "--strength", str(match)]) == 0
    index = json.loads((dest / "index.json").read_text())
    assert [c["file"] for c in index["checkpoints"]] == ["step-0001.pt", "teacher.pt"]
    assert index["checkpoints"][0]["strength"] == []
    assert index["checkpoints"][1]["strength"][0]["score"] == 0.5
    assert load_agent(dest / "teacher.pt").architecture()["params"]["filters"] == 8


def test_the_project_distillation_settings_are_valid() -> None:
    data = cli._bootstrap_config(str(ROOT / "specs" / "training" / "chess-distill.toml"))
    assert data["shards"] > 0
    GamesConfig.model_validate(data["games"])
    train = DistillTrainConfig.model_validate(data["train"])
    assert max(data["ship"]["steps"]) * train.checkpoint_every >= train.samples


def test_a_match_against_maias_raw_policy_writes_every_game(
    tmp_path: Path, maia_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "match.json"
    assert cli.main(["match", "--opponent", "maia-1900", "--games", "2", "--simulations", "0",
                     "--max-plies", "20", "--json", str(out)]) == 0
    assert "against maia-1900 (raw policy)" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["games"] == 2 and len(result["games_played"]) == 2
    assert [g["agent_white"] for g in result["games_played"]] == [True, False]
    from conceptlab_chess.openings import opening_set

    for game in result["games_played"]:  # every move replays legally from the opening
        board = next(o for o in opening_set("eco") if f"{o.eco} {o.name}" == game["opening"]).board()
        for uci in game["moves"]:
            assert chess.Move.from_uci(uci) in board.legal_moves
            board.push_uci(uci)
