"""`conceptlab bench scale`: novelty memory at two pool sizes, and the command end to end on Ray."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conceptlab.bench.scale import bench_novelty_memory
from conceptlab.testing.harness import run_cli

ROOT = Path(__file__).resolve().parents[1]


def test_streamed_novelty_memory_stays_flat_while_the_exact_one_grows(tmp_path):
    figures = bench_novelty_memory(2048, 128, workdir=tmp_path, concepts=2)
    assert figures["pool_mb_large"] == pytest.approx(4 * figures["pool_mb_small"])
    assert all(figures[k] > 0 for k in ("novelty_peak_mb_small", "novelty_peak_mb_large",
                                        "exact_peak_mb_small", "exact_peak_mb_large"))
    # the exact SVD holds the whole pool (float64) and its factors; the streamed one a few blocks
    assert figures["exact_peak_ratio"] > 2.0
    assert figures["novelty_peak_ratio"] < 1.5
    assert figures["novelty_peak_mb_large"] < figures["exact_peak_mb_large"]


@pytest.mark.slow
def test_bench_scale_prints_and_writes_every_figure(tmp_path):
    if os.environ.get("CONCEPTLAB_REQUIRE_RAY") != "1":
        pytest.importorskip("ray", reason="ray is not installed (pip install 'conceptlab[ray]')")
    out = tmp_path / "scale.json"
    result = run_cli(
        "bench", "scale", "specs/tictactoe-tiny.toml", "--games", "4", "--repeats", "1", "--pool", "256", "--dim", "16",
        "--json", str(out), cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    for key in ("selfplay_games_per_s_1", "selfplay_games_per_s_2", "efficiency",
                "novelty_peak_mb_small", "novelty_peak_mb_large"):
        assert figures[key] > 0, key
        assert key in result.stdout
    assert figures["efficiency"] == pytest.approx(
        figures["selfplay_games_per_s_2"] / figures["selfplay_games_per_s_1"] / 2
    )
    assert figures["pool_rows_large"] == 4 * figures["pool_rows_small"]


def test_bench_scale_rejects_bad_sizes():
    result = run_cli("bench", "scale", "specs/tictactoe-tiny.toml", "--games", "0", cwd=ROOT)
    assert result.returncode != 0
    assert "--games, --repeats, --pool and --dim must be >= 1" in result.stderr
