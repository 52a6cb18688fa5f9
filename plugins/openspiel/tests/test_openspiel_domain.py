"""The OpenSpiel domain: the contract kit over several games, refusals, text, encoding, rendering."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conceptlab.agents.pvnet import PVNetAgent, PVNetParams
from conceptlab.errors import InvalidActionError, InvalidStateError, ParamsError
from conceptlab.interfaces.component import build_params
from conceptlab.search.puct import PUCTParams, PUCTSearch
from conceptlab.testing.contract import check_component

from conceptlab_openspiel import OpenSpielDomain, OpenSpielParams, UnsupportedGameError, load_game

GAMES = [
    "tic_tac_toe",
    "connect_four",
    "breakthrough(rows=6,columns=6)",
    "hex(board_size=5)",
    "othello",
    "clobber",
    "dots_and_boxes",
    "pentago",
]


def make(game: str) -> OpenSpielDomain:
    return OpenSpielDomain(OpenSpielParams(game=game))


@pytest.mark.parametrize("game", GAMES)
def test_contract_kit_passes(game: str) -> None:
    domain = make(game)
    assert "encode shape" in check_component(domain, games=2, max_moves=30)
    agent = PVNetAgent(domain, PVNetParams(blocks=1, channels=4, hidden=16, value_hidden=8), seed=0)
    assert "checkpoint round-trip" in check_component(agent, domain=domain)
    search = PUCTSearch(domain, PUCTParams(simulations=8, batch_size=2))
    assert "same seed, same result" in check_component(search, domain=domain, agent=agent)


def test_default_params_serve_a_game() -> None:
    assert check_component(OpenSpielDomain)


@pytest.mark.parametrize(
    ("game", "missing"),
    [
        ("kuhn_poker", "deterministic rules (it has chance nodes)"),
        ("matrix_rps", "sequential moves (it has simultaneous moves)"),
        ("dark_hex", "perfect information"),
        ("morpion_solitaire", "two players (it has 1)"),
        ("phantom_ttt_ir", "an observation tensor"),
        ("first_sealed_auction", "zero-sum utility (it is general_sum)"),
    ],
)
def test_unservable_games_are_refused_naming_game_and_property(game: str, missing: str) -> None:
    with pytest.raises(UnsupportedGameError) as info:
        load_game(game)
    assert repr(game) in str(info.value) and missing in str(info.value)


def test_a_spec_naming_an_unservable_game_fails_at_params() -> None:
    with pytest.raises(ParamsError, match="kuhn_poker.*chance nodes"):
        build_params(OpenSpielDomain, {"game": "kuhn_poker"})
    with pytest.raises(ParamsError, match="did you mean 'connect_four'"):
        build_params(OpenSpielDomain, {"game": "conect_four"})
    with pytest.raises(ParamsError, match="cannot load game 'breakthrough\\(rows=x\\)'"):
        build_params(OpenSpielDomain, {"game": "breakthrough(rows=x)"})


def test_text_form_is_the_action_history_and_round_trips_exactly() -> None:
    domain = make("connect_four")
    state = domain.initial_state()
    for action in (3, 3, 4, 2):
        state = domain.apply(state, action)
    assert domain.to_text(state) == "[3,3,4,2]"
    back = domain.from_text("[3,3,4,2]")
    assert back == state and hash(back) == hash(state)
    assert domain.render_text(back) == domain.render_text(state)
    assert domain.to_text(domain.initial_state()) == "[]"
    # a transposition is another history, hence another state
    other = domain.from_text("[4,2,3,3]")
    assert other != state and domain.render_text(other) == domain.render_text(state)


@pytest.mark.parametrize("text", ["3,3", "[3,x]", "[7]", "[0,0,0,0,0,0,0]"])
def test_bad_text_raises_invalid_state(text: str) -> None:
    with pytest.raises(InvalidStateError, match="connect_four"):
        make("connect_four").from_text(text)


def test_actions_use_the_game_names() -> None:
    domain = make("breakthrough(rows=6,columns=6)")
    state = domain.initial_state()
    names = [domain.action_to_text(state, a) for a in domain.legal_actions(state)]
    assert "a5a4" in names
    assert domain.action_from_text(state, "a5a4") in domain.legal_actions(state)
    with pytest.raises(InvalidActionError, match="a1a2"):
        domain.action_from_text(state, "a1a2")
    with pytest.raises(InvalidActionError):
        domain.apply(state, 0 if 0 not in domain.legal_actions(state) else -1)


def test_encoding_is_the_observation_tensor_plus_a_player_to_move_plane() -> None:
    domain = make("connect_four")
    assert domain.observation_shape == (4, 6, 7)
    first = domain.initial_state()
    second = domain.apply(first, 3)
    enc = domain.encode([first, second])
    assert enc[0, -1].min() == 1.0 and enc[1, -1].max() == 0.0
    native = np.asarray(second.native.observation_tensor(1), np.float32).reshape(3, 6, 7)
    np.testing.assert_array_equal(enc[1, :-1], native)


def test_flat_observations_get_an_extra_entry() -> None:
    # hex's tensor is planar; a game with a flat tensor keeps it flat plus one entry
    domain = make("tic_tac_toe")
    assert domain.spatial
    nim = make("nim")
    assert not nim.spatial and nim.observation_shape[0] == int(np.prod(nim.game.observation_tensor_shape())) + 1
    assert check_component(nim, games=2)


def test_returns_are_signs() -> None:
    domain = make("tic_tac_toe")
    state = domain.from_text("[0,3,1,4,2]")  # X completes the top row
    assert domain.is_terminal(state) and domain.returns(state) == (1.0, -1.0)
    assert domain.legal_actions(state) == []


def test_render_svg_draws_one_disc_per_piece() -> None:
    domain = make("connect_four")
    state = domain.from_text("[3,3,4]")
    svg = domain.render_svg(state)
    assert svg.startswith("<svg") and svg.count("<circle") == 3
    assert svg.count('fill="#222"') == 2 and svg.count('fill="#fafafa"') == 1
    othello = make("othello")
    svg = othello.render_svg(othello.initial_state())
    assert svg.count("<circle") == 4 and "to play" in svg


def test_render_svg_frames_the_cells_a_move_changes() -> None:
    domain = make("connect_four")
    state = domain.from_text("[3,3]")
    plain = domain.render_svg(state)
    svg = domain.render_svg(state, [(3, "green"), (0, "red"), (9, "blue")])  # 9 is not an action
    assert 'stroke="green"' in svg and 'stroke="red"' in svg and 'stroke="blue"' not in svg
    assert svg.count('stroke-width="3"') == 2 and 'stroke-width="3"' not in plain
    othello = make("othello")
    opening = othello.initial_state()
    move = othello.legal_actions(opening)[0]
    framed = othello.render_svg(opening, [(move, "green")])
    assert framed.count('stroke="green"') == 2  # the new disc and the one it flips, not the caption


@pytest.mark.parametrize("game", [*GAMES, "nim"])
def test_encoding_matches_the_states_own_observation_tensor(game: str) -> None:
    domain = make(game)
    rng = np.random.default_rng(1)
    state, states = domain.initial_state(), []
    while not domain.is_terminal(state) and len(states) < 30:
        states.append(state)
        state = domain.apply(state, int(rng.choice(list(domain.legal_actions(state)))))
    encoded = domain.encode(states)
    for k, state in enumerate(states):
        player = domain.current_player(state)
        native = np.asarray(state.native.observation_tensor(player), np.float32)
        np.testing.assert_array_equal(encoded[k, :-1].reshape(-1), native)


@pytest.mark.parametrize(("game", "drawn_row"), [("connect_four", 5), ("tic_tac_toe", 0)])
def test_a_footprint_is_drawn_where_the_board_shows_the_cell(game: str, drawn_row: int) -> None:
    domain = OpenSpielDomain(OpenSpielParams(game=game))
    state = domain.apply(domain.initial_state(), 0)  # the first player's stone in the first column
    planes = domain.encode([state])[0]
    printed = domain.render_text(state).splitlines()
    assert printed[drawn_row][0] == "x"  # where the board's own picture shows the stone
    heat = np.zeros(planes.shape[1:])
    heat[tuple(np.argwhere(planes[0] != planes[0, -1, -1])[0])] = 1.0  # the stone's cell in the planes
    svg = domain.render_heatmap_svg(state, heat)
    full = re.findall(r'<rect class="heat" x="(\d+)" y="(\d+)" width="(\d+)"[^>]*fill="#2166ac"', svg)
    assert [(int(x), int(y) // int(size)) for x, y, size in full] == [(0, drawn_row)]
