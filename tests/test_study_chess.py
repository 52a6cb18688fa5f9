"""The study on chess puzzles through its API: side to move, SAN names, orientation, phase 2's steps, scores."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("chess")
with warnings.catch_warnings():  # starlette's notice about its test client's HTTP library
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from conceptlab.plugins import get_registry  # noqa: E402
from conceptlab.study.app import create_app  # noqa: E402
from conceptlab.study.commands import open_study  # noqa: E402

ADMIN = "chess-admin"
UCI = re.compile(r"^[a-h][1-8][a-h][1-8][qrbn]?$")
# what a chess player expects to read on each puzzle, by its position
EXPECTED = {
    "b8c6": ("Black", "2. Nf3", "Nc6", ["2... Nc6", "3. Bb5", "3... a6"]),
    "e7e6": ("Black", "2. c4", "e6", ["2... e6", "3. Nc3"]),
    "g1f3": ("White", "1... c5", "Nf3", ["2. Nf3", "2... d6", "3. d4"]),
    "a7a8q": ("White", None, "a8=Q+", ["1. a8=Q+"]),
}


def square_xy(svg: str, square: str) -> tuple[float, float]:
    """Where the board's ``square`` is drawn (python-chess SVG: ``<rect x= y= class="square ... a1">``)."""
    rect = re.search(rf'<rect x="([\d.]+)" y="([\d.]+)"[^>]*class="square \w+ {square}"', svg)
    assert rect, f"no square {square} in the board"
    return float(rect.group(1)), float(rect.group(2))


def test_chess_puzzles_speak_chess(chess_study_puzzles: Path, tmp_path: Path) -> None:
    store, domain = open_study(str(chess_study_puzzles), str(tmp_path / "chess.db"), get_registry())
    client = TestClient(create_app(store, domain, ADMIN))
    token = store.add_participants(1)[0].token
    state = client.get(f"/api/p/{token}").json()
    seen = set()
    while not state["finished"]:
        puzzle = state["puzzle"]
        stored = store.puzzle(puzzle["id"]).puzzle
        to_move, last, name, line_names = EXPECTED[stored.solution]
        assert puzzle["to_move"] == to_move and puzzle["last_move"] == last
        white_view = square_xy(puzzle["svg"], "a1")[1] > square_xy(puzzle["svg"], "h8")[1]
        assert white_view == (to_move == "White"), "the board is drawn for the side to move"
        if state["phase"] == 2:
            assert puzzle["solution_name"] == name and puzzle["line_names"] == line_names
            steps = puzzle["steps"]
            assert [s["ply"] for s in steps] == list(range(len(line_names) + 1))
            assert [s["played"] for s in steps[1:]] == line_names and steps[0]["next"] == name
            assert len({s["svg"] for s in steps}) == len(steps), "each step draws its own position"
            for s in steps:  # every step from the same side as the puzzle
                assert (square_xy(s["svg"], "a1")[1] > square_xy(s["svg"], "h8")[1]) == white_view
            assert {e["colour"] for e in puzzle["legend"]} == {"green", "red", "blue"}
            assert puzzle["your_move_name"] == name  # answered right in phase 1
            assert "board" not in puzzle  # phase 2 shows the server's pictures only
            response = client.post(f"/api/p/{token}/reviews", json={"puzzle_id": puzzle["id"]})
        else:
            assert puzzle["board"]["fen"] == domain.from_text(stored.state).fen  # the client-side board's data
            names = [m["name"] for m in puzzle["moves"]]
            assert name in names and not any(UCI.match(n) for n in names)
            assert all(UCI.match(m["text"]) for m in puzzle["moves"])  # sent and stored as UCI
            # right in phase 1; in phase 3 right on the control, wrong on the other concept
            right = state["phase"] == 1 or store.puzzle(puzzle["id"]).control
            move = stored.solution if right else next(m["text"] for m in puzzle["moves"]
                                                      if m["text"] != stored.solution)
            response = client.post(f"/api/p/{token}/answers", json={"puzzle_id": puzzle["id"], "move": move})
        assert response.status_code == 201, response.text
        seen.add((state["phase"], stored.solution))
        state = response.json()["state"]
    assert len(seen) == 6
    assert state["scores"] == {"1": {"solved": 2, "total": 2}, "3": {"solved": 1, "total": 2}}
    assert state["puzzle"] is None


def test_the_client_side_board_is_served_from_the_domain(chess_study_puzzles: Path, tmp_path: Path) -> None:
    store, domain = open_study(str(chess_study_puzzles), str(tmp_path / "chess.db"), get_registry())
    client = TestClient(create_app(store, domain, ADMIN))
    token = store.add_participants(1)[0].token
    puzzle = client.get(f"/api/p/{token}").json()["puzzle"]
    stored = store.puzzle(puzzle["id"]).puzzle
    board = puzzle["board"]
    assert board["orientation"] == board["turn"] == ("w" if puzzle["to_move"] == "White" else "b")
    assert (board["last_move"] is None) == (" moves " not in stored.state)  # a bare FEN has no last move
    assert board["fen"] == domain.from_text(stored.state).fen
    adapter = client.get("/static/domain/board.js")
    assert adapter.status_code == 200 and adapter.headers["content-type"].startswith("text/javascript")
    assert "export function mount(" in adapter.text
    for path in ("cm-chessboard/src/Chessboard.js", "cm-chessboard/src/extensions/markers/Markers.js",
                 "cm-chessboard/src/extensions/promotion-dialog/PromotionDialog.js"):
        assert client.get(f"/static/domain/{path}").status_code == 200, path
    licence = client.get("/static/domain/cm-chessboard/LICENSE")
    assert licence.status_code == 200 and licence.text.startswith("MIT License")
    pieces = client.get("/static/domain/pieces.svg")
    assert pieces.headers["content-type"].startswith("image/svg+xml")
    assert sorted(re.findall(r'<g id="([wb][pnbrqk])"', pieces.text)) == sorted(
        c + p for c in "wb" for p in "pnbrqk")
    # no sprite under a licence that is not permissive, and nothing fetched from elsewhere
    assert "pieces/standard.svg" not in domain.study_assets() and "staunty" not in " ".join(domain.study_assets())
    assert client.get("/static/domain/../app.py").status_code == 404
    missing = client.get("/static/domain/nothing.js")
    assert missing.status_code == 404 and missing.json()["kind"] == "UnknownAssetError"
