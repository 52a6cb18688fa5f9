"""The study web app: participant pages and API, admin page and API (FastAPI).

Participants reach everything through their link ``/p/<token>``; the token is
the only credential and gives access to that participant's puzzles and answers
only. Admin routes need the admin token, as ``Authorization: Bearer <token>``,
an ``X-Admin-Token`` header, or a ``token`` query parameter (for links the
browser follows: the admin page and the CSV downloads).

Every error is JSON ``{"error": <message>, "kind": <error class>}``. Moves are
checked against the domain's legal moves on the server; the domain is built
from the study's stored domain name and params, so the app never names a game.

Request bodies larger than :data:`MAX_BODY_BYTES` are refused with 413 before
they are read whole (:class:`BodyLimit`), on every route, before any token is
looked at; validation messages quote at most :data:`MAX_QUOTED_CHARS` of an
input. No error about a puzzle of a phase the participant has not reached
quotes its position.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from conceptlab.errors import InvalidActionError
from conceptlab.interfaces.domain import Domain
from conceptlab.study import pages
from conceptlab.study.errors import (
    AdminAuthError,
    IllegalMoveError,
    PhaseClosedError,
    RequestTooLargeError,
    StudyError,
    UnknownAssetError,
)
from conceptlab.study.scoring import answers_csv, score_study, scores_csv, summary_json
from conceptlab.study.store import FINISHED, Progress, StoredPuzzle, StudyStore

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_QUOTED_CHARS",
    "AnswerRequest",
    "BodyLimit",
    "ParticipantsRequest",
    "ReviewRequest",
    "create_app",
]

MAX_BODY_BYTES = 4096
"""The largest request body the app reads; the largest valid one is a few hundred bytes."""
MAX_QUOTED_CHARS = 80
"""How much of a bad input an error message quotes."""

AuthHeader = Annotated[str | None, Header()]
"""An optional request header carrying the admin token."""
TokenQuery = Annotated[str | None, Query()]
"""The optional ``token`` query parameter carrying the admin token."""

SOLUTION_COLOUR = "green"
"""Arrows of the agent's moves for the side to move in the puzzle."""
REPLY_COLOUR = "blue"
"""Arrows of the replies the agent's line expects from the other side."""
ANSWER_COLOUR = "red"
"""The arrow of the participant's own phase-1 move, when it is not the agent's."""
LEGEND: tuple[tuple[str, str], ...] = (
    (SOLUTION_COLOUR, "the agent's move for the side to move in the puzzle"),
    (ANSWER_COLOUR, "your phase-1 move, when it was not the agent's (first step only)"),
    (REPLY_COLOUR, "the reply the agent's line expects from the other side"),
)
"""Phase 2's legend: each arrow colour and what it shows."""
ASSET_TYPES: dict[str, str] = {
    ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json",
}
"""Media types of the domain's files by suffix; other files are served as ``application/octet-stream``."""
BOARD_ADAPTER = "board.js"
"""The domain file that is its client-side board (:meth:`Domain.study_assets`)."""
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}


class AnswerRequest(BaseModel):
    """A participant's move for a puzzle of phase 1 or 3."""

    model_config = ConfigDict(extra="forbid")

    puzzle_id: int = Field(description="The puzzle's id, as the puzzle view gives it.")
    move: str = Field(min_length=1, max_length=64, description="The move in the domain's action text.")


class ReviewRequest(BaseModel):
    """A participant's confirmation, in phase 2, of having studied a puzzle's solution."""

    model_config = ConfigDict(extra="forbid")

    puzzle_id: int = Field(description="The phase-1 puzzle's id.")


class ParticipantsRequest(BaseModel):
    """The admin's request for new participant links."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=1, le=1000, description="How many links to make.")
    label: str = Field(default="", max_length=200, description="A label for the admin page.")


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": message, "kind": kind}, status_code=status)


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTED_CHARS else f"{text[:MAX_QUOTED_CHARS]}... ({len(text)} characters)"


class BodyLimit:
    """ASGI middleware: answer 413 to a request whose body exceeds ``limit`` bytes, unread.

    A declared ``Content-Length`` over the limit is refused before any of the body
    is read; a body without one (chunked) is read up to the limit and refused as
    soon as it passes it. Bodies within the limit are handed on unchanged.
    """

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Any, what: str) -> None:
        error = RequestTooLargeError(f"request body of {what} refused: the limit is {self.limit} bytes")
        response = _error(error.status, str(error), type(error).__name__)
        response.headers["Connection"] = "close"
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None:
            size = declared.decode("latin-1").strip()
            if not size.isdigit() or int(size) > self.limit:
                await self._refuse(send, f"{size} bytes" if size.isdigit() else f"{size[:20]!r} bytes")
                return
        buffered, total, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                buffered.append(message)
                break
            total += len(message.get("body", b""))
            if total > self.limit:
                await self._refuse(send, f"more than {self.limit} bytes")
                return
            buffered.append(message)
            more = bool(message.get("more_body", False))

        async def replay() -> Any:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


class _Study:
    """The request handlers' shared state: the store, the domain and the admin token."""

    def __init__(self, store: StudyStore, domain: Domain[Any], admin_token: str) -> None:
        self.store = store
        self.domain = domain
        self.admin_token = admin_token
        self.assets = dict(domain.study_assets())

    def check_admin(self, *candidates: str | None) -> None:
        for given in candidates:
            if given:
                token = given.removeprefix("Bearer ").strip()
                if secrets.compare_digest(token.encode(), self.admin_token.encode()):
                    return
                raise AdminAuthError("wrong admin token")
        raise AdminAuthError(
            "admin token required (Authorization: Bearer <token>, X-Admin-Token, or ?token=)"
        )

    # -- participant views -------------------------------------------------------
    def moves(self, puzzle: StoredPuzzle) -> list[dict[str, Any]]:
        state = self.domain.from_text(puzzle.puzzle.state)
        moves = [
            {"text": self.domain.action_to_text(state, a), "name": self.domain.action_name(state, a),
             "action": int(a)}
            for a in self.domain.legal_actions(state)
        ]
        return sorted(moves, key=lambda m: (m["name"], m["text"]))

    def line_steps(self, puzzle: StoredPuzzle, state: Any, answer_action: int | None) -> list[dict[str, Any]]:
        """Phase 2's line, one step per position: the puzzle, then the position after each ply.

        Every board is drawn for the puzzle's side to move. Each step's arrow is
        the line's next move (the agent's side in :data:`SOLUTION_COLOUR`, the
        other side's replies in :data:`REPLY_COLOUR`); the first step also draws
        the participant's own move when it differs. A line that stops being
        legal (it should not) ends at its last legal ply.
        """
        player = self.domain.current_player(state)
        actions = []
        here = state
        for text in puzzle.puzzle.line:
            if self.domain.is_terminal(here):
                break
            try:
                action = self.domain.action_from_text(here, text)
            except InvalidActionError:
                break
            if action not in self.domain.legal_actions(here):
                break
            actions.append((here, action))
            here = self.domain.apply(here, action)
        final = here
        steps = []
        for ply in range(len(actions) + 1):
            here = actions[ply][0] if ply < len(actions) else final
            arrows = []
            name = None
            if ply < len(actions):
                action = actions[ply][1]
                mover = self.domain.current_player(here)
                arrows.append((action, SOLUTION_COLOUR if mover == player else REPLY_COLOUR))
                name = self.domain.action_name(here, action)
            if ply == 0 and answer_action is not None and answer_action != puzzle.puzzle.solution_action:
                arrows.append((answer_action, ANSWER_COLOUR))
            steps.append({
                "ply": ply,
                "svg": self.domain.render_player_svg(here, player, arrows=arrows),
                "played": self.domain.last_action_name(here) if ply else None,
                "next": name,
            })
        for ply in range(1, len(steps)):  # domains that cannot name a last move: the move's own name
            if steps[ply]["played"] is None:
                steps[ply]["played"] = steps[ply - 1]["next"]
        return steps

    def puzzle_view(self, puzzle: StoredPuzzle, progress: Progress) -> dict[str, Any]:
        phase = progress.phase
        order = progress.order[1 if phase == 2 else phase]
        state = self.domain.from_text(puzzle.puzzle.state)
        player = self.domain.current_player(state)
        view: dict[str, Any] = {
            "id": puzzle.id,
            "phase": phase,
            "number": order.index(puzzle.id) + 1,
            "total": len(order),
            "state": puzzle.puzzle.state,
            "to_move": self.domain.player_name(player),
            "last_move": self.domain.last_action_name(state),
        }
        if phase == 2:
            answer = progress.answers.get(puzzle.id)
            arrows = [(puzzle.puzzle.solution_action, SOLUTION_COLOUR)]
            if answer is not None and answer.action != puzzle.puzzle.solution_action:
                arrows.append((answer.action, ANSWER_COLOUR))
            steps = self.line_steps(puzzle, state, answer.action if answer else None)
            view.update(
                svg=self.domain.render_player_svg(state, player, arrows=arrows),
                solution=puzzle.puzzle.solution,
                solution_name=self.domain.action_name(state, puzzle.puzzle.solution_action),
                line=list(puzzle.puzzle.line),
                line_names=[step["played"] for step in steps[1:]],
                steps=steps,
                legend=[{"colour": colour, "meaning": meaning} for colour, meaning in LEGEND],
                your_move=answer.move if answer else None,
                your_move_name=self.domain.action_name(state, answer.action) if answer else None,
            )
        else:
            view.update(svg=self.domain.render_player_svg(state, player), moves=self.moves(puzzle))
            board = self.domain.study_board(state, player) if BOARD_ADAPTER in self.assets else None
            if board is not None:
                view["board"] = dict(board)
        return view

    def own_scores(self, progress: Progress) -> dict[str, dict[str, int]]:
        """The participant's solved and total puzzles of phases 1 and 3 (all concepts together)."""
        return {
            str(ph): {
                "solved": sum(1 for pid in progress.order[ph]
                              if pid in progress.answers and progress.answers[pid].solved),
                "total": len(progress.order[ph]),
            }
            for ph in (1, 3)
        }

    def participant_state(self, token: str) -> dict[str, Any]:
        participant = self.store.participant(token)
        progress = self.store.progress(participant)
        following = progress.next_puzzle()
        return {
            "phase": progress.phase,
            "finished": progress.phase == FINISHED,
            "phases": {
                str(ph): {"done": progress.done_in(ph), "total": len(progress.order[1 if ph == 2 else ph])}
                for ph in (1, 2, 3)
            },
            "puzzle": None if following is None else self.puzzle_view(self.store.puzzle(following), progress),
            "scores": self.own_scores(progress) if progress.finished else None,
        }

    def open_puzzle(self, token: str, puzzle_id: int) -> StoredPuzzle:
        """The puzzle, if it is one the participant may choose a move for now."""
        participant = self.store.participant(token)
        puzzle = self.store.puzzle(puzzle_id)
        progress = self.store.progress(participant)
        if puzzle.phase != progress.phase:
            now = "all phases are done" if progress.finished else f"phase {progress.phase} is open"
            raise PhaseClosedError(f"puzzle {puzzle_id} (phase {puzzle.phase}) is not open: {now}")
        return puzzle

    def answer(self, token: str, request: AnswerRequest) -> tuple[bool, dict[str, Any]]:
        participant = self.store.participant(token)
        puzzle = self.store.puzzle(request.puzzle_id)
        progress = self.store.progress(participant)
        if puzzle.id not in progress.answers and puzzle.phase != progress.phase:
            # before the move is read: its errors quote the position, which this phase must not show
            raise self.store.refuse_phase(puzzle, progress, "answer")
        # the participant sees this puzzle's position now (or did), so the domain's message may quote it
        state = self.domain.from_text(puzzle.puzzle.state)
        try:
            action = self.domain.action_from_text(state, request.move)
        except InvalidActionError as exc:
            raise IllegalMoveError(f"move {request.move!r} refused for puzzle {puzzle.id}: {exc}") from None
        if action not in self.domain.legal_actions(state):
            raise IllegalMoveError(f"move {request.move!r} is not legal in puzzle {puzzle.id}")
        move = self.domain.action_to_text(state, action)
        answer, stored = self.store.record_answer(token, puzzle.id, move, int(action))
        return stored, {"stored": stored, "puzzle_id": puzzle.id, "move": answer.move,
                        "state": self.participant_state(token)}


def create_app(store: StudyStore, domain: Domain[Any], admin_token: str) -> FastAPI:
    """The study app over ``store``, checking moves with ``domain``, guarded by ``admin_token``."""
    if not admin_token:
        raise AdminAuthError("the admin token must not be empty")
    study = _Study(store, domain, admin_token)
    app = FastAPI(title="conceptlab study", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.study = study
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(StudyError)
    async def study_error(request: Request, exc: StudyError) -> JSONResponse:
        return _error(exc.status, str(exc), type(exc).__name__)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')} (got {_quoted(e.get('input'))})"
            for e in exc.errors()[:5]
        )
        return _error(422, f"invalid request: {problems}", "RequestValidationError")

    # -- pages and assets --------------------------------------------------------
    @app.get("/", response_class=PlainTextResponse)
    def home() -> str:
        return "conceptlab study: participants open their own link; the admin page is /admin?token=...\n"

    @app.get("/static/study.css")
    def css() -> Response:
        return Response(pages.STYLE, media_type="text/css")

    @app.get("/static/participant.js")
    def participant_js() -> Response:
        return Response(pages.PARTICIPANT_JS, media_type="text/javascript")

    @app.get("/static/admin.js")
    def admin_js() -> Response:
        return Response(pages.ADMIN_JS, media_type="text/javascript")

    @app.get("/static/domain/{path:path}")
    def domain_asset(path: str) -> Response:
        content = study.assets.get(path)
        if content is None:
            raise UnknownAssetError(f"no file {_quoted(path)} among the domain's files")
        suffix = path[path.rfind("."):] if "." in path else ""
        return Response(content, media_type=ASSET_TYPES.get(suffix, "application/octet-stream"))

    @app.get("/p/{token}", response_class=HTMLResponse)
    def participant_page(token: str) -> str:
        study.store.participant(token)
        return pages.PARTICIPANT_HTML

    @app.get("/admin", response_class=HTMLResponse)
    def admin_page(token: Annotated[str | None, Query()] = None) -> str:
        study.check_admin(token)
        return pages.ADMIN_HTML

    # -- participant API -----------------------------------------------------------
    @app.get("/api/p/{token}")
    def participant_state(token: str) -> dict[str, Any]:
        return study.participant_state(token)

    @app.get("/api/p/{token}/puzzles/{puzzle_id}/moves")
    def legal_moves(token: str, puzzle_id: int) -> dict[str, Any]:
        puzzle = study.open_puzzle(token, puzzle_id)
        return {"puzzle_id": puzzle.id, "moves": study.moves(puzzle)}

    @app.post("/api/p/{token}/answers")
    def answer(token: str, request: AnswerRequest) -> JSONResponse:
        stored, body = study.answer(token, request)
        return JSONResponse(body, status_code=201 if stored else 200)

    @app.post("/api/p/{token}/reviews")
    def review(token: str, request: ReviewRequest) -> JSONResponse:
        stored = study.store.record_review(token, request.puzzle_id)
        body = {"stored": stored, "puzzle_id": request.puzzle_id, "state": study.participant_state(token)}
        return JSONResponse(body, status_code=201 if stored else 200)

    # -- admin API -------------------------------------------------------------------
    def admin(authorization: AuthHeader = None, x_admin_token: AuthHeader = None,
              token: TokenQuery = None) -> None:
        # a dependency: checked before the request body is validated
        study.check_admin(authorization, x_admin_token, token)

    guarded = [Depends(admin)]

    @app.get("/api/admin/summary", dependencies=guarded)
    def summary() -> dict[str, Any]:
        data = summary_json(score_study(study.store))
        data["domain"] = study.store.domain
        data["counts"] = study.store.counts()
        return data

    @app.post("/api/admin/participants", dependencies=guarded)
    def add_participants(request: ParticipantsRequest) -> JSONResponse:
        made = study.store.add_participants(request.count, request.label)
        body = {"participants": [{"id": p.id, "label": p.label, "link": f"/p/{p.token}"} for p in made]}
        return JSONResponse(body, status_code=201)

    @app.get("/api/admin/scores.csv", dependencies=guarded)
    def scores() -> Response:
        return Response(scores_csv(score_study(study.store)), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="study-scores.csv"'})

    @app.get("/api/admin/answers.csv", dependencies=guarded)
    def answers() -> Response:
        return Response(answers_csv(study.store), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="study-answers.csv"'})

    return app
