"""A readable SVG board drawn from a pyspiel game's own string form.

Most OpenSpiel board games print one text row per board row: ``.`` or ``-``
for an empty cell, one letter per piece (``x``/``o``, ``b``/``w``), digits or
letters for coordinates. :func:`board_svg` draws every character of such a
*board line* in a grid cell (empty cells as squares, the first player's
pieces as dark discs, the second player's as light discs, digits as labels),
the characters of a coordinate line (``abcdef``, ``a b c d``) as labels on the
same grid, and any other line (a caption) as plain monospaced text. Where cells
are written one column apart (Othello's ``- - x o``, Hex's staggered rows), a
grid column is half a cell wide, so cells touch and Hex rows shift by half a cell.
A move is drawn as coloured frames around the cells it changes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["board_svg", "changed_cells"]

CELL = 28
"""Side of one grid cell in pixels."""
EMPTY = frozenset(".-")
DARK = frozenset("xXbB@")
LIGHT = frozenset("oOwW")
BOARD_CHARS = EMPTY | DARK | LIGHT | frozenset("0123456789 |+*")


def _is_board_line(line: str) -> bool:
    return bool(line.strip()) and all(ch in BOARD_CHARS for ch in line) and any(
        ch in EMPTY | DARK | LIGHT for ch in line
    )


def _is_label_line(line: str) -> bool:
    """Coordinates such as ``abcdef`` or ``a b c d``: drawn one character per column."""
    tokens = line.split()
    return bool(tokens) and all(t.isalnum() for t in tokens) and (
        len(tokens) == 1 or all(len(t) == 1 for t in tokens)
    )


def _is_spaced(lines: list[str]) -> bool:
    """Whether cells are written one column apart (``. x o``), as in Othello or Hex."""
    grid = [line for line in lines if _is_board_line(line) or _is_label_line(line)]
    return bool(grid) and all(
        not (a.strip() and b.strip() and not (a.isdigit() and b.isdigit()))
        for line in grid for a, b in zip(line, line[1:], strict=False)
    )


def _cell(ch: str, cx: float, cy: float, piece: bool) -> str:
    x, y, r = cx - CELL / 2, cy - CELL / 2, CELL // 2 - 3
    square = (
        f'<rect x="{x + 1:g}" y="{y + 1:g}" width="{CELL - 2}" height="{CELL - 2}" '
        'fill="#e8d9b5" stroke="#8b7355"/>'
    )
    if piece and ch in EMPTY:
        return square
    if piece and ch in DARK:
        return square + f'<circle cx="{cx:g}" cy="{cy:g}" r="{r}" fill="#222" stroke="#000"/>'
    if piece and ch in LIGHT:
        return square + f'<circle cx="{cx:g}" cy="{cy:g}" r="{r}" fill="#fafafa" stroke="#333"/>'
    if ch.strip():
        return (
            f'<text x="{cx:g}" y="{cy + 5:g}" text-anchor="middle" font-family="monospace" '
            f'font-size="14" fill="#555">{html.escape(ch)}</text>'
        )
    return ""


def changed_cells(before: str, after: str) -> list[tuple[int, int]]:
    """``(row, column)`` of the characters that differ between two string forms of one layout.

    Empty when the layouts differ (another number of lines, or of characters in a line).
    """
    old, new = before.splitlines(), after.splitlines()
    if len(old) != len(new) or any(len(a) != len(b) for a, b in zip(old, new, strict=True)):
        return []
    return [
        (row, col)
        for row, (a, b) in enumerate(zip(old, new, strict=True))
        for col, (x, y) in enumerate(zip(a, b, strict=True))
        if x != y
    ]


def board_svg(text: str, title: str = "", marks: Sequence[tuple[int, int, str]] = ()) -> str:
    """An SVG picture of a game's string form ``text``; ``title`` becomes its ``<title>``.

    ``marks`` are ``(row, column, colour)``: a thick frame of that colour around
    the cell of that character (how a move is shown: the cells it changes);
    marks outside board lines are ignored.
    """
    lines = text.splitlines() or [""]
    columns = max(len(line) for line in lines)
    step = CELL / 2 if _is_spaced(lines) else CELL
    parts = [f"<title>{html.escape(title)}</title>"] if title else []
    for row, line in enumerate(lines):
        cy = row * CELL + CELL / 2
        board = _is_board_line(line)
        if board or _is_label_line(line):
            parts.extend(_cell(ch, col * step + CELL / 2, cy, board) for col, ch in enumerate(line))
        else:
            parts.append(
                f'<text x="4" y="{cy + 5:g}" font-family="monospace" font-size="14">'
                f"{html.escape(line)}</text>"
            )
    for row, col, colour in marks:
        if not (0 <= row < len(lines) and _is_board_line(lines[row])):
            continue  # a caption that changed with the move ("White to play") is not a cell
        x, y = col * step + 2, row * CELL + 2
        parts.append(
            f'<rect x="{x:g}" y="{y:g}" width="{CELL - 4}" height="{CELL - 4}" fill="none" '
            f'stroke="{html.escape(colour, quote=True)}" stroke-width="3"/>'
        )
    width = max(int((max(columns, 1) - 1) * step + CELL), 8 * max(len(line) for line in lines) + 8)
    height = len(lines) * CELL
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">' + "".join(parts) + "</svg>"
    )
