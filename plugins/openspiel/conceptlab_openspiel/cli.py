"""``conceptlab-openspiel``: measure a trained OpenSpiel agent against OpenSpiel's MCTS bot.

Commands::

    conceptlab-openspiel match RUN_OR_SPEC [--games 40] [--mcts-simulations 1000]
        [--checkpoint -1 | --checkpoint-path PATH] [--agent-simulations N] [--seed 0] [--threads N]

``RUN_OR_SPEC`` is a run directory (its ``spec.json`` and trained checkpoint
series are used) or a spec file (its run directory ``runs/<name>``, or
``--run-dir``). Errors a user can fix print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conceptlab.errors import CheckpointError, ComponentError, ConceptlabError, RunDirError
from conceptlab.pipeline import components_for
from conceptlab.run.store import verify_checkpoint
from conceptlab.rundir import read_json
from conceptlab.spec import load_spec
from conceptlab.threads import apply_thread_policy
from conceptlab.values import CheckpointInfo

from conceptlab_openspiel.domain import OpenSpielDomain
from conceptlab_openspiel.match import GameResult, play_match
from conceptlab_openspiel.players import MctsSpec

__all__ = ["build_parser", "main"]


def _run_dir(target: str, run_dir: str | None) -> Path:
    path = Path(target)
    if path.is_dir():
        return path
    if path.is_file():
        return Path(run_dir) if run_dir else Path("runs") / load_spec(path).name
    raise RunDirError(f"{target!r} is neither a run directory nor a spec file")


def _checkpoint(run: Path, index: int) -> tuple[str, dict[str, Any]]:
    series_path = run / "train" / "checkpoints.json"
    if not series_path.is_file():
        raise CheckpointError(
            f"{str(series_path)!r} is missing: run the train stage first "
            f"('conceptlab run SPEC --out {run} --stages train')"
        )
    series = read_json(series_path)
    try:
        record = series[index]
    except IndexError:
        raise CheckpointError(
            f"--checkpoint {index}: the series in {str(run)!r} has {len(series)} checkpoints"
        ) from None
    path = Path(record["path"])
    checkpoint = str(path if path.is_absolute() else run / path)
    verify_checkpoint(CheckpointInfo(**{**record, "path": checkpoint}))
    return checkpoint, record


def _match(args: argparse.Namespace) -> int:
    apply_thread_policy(args.threads)
    run = _run_dir(args.target, args.run_dir)
    spec_path = run / "spec.json"
    if not spec_path.is_file():
        raise RunDirError(f"{str(run)!r} is not a run directory (no spec.json)")
    spec_data = read_json(spec_path)
    comps = components_for(spec_data)
    domain = comps.domain
    if not isinstance(domain, OpenSpielDomain):
        raise ComponentError(
            f"the run in {str(run)!r} is of domain {comps.spec.domain.name!r}, not an OpenSpiel game"
        )
    if args.checkpoint_path:
        agent = comps.new_agent(0)
        info = agent.load(args.checkpoint_path)  # type: ignore[attr-defined]
        record = {"step": info.step, "games": info.games}
    else:
        checkpoint, record = _checkpoint(run, args.checkpoint)
        agent = comps.agent(checkpoint)
    search = comps.search
    if args.agent_simulations is not None:
        cls = comps.resolved.classes["search"]
        params = comps.resolved.params["search"].model_copy(update={"simulations": args.agent_simulations})
        search = cls(domain, params)
    simulations = getattr(search.params, "simulations", "?")
    opponent = MctsSpec(args.mcts_simulations, args.mcts_rollouts)

    def report(i: int, game: GameResult) -> None:
        side = "first" if game.agent_player == 0 else "second"
        print(f"game {i + 1}/{args.games}: agent {side}, {game.outcome} in {game.moves} moves {game.history}",
              file=sys.stderr, flush=True)

    print(
        f"{domain.params.game}: agent {comps.spec.agent.name} checkpoint step {record['step']} "
        f"({record.get('games', '?')} self-play games) with {comps.spec.search.name} "
        f"{simulations} simulations", flush=True,
    )
    result = play_match(domain, search, agent, opponent, games=args.games, seed=args.seed, on_game=report)
    print(result.describe(), flush=True)
    return 0


def build_parser(prog: str = "conceptlab-openspiel") -> argparse.ArgumentParser:
    """The argument parser of ``conceptlab openspiel`` (also the ``conceptlab-openspiel`` script)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    match = commands.add_parser("match", help="play a trained agent against OpenSpiel's MCTS bot")
    match.add_argument("target", metavar="RUN_OR_SPEC", help="a run directory or a spec file")
    match.add_argument("--run-dir", help="run directory of a spec file (default: runs/<spec name>)")
    match.add_argument("--checkpoint", type=int, default=-1,
                       help="index into the checkpoint series (default: -1, the final agent)")
    match.add_argument("--checkpoint-path",
                       help="a checkpoint file of the run's agent, instead of one from the series")
    match.add_argument("--games", type=int, default=40, help="games to play, colours alternating")
    match.add_argument("--mcts-simulations", type=int, default=1000, help="MCTS simulations per move")
    match.add_argument("--mcts-rollouts", type=int, default=1, help="random rollouts per MCTS leaf")
    match.add_argument("--agent-simulations", type=int,
                       help="the agent's search simulations (default: the spec's)")
    match.add_argument("--seed", type=int, default=0, help="seed of the MCTS bots")
    match.add_argument("--threads", type=int, default=None,
                       help="torch threads (default 1, or CONCEPTLAB_THREADS; see docs/cli.md)")
    match.set_defaults(func=_match)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "conceptlab-openspiel") -> int:
    """Run ``conceptlab openspiel`` (or the ``conceptlab-openspiel`` script); user errors
    print one line and return 2."""
    args = build_parser(prog).parse_args(argv)
    for name in ("games", "mcts_simulations", "mcts_rollouts", "threads"):
        value = getattr(args, name, 1)
        if value is not None and value < 1:  # threads: None means the thread policy's default
            print(f"{prog}: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    if args.agent_simulations is not None and args.agent_simulations < 1:
        print(f"{prog}: --agent-simulations must be >= 1", file=sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except ConceptlabError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
