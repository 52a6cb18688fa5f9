"""The chess Domain: python-chess rules, AlphaZero encodings, FEN/UCI text, SVG boards, PGN games."""

from __future__ import annotations

import functools
import importlib.resources
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import chess
import chess.svg
import numpy as np
from pydantic import Field, field_validator

from conceptlab.errors import InvalidActionError, InvalidStateError
from conceptlab.interfaces import Domain, StrictParams
from conceptlab.values import Action, Player

from conceptlab_chess.book import DEFAULT_BOOK_LINES, book_path, check_book, read_book_lines
from conceptlab_chess.encoding import NUM_ACTIONS, index_geometry, move_index
from conceptlab_chess.known import known_concepts
from conceptlab_chess.openings import OPENING_SETS, opening_set
from conceptlab_chess.pgn import PgnFilter, PgnStats, open_pgn, read_games
from conceptlab_chess.planes import encode_states, num_planes
from conceptlab_chess.puzzles import puzzles_epd, puzzles_pgn
from conceptlab_chess.state import KEPT_POSITIONS, ChessState, split_text, state_text

if TYPE_CHECKING:
    from conceptlab.values import Puzzle

STUDY_BOARD = "study_board"
"""The package folder of the study's client-side board (``study_assets``)."""


@functools.cache
def study_board_assets() -> dict[str, bytes]:
    """Every file under the package's ``study_board/`` folder by its relative path, and ``pieces.svg``.

    ``pieces.svg`` is a sprite of 40x40 tiles ``wp`` ... ``bk`` holding
    python-chess's piece drawings (drawn on 45x45), the ids cm-chessboard reads.
    """
    root = importlib.resources.files("conceptlab_chess") / STUDY_BOARD
    assets: dict[str, bytes] = {}

    def walk(folder: Any, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif not entry.name.startswith("."):
                assets[prefix + entry.name] = entry.read_bytes()

    walk(root, "")
    unnamed = {symbol: re.sub(r' id="[^"]*"', "", drawing, count=1) for symbol, drawing in chess.svg.PIECES.items()}
    tiles = "".join(
        f'<g id="{"w" if symbol.isupper() else "b"}{symbol.lower()}" transform="scale({40 / 45:.6f})">{drawing}</g>'
        for symbol, drawing in unnamed.items()
    )
    assets["pieces.svg"] = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="40" height="40" viewBox="0 0 40 40"><title>chess pieces (python-chess)</title>{tiles}</svg>'
    ).encode()
    return assets

__all__ = ["ChessDomain", "ChessParams"]

LOGGER = logging.getLogger(__name__)

TimeControlCategory = Literal["ultrabullet", "bullet", "blitz", "rapid", "classical", "correspondence"]


class ChessParams(StrictParams):
    """Params of the chess domain."""

    history: int = Field(
        default=8, ge=1, le=16,
        description="Positions in the net's input (the current one and earlier ones); "
        "AlphaZero used 8 (119 input planes).",
    )
    openings: str = Field(
        default="eco", description="Named set of openings that opening_states draws from."
    )
    claim_draw: bool = Field(
        default=True,
        description="End the game at a claimable draw (threefold repetition, fifty-move rule); "
        "fivefold repetition and the 75-move rule always end it.",
    )
    reference_min_rating: int | None = Field(
        default=None, description="reference_games keeps games whose both players are rated at least this."
    )
    reference_max_rating: int | None = Field(
        default=None, description="reference_games keeps games whose both players are rated at most this."
    )
    reference_time_controls: list[TimeControlCategory] | None = Field(
        default=None, description="reference_games keeps games of these time-control categories only."
    )
    reference_max_games: int | None = Field(
        default=None, ge=1, description="Stop reading reference games after this many were kept."
    )

    @field_validator("openings")
    @classmethod
    def _known_openings(cls, value: str) -> str:
        if value not in OPENING_SETS:
            raise ValueError(f"unknown opening set; known: {', '.join(OPENING_SETS)}")
        return value


class ChessDomain(Domain[ChessState]):
    """Chess under the FIDE rules (python-chess), with AlphaZero's state and move encodings.

    Implements the chess setting of Silver et al. 2018 (Science 362:1140): input
    planes (``conceptlab_chess.planes``) and the 8x8x73 policy
    (``conceptlab_chess.encoding``). Departures: draws that a player may claim
    (threefold repetition, fifty moves) end the game when ``claim_draw`` is set;
    a state read from a FEN has no history, so its earlier-position planes are
    zero and repetitions count from it.
    """

    name: ClassVar[str] = "chess"
    Params: ClassVar[type[StrictParams]] = ChessParams
    params: ChessParams

    def __init__(self, params: StrictParams | None = None) -> None:
        super().__init__(params)
        self.kept_history = max(self.params.history, KEPT_POSITIONS)
        """Positions each state keeps: the net's ``history``, and at least what lc0 networks read."""

    # -- rules -----------------------------------------------------------------
    @property
    def num_actions(self) -> int:
        return NUM_ACTIONS

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (num_planes(self.params.history), 8, 8)

    def initial_state(self) -> ChessState:
        return ChessState(chess.Board())

    def state_from_board(self, board: chess.Board) -> ChessState:
        """The state of ``board`` with the history its move stack gives (replayed from its root)."""
        root = board.root()
        state = ChessState(root)
        for move in board.move_stack:
            state = state.successor(move, self.kept_history)
        return state

    def opening_states(self, count: int, rng: np.random.Generator) -> list[ChessState]:
        """``count`` states from the ``openings`` set: each opening once before any repeats.

        Openings are drawn without replacement in a random order (from ``rng``),
        reshuffled after every full pass.
        """
        openings = opening_set(self.params.openings)
        states: list[ChessState] = []
        while len(states) < count:
            for k in rng.permutation(len(openings))[: count - len(states)]:
                board = chess.Board()
                state = ChessState(board)
                for move in openings[int(k)].moves():
                    state = state.successor(move, self.kept_history)
                states.append(state)
        return states

    def _outcome(self, state: ChessState) -> tuple[bool, chess.Outcome | None]:
        if state._terminal is None:
            board = state.board
            outcome: chess.Outcome | None = None
            if not state.moves:
                if board.is_check():
                    outcome = chess.Outcome(chess.Termination.CHECKMATE, not board.turn)
                else:
                    outcome = chess.Outcome(chess.Termination.STALEMATE, None)
            elif not (board.pawns | board.rooks | board.queens) and board.is_insufficient_material():
                outcome = chess.Outcome(chess.Termination.INSUFFICIENT_MATERIAL, None)
            elif board.halfmove_clock >= 150:
                outcome = chess.Outcome(chess.Termination.SEVENTYFIVE_MOVES, None)
            elif state.repetitions >= 4:
                outcome = chess.Outcome(chess.Termination.FIVEFOLD_REPETITION, None)
            elif self.params.claim_draw and board.halfmove_clock >= 100:
                outcome = chess.Outcome(chess.Termination.FIFTY_MOVES, None)
            elif self.params.claim_draw and state.repetitions >= 2:
                outcome = chess.Outcome(chess.Termination.THREEFOLD_REPETITION, None)
            state._terminal = (outcome is not None, outcome)
        return state._terminal

    def outcome(self, state: ChessState) -> chess.Outcome | None:
        """How the game ended (python-chess ``Outcome``), or ``None`` while it goes on."""
        return self._outcome(state)[1]

    def legal_actions(self, state: ChessState) -> Sequence[Action]:
        if self._outcome(state)[0]:
            return []
        return sorted(state.moves)

    def apply(self, state: ChessState, action: Action) -> ChessState:
        move = state.moves.get(action)  # type: ignore[call-overload]
        if move is None or self._outcome(state)[0]:
            why = "the game is over" if move is not None else "not a legal move"
            raise InvalidActionError(f"action {action!r} in {state.fen!r}: {why}")
        return state.successor(move, self.kept_history)

    def apply_move(self, state: ChessState, move: chess.Move) -> ChessState:
        """The state after the python-chess ``move``; ``InvalidActionError`` when illegal."""
        return self.apply(state, self.action_of(state, move))

    def action_of(self, state: ChessState, move: chess.Move) -> Action:
        """The action of the legal python-chess ``move``; ``InvalidActionError`` otherwise."""
        if isinstance(move, chess.Move) and move:
            action = move_index(move, state.board.turn)
            if state.moves.get(action) == move:
                return action
        raise InvalidActionError(f"move {move!r} is not a legal move in {state.fen!r}")

    def is_terminal(self, state: ChessState) -> bool:
        return self._outcome(state)[0]

    def current_player(self, state: ChessState) -> Player:
        return 0 if state.board.turn == chess.WHITE else 1

    def returns(self, state: ChessState) -> tuple[float, float]:
        outcome = self._outcome(state)[1]
        if outcome is None or outcome.winner is None:
            return (0.0, 0.0)
        return (1.0, -1.0) if outcome.winner == chess.WHITE else (-1.0, 1.0)

    # -- encodings ---------------------------------------------------------------
    def encode(self, states: Sequence[ChessState]) -> np.ndarray:
        return encode_states(states, self.params.history)

    # -- text ------------------------------------------------------------------
    def to_text(self, state: ChessState) -> str:
        """A FEN, or ``"<FEN> moves <uci> ..."`` when the state has history (see ``state_text``)."""
        return state_text(state)

    def from_text(self, text: str) -> ChessState:
        """A state from a FEN, or from ``"<FEN> moves <uci> ..."`` (its history replayed).

        A bare FEN has no history: its earlier-position planes are empty and its
        repetitions count from it.

        Raises:
            InvalidStateError: The FEN cannot be parsed or describes an illegal
                position, or a move is not legal where it is played; the message
                quotes the text and says what is wrong.
        """
        if not isinstance(text, str):
            raise InvalidStateError(f"expected a FEN string, got {text!r}")
        fen, moves = split_text(text)
        try:
            board = chess.Board(fen)
        except ValueError as exc:
            raise InvalidStateError(f"invalid FEN {fen!r}: {exc}") from None
        status = board.status()
        if status != chess.STATUS_VALID:
            problems = ", ".join(
                flag.name.lower().replace("_", " ") for flag in chess.Status if flag and flag in status and flag.name
            )
            raise InvalidStateError(f"illegal position in FEN {fen!r}: {problems}")
        state = ChessState(board)
        for uci in moves:
            try:
                move = state.board.parse_uci(uci)
            except ValueError:
                raise InvalidStateError(f"move {uci!r} of {text.strip()!r} is not legal in {state.fen!r}") from None
            state = state.successor(move, self.kept_history)
        return state

    def action_to_text(self, state: ChessState, action: Action) -> str:
        move = state.moves.get(action)  # type: ignore[call-overload]
        if move is None:
            raise InvalidActionError(f"action {action!r} is not a legal move in {state.fen!r}")
        return move.uci()

    def action_from_text(self, state: ChessState, text: str) -> Action:
        """The action of a move in UCI (``e2e4``, ``e7e8n``); SAN (``Nf3``) is accepted too."""
        board = state.board
        try:
            move = board.parse_uci(text.strip())
        except (ValueError, AttributeError):
            try:
                move = board.parse_san(text.strip())
            except (ValueError, AttributeError):
                raise InvalidActionError(
                    f"move {text!r} is neither a legal UCI nor a legal SAN move in {state.fen!r}"
                ) from None
        try:
            return self.action_of(state, move)
        except InvalidActionError:
            raise InvalidActionError(f"move {text!r} is not a legal move in {state.fen!r}") from None

    def action_name(self, state: ChessState, action: Action) -> str:
        """The move in SAN (``Nf3``, ``exd5``, ``e8=Q+``, ``O-O``)."""
        return state.board.san(self.move_of(state, action))

    def player_name(self, player: Player) -> str:
        """``"White"`` (player 0) or ``"Black"`` (player 1)."""
        return "White" if player == 0 else "Black"

    def last_action_name(self, state: ChessState) -> str | None:
        """The move that led to ``state`` in SAN with its move number (``"12... Nf6"``), when known.

        A state read from a bare FEN does not know its last move; one read from
        ``"<FEN> moves ..."`` does.
        """
        if state.last_move is None or not state.board.move_stack:
            return None
        before = state.board.copy()
        before.pop()
        dots = "." if before.turn == chess.WHITE else "..."
        return f"{before.fullmove_number}{dots} {before.san(state.last_move)}"

    def move_of(self, state: ChessState, action: Action) -> chess.Move:
        """The python-chess move of ``action``; ``InvalidActionError`` when illegal."""
        move = state.moves.get(action)  # type: ignore[call-overload]
        if move is None:
            raise InvalidActionError(f"action {action!r} is not a legal move in {state.fen!r}")
        return move

    def puzzle_files(self, label: str, puzzles: Sequence[Puzzle], solutions: bool) -> dict[str, str]:
        """The puzzles as PGN and EPD (``conceptlab_chess.puzzles``); solutions as ``bm``/``pv`` and the mainline."""
        return {"pgn": puzzles_pgn(label, puzzles, solutions), "epd": puzzles_epd(label, puzzles, solutions)}

    def position_key(self, state: ChessState) -> str:
        """The FEN's first four fields (placement, side to move, castling, en passant), without history."""
        return " ".join(state.fen.split()[:4])

    # -- rendering and reference games -----------------------------------------
    def render_text(self, state: ChessState) -> str:
        return str(state.board)

    def render_svg(self, state: ChessState, arrows: Sequence[tuple[Action, str]] = (), size: int = 360) -> str:
        """An SVG board from White's side with ``arrows`` (action, colour) drawn and the last move marked.

        An action that is not legal in ``state`` (e.g. a later move of a line)
        is drawn from its squares as read by the side to move; use
        :meth:`line_arrows` to draw a whole line with each move in its own position.
        """
        return self._board_svg(state, arrows, chess.WHITE, size)

    def render_player_svg(
        self, state: ChessState, player: Player, arrows: Sequence[tuple[Action, str]] = (), size: int = 360
    ) -> str:
        """:meth:`render_svg`'s board from ``player``'s side: Black's first rank at the bottom for Black (1)."""
        return self._board_svg(state, arrows, chess.WHITE if player == 0 else chess.BLACK, size)

    def _board_svg(
        self, state: ChessState, arrows: Sequence[tuple[Action, str]], orientation: chess.Color, size: int
    ) -> str:
        drawn = []
        for action, colour in arrows:
            move = state.moves.get(action)  # type: ignore[call-overload]
            if move is not None:
                drawn.append(chess.svg.Arrow(move.from_square, move.to_square, color=colour))
                continue
            geometry = index_geometry(action, state.board.turn)
            if geometry is None:
                raise InvalidActionError(f"action {action!r} is not a move on the board")
            drawn.append(chess.svg.Arrow(geometry[0], geometry[1], color=colour))
        return chess.svg.board(state.board, orientation=orientation, arrows=drawn, lastmove=state.last_move, size=size)

    def study_assets(self) -> Mapping[str, bytes]:
        """The study's client-side board: ``board.js`` over the vendored cm-chessboard (MIT) and a piece sprite.

        The files are the package's ``study_board/`` folder (see its README) and
        ``pieces.svg``, made from python-chess's piece drawings.
        """
        return study_board_assets()

    def study_board(self, state: ChessState, player: Player) -> dict[str, Any]:
        """``board.js``'s data: the FEN, the side at the bottom and to move (``"w"``/``"b"``), the last move in UCI."""
        return {
            "fen": state.fen,
            "orientation": "w" if player == 0 else "b",
            "turn": "w" if state.board.turn == chess.WHITE else "b",
            "last_move": state.last_move.uci() if state.last_move is not None else None,
        }

    def render_heatmap_svg(self, state: ChessState, heat: np.ndarray, size: int = 360) -> str | None:
        """The board from White's side with each square shaded by its weight in ``heat``.

        ``heat`` is ``(8, 8)`` in the planes' frame (row = rank from the side to
        move, column = file; see :mod:`conceptlab_chess.planes`), so for Black
        the rows are flipped back before shading. Any other shape gives ``None``.
        """
        if tuple(heat.shape) != (8, 8):
            return None
        flip = 56 if state.board.turn == chess.BLACK else 0
        fill = {}
        for row in range(8):
            for column in range(8):
                t = min(1.0, max(0.0, float(heat[row, column])))
                # the square's own colour shows through a translucent blue, stronger where the weight is larger
                if t > 0:
                    fill[(row * 8 + column) ^ flip] = f"#2166ac{round(200 * t):02x}"
        return chess.svg.board(state.board, fill=fill, lastmove=state.last_move, size=size)

    def line_arrows(self, state: ChessState, actions: Sequence[Action], colours: Sequence[str]) -> list[chess.svg.Arrow]:
        """Arrows for a line of play from ``state``, each move decoded in its own position.

        ``colours`` is cycled along the line. Raises ``InvalidActionError`` at
        the first illegal action.
        """
        arrows = []
        for ply, action in enumerate(actions):
            move = self.move_of(state, action)
            arrows.append(chess.svg.Arrow(move.from_square, move.to_square, color=colours[ply % len(colours)]))
            state = self.apply(state, action)
        return arrows

    def pgn_filter(self) -> PgnFilter:
        """The reference-game filter these params describe."""
        p = self.params
        return PgnFilter(
            min_rating=p.reference_min_rating,
            max_rating=p.reference_max_rating,
            time_controls=frozenset(p.reference_time_controls) if p.reference_time_controls else None,
        )

    def reference_games(self, source: str, stats: PgnStats | None = None) -> Iterator[list[ChessState]]:
        """Human games from a PGN file (``.pgn``, ``.pgn.gz``, ``.pgn.bz2``, ``.pgn.zst``) or a book.

        ``book:PATH`` walks lines through the Polyglot opening book at ``PATH``
        (:func:`~conceptlab_chess.book.read_book_lines`: ``reference_max_games``
        lines, 2000 when unset; the rating and time-control filters do not apply).
        Broken games are skipped and counted by reason in ``stats`` (a fresh one
        when not given; its summary is logged at the end). Each game is the list
        of its states, from its start position to its last.
        """
        stats = stats if stats is not None else PgnStats()
        book = book_path(source)
        max_games = self.params.reference_max_games
        games = (
            read_games(source, self.pgn_filter(), stats, max_games=max_games) if book is None
            else read_book_lines(book, max_games or DEFAULT_BOOK_LINES, stats=stats)
        )
        try:
            for game in games:
                state = ChessState(game.start)
                states = [state]
                for move in game.moves:
                    state = state.successor(move, self.kept_history)
                    states.append(state)
                yield states
        finally:
            LOGGER.info("reference games from %s: %s", source, stats.summary())

    def check_reference_source(self, source: str) -> None:
        """Refuse a PGN file that does not exist or open, or a ``book:PATH`` that is no Polyglot book."""
        book = book_path(source)
        if book is not None:
            check_book(book)
        else:
            open_pgn(source).close()

    def stratum(self, state: ChessState) -> str:
        """Game phase as ``"plyA-B/matC-D"``: plies played in steps of 20 (100 and more together) and
        the material on the board (pawn 1, knight and bishop 3, rook 5, queen 9; 78 at the start) in
        steps of 20."""
        board = state.board
        ply = 2 * (board.fullmove_number - 1) + (board.turn == chess.BLACK)
        material = sum(
            value * chess.popcount(bb)
            for value, bb in ((1, board.pawns), (3, board.knights | board.bishops), (5, board.rooks), (9, board.queens))
        )
        p, m = min(ply // 20, 5) * 20, min(material // 20, 3) * 20
        return f"ply{p}-{p + 19 if p < 100 else 'end'}/mat{m}-{m + 19 if m < 60 else 78}"

    def known_concepts(self) -> Mapping[str, tuple[str, Callable[[ChessState], bool | float]]]:
        """Board predicates a player would name (``conceptlab_chess.known``)."""
        return known_concepts()
