"""The study's SQLite store: puzzles, participants, answers and phase-2 confirmations.

One database file holds one study: the puzzle set it was created from (copied in,
so that later edits of the puzzles directory cannot change a running study),
its participants and everything they answered.

Durability and integrity:

- WAL journal, ``synchronous=FULL``: an answer is committed before the response
  that acknowledges it, so a server killed between answers loses nothing.
- Participant tokens are stored as their SHA-256 only (a link is shown once,
  when it is made), and the database file is created readable by its owner
  only (0600). A database of schema 1, which held the tokens themselves, is
  migrated the first time it is opened: its tokens are replaced by their
  hashes in one transaction (the links keep working; they can no longer be
  listed).
- Every write is one ``BEGIN IMMEDIATE`` transaction that re-reads the
  participant's progress, so concurrent requests (of one participant or many)
  cannot open a phase early or store an answer twice.
- ``UNIQUE(participant_id, puzzle_id)`` on answers and confirmations: each is
  stored at most once. Resubmitting the same move is idempotent (the stored
  answer comes back, nothing is written); a different move is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from conceptlab.study.errors import (
    AlreadyAnsweredError,
    PhaseClosedError,
    StudyDatabaseError,
    UnknownParticipantError,
    UnknownPuzzleError,
)
from conceptlab.study.puzzles import PuzzleSet
from conceptlab.values import Puzzle

__all__ = [
    "FINISHED",
    "SCHEMA_VERSION",
    "Answer",
    "NewParticipant",
    "Participant",
    "Progress",
    "StoredPuzzle",
    "StudyStore",
    "token_hash",
]

FINISHED = 4
"""The phase number of a participant who has done all three phases."""

SCHEMA_VERSION = "2"
"""Schema 2 stores each participant token's SHA-256 (``token_sha256``); schema 1 stored the token."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS concepts (
    id TEXT PRIMARY KEY, control INTEGER NOT NULL, ord INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS puzzles (
    id INTEGER PRIMARY KEY, concept TEXT NOT NULL REFERENCES concepts(id),
    phase INTEGER NOT NULL CHECK (phase IN (1, 3)), position INTEGER NOT NULL,
    state TEXT NOT NULL, solution TEXT NOT NULL, solution_action INTEGER NOT NULL,
    line TEXT NOT NULL, value REAL NOT NULL, UNIQUE (concept, phase, position));
CREATE TABLE IF NOT EXISTS participants (
    id INTEGER PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, label TEXT NOT NULL,
    seed INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY, participant_id INTEGER NOT NULL REFERENCES participants(id),
    puzzle_id INTEGER NOT NULL REFERENCES puzzles(id), move TEXT NOT NULL,
    action INTEGER NOT NULL, solved INTEGER NOT NULL, answered_at TEXT NOT NULL,
    UNIQUE (participant_id, puzzle_id));
CREATE TABLE IF NOT EXISTS reviews (
    participant_id INTEGER NOT NULL REFERENCES participants(id),
    puzzle_id INTEGER NOT NULL REFERENCES puzzles(id), reviewed_at TEXT NOT NULL,
    PRIMARY KEY (participant_id, puzzle_id));
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def token_hash(token: str) -> str:
    """The hex SHA-256 of a participant token: what the database stores and looks up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Participant:
    """A participant as stored: the database keeps no token, only its hash."""

    id: int
    """Row id, shown on the admin page."""
    label: str
    """A free-text label the admin gave (e.g. a pseudonym); may be empty."""
    seed: int
    """Seed of this participant's puzzle order."""
    created_at: str
    """UTC time the link was made."""


@dataclass(frozen=True)
class NewParticipant(Participant):
    """A participant just made, with the token of their link (shown this once, never stored)."""

    token: str
    """The unguessable token in the participant's link (``/p/<token>``)."""


@dataclass(frozen=True)
class StoredPuzzle:
    """A puzzle as the study stores it: with its id, concept and phase."""

    id: int
    """The puzzle id used in URLs and answers."""
    concept: str
    """The concept's id."""
    control: bool
    """Whether the concept is in the control arm."""
    phase: int
    """1 (also shown in phase 2) or 3."""
    position: int
    """Index within the concept's phase file."""
    puzzle: Puzzle
    """Position, solution and line."""


@dataclass(frozen=True)
class Answer:
    """A participant's stored move for one puzzle."""

    participant_id: int
    """Who answered."""
    puzzle_id: int
    """Which puzzle."""
    move: str
    """The move in the domain's action text (as the domain writes it)."""
    action: int
    """The move's policy index."""
    solved: bool
    """Whether ``action`` equals the agent's move."""
    answered_at: str
    """UTC time the answer was committed."""


@dataclass(frozen=True)
class Progress:
    """Where a participant stands: the open phase, the puzzle order, what is done."""

    phase: int
    """The open phase (1, 2 or 3), or :data:`FINISHED`."""
    order: Mapping[int, tuple[int, ...]]
    """Puzzle ids per phase (1 and 3) in this participant's order; phase 2 uses phase 1's."""
    answers: Mapping[int, Answer]
    """Stored answers by puzzle id."""
    reviewed: frozenset[int]
    """Phase-1 puzzle ids confirmed in phase 2."""

    @property
    def finished(self) -> bool:
        """Whether all three phases are done."""
        return self.phase == FINISHED

    def done_in(self, phase: int) -> int:
        """How many puzzles of ``phase`` (1, 2 or 3) are answered or confirmed."""
        if phase == 2:
            return len(self.reviewed)
        return sum(1 for pid in self.order[phase] if pid in self.answers)

    def next_puzzle(self) -> int | None:
        """The first puzzle id of the open phase not yet answered or confirmed; ``None`` when finished."""
        if self.phase == 2:
            return next(pid for pid in self.order[1] if pid not in self.reviewed)
        if self.phase in (1, 3):
            return next(pid for pid in self.order[self.phase] if pid not in self.answers)
        return None


class StudyStore:
    """A study database file; open with :meth:`create` (from a puzzle set) or :meth:`open`.

    Each method opens its own connection, so one store serves many threads.
    """

    def __init__(self, path: str | Path) -> None:
        """Use the study in ``path``; prefer :meth:`create` and :meth:`open`, which check it."""
        self.path = Path(path)
        self.domain = ""
        self.domain_params: dict[str, Any] = {}
        self._puzzles: dict[int, StoredPuzzle] = {}

    # -- opening ---------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, puzzle_set: PuzzleSet, source: str = "") -> StudyStore:
        """Create the study in ``path`` from ``puzzle_set``, or open it if it holds that same set.

        Raises:
            StudyDatabaseError: ``path`` holds a study of other puzzles, or is not a study database.
        """
        store = cls(path)
        store.path.parent.mkdir(parents=True, exist_ok=True)
        fingerprint = puzzle_set.fingerprint()
        try:
            os.close(os.open(store.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise StudyDatabaseError(f"cannot create the study database {str(store.path)!r}: {exc}") from None
        try:
            conn = store._connect()
            try:
                conn.execute("PRAGMA journal_mode = WAL")  # persistent; outside any transaction
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise StudyDatabaseError(f"{str(store.path)!r} is not a study database: {exc}") from None
        with store._write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if meta and meta.get("fingerprint") != fingerprint:
                raise StudyDatabaseError(
                    f"study database {str(store.path)!r} holds another puzzle set "
                    f"(from {meta.get('source', '?')!r}); use a new --db file for this one"
                )
            if not meta:
                store._insert_puzzles(conn, puzzle_set, fingerprint, source)
        store._migrate()
        store._load()
        return store

    @classmethod
    def open(cls, path: str | Path) -> StudyStore:
        """Open the existing study in ``path``.

        Raises:
            StudyDatabaseError: no study there.
        """
        store = cls(path)
        if not store.path.is_file():
            raise StudyDatabaseError(
                f"study database {str(store.path)!r} does not exist; create it with "
                "`conceptlab study create --puzzles DIR --db FILE`"
            )
        store._migrate()
        store._load()
        return store

    def _migrate(self) -> None:
        """Bring a schema-1 database (tokens in plain text) to schema 2 and make the file owner-only."""
        try:
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, 0o600)
        except OSError:
            pass  # not ours to change; reading it still works
        try:
            with self._write() as conn:
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                if meta.get("schema", SCHEMA_VERSION) == SCHEMA_VERSION:
                    return
                if meta["schema"] != "1":
                    raise StudyDatabaseError(
                        f"study database {str(self.path)!r} has schema {meta['schema']!r}; "
                        f"this version reads schemas 1 and {SCHEMA_VERSION}"
                    )
                conn.create_function("token_sha256", 1, token_hash, deterministic=True)
                conn.execute("ALTER TABLE participants RENAME COLUMN token TO token_sha256")
                conn.execute("UPDATE participants SET token_sha256 = token_sha256(token_sha256)")
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError as exc:
            raise StudyDatabaseError(f"{str(self.path)!r} is not a study database: {exc}") from None

    def _insert_puzzles(
        self, conn: sqlite3.Connection, puzzle_set: PuzzleSet, fingerprint: str, source: str
    ) -> None:
        meta = {"domain": puzzle_set.domain, "fingerprint": fingerprint, "source": source,
                "domain_params": json.dumps(dict(puzzle_set.domain_params), sort_keys=True),
                "created_at": _now(), "schema": SCHEMA_VERSION}
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
        conn.executemany(
            "INSERT INTO concepts (id, control, ord) VALUES (?, ?, ?)",
            [(c.id, int(c.control), i) for i, c in enumerate(puzzle_set.concepts)],
        )
        conn.executemany(
            "INSERT INTO puzzles (concept, phase, position, state, solution, solution_action, line, value)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (c.id, phase, pos, p.state, p.solution, p.solution_action, json.dumps(list(p.line)), p.value)
                for c, phase, pos, p in puzzle_set.items()
            ],
        )

    def _load(self) -> None:
        try:
            with self._read() as conn:
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                rows = conn.execute(
                    "SELECT p.id, p.concept, c.control, p.phase, p.position, p.state, p.solution,"
                    " p.solution_action, p.line, p.value FROM puzzles p JOIN concepts c"
                    " ON c.id = p.concept ORDER BY c.ord, p.phase, p.position"
                ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StudyDatabaseError(f"{str(self.path)!r} is not a study database: {exc}") from None
        if "domain" not in meta or not rows:
            raise StudyDatabaseError(f"{str(self.path)!r} holds no study")
        self.domain = meta["domain"]
        self.domain_params = json.loads(meta.get("domain_params", "{}"))
        self._puzzles = {
            r[0]: StoredPuzzle(r[0], r[1], bool(r[2]), r[3], r[4],
                               Puzzle(r[5], r[6], r[7], tuple(json.loads(r[8])), r[9]))
            for r in rows
        }

    # -- connections -----------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            yield conn
            conn.execute("COMMIT")
        finally:
            conn.close()

    # -- puzzles and participants ----------------------------------------------
    def puzzles(self, phase: int | None = None) -> list[StoredPuzzle]:
        """The study's puzzles (of ``phase`` 1 or 3 if given), in concept order."""
        return [p for p in self._puzzles.values() if phase is None or p.phase == phase]

    def puzzle(self, puzzle_id: int) -> StoredPuzzle:
        """The puzzle with this id; raises :class:`UnknownPuzzleError`."""
        try:
            return self._puzzles[puzzle_id]
        except KeyError:
            raise UnknownPuzzleError(f"no puzzle with id {puzzle_id!r} in this study") from None

    def concepts(self) -> list[tuple[str, bool]]:
        """``(concept id, control)`` in index order."""
        seen: dict[str, bool] = {}
        for p in self._puzzles.values():
            seen.setdefault(p.concept, p.control)
        return list(seen.items())

    def add_participants(self, count: int, label: str = "") -> list[NewParticipant]:
        """Make ``count`` participants, each with a fresh unguessable token (returned, stored hashed)."""
        if count < 1:
            raise StudyDatabaseError(f"number of participants must be at least 1, got {count!r}")
        made = []
        with self._write() as conn:
            for _ in range(count):
                token, seed, created = secrets.token_urlsafe(24), secrets.randbits(31), _now()
                cur = conn.execute(
                    "INSERT INTO participants (token_sha256, label, seed, created_at) VALUES (?, ?, ?, ?)",
                    (token_hash(token), label, seed, created),
                )
                made.append(NewParticipant(int(cur.lastrowid or 0), label, seed, created, token))
        return made

    def participants(self) -> list[Participant]:
        """Every participant, oldest first (without tokens: the database holds their hashes only)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, label, seed, created_at FROM participants ORDER BY id"
            ).fetchall()
        return [Participant(*r) for r in rows]

    def participant(self, token: str) -> Participant:
        """The participant holding ``token``; raises :class:`UnknownParticipantError`."""
        with self._read() as conn:
            return self._participant(conn, token)

    @staticmethod
    def _participant(conn: sqlite3.Connection, token: str) -> Participant:
        row = conn.execute(
            "SELECT id, label, seed, created_at FROM participants WHERE token_sha256 = ?", (token_hash(token),)
        ).fetchone()
        if row is None:
            shown = token if len(token) <= 64 else f"{token[:64]}..."
            raise UnknownParticipantError(f"no participant has the link token {shown!r}")
        return Participant(*row)

    # -- progress, answers, confirmations ----------------------------------------
    def progress(self, participant: Participant) -> Progress:
        """Where ``participant`` stands now."""
        with self._read() as conn:
            return self._progress(conn, participant)

    def _progress(self, conn: sqlite3.Connection, participant: Participant) -> Progress:
        order: dict[int, tuple[int, ...]] = {}
        for phase in (1, 3):
            ids = [p.id for p in self.puzzles(phase)]
            random.Random(f"{participant.seed}:{phase}").shuffle(ids)
            order[phase] = tuple(ids)
        answers = {
            r[1]: Answer(r[0], r[1], r[2], r[3], bool(r[4]), r[5])
            for r in conn.execute(
                "SELECT participant_id, puzzle_id, move, action, solved, answered_at FROM answers"
                " WHERE participant_id = ?", (participant.id,),
            )
        }
        reviewed = frozenset(
            r[0] for r in conn.execute(
                "SELECT puzzle_id FROM reviews WHERE participant_id = ?", (participant.id,)
            )
        )
        partial = Progress(1, order, answers, reviewed)
        if partial.done_in(1) < len(order[1]):
            phase = 1
        elif len(reviewed) < len(order[1]):
            phase = 2
        elif partial.done_in(3) < len(order[3]):
            phase = 3
        else:
            phase = FINISHED
        return Progress(phase, order, answers, reviewed)

    @staticmethod
    def refuse_phase(puzzle: StoredPuzzle, progress: Progress, doing: str) -> PhaseClosedError:
        """The error for ``doing`` something with a puzzle of a phase that is not open (no position in it)."""
        now = "all phases are done" if progress.finished else f"phase {progress.phase} is open"
        return PhaseClosedError(
            f"cannot {doing} puzzle {puzzle.id} (phase {puzzle.phase}) now: {now}"
        )

    def record_answer(self, token: str, puzzle_id: int, move: str, action: int) -> tuple[Answer, bool]:
        """Store a participant's move; returns ``(answer, stored)``.

        ``stored`` is False when the same move was already stored (an idempotent
        resubmission). The move's legality is the caller's to check first.

        Raises:
            UnknownParticipantError, UnknownPuzzleError: bad token or puzzle id.
            AlreadyAnsweredError: a different move was stored for this puzzle.
            PhaseClosedError: the puzzle's phase is not open for this participant.
        """
        puzzle = self.puzzle(puzzle_id)
        with self._write() as conn:
            participant = self._participant(conn, token)
            progress = self._progress(conn, participant)
            existing = progress.answers.get(puzzle_id)
            if existing is not None:
                if existing.action == action:
                    return existing, False
                raise AlreadyAnsweredError(
                    f"puzzle {puzzle_id} was already answered with {existing.move!r}; "
                    f"answers are final, {move!r} was not stored"
                )
            if puzzle.phase != progress.phase:
                raise self.refuse_phase(puzzle, progress, "answer")
            answer = Answer(participant.id, puzzle_id, move, action,
                            action == puzzle.puzzle.solution_action, _now())
            conn.execute(
                "INSERT INTO answers (participant_id, puzzle_id, move, action, solved, answered_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (answer.participant_id, puzzle_id, move, action, int(answer.solved), answer.answered_at),
            )
        return answer, True

    def record_review(self, token: str, puzzle_id: int) -> bool:
        """Store that the participant has studied a phase-1 puzzle's solution in phase 2.

        Returns False when it was already stored (idempotent).

        Raises:
            UnknownParticipantError, UnknownPuzzleError, PhaseClosedError.
        """
        puzzle = self.puzzle(puzzle_id)
        with self._write() as conn:
            participant = self._participant(conn, token)
            progress = self._progress(conn, participant)
            if puzzle_id in progress.reviewed:
                return False
            if progress.phase != 2 or puzzle.phase != 1:
                raise self.refuse_phase(puzzle, progress, "confirm the solution of")
            conn.execute(
                "INSERT INTO reviews (participant_id, puzzle_id, reviewed_at) VALUES (?, ?, ?)",
                (participant.id, puzzle_id, _now()),
            )
        return True

    def answers(self) -> list[Answer]:
        """Every stored answer, in the order they were committed."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT participant_id, puzzle_id, move, action, solved, answered_at FROM answers ORDER BY id"
            ).fetchall()
        return [Answer(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows]

    def counts(self) -> dict[str, int]:
        """Row counts of participants, answers and reviews (for checks and the admin page)."""
        with self._read() as conn:
            return {
                table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in ("participants", "answers", "reviews")
            }

    def order_of(self, progress: Progress, phase: int) -> Sequence[StoredPuzzle]:
        """The puzzles of ``phase`` (1 or 3) in the participant's order."""
        return [self._puzzles[pid] for pid in progress.order[phase]]
