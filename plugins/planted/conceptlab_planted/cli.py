"""``conceptlab planted``: how much of a trained agent's winning goes through the planted rule.

Commands::

    conceptlab planted rule-use RUN_OR_SPEC [--checkpoint -1 | --checkpoint-path PATH]
        [--opponent line | random | CHECKPOINT] [--games 40] [--agent-simulations N]
        [--opponent-simulations N] [--k K] [--seed 0] [--threads N] [--json FILE]

``RUN_OR_SPEC`` is a run directory of the ``planted`` domain (its ``spec.json``
and checkpoint series are used) or a spec file (its run directory
``runs/<name>``, or ``--run-dir``). The agent searches with the run's own
rules (a run of the standard game thus ignores the rule); the games are played
on the variant. The opponent ignores the rule: ``line`` (win or block a line,
else random), ``random``, or a checkpoint file of any agent (e.g. the reference
player trained on the standard game), searching the standard game. Errors a
user can fix print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.errors import CheckpointError, ComponentError, ConceptlabError, RunDirError
from conceptlab.pipeline import components_for
from conceptlab.plugins import get_registry
from conceptlab.run.store import verify_checkpoint
from conceptlab.rundir import read_json
from conceptlab.spec import load_spec
from conceptlab.threads import apply_thread_policy
from conceptlab.values import CheckpointInfo

from conceptlab_planted.domain import PlantedConnect
from conceptlab_planted.measure import Player, line_player, random_player, rule_use, search_player, standard_rules

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


def _with_simulations(comps: Any, domain: PlantedConnect, simulations: int | None) -> Any:
    """The spec's search on ``domain``, with ``simulations`` when given."""
    cls = comps.resolved.classes["search"]
    params = comps.resolved.params["search"]
    if simulations is not None:
        params = params.model_copy(update={"simulations": simulations})
    return cls(domain, params)


def _opponent(choice: str, variant: PlantedConnect, comps: Any, simulations: int | None) -> tuple[Player, str]:
    if choice == "line":
        return line_player(variant), "the line player (wins or blocks a line, else random)"
    if choice == "random":
        return random_player(variant), "a uniformly random player"
    path = Path(choice).expanduser()
    if not path.is_file():
        raise CheckpointError(f"--opponent {choice!r} is neither 'line', 'random' nor a checkpoint file")
    import torch

    payload = torch.load(path, map_location="cpu", weights_only=True)
    architecture = payload.get("architecture") if isinstance(payload, dict) else None
    if not isinstance(architecture, dict) or "agent" not in architecture:
        raise CheckpointError(f"--opponent {choice!r} is not a conceptlab checkpoint (no architecture record)")
    standard = standard_rules(variant)
    agent = get_registry().create("agent", architecture["agent"], architecture["params"], standard)
    agent.load(path)  # type: ignore[attr-defined]
    search = _with_simulations(comps, standard, simulations)
    label = f"{architecture['agent']} {path.name} (step {payload.get('step', '?')}) on the standard rules"
    return search_player(standard, agent, search), label


def _rule_use(args: argparse.Namespace) -> int:
    apply_thread_policy(args.threads)
    run = _run_dir(args.target, args.run_dir)
    spec_path = run / "spec.json"
    if not spec_path.is_file():
        raise RunDirError(f"{str(run)!r} is not a run directory (no spec.json)")
    comps = components_for(read_json(spec_path))
    own = comps.domain
    if not isinstance(own, PlantedConnect):
        raise ComponentError(f"the run in {str(run)!r} is of domain {comps.spec.domain.name!r}, not 'planted'")
    variant = PlantedConnect(own.params.model_copy(update={"planted": True}))
    if args.checkpoint_path:
        agent = comps.new_agent(0)
        info = agent.load(args.checkpoint_path)  # type: ignore[attr-defined]
        record: dict[str, Any] = {"step": info.step, "games": info.games, "path": args.checkpoint_path}
    else:
        checkpoint, record = _checkpoint(run, args.checkpoint)
        record = {**record, "path": checkpoint}
        agent = comps.agent(checkpoint)
    search = _with_simulations(comps, own, args.agent_simulations)
    player = search_player(own, agent, search)
    opponent, label = _opponent(args.opponent, variant, comps, args.opponent_simulations or args.agent_simulations)

    def report(index: int, state: Any, side: int) -> None:
        score = variant.returns(state)[side]
        outcome = "win" if score > 0 else "loss" if score < 0 else "draw"
        how = " through the rule" if state.by_rule else ""
        print(f"game {index + 1}/{args.games}: agent {'first' if side == 0 else 'second'}, {outcome}{how}",
              file=sys.stderr, flush=True)

    rules = "the variant" if own.params.planted else "the standard game"
    print(f"agent checkpoint step {record['step']} (trained on {rules}), "
          f"{getattr(search.params, 'simulations', '?')} simulations, against {label}", flush=True)
    result = rule_use(variant, player, opponent, games=args.games, rng=np.random.default_rng(args.seed),
                      k=args.k, on_game=report)
    figures = {"checkpoint": record["path"], "step": record["step"], "trained_on": rules,
               "opponent": label, **result.figures()}
    width = max(len(key) for key in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return 0


def build_parser(prog: str = "conceptlab-planted") -> argparse.ArgumentParser:
    """The argument parser of ``conceptlab planted`` (also the ``conceptlab-planted`` script)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = commands.add_parser(
        "rule-use", help="play a trained agent against a rule-ignoring player: its wins through the rule"
    )
    p.add_argument("target", metavar="RUN_OR_SPEC", help="a run directory or a spec file of the planted domain")
    p.add_argument("--run-dir", help="run directory of a spec file (default: runs/<spec name>)")
    p.add_argument("--checkpoint", type=int, default=-1,
                   help="index into the checkpoint series (default: -1, the final agent)")
    p.add_argument("--checkpoint-path", help="a checkpoint file of the run's agent, instead of one from the series")
    p.add_argument("--opponent", default="line",
                   help="'line' (default), 'random', or a checkpoint file searching the standard rules")
    p.add_argument("--games", type=int, default=40, help="games to play, colours alternating")
    p.add_argument("--agent-simulations", type=int, help="the agent's search simulations (default: the spec's)")
    p.add_argument("--opponent-simulations", type=int,
                   help="a checkpoint opponent's simulations (default: the agent's)")
    p.add_argument("--k", type=int, help="horizon of the planted predicate (default: the domain's horizon)")
    p.add_argument("--seed", type=int, default=0, help="seed of the openings and the random moves")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default 1, or CONCEPTLAB_THREADS; see docs/cli.md)")
    p.add_argument("--json", dest="json_path", help="also write the figures to this file")
    p.set_defaults(func=_rule_use)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "conceptlab-planted") -> int:
    """Run ``conceptlab planted`` (or the ``conceptlab-planted`` script); user errors print one
    line and return 2."""
    args = build_parser(prog).parse_args(argv)
    for name in ("games", "agent_simulations", "opponent_simulations", "k", "threads"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            print(f"{prog}: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    try:
        return int(args.func(args))
    except ConceptlabError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
