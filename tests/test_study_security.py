"""The study's defences: bounded request bodies, short error quotes, hidden positions, hashed tokens."""

from __future__ import annotations

import socket
import sqlite3
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
with warnings.catch_warnings():  # starlette's notice about its test client's HTTP library
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from conceptlab.study import StudyStore, load_puzzle_set  # noqa: E402
from conceptlab.study.app import MAX_BODY_BYTES, MAX_QUOTED_CHARS, create_app  # noqa: E402
from conceptlab.study.errors import StudyDatabaseError  # noqa: E402
from conceptlab.study.store import SCHEMA_VERSION, token_hash  # noqa: E402
from conceptlab.testing.harness import serve_app  # noqa: E402
from conceptlab.testing.tictactoe import TicTacToe  # noqa: E402

from test_study_app import ADMIN, build_puzzles, new_link  # noqa: E402


@pytest.fixture()
def study(tmp_path: Path) -> tuple[StudyStore, TestClient]:
    domain = TicTacToe()
    store = StudyStore.create(tmp_path / "study.db", load_puzzle_set(build_puzzles(tmp_path), domain))
    return store, TestClient(create_app(store, domain, ADMIN))


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, StudyStore]]:
    domain = TicTacToe()
    store = StudyStore.create(tmp_path / "study.db", load_puzzle_set(build_puzzles(tmp_path), domain))
    with serve_app(create_app(store, domain, ADMIN)) as base:
        yield base, store


# -- request bodies ---------------------------------------------------------------------

def test_an_oversized_body_gets_413_on_every_route_before_any_token_is_checked(
    study: tuple[StudyStore, TestClient],
) -> None:
    store, client = study
    token = new_link(client)
    big = b'{"puzzle_id": 1, "move": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    for url in (f"/api/p/{token}/answers", "/api/p/no-such-token/answers", "/api/admin/participants",
                f"/api/p/{token}/reviews"):
        response = client.post(url, content=big, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, (url, response.text)
        assert response.json()["kind"] == "RequestTooLargeError"
        assert f"the limit is {MAX_BODY_BYTES} bytes" in response.json()["error"]
        assert len(response.content) < 300
    assert store.counts() == {"participants": 1, "answers": 0, "reviews": 0}


def test_a_chunked_oversized_body_is_refused_without_being_read_whole(served: tuple[str, StudyStore]) -> None:
    base, store = served
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(1000):  # 64 MB offered, 64 KB at a time
            sent.append(1)
            yield b" " * 65536

    with httpx.Client(base_url=base, timeout=30) as client:
        try:
            response = client.post("/api/admin/participants", content=chunks(),
                                   headers={"Content-Type": "application/json"})
        except httpx.TransportError:  # the server may close the connection while the client still writes
            response = None
    if response is not None:
        assert response.status_code == 413 and response.json()["kind"] == "RequestTooLargeError"
    assert len(sent) < 1000, "the whole 64 MB body was sent"
    assert store.counts()["participants"] == 0


def test_a_declared_length_over_the_limit_is_refused_unread(served: tuple[str, StudyStore]) -> None:
    host, port = base_address(served[0])
    with socket.create_connection((host, port), timeout=30) as sock:
        # 50 MB announced, 2 bytes sent: the answer comes without the server waiting for the rest
        sock.sendall(b"POST /api/p/unknown/answers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 50000000\r\n\r\n{}")
        reply = b""
        while b"}" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b"request body of 50000000 bytes refused" in reply


def base_address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").rstrip("/").split(":")
    return host, int(port)


def test_validation_messages_quote_a_bounded_part_of_the_input(study: tuple[StudyStore, TestClient]) -> None:
    _, client = study
    token = new_link(client)
    long_id = "9" * 3000
    response = client.post(f"/api/p/{token}/answers", content=f'{{"puzzle_id": "x{long_id}", "move": "1"}}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    message = response.json()["error"]
    assert "'x999" in message and "(3003 characters)" in message
    assert len(message) < 2 * MAX_QUOTED_CHARS + 200


def test_admin_routes_check_the_token_before_the_body(study: tuple[StudyStore, TestClient]) -> None:
    _, client = study
    response = client.post("/api/admin/participants", json={"count": "not a number", "extra": 1})
    assert response.status_code == 401 and response.json()["kind"] == "AdminAuthError"


# -- positions of phases not reached ----------------------------------------------------

def test_no_error_in_phase_1_quotes_a_phase_3_position(study: tuple[StudyStore, TestClient]) -> None:
    store, client = study
    token = new_link(client)
    for hidden in store.puzzles(3):
        for move in ("Qxx9", "", "0", hidden.puzzle.solution):
            response = client.post(f"/api/p/{token}/answers", json={"puzzle_id": hidden.id, "move": move or " "})
            body = response.text
            assert response.status_code == 409, body
            assert hidden.puzzle.state not in body and f"puzzle {hidden.id} (phase 3)" in body
        moves = client.get(f"/api/p/{token}/puzzles/{hidden.id}/moves")
        assert moves.status_code == 409 and hidden.puzzle.state not in moves.text
    # the open phase's puzzle may be quoted: the participant is looking at it
    shown = client.get(f"/api/p/{token}").json()["puzzle"]
    refused = client.post(f"/api/p/{token}/answers", json={"puzzle_id": shown["id"], "move": "Qxx9"})
    assert refused.status_code == 422 and "'Qxx9'" in refused.json()["error"]
    assert store.counts()["answers"] == 0


def test_a_retry_of_an_answer_from_a_closed_phase_is_still_idempotent(study: tuple[StudyStore, TestClient]) -> None:
    store, client = study
    token = new_link(client)
    last = None
    for _ in store.puzzles(1):
        puzzle = client.get(f"/api/p/{token}").json()["puzzle"]
        last = {"puzzle_id": puzzle["id"], "move": puzzle["moves"][0]["text"]}
        assert client.post(f"/api/p/{token}/answers", json=last).status_code == 201
    assert client.get(f"/api/p/{token}").json()["phase"] == 2
    retry = client.post(f"/api/p/{token}/answers", json=last)
    assert retry.status_code == 200 and retry.json()["stored"] is False


# -- tokens and the database file -------------------------------------------------------

def test_tokens_are_stored_hashed_in_an_owner_only_file(study: tuple[StudyStore, TestClient]) -> None:
    store, client = study
    token = new_link(client)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob(f"{store.path.name}*"))
    assert token.encode() not in raw
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT token_sha256 FROM participants").fetchall() == [(token_hash(token),)]
    assert client.get(f"/api/p/{token}").status_code == 200
    assert client.get(f"/api/p/{token_hash(token)}").status_code == 404  # the hash is no credential


def _downgrade_to_schema_1(path: Path, tokens: dict[int, str]) -> None:
    """Rewrite a database the way schema 1 stored it: tokens in plain text, a world-readable file."""
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE participants RENAME COLUMN token_sha256 TO token")
        for pid, token in tokens.items():
            conn.execute("UPDATE participants SET token = ? WHERE id = ?", (token, pid))
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    path.chmod(0o644)


def test_a_schema_1_database_is_migrated_and_its_links_keep_working(study: tuple[StudyStore, TestClient]) -> None:
    store, client = study
    tokens = {p.id: p.token for p in store.add_participants(2, "old")}
    first = next(iter(tokens.values()))
    puzzle = client.get(f"/api/p/{first}").json()["puzzle"]
    client.post(f"/api/p/{first}/answers", json={"puzzle_id": puzzle["id"], "move": puzzle["moves"][0]["text"]})
    _downgrade_to_schema_1(store.path, tokens)

    reopened = StudyStore.open(store.path)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    with sqlite3.connect(store.path) as conn:
        assert dict(conn.execute("SELECT key, value FROM meta"))["schema"] == SCHEMA_VERSION
        stored = dict(conn.execute("SELECT id, token_sha256 FROM participants"))
    assert stored == {pid: token_hash(token) for pid, token in tokens.items()}
    migrated = TestClient(create_app(reopened, TicTacToe(), ADMIN))
    assert migrated.get(f"/api/p/{first}").json()["phases"]["1"]["done"] == 1
    assert StudyStore.open(store.path).counts()["participants"] == 2  # a second open changes nothing


def test_a_database_of_an_unknown_schema_is_refused_by_name(study: tuple[StudyStore, TestClient]) -> None:
    store, _ = study
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema'")
    with pytest.raises(StudyDatabaseError, match=r"has schema '7'; this version reads schemas 1 and 2"):
        StudyStore.open(store.path)


def test_new_links_come_back_once_and_the_summary_holds_no_token(study: tuple[StudyStore, TestClient]) -> None:
    _, client = study
    token = new_link(client)
    summary = client.get("/api/admin/summary", headers={"X-Admin-Token": ADMIN})
    assert summary.status_code == 200 and token not in summary.text and "link" not in summary.json()["participants"][0]
