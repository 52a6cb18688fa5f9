"""The report in a real browser: the candidate table sorts and filters, rows stay one line, nothing is fetched.

Needs Playwright for Python (the ``dev`` extra) and Debian's Chromium at /usr/bin/chromium
(``CONCEPTLAB_CHROMIUM`` names another). Skipped without them, unless
``CONCEPTLAB_REQUIRE_BROWSER=1``. A full-page screenshot is written to
``CONCEPTLAB_TEST_ARTIFACTS`` when set (else to the test's temporary folder).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
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
if importlib.util.find_spec("playwright") is None:
    _unavailable("the Python package 'playwright' is not installed (pip install -e '.[dev]')")
from playwright import sync_api  # noqa: E402

from conceptlab.plugins import get_registry  # noqa: E402
from conceptlab.report import write_report  # noqa: E402
from test_report import IDS, _Plugin, make_run  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_the_candidate_table_sorts_and_filters_in_a_browser(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", probe=True, failed=True)
    path = write_report(run, None, get_registry(extra_plugins=[("arrows", _Plugin())]))
    artifacts = Path(os.environ.get("CONCEPTLAB_TEST_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            errors: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            rows = page.locator("#candidate-table tbody tr")

            def order() -> list[str]:
                return [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]

            def shown() -> set[str]:
                return {rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())
                        if rows.nth(i).is_visible()}

            assert order() == [*IDS, "c0003-failed"]  # passing first, then by effect
            effect = page.locator("#candidate-table th", has_text="teach effect")
            effect.click()  # ascending, the candidate without an effect last
            assert order() == [IDS[2], IDS[1], IDS[0], "c0003-failed"]
            assert effect.get_attribute("aria-sort") == "ascending"
            effect.click()  # descending, still last
            assert order() == [IDS[0], IDS[1], IDS[2], "c0003-failed"]
            position = page.locator("#candidate-table th", has_text="position")
            position.click()
            position.click()  # descending: positions 3, 2, 1, 0
            assert order() == ["c0003-failed", IDS[2], IDS[1], IDS[0]]
            assert effect.get_attribute("aria-sort") is None

            page.select_option("#candidate-show", "teachable")
            sync_api.expect(page.locator("#candidate-count")).to_have_text("2 of 4 candidates shown")
            assert shown() == set(IDS[:2])
            page.select_option("#candidate-show", "")
            page.fill("#candidate-filter", "infeasible")
            sync_api.expect(page.locator("#candidate-count")).to_have_text("1 of 4 candidates shown")
            assert shown() == {"c0003-failed"}
            page.fill("#candidate-filter", "")

            heights = [rows.nth(i).bounding_box()["height"] for i in range(4)]
            assert max(heights) < 40, heights  # one line per candidate, reasons folded
            page.locator("nav.toc a", has_text="Probing").click()
            assert page.evaluate("() => location.hash") == "#probing"
            assert page.locator("#stages pre.error").is_visible()
            page.screenshot(path=str(artifacts / "report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert requests == [path.as_uri()]  # the page alone: no script, style, font or image fetched
    assert (artifacts / "report.png").stat().st_size > 10_000
