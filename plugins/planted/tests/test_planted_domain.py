"""The planted-rule domain: the contract kit, the rule, its predicate, text, symmetries, params."""

from __future__ import annotations

import numpy as np
import pytest

from conceptlab.errors import InvalidActionError, InvalidStateError, ParamsError
from conceptlab.interfaces.component import build_params
from conceptlab.plugins import get_registry
from conceptlab.testing.contract import check_component

from conceptlab_planted.domain import Board, PlantedConnect, PlantedParams, cell_name


def make(**params: object) -> PlantedConnect:
    return PlantedConnect(PlantedParams(**params))


def play(domain: PlantedConnect, moves: str) -> Board:
    state = domain.initial_state()
    for letter in moves:
        state = domain.apply(state, domain.action_from_text(state, letter))
    return state


SQUARE = "aebeafb"
"""X: a1 b1 a2 b2, a square; O: e1 e2 f1."""


@pytest.mark.parametrize(
    "params",
    [{}, {"planted": False}, {"rows": 5, "columns": 5}, {"pattern": "marked", "marked": ["a1", "c2", "e1"]}],
    ids=["variant", "standard", "5x5", "marked"],
)
def test_contract_kit_passes(params: dict[str, object]) -> None:
    assert "encode shape" in check_component(make(**params), games=3, max_moves=40)


def test_the_plugin_registers_through_its_entry_point() -> None:
    registry = get_registry()
    assert "planted" in registry.names("domain") and "pvnet-checkpoint" in registry.names("agent")
    assert isinstance(registry.create("domain", "planted", {"rows": 5}), PlantedConnect)


def test_a_square_wins_at_once_only_under_the_planted_rule() -> None:
    variant, standard = make(), make(planted=False)
    won = play(variant, SQUARE)
    assert variant.is_terminal(won) and won.winner == 1 and won.by_rule
    assert variant.returns(won) == (1.0, -1.0) and variant.legal_actions(won) == []
    going_on = play(standard, SQUARE)
    assert not standard.is_terminal(going_on) and going_on.winner == 0
    assert going_on.cells == won.cells


def test_a_line_is_a_win_in_both_games_and_not_one_by_the_rule() -> None:
    for domain in (make(), make(planted=False)):
        state = play(domain, "agagaga")  # X fills column a
        assert state.winner == 1 and not state.by_rule


def test_a_stone_that_makes_a_line_and_a_square_counts_as_a_line() -> None:
    domain = make()
    # X to move: d2 completes the row a2-d2 and the square c1-d1-c2-d2 at once
    state = domain.from_text("......./......./......./OO...../XXX..../OOXX.O.")
    result = domain.apply(state, 3)
    assert result.winner == 1 and not result.by_rule
    assert domain.from_text(domain.to_text(result)) == result


def test_text_round_trips_and_finds_the_winner_again() -> None:
    domain = make()
    rng = np.random.default_rng(3)
    for start in domain.opening_states(20, rng):
        state = start
        while not domain.is_terminal(state):
            legal = domain.legal_actions(state)
            state = domain.apply(state, int(legal[rng.integers(len(legal))]))
            assert domain.from_text(domain.to_text(state)) == state
    won = play(domain, SQUARE)
    assert domain.to_text(won).endswith("/XX..O../XX..OO.")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("......./......./......./......./......./X", "expected 6 rows of 7"),
        ("......./......./......./......./X....../.......", "a stone floats in column a"),
        ("......./......./......./......./......./OO.....", "0 X and 2 O"),
        ("......./......./......./......./OOOO.../XXXX...", "both sides have won"),
    ],
)
def test_bad_boards_are_refused_naming_the_board(text: str, problem: str) -> None:
    with pytest.raises(InvalidStateError, match=problem) as info:
        make().from_text(text)
    assert repr(text) in str(info.value)


def test_illegal_and_malformed_moves_are_refused() -> None:
    domain = make(rows=4, columns=4)
    full = play(domain, "abab")  # column a and b hold two each; fill column a
    full = domain.apply(domain.apply(full, 0), 0)
    with pytest.raises(InvalidActionError, match="illegal action 0"):
        domain.apply(full, 0)
    with pytest.raises(InvalidActionError, match="expected a column letter a-d"):
        domain.action_from_text(full, "e")
    with pytest.raises(InvalidActionError, match="illegal move 'a'"):
        domain.action_from_text(full, "a")


def test_moves_to_pattern_counts_own_stones_under_gravity() -> None:
    domain = make()
    state = play(domain, "aeb")  # X a1 b1, O e1; O to move
    assert domain.moves_to_pattern(state, 0) == 2  # a2, b2
    assert domain.moves_to_pattern(state, 1) == 3  # O needs three more for e1-f1-e2-f2
    # a square high up costs the stones under it too
    empty = domain.initial_state()
    assert domain.moves_to_pattern(empty, 0) == 4
    blocked = play(make(pattern="marked", marked=["a1", "b1"]), "a")  # X owns a1; O to move
    assert make(pattern="marked", marked=["a1", "b1"]).moves_to_pattern(blocked, 1) is None


def test_the_predicate_holds_where_either_side_is_within_k_of_the_pattern() -> None:
    domain = make()
    one_away = play(domain, "aebea")  # X a1 b1 a2, O e1 e2; O to move: X needs b2 only
    assert domain.moves_to_pattern(one_away, 0) == 1
    assert domain.planted_predicate(one_away, 1)  # O must stop it
    assert domain.known_concepts()["planted_opponent"][1](one_away)
    assert not domain.known_concepts()["planted_mover"][1](one_away)
    two_away = play(domain, "ag")  # X a1, O g1
    assert not domain.planted_predicate(two_away, 1)
    assert not domain.planted_predicate(two_away, 2)  # X needs three, O three
    assert domain.planted_predicate(two_away, 3)
    assert not domain.planted_predicate(play(domain, SQUARE), 1)  # the game is over
    with pytest.raises(ValueError, match="k must be >= 1"):
        domain.planted_predicate(two_away, 0)


def test_the_predicate_labels_standard_games_too() -> None:
    standard = make(planted=False)
    state = play(standard, "aebea")
    assert standard.planted_predicate(state, 1)


def test_line_threat_is_a_concept_of_the_standard_rules() -> None:
    domain = make()
    state = play(domain, "agagab")  # X has a1-a3, O g1 g2 b1; X to move
    concepts = domain.known_concepts()
    assert concepts["line_threat"][1](state) and not concepts["opponent_line_threat"][1](state)
    assert domain.completes(state, 0, 0) == "line" and domain.completes(state, 1, 0) is None


def test_the_net_input_does_not_say_whether_the_rule_is_in_force() -> None:
    state = make().from_text("......./......./......./......./X....../XO..O..")
    variant, standard = make(), make(planted=False)
    assert np.array_equal(variant.encode([state]), standard.encode([standard.from_text(variant.to_text(state))]))
    planes = variant.encode([state])[0]
    assert planes.shape == variant.observation_shape and planes[2].min() == 1.0  # X to move
    assert planes[0, 0, 0] == 1.0 and planes[1, 0, 1] == 1.0 and planes[:2].sum() == 4


def test_marked_pattern_wins_and_shows_in_the_input() -> None:
    domain = make(pattern="marked", marked=["a1", "c1"])
    state = play(domain, "abc")  # X a1, O b1, X c1
    assert state.winner == 1 and state.by_rule
    plane = domain.encode([domain.initial_state()])[0, 3]
    assert plane[0, 0] == 1.0 and plane[0, 2] == 1.0 and plane.sum() == 2.0


def test_mirror_symmetry_keeps_values_and_maps_actions() -> None:
    domain = make()
    state = play(domain, "aebea")
    ((image, perm),) = domain.symmetries(state)
    assert sorted(perm[a] for a in domain.legal_actions(state)) == list(domain.legal_actions(image))
    assert domain.moves_to_pattern(image, 0) == domain.moves_to_pattern(state, 0)
    assert domain.to_text(image).endswith("/..O...X/..O..XX")
    assert domain.planted_predicate(image, 1) == domain.planted_predicate(state, 1)
    assert make(pattern="marked", marked=["a1", "b1"]).symmetries(state) == ()
    assert len(make(pattern="marked", marked=["a1", "g1"]).symmetries(state)) == 1


def test_strata_group_positions_by_stones_played() -> None:
    domain = make()
    assert domain.stratum(domain.initial_state()) == "stones-0"
    assert domain.stratum(play(domain, "abcdefg")) == "stones-1"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"pattern": "marked", "marked": ["z9"]}, "'z9' is not on a 6x7 board"),
        ({"pattern": "marked", "marked": ["a1", "a1"]}, "names a cell twice"),
        ({"rows": 4, "columns": 4, "connect": 5}, "connect = 5 does not fit a 4x4 board"),
        ({"rows": 12}, "rows"),
    ],
)
def test_bad_params_are_refused_naming_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ParamsError, match=field):
        build_params(PlantedConnect, raw)


def test_cells_are_named_from_the_bottom_left() -> None:
    assert cell_name(0, 7) == "a1" and cell_name(7 * 5 + 6, 7) == "g6"


def test_svg_marks_cells_and_draws_arrows() -> None:
    domain = make(pattern="marked", marked=["b2"])
    svg = domain.render_svg(play(domain, "a"), arrows=[(3, "#00aa00")])
    assert svg.startswith("<svg") and svg.count("<circle") == 42 and 'stroke-width="3"' in svg
    assert "#00aa00" in svg and "#d83a2e" in svg
