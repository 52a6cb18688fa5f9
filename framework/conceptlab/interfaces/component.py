"""The base every registered component shares: a name and a pydantic ``Params`` model."""

from __future__ import annotations

from abc import ABC
from typing import Any, ClassVar

import pydantic

from conceptlab.errors import ParamsError

__all__ = ["Component", "NoParams", "StrictParams", "build_params"]


class StrictParams(pydantic.BaseModel):
    """Base for component params: unknown keys are errors, values are immutable, and
    numbers are finite (NaN and infinities are refused)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class NoParams(StrictParams):
    """Params of a component that takes none."""


class Component(ABC):
    """A class a plugin registers under ``name``; a spec selects it and passes ``Params``.

    Subclasses set the class attributes ``name`` (unique within the component
    kind) and ``Params`` (a :class:`StrictParams` subclass). Constructors store
    what they are given; methods do the work.
    """

    kind: ClassVar[str] = "component"
    """The component kind, e.g. ``"domain"``; set by each interface."""
    name: ClassVar[str]
    """The name a spec selects this component by."""
    Params: ClassVar[type[StrictParams]] = NoParams
    example_params: ClassVar[dict[str, Any]] = {}
    """Params that build a working instance, for the contract kit and docs; needed only
    when ``Params`` has required fields (e.g. a weights file)."""

    params: StrictParams

    def __init__(self, params: StrictParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @classmethod
    def describe(cls) -> str:
        """First line of the class docstring."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


def build_params(cls: type[Component], raw: dict[str, Any] | StrictParams | None) -> StrictParams:
    """Validate ``raw`` against ``cls.Params``; on failure name the component and the field."""
    if isinstance(raw, cls.Params):
        return raw
    try:
        return cls.Params.model_validate(raw or {})
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "params"
        got = first.get("input")
        raise ParamsError(
            f"{cls.kind} {cls.name!r}: param {where!r}: {first['msg']} (got {got!r})"
        ) from None
