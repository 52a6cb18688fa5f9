"""The report of a chess run draws a teachable concept's footprint on the board, from the mover's side."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import chess
import numpy as np

from conceptlab.plugins import get_registry
from conceptlab.report import render_report
from conceptlab.spec import STAGES, load_spec

SPEC = Path(__file__).resolve().parents[3] / "specs" / "chess-quick.toml"
# after 1.e4 e5 2.Nf3 Nc6: White to move, so the planes' rows are ranks as White sees them
FEN = "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3"
CID = "c0000-p000-block5-active-all"


def _write(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def test_a_teachable_concept_is_shaded_on_its_squares(tmp_path: Path) -> None:
    spec = load_spec(SPEC)
    run = tmp_path / "run"
    _write(run / "spec.json", spec.model_dump(mode="json"))
    _write(run / "manifest.json", {
        "spec_hash": "cd" * 32, "created": "2026-01-01T00:00:00Z", "versions": {"conceptlab": "0"},
        "stages": {s: {"status": "finished", "seconds": 1.0, "units": 1, "figures": {}} for s in STAGES}})
    vector = np.zeros((64, 8, 8))  # block5 of az-chess: 64 filters over the 8x8 board
    vector[3, 3, 4] = 2.0   # e4 (row 3 = rank 4, column 4 = e-file)
    vector[9, 3, 4] = -2.0  # e4 again, in another channel: the footprint counts |v|
    vector[5, 2, 5] = 1.0   # f3
    record = {"id": CID, "ok": True, "status": "optimal", "reason": "", "layer": "block5", "position": 0,
              "state": FEN, "metrics": {"l0": 3.0}, "sign": 1, "steps": "all"}
    _write(run / "mine" / "concepts.json", [record])
    _write(run / "mine" / "candidates" / "00000.json", record | {"vector": vector.reshape(-1).tolist()})
    board = chess.Board(FEN)
    chosen, weaker = (board.parse_uci(m) for m in ("f1c4", "d2d3"))
    domain = get_registry().create("domain", "chess", {})
    actions = {m: domain.action_from_text(domain.from_text(FEN), m.uci()) for m in (chosen, weaker)}
    _write(run / "collect" / "rollouts.json", [{"state": FEN, "final_action": actions[chosen],
                                                "weaker_action": actions[weaker]}])
    _write(run / "teach" / "summary.json", [{"concept_id": CID, "filter": "kl-student", "passed": True,
                                             "reason": "taught", "scores": {"effect": 0.25}}])

    page = render_report(run, get_registry())
    drawn = page[page.index(f'<div class="footprint" id="footprint-{CID}">'):page.index('<section id="exported">')]
    assert "over the 64 channels of each square, scaled to the largest (4)" in drawn
    shaded = {(int(x), int(y)): round(float(o) * 255) for x, y, o in
              re.findall(r'<rect x="(\d+)" y="(\d+)" width="45" height="45" stroke="none" '
                         r'fill="#2166ac" opacity="([\d.]+)"', drawn)}

    def corner(name: str) -> tuple[int, int]:
        square = chess.parse_square(name)
        return (15 + 45 * chess.square_file(square), 15 + 45 * (7 - chess.square_rank(square)))

    assert shaded == {corner("e4"): 200, corner("f3"): 50}  # |2| + |-2| = 4 on e4, 1 on f3
    assert len(re.findall(r'<line[^>]*class="arrow"', drawn)) == 2  # the agent's move and the weaker player's
