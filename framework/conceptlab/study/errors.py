"""Errors of the study app: each a :class:`~conceptlab.errors.ConceptlabError` with an HTTP status.

The web app turns every :class:`StudyError` into a JSON response
``{"error": <message>, "kind": <class name>}`` with the class's ``status``;
the CLI prints the message on one line like any other user error.
"""

from __future__ import annotations

from typing import ClassVar

from conceptlab.errors import ConceptlabError

__all__ = [
    "AdminAuthError",
    "AlreadyAnsweredError",
    "IllegalMoveError",
    "PhaseClosedError",
    "PuzzleSetError",
    "RequestTooLargeError",
    "StudyDatabaseError",
    "StudyError",
    "UnknownParticipantError",
    "UnknownPuzzleError",
]


class StudyError(ConceptlabError):
    """A request or input the study cannot accept; ``status`` is the HTTP status to answer with."""

    status: ClassVar[int] = 400


class PuzzleSetError(StudyError):
    """A puzzles directory (``index.json`` and the per-concept files) that cannot be read."""


class StudyDatabaseError(StudyError):
    """A study database that is missing, of another puzzle set, or not a study database."""

    status: ClassVar[int] = 500


class UnknownParticipantError(StudyError):
    """A participant link whose token no participant holds."""

    status: ClassVar[int] = 404


class UnknownPuzzleError(StudyError):
    """A puzzle id that is not in the study."""

    status: ClassVar[int] = 404


class UnknownAssetError(StudyError):
    """A file the domain does not serve (``/static/domain/<path>``)."""

    status: ClassVar[int] = 404


class PhaseClosedError(StudyError):
    """An answer or confirmation for a puzzle of a phase that is not open for this participant."""

    status: ClassVar[int] = 409


class AlreadyAnsweredError(StudyError):
    """A different move for a puzzle the participant has already answered (answers are final)."""

    status: ClassVar[int] = 409


class IllegalMoveError(StudyError):
    """A move that cannot be read, or is not legal, in the puzzle's position."""

    status: ClassVar[int] = 422


class AdminAuthError(StudyError):
    """An admin request without the admin token, or with a wrong one."""

    status: ClassVar[int] = 401


class RequestTooLargeError(StudyError):
    """A request body larger than the app reads."""

    status: ClassVar[int] = 413
