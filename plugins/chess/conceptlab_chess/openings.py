"""Named chess openings (ECO code, name, moves in SAN) for self-play and bootstrap starts.

The paper started its self-play games from ECO opening positions (Schut et al.,
section 2). These are well-known main lines, written as move sequences; the
ECO codes are those the Encyclopaedia of Chess Openings gives for the final
position of each line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import chess

__all__ = ["OPENINGS", "OPENING_SETS", "Opening", "opening_set"]


@dataclass(frozen=True)
class Opening:
    """A named opening line from the initial position."""

    eco: str
    """ECO code, e.g. ``"C60"``."""
    name: str
    """Common English name, e.g. ``"Ruy Lopez"``."""
    san: str
    """The moves in SAN, space separated, without move numbers."""

    def moves(self) -> list[chess.Move]:
        """The line as moves; ``ValueError`` if a move is illegal (a bug in the table)."""
        board = chess.Board()
        moves = []
        for token in self.san.split():
            move = board.parse_san(token)
            board.push(move)
            moves.append(move)
        return moves

    def board(self) -> chess.Board:
        """The position at the end of the line, with its move stack."""
        board = chess.Board()
        for move in self.moves():
            board.push(move)
        return board


OPENINGS: tuple[Opening, ...] = (
    # open games (1.e4 e5)
    Opening("C60", "Ruy Lopez", "e4 e5 Nf3 Nc6 Bb5"),
    Opening("C65", "Ruy Lopez, Berlin Defence", "e4 e5 Nf3 Nc6 Bb5 Nf6"),
    Opening("C88", "Ruy Lopez, Closed", "e4 e5 Nf3 Nc6 Bb5 a6 Ba4 Nf6 O-O Be7 Re1 b5 Bb3 d6 c3 O-O"),
    Opening("C68", "Ruy Lopez, Exchange Variation", "e4 e5 Nf3 Nc6 Bb5 a6 Bxc6 dxc6"),
    Opening("C50", "Italian Game, Giuoco Piano", "e4 e5 Nf3 Nc6 Bc4 Bc5"),
    Opening("C51", "Evans Gambit", "e4 e5 Nf3 Nc6 Bc4 Bc5 b4"),
    Opening("C55", "Two Knights Defence", "e4 e5 Nf3 Nc6 Bc4 Nf6"),
    Opening("C45", "Scotch Game", "e4 e5 Nf3 Nc6 d4 exd4 Nxd4"),
    Opening("C44", "Ponziani Opening", "e4 e5 Nf3 Nc6 c3"),
    Opening("C47", "Four Knights Game", "e4 e5 Nf3 Nc6 Nc3 Nf6"),
    Opening("C42", "Petrov's Defence", "e4 e5 Nf3 Nf6 Nxe5 d6 Nf3 Nxe4"),
    Opening("C41", "Philidor Defence", "e4 e5 Nf3 d6"),
    Opening("C33", "King's Gambit Accepted", "e4 e5 f4 exf4"),
    Opening("C30", "King's Gambit Declined, Classical", "e4 e5 f4 Bc5"),
    Opening("C25", "Vienna Game", "e4 e5 Nc3"),
    # semi-open games
    Opening("B20", "Sicilian Defence", "e4 c5"),
    Opening("B22", "Sicilian Defence, Alapin Variation", "e4 c5 c3"),
    Opening("B23", "Sicilian Defence, Closed", "e4 c5 Nc3"),
    Opening("B31", "Sicilian Defence, Rossolimo Variation", "e4 c5 Nf3 Nc6 Bb5 g6"),
    Opening("B33", "Sicilian Defence, Sveshnikov Variation",
            "e4 c5 Nf3 Nc6 d4 cxd4 Nxd4 Nf6 Nc3 e5"),
    Opening("B70", "Sicilian Defence, Dragon Variation", "e4 c5 Nf3 d6 d4 cxd4 Nxd4 Nf6 Nc3 g6"),
    Opening("B90", "Sicilian Defence, Najdorf Variation", "e4 c5 Nf3 d6 d4 cxd4 Nxd4 Nf6 Nc3 a6"),
    Opening("B40", "Sicilian Defence, French Variation", "e4 c5 Nf3 e6"),
    Opening("C00", "French Defence", "e4 e6"),
    Opening("C02", "French Defence, Advance Variation", "e4 e6 d4 d5 e5"),
    Opening("C11", "French Defence, Classical Variation", "e4 e6 d4 d5 Nc3 Nf6"),
    Opening("C15", "French Defence, Winawer Variation", "e4 e6 d4 d5 Nc3 Bb4"),
    Opening("B10", "Caro-Kann Defence", "e4 c6"),
    Opening("B12", "Caro-Kann Defence, Advance Variation", "e4 c6 d4 d5 e5"),
    Opening("B01", "Scandinavian Defence", "e4 d5 exd5 Qxd5"),
    Opening("B07", "Pirc Defence", "e4 d6 d4 Nf6 Nc3 g6"),
    Opening("B02", "Alekhine's Defence", "e4 Nf6"),
    Opening("B06", "Modern Defence", "e4 g6"),
    # closed games (1.d4 d5)
    Opening("D06", "Queen's Gambit", "d4 d5 c4"),
    Opening("D30", "Queen's Gambit Declined", "d4 d5 c4 e6"),
    Opening("D35", "Queen's Gambit Declined, Exchange Variation",
            "d4 d5 c4 e6 Nc3 Nf6 cxd5 exd5"),
    Opening("D20", "Queen's Gambit Accepted", "d4 d5 c4 dxc4"),
    Opening("D10", "Slav Defence", "d4 d5 c4 c6"),
    Opening("D43", "Semi-Slav Defence", "d4 d5 c4 c6 Nf3 Nf6 Nc3 e6"),
    Opening("D02", "London System", "d4 d5 Nf3 Nf6 Bf4"),
    # Indian defences (1.d4 Nf6)
    Opening("E60", "King's Indian Defence", "d4 Nf6 c4 g6"),
    Opening("E97", "King's Indian Defence, Classical Variation",
            "d4 Nf6 c4 g6 Nc3 Bg7 e4 d6 Nf3 O-O Be2 e5 O-O Nc6"),
    Opening("E20", "Nimzo-Indian Defence", "d4 Nf6 c4 e6 Nc3 Bb4"),
    Opening("E32", "Nimzo-Indian Defence, Classical Variation", "d4 Nf6 c4 e6 Nc3 Bb4 Qc2"),
    Opening("E12", "Queen's Indian Defence", "d4 Nf6 c4 e6 Nf3 b6"),
    Opening("E00", "Catalan Opening", "d4 Nf6 c4 e6 g3"),
    Opening("D80", "Grunfeld Defence", "d4 Nf6 c4 g6 Nc3 d5"),
    Opening("A60", "Modern Benoni", "d4 Nf6 c4 c5 d5 e6"),
    Opening("A57", "Benko Gambit", "d4 Nf6 c4 c5 d5 b5"),
    Opening("A45", "Trompowsky Attack", "d4 Nf6 Bg5"),
    Opening("A80", "Dutch Defence", "d4 f5"),
    # flank openings
    Opening("A10", "English Opening", "c4"),
    Opening("A20", "English Opening, King's English", "c4 e5"),
    Opening("A30", "English Opening, Symmetrical Variation", "c4 c5"),
    Opening("A04", "Reti Opening", "Nf3"),
    Opening("A01", "Nimzo-Larsen Attack", "b3"),
    Opening("A02", "Bird's Opening", "f4"),
)
"""Every named opening, grouped by family."""

OPENING_SETS: Mapping[str, tuple[Opening, ...]] = {
    "eco": OPENINGS,
    "e4": tuple(o for o in OPENINGS if o.san.startswith("e4")),
    "d4": tuple(o for o in OPENINGS if o.san.startswith("d4")),
    "flank": tuple(o for o in OPENINGS if not o.san.startswith(("e4", "d4"))),
    "startpos": (Opening("A00", "Initial position", ""),),
}
"""Named sets a domain's ``openings`` param selects."""


def opening_set(name: str) -> tuple[Opening, ...]:
    """The openings of set ``name``; ``KeyError`` naming the known sets otherwise."""
    try:
        return OPENING_SETS[name]
    except KeyError:
        known = ", ".join(repr(k) for k in OPENING_SETS)
        raise KeyError(f"unknown opening set {name!r}; known: {known}") from None
