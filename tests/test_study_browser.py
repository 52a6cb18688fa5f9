"""A headless browser clicks through the three phases of the study and opens the admin page.

The chess walk saves a screenshot of each phase, the end page and the admin page in
``$CONCEPTLAB_TEST_ARTIFACTS/study-browser`` when that variable is set, else in
pytest's temporary folder (outside the repository either way).

Needs Playwright for Python (the ``dev`` extra) and Debian's Chromium at /usr/bin/chromium
(or ``$CONCEPTLAB_CHROMIUM``); ``make test`` installs Chromium as root through
``scripts/install-test-browser.sh`` (``playwright install`` is not used). Without them the module is skipped with the
reason, or, when ``CONCEPTLAB_REQUIRE_BROWSER=1`` (as CI sets it), fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from typing import Any
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CONCEPTLAB_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("CONCEPTLAB_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    """Skip the module saying why, or fail it when the environment requires the browser test."""
    if REQUIRED:
        pytest.fail(f"browser test cannot run: {reason} (CONCEPTLAB_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(f"browser test skipped: {reason} (set CONCEPTLAB_REQUIRE_BROWSER=1 to fail instead)",
                allow_module_level=True)


if shutil.which(CHROMIUM) is None:
    _unavailable(f"no Chromium at {CHROMIUM}; install it with `make test` as root, "
                 "or `sudo apt-get install -y chromium`")
for _module, _install in (("playwright", "pip install -e '.[dev]'"), ("uvicorn", "pip install -e '.[study]'")):
    if importlib.util.find_spec(_module) is None:
        _unavailable(f"the Python package {_module!r} is not installed ({_install})")
from playwright import sync_api  # noqa: E402

from conceptlab.plugins import get_registry  # noqa: E402
from conceptlab.study import ConceptPuzzles, Puzzle, PuzzleSet, StudyStore, load_puzzle_set, write_puzzle_set  # noqa: E402
from conceptlab.study.app import create_app  # noqa: E402
from conceptlab.study.commands import open_study  # noqa: E402
from conceptlab.testing.harness import serve_app  # noqa: E402
from conceptlab.testing.tictactoe import Board, TicTacToe, winner  # noqa: E402
from conceptlab.values import Action  # noqa: E402

ADMIN = "browser-admin"
POSITIONS = ["XX.OO....", "...XX.OO.", "XO.XO....", ".XO.XO..."]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


class ClickableTicTacToe(TicTacToe):
    """Tic-tac-toe drawn with one ``class="square light <cell>"`` element per cell, as chess boards are."""

    def render_svg(self, state: Board, arrows: Sequence[tuple[Action, str]] = ()) -> str:
        cells = "".join(
            f'<rect class="square light {i}" x="{40 * (i % 3)}" y="{40 * (i // 3)}" width="38" height="38" '
            f'fill="#eee"/><text x="{40 * (i % 3) + 12}" y="{40 * (i // 3) + 27}">{".XO"[c]}</text>'
            for i, c in enumerate(state)
        )
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120">{cells}</svg>'


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, StudyStore]]:
    domain = ClickableTicTacToe()

    def puzzle(text: str) -> Puzzle:
        state = domain.from_text(text)
        win = next(a for a in domain.legal_actions(state) if winner(domain.apply(state, a)))
        return Puzzle(text, str(win), win, (str(win),), 1.0)

    concept = ConceptPuzzles("rows", False, tuple(map(puzzle, POSITIONS[:2])), tuple(map(puzzle, POSITIONS[2:])))
    root = write_puzzle_set(tmp_path / "puzzles", PuzzleSet("tictactoe", (concept,)))
    store = StudyStore.create(tmp_path / "study.db", load_puzzle_set(root, domain))
    with serve_app(create_app(store, domain, ADMIN)) as base:
        yield base, store


def test_a_participant_clicks_through_three_phases(served: tuple[str, StudyStore]) -> None:
    base, store = served
    token = store.add_participants(1)[0].token
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/p/{token}")
            progress = page.locator("#progress")
            chosen = []
            for number in (1, 2):  # phase 1: click the agent's square on the board
                sync_api.expect(progress).to_have_text(f"Phase 1 of 3 - position {number} of 2")
                state = page.evaluate("() => current.state")
                move = next(p.puzzle.solution for p in store.puzzles(1) if p.puzzle.state == state)
                page.locator(f'#board rect[class~="{move}"]').click()
                sync_api.expect(page.locator("#selected")).to_have_text(move)
                page.click("#submit")
                chosen.append(move)
            for number in (1, 2):  # phase 2: the agent's move is shown; confirm
                sync_api.expect(progress).to_have_text(f"Phase 2 of 3 - position {number} of 2")
                sync_api.expect(page.locator("#solution")).not_to_be_empty()
                page.click("#confirm")
            for number in (1, 2):  # phase 3: choose with the move buttons
                sync_api.expect(progress).to_have_text(f"Phase 3 of 3 - position {number} of 2")
                page.locator("#moves button").first.click()
                page.click("#submit")
            sync_api.expect(page.locator("#done")).to_be_visible()

            admin = browser.new_page()
            admin.goto(f"{base}/admin?token={ADMIN}")
            sync_api.expect(admin.locator("#participants tr")).to_have_count(2)
            sync_api.expect(admin.locator("#participants")).to_contain_text("2/2")
            # a new link is shown once, in the page that made it (the study keeps only its hash)
            admin.fill("#label", "walk-in")
            admin.click("#add button")
            sync_api.expect(admin.locator("#new-link-list li")).to_have_count(1)
            sync_api.expect(admin.locator("#participants tr")).to_have_count(3)
            made = admin.locator("#new-link-list li code").inner_text()
            assert made.startswith(f"{base}/p/") and made.removeprefix(f"{base}/p/") not in \
                admin.locator("#participants").inner_text()
            newcomer = browser.new_page()
            newcomer.goto(made)
            sync_api.expect(newcomer.locator("#progress")).to_have_text("Phase 1 of 3 - position 1 of 2")
        finally:
            browser.close()
    assert store.counts() == {"participants": 2, "answers": 4, "reviews": 2}
    assert sorted(a.move for a in store.answers() if store.puzzle(a.puzzle_id).phase == 1) == sorted(chosen)


UCI = re.compile(r"^[a-h][1-8][a-h][1-8][qrbn]?$")


def chess_facts(text: str, line: list[str]) -> tuple[str, list[str]]:
    """The side to move and the line in SAN, worked out with python-chess alone (not the study's code)."""
    import chess

    fen, _, moves = text.partition(" moves ")
    board = chess.Board(fen)
    for uci in moves.split():
        board.push_uci(uci)
    side = "White" if board.turn == chess.WHITE else "Black"
    sans = []
    for uci in line:
        sans.append(board.san(chess.Move.from_uci(uci)))
        board.push_uci(uci)
    return side, sans


def square(page: sync_api.Page, name: str) -> sync_api.Locator:
    """The square ``name`` of the board on the page: the client-side board's or the server's picture."""
    widget = page.locator(f'#board rect[data-square="{name}"]')
    return widget if widget.count() else page.locator(f'#board rect[class~="{name}"]')


def centre(page: sync_api.Page, name: str) -> tuple[float, float]:
    """The centre of square ``name`` once it is drawn (the client-side board may redraw itself after
    mounting, detaching the squares a query just found; such a square has no box until it is back)."""
    for _ in range(50):
        found = square(page, name).first
        try:
            found.wait_for(state="visible", timeout=2000)
            box = found.bounding_box()
        except sync_api.Error:
            box = None
        if box is not None:
            return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.wait_for_timeout(100)
    raise AssertionError(f"square {name} was never drawn on the board")


def white_at_the_bottom(page: sync_api.Page) -> bool:
    """Whether the board shows a1 below h8, from where the browser drew the two squares."""
    return centre(page, "a1")[1] > centre(page, "h8")[1]


def drag(page: sync_api.Page, source: str, target: str, destinations: int) -> None:
    """Drag the piece on ``source`` to ``target``, checking the dots on its ``destinations`` on the way."""
    page.mouse.move(*centre(page, source))
    page.mouse.down()
    page.mouse.move(*centre(page, target), steps=8)
    sync_api.expect(page.locator("#board .marker-dot")).to_have_count(destinations)
    page.mouse.up()


def test_a_chess_player_takes_the_whole_study(chess_study_puzzles: Path, tmp_path: Path) -> None:
    pytest.importorskip("chess")
    shots = Path(os.environ.get("CONCEPTLAB_TEST_ARTIFACTS") or tmp_path) / "study-browser"
    shots.mkdir(parents=True, exist_ok=True)
    store, domain = open_study(str(chess_study_puzzles), str(tmp_path / "chess.db"), get_registry())
    token = store.add_participants(1)[0].token
    by_state = {p.puzzle.state: p for p in store.puzzles()}
    with serve_app(create_app(store, domain, ADMIN)) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            elsewhere: list[str] = []  # the page must work offline: record and refuse any other host

            def refuse(route: sync_api.Route) -> None:
                elsewhere.append(route.request.url)
                route.abort()

            page.route(lambda url: not url.startswith(base), refuse)
            page.goto(f"{base}/p/{token}")
            progress = page.locator("#progress")

            def check_puzzle(phase: int) -> tuple[str, list[str], Any]:
                stored = by_state[page.evaluate("() => current.state")]
                if phase != 2:  # phases 1 and 3: the domain's client-side board; phase 2: the server's pictures
                    sync_api.expect(page.locator("#board")).to_have_attribute("data-adapter", "mounted")
                side, sans = chess_facts(stored.puzzle.state, list(stored.puzzle.line))
                sync_api.expect(page.locator("#to-move")).to_have_text(f"{side} to move.")
                assert white_at_the_bottom(page) == (side == "White")
                if " moves " in stored.puzzle.state:
                    sync_api.expect(page.locator("#last-move")).to_contain_text("Last move: ")
                return side, sans, stored

            for number in (1, 2):  # phase 1: the agent's move, dragged (first) or clicked square by square
                sync_api.expect(progress).to_have_text(f"Phase 1 of 3 - position {number} of 2")
                _, sans, stored = check_puzzle(1)
                names = page.locator("#moves button").all_inner_texts()
                assert sans[0] in names and not [n for n in names if UCI.match(n)], names
                if stored.puzzle.state.endswith("e2e4 e7e5 g1f3"):
                    sync_api.expect(page.locator("#board .marker-last-move")).to_have_count(2)  # g1 and f3
                solution = stored.puzzle.solution
                targets = {m["text"][2:4] for m in page.evaluate("() => current.moves")
                           if m["text"].startswith(solution[:2])}
                if number == 1:
                    drag(page, solution[:2], solution[2:4], len(targets))
                else:
                    square(page, solution[:2]).click()
                    sync_api.expect(page.locator("#board .marker-dot")).to_have_count(len(targets))
                    square(page, solution[2:4]).click()
                sync_api.expect(page.locator("#selected")).to_have_text(sans[0])
                sync_api.expect(page.locator("#board .marker-chosen")).to_have_count(2)  # from and to squares
                if number == 1:
                    page.screenshot(path=str(shots / "phase1.png"), full_page=True)
                page.click("#submit")

            for number in (1, 2):  # phase 2: legend, the agent's move in SAN, the line step by step
                sync_api.expect(progress).to_have_text(f"Phase 2 of 3 - position {number} of 2")
                side, sans, stored = check_puzzle(2)
                sync_api.expect(page.locator("#legend li")).to_have_count(3)
                sync_api.expect(page.locator("#legend")).to_contain_text("green: the agent's move")
                sync_api.expect(page.locator("#solution")).to_have_text(sans[0])
                sync_api.expect(page.locator("#your-move")).to_have_text(sans[0])
                steps = page.locator("#line button")
                sync_api.expect(steps).to_have_count(len(sans))
                for shown, san in zip(steps.all_inner_texts(), sans, strict=True):
                    assert shown.endswith(" " + san), (shown, san)  # numbered: "2... Nc6"
                sync_api.expect(page.locator("#prev")).to_be_disabled()
                boards = [page.locator("#board").inner_html()]
                for ply in range(1, len(sans) + 1):
                    page.click("#next")
                    sync_api.expect(page.locator("#step")).to_contain_text(f"(step {ply} of {len(sans)})")
                    sync_api.expect(page.locator("#step")).to_contain_text(sans[ply - 1])
                    assert white_at_the_bottom(page) == (side == "White")  # the puzzle's side throughout
                    boards.append(page.locator("#board").inner_html())
                    if number == 1 and ply == 1:
                        page.screenshot(path=str(shots / "phase2.png"), full_page=True)
                assert len(set(boards)) == len(boards), "each step shows its own position"
                sync_api.expect(page.locator("#next")).to_be_disabled()
                page.click("#prev")
                sync_api.expect(page.locator("#step")).to_contain_text(f"(step {len(sans) - 1} of")
                steps.first.click()  # a move of the line jumps to the board after it; the arrow keys step
                sync_api.expect(page.locator("#step")).to_contain_text(f"After {steps.first.inner_text()} (step 1 of")
                page.keyboard.press("ArrowLeft")
                sync_api.expect(page.locator("#step")).to_have_text(
                    f"Puzzle position ({side} to move), next: {sans[0]}")
                page.click("#confirm")

            solved3 = 0
            for number in (1, 2):  # phase 3: the promotion through the board's dialog; the other wrong, by button
                sync_api.expect(progress).to_have_text(f"Phase 3 of 3 - position {number} of 2")
                _, sans, stored = check_puzzle(3)
                if number == 1:
                    page.screenshot(path=str(shots / "phase3.png"), full_page=True)
                if stored.puzzle.solution == "a7a8q":
                    drag(page, "a7", "a8", 1)
                    pieces = page.locator("#board .promotion-dialog-button")
                    sync_api.expect(pieces).to_have_count(4)
                    assert sorted(pieces.evaluate_all("(els) => els.map((e) => e.dataset.piece)")) == \
                        ["wb", "wn", "wq", "wr"]
                    page.wait_for_timeout(400)  # the dialog fades in
                    page.screenshot(path=str(shots / "phase3-promotion.png"), full_page=True)
                    page.locator('#board .promotion-dialog-button[data-piece="wq"]').click()
                    sync_api.expect(page.locator("#selected")).to_have_text("a8=Q+")
                    solved3 += 1
                else:
                    page.locator("#moves button", has_text=re.compile(r"^a6$")).click()
                    sync_api.expect(page.locator("#selected")).to_have_text("a6")
                    sync_api.expect(page.locator("#board .marker-chosen")).to_have_count(2)  # shown on the board
                page.click("#submit")
            assert solved3 == 1

            sync_api.expect(page.locator("#done")).to_be_visible()
            rows = page.locator("#own-scores tr")
            sync_api.expect(rows).to_have_count(2)
            assert rows.all_inner_texts() == ["Phase 1\t2 of 2", "Phase 3\t1 of 2"]
            page.screenshot(path=str(shots / "end.png"), full_page=True)

            assert elsewhere == []
            admin = browser.new_page(viewport={"width": 1100, "height": 900})
            admin.goto(f"{base}/admin?token={ADMIN}")
            sync_api.expect(admin.locator("#arms tr")).to_have_count(3)  # header, concepts, control
            sync_api.expect(admin.locator("#arms")).to_contain_text("gain 95% CI")
            sync_api.expect(admin.locator("#difference")).to_contain_text("Concepts gain minus control gain")
            admin.screenshot(path=str(shots / "admin.png"), full_page=True)
        finally:
            browser.close()
    assert sorted(p.name for p in shots.glob("*.png")) == ["admin.png", "end.png", "phase1.png", "phase2.png",
                                                            "phase3-promotion.png", "phase3.png"]
