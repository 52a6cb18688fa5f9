"""A headless browser clicks through the three phases of the study and opens the admin page.

Needs Playwright for Python (the ``dev`` extra) and Debian's Chromium at /usr/bin/chromium
(or ``$CONCEPTLAB_CHROMIUM``); ``make test`` installs Chromium as root through
``scripts/install-test-browser.sh`` (``playwright install`` is not used). Without them the module is skipped with the
reason, or, when ``CONCEPTLAB_REQUIRE_BROWSER=1`` (as CI sets it), fails.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator, Sequence
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

from conceptlab.study import ConceptPuzzles, Puzzle, PuzzleSet, StudyStore, load_puzzle_set, write_puzzle_set  # noqa: E402
from conceptlab.study.app import create_app  # noqa: E402
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
