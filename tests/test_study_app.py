"""The study app through its API: the three phases, the admin's scores, refusals, idempotence, the CLI."""

from __future__ import annotations

import argparse
import csv
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # starlette's notice about its test client's HTTP library
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from conceptlab.plugins import get_registry  # noqa: E402
from conceptlab.study import ConceptPuzzles, Puzzle, PuzzleSet, StudyStore, write_puzzle_set  # noqa: E402
from conceptlab.study.app import create_app  # noqa: E402
from conceptlab.study.commands import add_study_commands  # noqa: E402
from conceptlab.study.errors import PuzzleSetError, StudyDatabaseError  # noqa: E402
from conceptlab.study.puzzles import load_puzzle_set  # noqa: E402
from conceptlab.testing.tictactoe import TicTacToe, winner  # noqa: E402

ADMIN = "admin-secret"
# Positions where the player to move wins at once; the "agent" plays the win.
MAIN_PHASE1, MAIN_PHASE3 = ["XX.OO....", "...XX.OO."], ["XO.XO....", ".XO.XO..."]
CONTROL_PHASE1, CONTROL_PHASE3 = ["X.X.O.O..", "OO.XX.X.."], [".X..X.O.O", "X.OX.O.X."]


def agent_puzzle(domain: TicTacToe, text: str) -> Puzzle:
    state = domain.from_text(text)
    wins = [a for a in domain.legal_actions(state) if winner(domain.apply(state, a))]
    assert wins, f"test position {text!r} has no winning move"
    return Puzzle(text, domain.action_to_text(state, wins[0]), wins[0], (str(wins[0]),), 1.0)


def build_puzzles(root: Path) -> Path:
    domain = TicTacToe()
    def concept(cid: str, control: bool, p1: list[str], p3: list[str]) -> ConceptPuzzles:
        return ConceptPuzzles(cid, control, tuple(agent_puzzle(domain, t) for t in p1),
                              tuple(agent_puzzle(domain, t) for t in p3))
    return write_puzzle_set(root / "puzzles", PuzzleSet("tictactoe", (
        concept("rows", False, MAIN_PHASE1, MAIN_PHASE3),
        concept("diagonals", True, CONTROL_PHASE1, CONTROL_PHASE3),
    )))


@pytest.fixture()
def study(tmp_path: Path) -> tuple[StudyStore, TestClient]:
    domain = TicTacToe()
    store = StudyStore.create(tmp_path / "study.db", load_puzzle_set(build_puzzles(tmp_path), domain))
    return store, TestClient(create_app(store, domain, ADMIN))


def new_link(client: TestClient) -> str:
    response = client.post("/api/admin/participants", json={"count": 1}, headers={"X-Admin-Token": ADMIN})
    assert response.status_code == 201
    return response.json()["participants"][0]["link"].removeprefix("/p/")


def store_of(client: TestClient) -> StudyStore:
    return client.app.state.study.store  # type: ignore[attr-defined,no-any-return]


Solved = dict[tuple[int, str, int], bool]
"""Whether the participant solved each puzzle, by (phase, concept, puzzle id)."""


def walk(client: TestClient, token: str, rng: np.random.Generator) -> Solved:
    """Do all three phases choosing at random between the agent's move and another."""
    solved: Solved = {}
    state = client.get(f"/api/p/{token}").json()
    while not state["finished"]:
        puzzle = state["puzzle"]
        if state["phase"] == 2:
            assert puzzle["solution"] and puzzle["line"] and "moves" not in puzzle
            response = client.post(f"/api/p/{token}/reviews", json={"puzzle_id": puzzle["id"]})
        else:
            moves = client.get(f"/api/p/{token}/puzzles/{puzzle['id']}/moves").json()["moves"]
            assert moves == puzzle["moves"]
            stored = store_of(client).puzzle(puzzle["id"])
            wrong = [m["text"] for m in moves if m["action"] != stored.puzzle.solution_action]
            move = stored.puzzle.solution if rng.random() < 0.5 else str(rng.choice(wrong))
            solved[(state["phase"], stored.concept, puzzle["id"])] = move == stored.puzzle.solution
            response = client.post(f"/api/p/{token}/answers", json={"puzzle_id": puzzle["id"], "move": move})
        assert response.status_code == 201, response.text
        state = response.json()["state"]
    return solved


def expected_scores(solved: Solved, concept: str) -> tuple[int, int]:
    """Puzzles of ``concept`` solved in phase 1 and in phase 3."""
    def count(phase: int) -> int:
        return sum(v for (ph, c, _), v in solved.items() if c == concept and ph == phase)
    return count(1), count(3)


def test_puzzle_set_round_trip_and_domain_check(tmp_path: Path) -> None:
    root = build_puzzles(tmp_path)
    loaded = load_puzzle_set(root, TicTacToe())
    assert [c.id for c in loaded.concepts] == ["rows", "diagonals"]
    assert loaded.concepts[0].phase1[0] == agent_puzzle(TicTacToe(), MAIN_PHASE1[0])
    raw = json.loads((root / "rows" / "phase1.json").read_text())
    raw[0]["solution_action"] = 0  # an occupied cell
    (root / "rows" / "phase1.json").write_text(json.dumps(raw))
    with pytest.raises(PuzzleSetError, match="solution_action 0 is not legal"):
        load_puzzle_set(root, TicTacToe())
    with pytest.raises(PuzzleSetError, match="does not exist"):
        load_puzzle_set(tmp_path / "nowhere")


def test_database_refuses_another_puzzle_set(tmp_path: Path) -> None:
    domain = TicTacToe()
    first = load_puzzle_set(build_puzzles(tmp_path), domain)
    StudyStore.create(tmp_path / "s.db", first)
    assert StudyStore.create(tmp_path / "s.db", first).domain == "tictactoe"  # same set: reopened
    other = PuzzleSet("tictactoe", first.concepts[:1])
    with pytest.raises(StudyDatabaseError, match="holds another puzzle set"):
        StudyStore.create(tmp_path / "s.db", other)


def test_three_phases_and_the_admin_scores(study: tuple[StudyStore, TestClient]) -> None:
    store, client = study
    rng = np.random.default_rng(7)
    tokens = [new_link(client) for _ in range(3)]
    walks = [walk(client, token, rng) for token in tokens]
    summary = client.get("/api/admin/summary", headers={"Authorization": f"Bearer {ADMIN}"}).json()
    assert [p["finished"] for p in summary["participants"]] == [True] * 3
    for row, solved in zip(summary["participants"], walks, strict=True):
        for arm, concept in (("concepts", "rows"), ("control", "diagonals")):
            s1, s3 = expected_scores(solved, concept)
            scores = row["arms"][arm]
            assert (scores["phase1"]["solved"], scores["phase3"]["solved"]) == (s1, s3)
            assert scores["gain"] == pytest.approx(s3 / 2 - s1 / 2)
            per_concept = next(c for c in row["concepts"] if c["concept"] == concept)
            assert per_concept["gain_puzzles"] == s3 - s1
            assert per_concept["control"] == (arm == "control")
    gains = [p["arms"]["concepts"]["gain"] for p in summary["participants"]]
    assert summary["arms"]["concepts"]["mean_gain"] == pytest.approx(float(np.mean(gains)))
    # 95% Student-t intervals (t(0.975, 2) = 4.3027), per arm and for the paired difference
    assert summary["confidence"] == 0.95
    for arm in ("concepts", "control"):
        values = np.array([p["arms"][arm]["gain"] for p in summary["participants"]])
        half = 4.3027 * values.std(ddof=1) / np.sqrt(3)
        a = summary["arms"][arm]
        assert (a["gain_ci_low"], a["gain_ci_high"]) == pytest.approx((values.mean() - half, values.mean() + half),
                                                                      abs=1e-3)
    paired = np.array([p["arms"]["concepts"]["gain"] - p["arms"]["control"]["gain"] for p in summary["participants"]])
    difference = summary["concepts_minus_control"]
    assert difference["finished"] == 3 and difference["mean"] == pytest.approx(paired.mean())
    half = 4.3027 * paired.std(ddof=1) / np.sqrt(3)
    assert (difference["mean_ci_low"], difference["mean_ci_high"]) == pytest.approx(
        (paired.mean() - half, paired.mean() + half), abs=1e-3)
    for token, solved in zip(tokens, walks, strict=True):  # each participant's own score on the end page
        own = client.get(f"/api/p/{token}").json()["scores"]
        assert own == {str(ph): {"solved": sum(v for (p, _, _), v in solved.items() if p == ph), "total": 4}
                       for ph in (1, 3)}
    assert summary["counts"] == {"participants": 3, "answers": 3 * 8, "reviews": 3 * 4}

    response = client.get(f"/api/admin/scores.csv?token={ADMIN}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3 * (2 + 2)  # per participant: two concepts and two arm rows
    first = [r for r in rows if r["participant"] == str(summary["participants"][0]["id"])]
    s1, s3 = expected_scores(walks[0], "diagonals")
    control_row = next(r for r in first if r["arm"] == "control" and r["concept"] == "diagonals")
    assert (int(control_row["phase1_solved"]), int(control_row["phase3_solved"])) == (s1, s3)
    answers = list(csv.DictReader(io.StringIO(client.get(f"/api/admin/answers.csv?token={ADMIN}").text)))
    assert len(answers) == 24 and {a["phase"] for a in answers} == {"1", "3"}


def test_phase_two_shows_the_agents_move_and_the_participants(study: tuple[StudyStore, TestClient]) -> None:
    store, client = study
    token = new_link(client)
    for _ in range(4):
        puzzle = client.get(f"/api/p/{token}").json()["puzzle"]
        wrong = next(m for m in puzzle["moves"] if m["action"] != store.puzzle(puzzle["id"]).puzzle.solution_action)
        client.post(f"/api/p/{token}/answers", json={"puzzle_id": puzzle["id"], "move": wrong["text"]})
    state = client.get(f"/api/p/{token}").json()
    assert state["phase"] == 2
    shown = store.puzzle(state["puzzle"]["id"]).puzzle
    assert state["puzzle"]["solution"] == shown.solution and state["puzzle"]["your_move"] != shown.solution


def test_bad_input_is_refused_and_nothing_stored(study: tuple[StudyStore, TestClient]) -> None:
    store, client = study
    token = new_link(client)
    puzzle = client.get(f"/api/p/{token}").json()["puzzle"]
    phase3 = store.puzzles(3)[0]
    occupied = next(i for i, ch in enumerate(puzzle["state"]) if ch != ".")
    cases = [
        (f"/api/p/forged{token[6:]}/answers", {"puzzle_id": puzzle["id"], "move": "2"}, 404, "no participant"),
        (f"/api/p/{token}/answers", {"puzzle_id": puzzle["id"], "move": str(occupied)}, 422, f"'{occupied}'"),
        (f"/api/p/{token}/answers", {"puzzle_id": puzzle["id"], "move": "e2e4"}, 422, "'e2e4'"),
        (f"/api/p/{token}/answers", {"puzzle_id": 987654, "move": "2"}, 404, "987654"),
        (f"/api/p/{token}/answers", {"puzzle_id": "x1", "move": "2"}, 422, "'x1'"),
        (f"/api/p/{token}/answers", {"puzzle_id": phase3.id, "move": phase3.puzzle.solution}, 409, "phase 1 is open"),
        (f"/api/p/{token}/reviews", {"puzzle_id": puzzle["id"]}, 409, "phase 1 is open"),
        (f"/api/p/{token}/answers", {"puzzle_id": puzzle["id"], "move": "2", "solved": True}, 422, "solved"),
    ]
    for url, body, status, quoted in cases:
        response = client.post(url, json=body)
        assert response.status_code == status, (url, body, response.text)
        assert quoted in response.json()["error"], response.json()
    assert client.get(f"/api/p/{token}/puzzles/{phase3.id}/moves").status_code == 409
    assert client.get("/p/not-a-token").status_code == 404
    assert client.get("/api/admin/summary").status_code == 401
    assert client.get("/api/admin/summary", headers={"X-Admin-Token": "guess"}).json()["error"] == "wrong admin token"
    assert client.post("/api/admin/participants", json={"count": 5}).status_code == 401
    assert client.get(f"/admin?token={token}").status_code == 401
    assert store.counts() == {"participants": 1, "answers": 0, "reviews": 0}


def test_resubmission_is_idempotent_and_answers_are_final(study: tuple[StudyStore, TestClient]) -> None:
    store, client = study
    token, other = new_link(client), new_link(client)
    puzzle = client.get(f"/api/p/{token}").json()["puzzle"]
    first, second = puzzle["moves"][0]["text"], puzzle["moves"][1]["text"]
    body = {"puzzle_id": puzzle["id"], "move": first}
    assert client.post(f"/api/p/{token}/answers", json=body).status_code == 201
    again = client.post(f"/api/p/{token}/answers", json=body)
    assert again.status_code == 200 and again.json()["stored"] is False
    changed = client.post(f"/api/p/{token}/answers", json={"puzzle_id": puzzle["id"], "move": second})
    assert changed.status_code == 409 and f"{second!r} was not stored" in changed.json()["error"]
    assert store.counts()["answers"] == 1
    # Another participant's link sees none of it.
    assert client.get(f"/api/p/{other}").json()["phases"]["1"]["done"] == 0


def test_answers_survive_a_new_server_on_the_same_database(study: tuple[StudyStore, TestClient], tmp_path: Path) -> None:
    store, client = study
    token = new_link(client)
    puzzle = client.get(f"/api/p/{token}").json()["puzzle"]
    client.post(f"/api/p/{token}/answers", json={"puzzle_id": puzzle["id"], "move": puzzle["moves"][0]["text"]})
    reopened = TestClient(create_app(StudyStore.open(store.path), TicTacToe(), "another"))
    state = reopened.get(f"/api/p/{token}").json()
    assert state["phases"]["1"]["done"] == 1 and state["puzzle"]["id"] != puzzle["id"]


def test_pages_are_self_contained(study: tuple[StudyStore, TestClient]) -> None:
    _, client = study
    token = new_link(client)
    page = client.get(f"/p/{token}")
    assert page.status_code == 200 and "/static/participant.js" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    for html in (page.text, client.get(f"/admin?token={ADMIN}").text):
        assert "http://" not in html and "https://" not in html
    for asset in ("study.css", "participant.js", "admin.js"):
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200 and "https://" not in response.text


def test_cli_create_links_and_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="conceptlab")
    add_study_commands(parser.add_subparsers(dest="command", required=True))
    registry = get_registry()
    db, puzzles = str(tmp_path / "cli.db"), str(build_puzzles(tmp_path))

    def run(*argv: str) -> str:
        args = parser.parse_args(list(argv))
        assert args.func(args, registry) == 0
        return capsys.readouterr().out

    out = run("study", "create", "--puzzles", puzzles, "--db", db, "--participants", "2", "--label", "gm")
    assert "domain 'tictactoe', 1 concepts, 1 controls, 8 puzzles" in out
    links = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("participant")]
    assert len(links) == 2 and all(link.startswith("http://127.0.0.1:8000/p/") for link in links)
    listed = run("study", "links", "--db", db)  # tokens are stored hashed: participants, not links
    assert [line.split(":")[0] for line in listed.splitlines()[:2]] == ["participant 1  gm", "participant 2  gm"]
    assert "/p/" not in listed and "shown once" in listed
    run("study", "links", "--db", db, "--participants", "1", "--base-url", "https://study.example/")
    assert len(StudyStore.open(db).participants()) == 3
    out = run("study", "scores", "--db", db, "--csv", str(tmp_path / "scores.csv"))
    assert "3 participants" in out and "control: 0 finished" in out
    assert (tmp_path / "scores.csv").read_text().startswith("participant,label,phase,arm,concept")
