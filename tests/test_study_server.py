"""The real study server on loopback: 50 concurrent participants, and a server killed between answers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from conceptlab.study import ConceptPuzzles, Puzzle, PuzzleSet, StudyStore, load_puzzle_set, write_puzzle_set  # noqa: E402
from conceptlab.study.app import create_app  # noqa: E402
from conceptlab.study.store import token_hash  # noqa: E402
from conceptlab.testing.harness import free_port, serve_app  # noqa: E402
from conceptlab.testing.tictactoe import TicTacToe, winner  # noqa: E402

ADMIN = "load-admin"
PARTICIPANTS = 50
POSITIONS = ["XX.OO....", "...XX.OO.", "XO.XO....", ".XO.XO...", "X.X.O.O..", "OO.XX.X..", ".X..X.O.O", "X.OX.O.X."]


def build_study(tmp_path: Path) -> StudyStore:
    """Two concepts (one a control) of two puzzles per phase; the agent plays the immediate win."""
    domain = TicTacToe()

    def puzzle(text: str) -> Puzzle:
        state = domain.from_text(text)
        win = next(a for a in domain.legal_actions(state) if winner(domain.apply(state, a)))
        return Puzzle(text, str(win), win, (str(win),), 1.0)

    concepts = tuple(
        ConceptPuzzles(cid, cid == "control", tuple(map(puzzle, POSITIONS[i:i + 2])),
                       tuple(map(puzzle, POSITIONS[i + 2:i + 4])))
        for cid, i in (("main", 0), ("control", 4))
    )
    root = write_puzzle_set(tmp_path / "puzzles", PuzzleSet("tictactoe", concepts))
    return StudyStore.create(tmp_path / "study.db", load_puzzle_set(root, domain))


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, StudyStore]]:
    store = build_study(tmp_path)
    with serve_app(create_app(store, TicTacToe(), ADMIN), limit_concurrency=200) as base:
        yield base, store


def participant(base: str, token: str) -> tuple[dict[int, str], list[float]]:
    """One participant's full walk; every answer is sent twice (a retry). Returns moves and latencies."""
    moves: dict[int, str] = {}
    latencies: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        state = client.get(f"/api/p/{token}").json()
        while not state["finished"]:
            puzzle = state["puzzle"]
            if state["phase"] == 2:
                url, body = f"/api/p/{token}/reviews", {"puzzle_id": puzzle["id"]}
            else:
                # Vary the choice by participant and puzzle: some solved, some not.
                move = puzzle["moves"][(len(token) + puzzle["id"] + ord(token[0])) % len(puzzle["moves"])]["text"]
                moves[puzzle["id"]] = move
                url, body = f"/api/p/{token}/answers", {"puzzle_id": puzzle["id"], "move": move}
            start = time.perf_counter()
            response = client.post(url, json=body)
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 201, response.text
            retry = client.post(url, json=body)
            assert retry.status_code == 200 and retry.json()["stored"] is False, retry.text
            state = response.json()["state"]
    return moves, latencies


def test_fifty_concurrent_participants_each_answer_stored_once(server: tuple[str, StudyStore]) -> None:
    base, store = server
    with httpx.Client(base_url=base, headers={"X-Admin-Token": ADMIN}) as admin:
        made = admin.post("/api/admin/participants", json={"count": PARTICIPANTS}).json()["participants"]
    tokens = [p["link"].removeprefix("/p/") for p in made]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=PARTICIPANTS) as pool:
        results = list(pool.map(lambda t: participant(base, t), tokens))
    elapsed = time.perf_counter() - start

    per_phase = {phase: len(store.puzzles(phase)) for phase in (1, 3)}
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == PARTICIPANTS * sum(per_phase.values())
        assert conn.execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == PARTICIPANTS * per_phase[1]
        stored = {
            (hashed, puzzle): move
            for hashed, puzzle, move in conn.execute(
                "SELECT p.token_sha256, a.puzzle_id, a.move FROM answers a JOIN participants p ON p.id = a.participant_id"
            )
        }
    finally:
        conn.close()
    sent = {(token_hash(token), puzzle): move for token, (moves, _) in zip(tokens, results, strict=True)
            for puzzle, move in moves.items()}
    assert stored == sent
    latencies = sorted(x for _, lat in results for x in lat)
    print(
        f"\nstudy load: {PARTICIPANTS} participants, {2 * len(latencies)} writes (half retries) in "
        f"{elapsed:.2f} s; first-write latency median {1000 * latencies[len(latencies) // 2]:.0f} ms, "
        f"p95 {1000 * latencies[int(0.95 * len(latencies))]:.0f} ms"
    )
    assert elapsed < 120


SERVE = """
import sys, uvicorn
from conceptlab.study import StudyStore
from conceptlab.study.app import create_app
from conceptlab.testing.tictactoe import TicTacToe
uvicorn.run(create_app(StudyStore.open(sys.argv[1]), TicTacToe(), "x"), host="127.0.0.1",
            port=int(sys.argv[2]), log_level="warning")
"""


def test_a_killed_server_loses_no_acknowledged_answer(tmp_path: Path) -> None:
    store = build_study(tmp_path)
    token = store.add_participants(1)[0].token
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(store.path), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                state = httpx.get(f"{base}/api/p/{token}", timeout=2).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the study server did not start"
                time.sleep(0.1)
        acknowledged = []
        for _ in range(3):
            puzzle = state["puzzle"]
            body = {"puzzle_id": puzzle["id"], "move": puzzle["moves"][0]["text"]}
            response = httpx.post(f"{base}/api/p/{token}/answers", json=body, timeout=10)
            assert response.status_code == 201
            acknowledged.append((puzzle["id"], body["move"]))
            state = response.json()["state"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    reopened = StudyStore.open(store.path)
    assert [(a.puzzle_id, a.move) for a in reopened.answers()] == acknowledged
