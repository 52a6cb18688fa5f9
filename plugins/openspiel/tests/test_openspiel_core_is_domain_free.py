"""The core never names OpenSpiel or one of its games: the plugin reaches it only through hooks."""

from __future__ import annotations

import re
from pathlib import Path

CORE = Path(__file__).resolve().parents[3] / "framework" / "conceptlab"
NAMES = re.compile(
    r"pyspiel|open_?spiel|conceptlab_openspiel|connect[_ ]?four|breakthrough|othello|\bhex\(", re.IGNORECASE
)


def test_no_openspiel_name_in_the_core() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 20
    hits = [
        f"{path.relative_to(CORE)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAMES.search(line)
    ]
    assert hits == []
