"""MCTS reference players, matches against the MCTS bot, and the ``conceptlab-openspiel`` CLI."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from conceptlab.agents.pvnet import PVNetAgent, PVNetParams
from conceptlab.errors import ComponentError
from conceptlab.search.puct import PUCTParams, PUCTSearch

from conceptlab_openspiel import MctsSpec, OpenSpielDomain, OpenSpielParams
from conceptlab_openspiel.cli import main
from conceptlab_openspiel.match import GameResult, MatchResult, play_match


def test_mcts_spec_parses_and_names_itself() -> None:
    assert MctsSpec.parse("mcts:1000") == MctsSpec(1000, 1)
    assert MctsSpec.parse("mcts:200:4") == MctsSpec(200, 4)
    assert str(MctsSpec(200, 4)) == "mcts:200:4"
    assert "1000 simulations" in MctsSpec(1000).describe()
    for bad in ("mcts", "mcts:", "mcts:0", "mcts:x", "uct:10", "mcts:1:2:3"):
        with pytest.raises(ValueError, match="mcts:N"):
            MctsSpec.parse(bad)


def test_reference_games_are_legal_finished_and_reproducible() -> None:
    domain = OpenSpielDomain(OpenSpielParams(game="tic_tac_toe"))
    first = list(itertools.islice(domain.reference_games("mcts:30"), 3))
    again = list(itertools.islice(domain.reference_games("mcts:30"), 3))
    assert [[domain.to_text(s) for s in g] for g in first] == [[domain.to_text(s) for s in g] for g in again]
    for game in first:
        assert domain.is_terminal(game[-1])
        for before, after in zip(game, game[1:], strict=False):
            assert after.history[:-1] == before.history
    with pytest.raises(ComponentError, match="'human.pgn'.*mcts:N"):
        domain.reference_games("human.pgn")


def test_match_result_counts_and_scores() -> None:
    games = (GameResult(0, 1.0, 7, "[]"), GameResult(1, 0.0, 9, "[]"), GameResult(0, -1.0, 8, "[]"),
             GameResult(1, 1.0, 6, "[]"))
    result = MatchResult("bot", games, 1.0)
    assert (result.count("win"), result.count("draw"), result.count("loss")) == (2, 1, 1)
    assert result.count("win", 0) == 1 and result.count("draw", 1) == 1
    assert result.score == pytest.approx(2.5 / 4)
    assert "2 W / 1 D / 1 L of 4 games, score 0.625" in result.describe()


def test_strong_mcts_never_loses_tic_tac_toe_to_an_untrained_agent() -> None:
    domain = OpenSpielDomain(OpenSpielParams(game="tic_tac_toe"))
    agent = PVNetAgent(domain, PVNetParams(blocks=1, channels=4, value_hidden=8), seed=0)
    search = PUCTSearch(domain, PUCTParams(simulations=2, batch_size=1))
    result = play_match(domain, search, agent, MctsSpec(2000), games=4, seed=1)
    assert len(result.games) == 4 and [g.agent_player for g in result.games] == [0, 1, 0, 1]
    assert result.count("win") == 0  # solved game: a 2000-simulation solver never loses it
    assert all(domain.is_terminal(domain.from_text(g.history)) for g in result.games)


def test_cli_refuses_a_missing_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["match", str(tmp_path / "nowhere")]) == 2
    assert "neither a run directory nor a spec file" in capsys.readouterr().err
    assert main(["match", str(tmp_path)]) == 2
    assert "no spec.json" in capsys.readouterr().err
    assert main(["match", str(tmp_path), "--games", "0"]) == 2
    assert "--games must be >= 1" in capsys.readouterr().err
    assert main(["match", str(tmp_path), "--threads", "0"]) == 2
    assert "--threads must be >= 1" in capsys.readouterr().err
