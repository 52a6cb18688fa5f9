"""Every hook conceptlab calls, grouped by phase.

Plugins implement these with ``@conceptlab.hookimpl`` in a module (or object)
that their distribution names under the entry-point group ``conceptlab``.
Registration hooks return component *classes*, or
:class:`~conceptlab.lazy.LazyComponent` import paths that are imported only when a
component is used; they are called once when a
:class:`conceptlab.registry.Registry` is built, and their results are concatenated
across plugins. Lifecycle hooks are called by the pipeline with small context
objects; they return nothing, and every implementation is called.
``docs/hooks.md`` has a section per hook with its exact signature; a test keeps
the two in step.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from conceptlab.markers import PROJECT, hookimpl, hookspec

if TYPE_CHECKING:
    from conceptlab.interfaces import (
        Agent,
        ConceptMiner,
        Domain,
        NoveltyFilter,
        Search,
        TeachabilityFilter,
    )
    from conceptlab.lazy import LazyComponent
    from conceptlab.run.context import RunContext, StageSummary

__all__ = ["PROJECT", "hookimpl", "hookspec"]


# -- registration: called once per registry; results are concatenated ---------------------

@hookspec
def register_domains() -> list[type[Domain[Any]] | LazyComponent]:
    """Return the Domain classes this plugin provides, or LazyComponents naming them.

    Called once when the registry is built. Results of all plugins are
    concatenated; two classes with the same ``name`` are an error naming both plugins.
    """


@hookspec
def register_agents() -> list[type[Agent[Any]] | LazyComponent]:
    """Return the Agent classes this plugin provides.

    Called once when the registry is built; results are concatenated.
    """


@hookspec
def register_searches() -> list[type[Search[Any]] | LazyComponent]:
    """Return the Search classes this plugin provides.

    Called once when the registry is built; results are concatenated.
    """


@hookspec
def register_concept_miners() -> list[type[ConceptMiner] | LazyComponent]:
    """Return the ConceptMiner classes this plugin provides.

    Called once when the registry is built; results are concatenated.
    """


@hookspec
def register_teachability_filters() -> list[type[TeachabilityFilter] | LazyComponent]:
    """Return the TeachabilityFilter classes this plugin provides.

    Called once when the registry is built; results are concatenated.
    """


@hookspec
def register_novelty_filters() -> list[type[NoveltyFilter] | LazyComponent]:
    """Return the NoveltyFilter classes this plugin provides.

    Called once when the registry is built; results are concatenated.
    """


# -- run lifecycle: every implementation is called; return values are ignored ---------------

@hookspec
def before_run(run: RunContext) -> None:
    """Called once when a run starts (or resumes), after everything was checked
    (stage names, components, params, the files the spec names) and the run
    directory opened.

    ``run`` gives the spec, the run directory and the registry.
    """


@hookspec
def after_run(run: RunContext, status: str) -> None:
    """Called once when a run ends; ``status`` is ``"finished"`` or ``"failed"``."""


@hookspec
def before_stage(run: RunContext, stage: str) -> None:
    """Called before stage ``stage`` does any work (not for stages already finished)."""


@hookspec
def after_stage(run: RunContext, stage: str, summary: StageSummary) -> None:
    """Called after stage ``stage`` finished; ``summary`` has its units, timings and figures."""


@hookspec
def on_stage_error(run: RunContext, stage: str, error: BaseException) -> None:
    """Called when stage ``stage`` raised ``error``; the error propagates afterwards."""


# -- command line ------------------------------------------------------------------------------

@hookspec
def add_cli_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add subcommands to the ``conceptlab`` CLI.

    Called once while the parser is built; every implementation is called. Add a
    parser with ``commands.add_parser(name, help=...)`` and set ``func`` with
    ``parser.set_defaults(func=callable)``; the callable takes the parsed
    ``argparse.Namespace`` and the :class:`~conceptlab.registry.Registry`, and
    returns an exit code. A plugin whose tools have a ``main`` of their own hands
    them a whole sub-tree with :func:`conceptlab.commands.add_delegated_command`.
    The built-in ``study`` and ``bench`` commands arrive through this hook too.
    Keep the imports of this hook cheap: it runs for ``conceptlab --help``.
    """
