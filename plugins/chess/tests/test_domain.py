"""The chess domain: rules through legal_actions/apply (perft), text, planes, rendering, openings."""

from __future__ import annotations

import pickle
import re

import chess
import numpy as np
import pytest

from conceptlab.errors import InvalidActionError, InvalidStateError, ParamsError
from conceptlab.interfaces import build_params
from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.openings import OPENINGS
from conceptlab_chess.state import KEPT_POSITIONS, ChessState
from perft_positions import INITIAL_DEPTH4, PERFT_POSITIONS


def perft(domain: ChessDomain, state: ChessState, depth: int) -> int:
    """Leaf nodes at ``depth``, every move applied through the domain."""
    if depth == 0:
        return 1
    return sum(perft(domain, domain.apply(state, a), depth - 1) for a in domain.legal_actions(state))


@pytest.mark.parametrize("name", sorted(PERFT_POSITIONS))
def test_perft_through_the_domain_matches_published_counts(domain: ChessDomain, name: str) -> None:
    fen, expected = PERFT_POSITIONS[name]
    state = domain.from_text(fen)
    counts = tuple(perft(domain, state, depth) for depth in (1, 2, 3))
    assert counts == expected


@pytest.mark.slow
def test_perft_depth_four_from_the_initial_position(domain: ChessDomain) -> None:
    assert perft(domain, domain.initial_state(), 4) == INITIAL_DEPTH4


def play(domain: ChessDomain, state: ChessState, moves: str) -> ChessState:
    for text in moves.split():
        state = domain.apply(state, domain.action_from_text(state, text))
    return state


def test_legal_actions_are_sorted_and_apply_returns_a_new_state(domain: ChessDomain) -> None:
    state = domain.initial_state()
    actions = list(domain.legal_actions(state))
    assert actions == sorted(actions) and len(actions) == 20
    after = domain.apply(state, actions[0])
    assert domain.to_text(state) == chess.STARTING_FEN
    assert domain.to_text(after) != chess.STARTING_FEN
    assert domain.current_player(state) == 0 and domain.current_player(after) == 1


def test_illegal_action_is_refused_quoting_it(domain: ChessDomain) -> None:
    state = domain.initial_state()
    with pytest.raises(InvalidActionError, match=r"action 0 .*not a legal move"):
        domain.apply(state, 0)
    with pytest.raises(InvalidActionError, match="e2e5"):
        domain.action_from_text(state, "e2e5")
    with pytest.raises(InvalidActionError, match="0000"):
        domain.action_from_text(state, "0000")


def test_uci_and_san_parse_to_the_same_action(domain: ChessDomain) -> None:
    state = domain.initial_state()
    action = domain.action_from_text(state, "g1f3")
    assert domain.action_from_text(state, "Nf3") == action
    assert domain.action_to_text(state, action) == "g1f3"


def test_fool_s_mate_is_a_win_for_black(domain: ChessDomain) -> None:
    state = play(domain, domain.initial_state(), "f2f3 e7e5 g2g4 d8h4")
    assert domain.is_terminal(state)
    assert domain.legal_actions(state) == []
    assert domain.returns(state) == (-1.0, 1.0)
    with pytest.raises(InvalidActionError, match="game is over|not a legal move"):
        domain.apply(state, 0)


def test_stalemate_and_insufficient_material_are_draws(domain: ChessDomain) -> None:
    stalemate = domain.from_text("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")
    bare_kings = domain.from_text("8/8/4k3/8/8/4K3/8/8 w - - 0 1")
    for state in (stalemate, bare_kings):
        assert domain.is_terminal(state) and domain.returns(state) == (0.0, 0.0)


def test_threefold_repetition_ends_the_game_only_when_claimed() -> None:
    shuffle = "g1f3 g8f6 f3g1 f6g8 g1f3 g8f6 f3g1 f6g8"
    claiming = ChessDomain(ChessDomain.Params(claim_draw=True))
    state = play(claiming, claiming.initial_state(), shuffle)
    assert state.repetitions == 2
    assert claiming.is_terminal(state)
    assert claiming.outcome(state).termination == chess.Termination.THREEFOLD_REPETITION
    patient = ChessDomain(ChessDomain.Params(claim_draw=False))
    state = play(patient, patient.initial_state(), shuffle)
    assert not patient.is_terminal(state)
    state = play(patient, state, shuffle)  # fifth occurrence
    assert patient.outcome(state).termination == chess.Termination.FIVEFOLD_REPETITION


def test_fifty_move_rule_is_claimed_from_the_clock(domain: ChessDomain) -> None:
    state = domain.from_text("8/8/4k3/8/8/4K3/4R3/8 w - - 99 80")
    assert not domain.is_terminal(state)
    state = play(domain, state, "e2d2")
    assert domain.outcome(state).termination == chess.Termination.FIFTY_MOVES


@pytest.mark.parametrize(
    "fen, problem",
    [
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - zero 1", None),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNX w KQkq - 0 1", None),
        ("8/8/8/8/8/8/8/8 w - - 0 1", "no white king"),
        ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR b KQkq - 0 1x", None),
        ("k7/8/8/8/8/8/8/K6r w - - 0 1", None),
        ("k7/8/8/8/8/8/8/K6Q w - - 0 1", "opposite check"),
    ],
)
def test_illegal_fen_is_refused_quoting_it(domain: ChessDomain, fen: str, problem: str | None) -> None:
    if fen.startswith("k7/8/8/8/8/8/8/K6r w"):
        # white in check from the rook is a legal position: it must be read
        assert domain.to_text(domain.from_text(fen)) == fen
        return
    with pytest.raises(InvalidStateError) as info:
        domain.from_text(fen)
    assert repr(fen) in str(info.value)
    if problem:
        assert problem in str(info.value)


def test_fen_round_trip_along_a_game(domain: ChessDomain) -> None:
    state = play(domain, domain.initial_state(), "e2e4 c7c5 g1f3 d7d6 d2d4 c5d4 f3d4 g8f6 b1c3 a7a6")
    text = domain.to_text(state)
    again = domain.from_text(text)
    assert domain.to_text(again) == text
    assert domain.legal_actions(again) == domain.legal_actions(state)


def test_states_pickle_and_compare(domain: ChessDomain) -> None:
    state = play(domain, domain.initial_state(), "e2e4 e7e5 g1f3")
    copy = pickle.loads(pickle.dumps(state))
    assert copy == state and hash(copy) == hash(state)
    assert domain.legal_actions(copy) == domain.legal_actions(state)
    # the text form keeps the history (the moves from the oldest kept position); a bare FEN has none
    assert copy == domain.from_text(domain.to_text(state))
    assert copy != domain.from_text(state.fen)


def test_the_text_form_keeps_history_and_repetitions(domain: ChessDomain) -> None:
    state = play(domain, domain.initial_state(), "e2e4 e7e5 g1f3 b8c6 f1b5 a7a6 b5a4 g8f6 e1g1")
    text = domain.to_text(state)
    fen, moves = text.split(" moves ")
    assert moves.split() == "g1f3 b8c6 f1b5 a7a6 b5a4 g8f6 e1g1".split()  # the 7 moves after the oldest kept board
    back = domain.from_text(text)
    assert [b.fen() for b, _ in back.history] == [b.fen() for b, _ in state.history]
    assert domain.encode([back]).tolist() == domain.encode([state]).tolist()
    twice = play(domain, domain.initial_state(), "g1f3 g8f6 f3g1 f6g8")
    assert domain.from_text(domain.to_text(twice)).repetitions == twice.repetitions == 1
    with pytest.raises(InvalidStateError, match="'e2e5'.*is not legal"):
        domain.from_text(chess.STARTING_FEN + " moves e2e4 e2e5")


def test_planes_are_seen_from_the_side_to_move() -> None:
    domain = ChessDomain(ChessDomain.Params(history=2))
    start = domain.initial_state()
    after_e4 = play(domain, start, "e2e4")
    planes = domain.encode([start, after_e4])
    assert planes.shape == (2, 14 * 2 + 7, 8, 8)
    # own pawns on the second row for both sides; Black's are its own pawns after the flip
    assert planes[0, 0, 1].sum() == 8 and planes[1, 0, 1].sum() == 8
    # White's pawns are "opponent" planes for Black: e4 seen from Black is rank index 4 (flipped 3)
    assert planes[1, 6, 4, 4] == 1.0
    # the history plane of Black's state holds the start position, seen from Black
    assert planes[1, 14 + 6, 6].sum() == 8
    assert planes[0, 14:28].sum() == 0  # no history before the start
    colour = 2 * 14
    assert planes[0, colour].max() == 0.0 and planes[1, colour].min() == 1.0
    assert np.all(planes[:, colour + 2 : colour + 6] == 1.0)  # every castling right


def test_repetition_planes_count_earlier_occurrences(domain: ChessDomain) -> None:
    state = play(domain, domain.initial_state(), "g1f3 g8f6 f3g1 f6g8")
    planes = domain.encode([state])
    assert planes[0, 12].min() == 1.0 and planes[0, 13].max() == 0.0


def test_svg_draws_arrows_and_lines(domain: ChessDomain) -> None:
    state = domain.initial_state()
    e4 = domain.action_from_text(state, "e2e4")
    svg = domain.render_svg(state, [(e4, "#15781B80")])
    assert svg.startswith("<svg") and "arrow" in svg
    line = [e4, domain.action_from_text(domain.apply(state, e4), "e7e5")]
    assert len(domain.line_arrows(state, line, ["green", "red"])) == 2
    with pytest.raises(InvalidActionError):
        domain.line_arrows(state, [e4, 0], ["green"])


def test_every_named_opening_is_legal_and_opening_states_cycle_through_them() -> None:
    for opening in OPENINGS:
        assert opening.board().is_valid(), opening
    domain = ChessDomain(ChessDomain.Params(openings="e4", history=2))
    rng = np.random.default_rng(3)
    states = domain.opening_states(40, rng)
    fens = {domain.to_text(s) for s in states}
    e4_lines = [o for o in OPENINGS if o.san.startswith("e4")]
    assert len(fens) == len(e4_lines) and len(states) == 40
    # states keep what lc0 nets read (8 positions) whatever the az net's history; encodings read history - 1
    assert all(len(s.history) <= KEPT_POSITIONS - 1 for s in states)
    assert domain.encode(states[:2]).shape == (2, 2 * 14 + 7, 8, 8)


def test_unknown_opening_set_fails_naming_the_choices() -> None:
    with pytest.raises(ParamsError, match="openings.*unknown opening set; known: eco"):
        build_params(ChessDomain, {"openings": "sicilian-only"})


@pytest.mark.parametrize(("fen", "square"), [
    (chess.STARTING_FEN, chess.E1),  # White to move: plane row 0 is rank 1
    ("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1", chess.E8),  # Black: row 0 is rank 8
])
def test_a_footprint_shades_the_square_of_its_plane_cell(domain: ChessDomain, fen: str, square: int) -> None:
    heat = np.zeros((8, 8))
    heat[0, 4] = 1.0  # the mover's first rank, e-file
    heat[7, 0] = 0.5  # the mover's last rank, a-file
    svg = domain.render_heatmap_svg(domain.from_text(fen), heat, size=360)
    shaded = {(float(x), float(y)): float(o) for x, y, o in
              re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="45" height="45" stroke="none" '
                         r'fill="#2166ac" opacity="([\d.]+)"', svg)}

    def corner(sq: int) -> tuple[float, float]:  # the board is drawn from White's side, 15 px margin
        return (15.0 + 45 * chess.square_file(sq), 15.0 + 45 * (7 - chess.square_rank(sq)))

    other = chess.square_mirror(square) ^ 4  # same flip, a-file
    assert shaded == {corner(square): pytest.approx(200 / 255), corner(other): pytest.approx(100 / 255)}
    assert domain.render_heatmap_svg(domain.from_text(fen), np.zeros((3, 3))) is None


def test_moves_and_players_have_the_names_chess_players_use(domain: ChessDomain) -> None:
    start = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1"
    state = domain.from_text(f"{start} moves e2e4 e7e5 g1f3")
    assert domain.player_name(domain.current_player(state)) == "Black" and domain.player_name(0) == "White"
    assert domain.last_action_name(state) == "2. Nf3"
    assert domain.action_name(state, domain.action_from_text(state, "b8c6")) == "Nc6"
    after = domain.apply(state, domain.action_from_text(state, "b8c6"))
    assert domain.last_action_name(after) == "2... Nc6"
    names = {domain.action_name(state, a) for a in domain.legal_actions(state)}
    assert {"Nc6", "Ke7", "Qh4", "a6"} <= names and len(names) == len(domain.legal_actions(state))
    assert domain.last_action_name(domain.from_text(start)) is None  # a bare FEN does not know its last move
    promotion = domain.from_text("8/P7/8/8/8/8/k7/4K3 w - - 0 1")
    assert domain.action_name(promotion, domain.action_from_text(promotion, "a7a8q")) == "a8=Q+"
    castle = domain.from_text("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1")
    assert domain.action_name(castle, domain.action_from_text(castle, "e1g1")) == "O-O"


def test_the_board_is_drawn_from_the_players_side(domain: ChessDomain) -> None:
    state = domain.from_text("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1 moves e2e4")

    def y_of(svg: str, square: str) -> float:
        found = re.search(rf'<rect x="[\d.]+" y="([\d.]+)"[^>]*class="square \w+ {square}"', svg)
        assert found
        return float(found.group(1))

    white, black = domain.render_player_svg(state, 0), domain.render_player_svg(state, 1)
    assert y_of(white, "a1") > y_of(white, "a8") and y_of(black, "a1") < y_of(black, "a8")
    assert domain.render_svg(state) == white
    marked = re.findall(r'class="square \w+ lastmove (\w+)"', black)
    assert sorted(marked) == ["e2", "e4"]  # the last move, e2-e4, is marked
    assert "lastmove" not in domain.render_player_svg(domain.initial_state(), 1)
