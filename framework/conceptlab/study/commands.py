"""The ``conceptlab study`` subcommands: create a study, make links, serve it, print its scores."""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path
from typing import Any

from conceptlab.interfaces.domain import Domain
from conceptlab.plugins import Registry
from conceptlab.study.puzzles import load_puzzle_set
from conceptlab.study.store import NewParticipant, Participant, StudyStore

__all__ = ["add_study_commands", "open_study"]

ADMIN_TOKEN_ENV = "CONCEPTLAB_STUDY_ADMIN_TOKEN"


def add_study_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``study create``, ``study links``, ``study serve`` and ``study scores``."""
    study = commands.add_parser("study", help="the three-phase human study: a web app over exported puzzles")
    sub = study.add_subparsers(dest="study_command", metavar="SUBCOMMAND", required=True)

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", required=True, metavar="FILE", help="the study's SQLite database")

    def link_options(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("--participants", type=int, default=0, metavar="N", help=what)
        p.add_argument("--label", default="", help="label of the new participants on the admin page")
        p.add_argument("--base-url", help="server address for printed links (default: from --host/--port)")

    p = sub.add_parser("create", help="create a study from a puzzles directory (idempotent) and make links")
    p.add_argument("--puzzles", required=True, metavar="DIR", help="the export stage's puzzles directory")
    db_option(p)
    link_options(p, "participant links to make")
    p.set_defaults(func=_cmd_create, host="127.0.0.1", port=8000)

    p = sub.add_parser("links", help="make participant links (--participants N) or list the participants")
    db_option(p)
    link_options(p, "participant links to make (0: list the participants; their links were shown once)")
    p.set_defaults(func=_cmd_links, host="127.0.0.1", port=8000)

    p = sub.add_parser("serve", help="serve the study's participant and admin pages")
    p.add_argument("--puzzles", metavar="DIR", help="puzzles directory (creates the study if the db has none)")
    db_option(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--admin-token", help=f"admin token (default: ${ADMIN_TOKEN_ENV}, else a new one is printed)")
    link_options(p, "participant links to make before serving")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("scores", help="print each arm's mean scores; optionally write the scores CSV")
    db_option(p)
    p.add_argument("--csv", metavar="FILE", help="write one row per participant and concept here")
    p.set_defaults(func=_cmd_scores)


def open_study(puzzles: str | None, db: str, registry: Registry) -> tuple[StudyStore, Domain[Any]]:
    """The study in ``db`` (created from ``puzzles`` if given) and its domain, built by ``registry``.

    The domain is built with the params the puzzle set records (``domain_params``
    in ``index.json``, kept in the database), e.g. which game of a family of games.

    Raises:
        PuzzleSetError, StudyDatabaseError, ComponentError: a bad directory, database or domain.
    """
    if puzzles is not None:
        unchecked = load_puzzle_set(puzzles)
        domain: Domain[Any] = registry.create("domain", unchecked.domain, dict(unchecked.domain_params))
        store = StudyStore.create(db, load_puzzle_set(puzzles, domain), source=str(Path(puzzles).resolve()))
        return store, domain
    store = StudyStore.open(db)
    return store, registry.create("domain", store.domain, dict(store.domain_params))


def _base_url(args: argparse.Namespace) -> str:
    if args.base_url:
        return str(args.base_url).rstrip("/")
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    return f"http://{host}:{args.port}"


def _print_links(participants: list[NewParticipant], base_url: str) -> None:
    for p in participants:
        label = f"  {p.label}" if p.label else ""
        print(f"participant {p.id}{label}: {base_url}/p/{p.token}")


def _print_participants(participants: list[Participant]) -> None:
    for p in participants:
        label = f"  {p.label}" if p.label else ""
        print(f"participant {p.id}{label}: made {p.created_at}")
    print("links are shown once, when they are made (the database keeps only their hashes)")


def _cmd_create(args: argparse.Namespace, registry: Registry) -> int:
    store, _ = open_study(args.puzzles, args.db, registry)
    concepts = store.concepts()
    controls = sum(1 for _, control in concepts if control)
    print(
        f"study in {args.db}: domain {store.domain!r}, {len(concepts) - controls} concepts, "
        f"{controls} controls, {len(store.puzzles())} puzzles"
    )
    if args.participants:
        _print_links(store.add_participants(args.participants, args.label), _base_url(args))
    return 0


def _cmd_links(args: argparse.Namespace, registry: Registry) -> int:
    store = StudyStore.open(args.db)
    if args.participants:
        _print_links(store.add_participants(args.participants, args.label), _base_url(args))
    else:
        _print_participants(store.participants())
    return 0


def _cmd_serve(args: argparse.Namespace, registry: Registry) -> int:
    import uvicorn

    from conceptlab.study.app import create_app

    store, domain = open_study(args.puzzles, args.db, registry)
    admin_token = args.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or secrets.token_urlsafe(24)
    base = _base_url(args)
    if args.participants:
        _print_links(store.add_participants(args.participants, args.label), base)
    print(f"study of domain {store.domain!r} from {args.db}")
    print(f"admin page: {base}/admin?token={admin_token}")
    print("participant links: `conceptlab study links --db FILE` or the admin page", flush=True)
    uvicorn.run(create_app(store, domain, admin_token), host=args.host, port=args.port, log_level="warning")
    return 0


def _cmd_scores(args: argparse.Namespace, registry: Registry) -> int:
    from conceptlab.study.scoring import score_study, scores_csv, summary_json

    scores = score_study(StudyStore.open(args.db))
    summary = summary_json(scores)

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    print(f"{len(scores)} participants")
    for arm, a in summary["arms"].items():
        per_concept = a["mean_gain_per_concept"]
        print(
            f"{arm}: {a['finished']} finished, phase 1 {pct(a['mean_phase1'])}, phase 3 "
            f"{pct(a['mean_phase3'])}, gain {pct(a['mean_gain'])}, puzzles per concept "
            f"{'-' if per_concept is None else f'{per_concept:+.2f}'}"
        )
    if args.csv:
        Path(args.csv).write_text(scores_csv(scores), encoding="utf-8")
        print(f"scores: {args.csv}")
    return 0
