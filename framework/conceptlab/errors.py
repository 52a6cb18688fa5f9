"""Exceptions that conceptlab raises on purpose.

Every error a user can cause (a bad spec, a missing file, a broken plugin) is a
:class:`ConceptlabError`. The CLI prints its message on one line and exits with
status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "CheckpointError",
    "ComponentError",
    "ConceptlabError",
    "DuplicateComponentError",
    "InvalidActionError",
    "InvalidStateError",
    "MissingInputError",
    "ParamsError",
    "PluginLoadError",
    "RunDirError",
    "SpecError",
    "UnknownComponentError",
    "UnknownStageError",
    "did_you_mean",
]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


class ConceptlabError(Exception):
    """A problem the user can fix; its message says what and how."""


class SpecError(ConceptlabError):
    """A run spec that cannot be read or does not validate."""


class UnknownStageError(SpecError):
    """A stage name (e.g. in ``--stages``) that the pipeline does not have."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        known = list(known)
        super().__init__(
            f"unknown stage {name!r}{did_you_mean(name, known)}; stages: {', '.join(known)}"
        )
        self.name = name


class MissingInputError(SpecError):
    """A file a spec names (a checkpoint, reference games) that does not exist."""


class ComponentError(ConceptlabError):
    """A component (domain, agent, search, miner, filter) cannot be used."""


class UnknownComponentError(ComponentError):
    """A spec or call names a component no plugin registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        listing = ", ".join(repr(k) for k in known) or "none"
        super().__init__(
            f"unknown {kind} {name!r}{did_you_mean(name, known)}; registered: {listing}"
        )
        self.kind = kind
        self.name = name


class DuplicateComponentError(ComponentError):
    """Two plugins register a component of the same kind under one name."""


class PluginLoadError(ComponentError):
    """A plugin's entry point failed to import or to register."""


class ParamsError(ComponentError):
    """A component's params do not validate against its ``Params`` model."""


class InvalidStateError(ConceptlabError):
    """A state's text form (e.g. a FEN) that the domain cannot read."""


class InvalidActionError(ConceptlabError):
    """An action that is not legal in the given state, or cannot be parsed."""


class CheckpointError(ConceptlabError):
    """A checkpoint file that is missing, corrupt, or of another architecture."""


class RunDirError(ConceptlabError):
    """A run directory that cannot be used for this spec (e.g. the run of a spec of another name)."""
