"""The rule-use measurement, the rule-ignoring players, and the pvnet-checkpoint agent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conceptlab.agents.pvnet import PVNetAgent, PVNetParams
from conceptlab.errors import CheckpointError
from conceptlab.search.puct import PUCTParams, PUCTSearch
from conceptlab.testing.contract import check_component

from conceptlab_planted.agent import CheckpointPVNet, CheckpointPVNetParams
from conceptlab_planted.domain import Board, PlantedConnect, PlantedParams
from conceptlab_planted.measure import (
    line_player,
    random_player,
    rule_use,
    search_player,
    standard_rules,
)


def make(**params: object) -> PlantedConnect:
    return PlantedConnect(PlantedParams(**params))


def pattern_seeker(domain: PlantedConnect):
    """Completes the pattern when it can, else plays like the line player."""
    fallback = line_player(domain)

    def move(state: Board, rng: np.random.Generator) -> int:
        mover = domain.current_player(state)
        for a in domain.legal_actions(state):
            if domain.completes(state, a, mover) == "pattern":
                return int(a)
        return fallback(state, rng)

    return move


def test_the_line_player_wins_or_blocks_a_line_and_ignores_the_pattern() -> None:
    domain = make()
    player = line_player(domain)
    rng = np.random.default_rng(0)
    wins = domain.from_text("......./......./......./X....../X.O..../X.OO...")  # X: a4 wins
    assert player(wins, rng) == 0
    blocks = domain.from_text("......./......./......./......./O....../OXXX...")  # O to move: e1 blocks
    assert player(blocks, rng) == 4
    # X could take the square with b2 but the line player does not look for it: over many
    # draws it plays b as often as chance has it, not always
    square = domain.from_text("......./......./......./......./X...O../XX..OO.")
    moves = {player(square, rng) for _ in range(40)}
    assert len(moves) > 1


def test_rule_use_counts_wins_through_the_rule_and_predicate_positions() -> None:
    domain = make(rows=5, columns=5)
    seeker = rule_use(domain, pattern_seeker(domain), random_player(domain), games=30,
                      rng=np.random.default_rng(1))
    ignorer = rule_use(domain, line_player(domain), random_player(domain), games=30,
                       rng=np.random.default_rng(1))
    for result in (seeker, ignorer):
        figures = result.figures()
        assert figures["wins"] + figures["draws"] + figures["losses"] == 30
        assert 0 <= figures["wins_by_rule"] <= figures["wins"]
        assert figures["rule_win_share"] == round(figures["wins_by_rule"] / figures["wins"], 4)
        assert 0.0 < figures["predicate_share"] < 1.0 and figures["positions"] > 30
    # a player who completes the pattern wins through it more often than one who ignores it
    assert seeker.wins_by_rule > ignorer.wins_by_rule
    # and takes every pattern win it is offered, which the line player does only by chance
    assert seeker.pattern_wins_available > 0 and seeker.pattern_wins_taken == seeker.pattern_wins_available
    assert ignorer.pattern_wins_available > 0 and ignorer.pattern_wins_taken < ignorer.pattern_wins_available
    assert ignorer.line_wins_taken == ignorer.line_wins_available > 0  # the line player never misses a line
    figures = seeker.figures()
    assert figures["pattern_wins_taken_share"] == 1.0 and figures["pattern_wins_taken_of"] == seeker.pattern_wins_available
    assert seeker.figures()["rule_win_share"] > ignorer.figures()["rule_win_share"]


def test_rule_use_refuses_the_standard_game_and_an_empty_match() -> None:
    domain = make()
    with pytest.raises(ValueError, match="planted = false"):
        rule_use(standard_rules(domain), random_player(domain), random_player(domain), games=2,
                 rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="games must be >= 1"):
        rule_use(domain, random_player(domain), random_player(domain), games=0, rng=np.random.default_rng(0))


def test_a_search_player_on_the_standard_rules_moves_legally_on_the_variant() -> None:
    variant = make(rows=5, columns=5)
    standard = standard_rules(variant)
    agent = PVNetAgent(standard, PVNetParams(blocks=1, channels=4, value_hidden=8), seed=0)
    player = search_player(standard, agent, PUCTSearch(standard, PUCTParams(simulations=4, batch_size=2)))
    result = rule_use(variant, random_player(variant), player, games=2, rng=np.random.default_rng(0))
    assert result.games == 2


def test_pvnet_checkpoint_loads_pvnet_files_and_its_files_load_into_pvnet(tmp_path: Path) -> None:
    domain = make(rows=5, columns=5)
    params = {"blocks": 1, "channels": 4, "value_hidden": 8}
    trained = PVNetAgent(domain, PVNetParams(**params), seed=3)
    trained.save(tmp_path / "a.pt", step=7, games=12)
    player = CheckpointPVNet(domain, CheckpointPVNetParams(**params, checkpoint=str(tmp_path / "a.pt")))
    states = domain.opening_states(4, np.random.default_rng(0))
    assert np.allclose(player.evaluate(states).policy, trained.evaluate(states).policy)
    player.save(tmp_path / "b.pt", step=8, games=13)
    fresh = PVNetAgent(domain, PVNetParams(**params), seed=9)
    assert fresh.load(tmp_path / "b.pt").step == 8
    assert check_component(CheckpointPVNet(domain, CheckpointPVNetParams(**params)), domain=domain)


def test_pvnet_checkpoint_refuses_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    with pytest.raises(CheckpointError, match="checkpoint file not found: .*nope.pt"):
        CheckpointPVNet(make(), CheckpointPVNetParams(checkpoint=str(missing)))
