"""``conceptlab-chess``: play over UCI, measure strength against Stockfish or Maia, train the net.

Commands::

    conceptlab-chess uci [--checkpoint PATH] [--simulations N]
    conceptlab-chess uci --agent lc0 --weights maia-1900|PATH [--simulations N]
    conceptlab-chess fetch-weights maia-1900
    conceptlab-chess match --checkpoint PATH --stockfish-elo 1500 --games 40 --simulations 400
    conceptlab-chess match --checkpoint PATH --opponent maia-1900 --games 40 --simulations 400 [--json FILE]
    conceptlab-chess distill --out DIR --config specs/training/chess-distill.toml [--workers N]
    conceptlab-chess bootstrap --out DIR [--config specs/training/chess-bootstrap.toml] [--positions N --epochs E ...]
    conceptlab-chess ship --out DIR --steps 1 3 [--dest DIR] [--strength MATCH.json ...]

Errors a user can fix print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from conceptlab.errors import CheckpointError, ConceptlabError, ParamsError
from conceptlab.threads import apply_thread_policy, resolve_threads, set_wait_policy

from conceptlab_chess.openings import opening_set
from conceptlab_chess.players import Player, PolicyPlayer, SearchPlayer, registry_search_factory

if TYPE_CHECKING:
    from conceptlab.agents.torch import TorchAgent

__all__ = ["DEFAULT_CHECKPOINT", "build_parser", "main"]

set_wait_policy()  # before any command loads torch: OpenMP reads its wait policy only then

DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "teacher.pt"
"""The shipped teacher network, used when no ``--checkpoint`` is given."""


def _agent(path: str | None, agent: str = "az-chess", weights: str | None = None,
           domain_params: dict[str, Any] | None = None) -> TorchAgent[Any]:
    """The agent a command plays with: ``az-chess`` from a checkpoint (the shipped teacher by
    default), or ``lc0`` from a weights file or named network (then ``path`` is an optional
    fine-tuned checkpoint of it); its chess domain takes ``domain_params``."""
    from conceptlab_chess.agent import load_agent

    if agent == "lc0":
        from conceptlab_chess.domain import ChessDomain
        from conceptlab_chess.lc0.agent import Lc0Agent

        if not weights:
            raise ParamsError("--agent lc0 needs --weights PATH (an lc0 .pb/.pb.gz file) or a named network (maia-1900)")
        lc0 = Lc0Agent(ChessDomain(ChessDomain.Params.model_validate(domain_params or {})), Lc0Agent.Params(weights=weights))
        if path is not None:
            lc0.load(path)
        return lc0
    if agent != "az-chess":
        raise ParamsError(f"--agent {agent!r}: expected 'az-chess' or 'lc0'")
    if weights is not None:
        raise ParamsError("--weights is for --agent lc0; az-chess reads --checkpoint")
    if path is None:
        if not DEFAULT_CHECKPOINT.is_file():
            raise CheckpointError(
                f"no --checkpoint given and the shipped teacher {str(DEFAULT_CHECKPOINT)!r} is missing; "
                "make one with 'conceptlab-chess bootstrap --out DIR' and pass "
                "--checkpoint DIR/checkpoints/step-NNNN.pt"
            )
        path = str(DEFAULT_CHECKPOINT)
    return load_agent(path, domain_params)


def _player(agent: TorchAgent[Any], simulations: int, search: str, seed: int, increment: int = 64) -> Player:
    if simulations <= 0:
        return PolicyPlayer(agent.domain, agent)  # type: ignore[arg-type]
    factory = registry_search_factory(agent.domain, search)  # type: ignore[arg-type]
    return SearchPlayer(agent.domain, agent, factory, simulations, np.random.default_rng(seed),  # type: ignore[arg-type]
                        increment=increment)


def _uci(args: argparse.Namespace) -> int:
    """Answer UCI at once; torch and the network load at the first ``isready`` or ``go``."""
    from conceptlab_chess.uci import UciEngine

    if args.agent == "lc0":
        if not args.weights:
            raise ParamsError("--agent lc0 needs --weights PATH (an lc0 .pb/.pb.gz file) or a named network (maia-1900)")
        if args.checkpoint is not None and not Path(args.checkpoint).is_file():
            raise CheckpointError(f"checkpoint not found: {args.checkpoint!r}")
        from conceptlab_chess.lc0.named import resolve

        resolve(args.weights)  # a missing file or an unfetched network fails here, without torch
        weights = args.weights
    else:
        if args.weights is not None:
            raise ParamsError("--weights is for --agent lc0; az-chess reads --checkpoint")
        if args.checkpoint is None and not DEFAULT_CHECKPOINT.is_file():
            _agent(None)  # names the missing teacher and how to make one
        weights = args.checkpoint or str(DEFAULT_CHECKPOINT)
        if not Path(weights).is_file():
            raise CheckpointError(f"checkpoint not found: {weights!r}")

    def load(weights: str) -> tuple[Any, Player]:
        # a claimable draw ends no game until a player claims it, and a GUI may ask for a move there
        if args.agent == "lc0":
            agent = _agent(args.checkpoint, "lc0", weights, {"claim_draw": False})
        else:
            agent = _agent(weights, "az-chess", None, {"claim_draw": False})
        return agent.domain, _player(agent, args.simulations, args.search, args.seed, increment=16)

    def set_threads(threads: int) -> None:
        apply_thread_policy(threads)

    engine = UciEngine(load, weights=weights, default_simulations=max(args.simulations, 1),
                       threads=resolve_threads(args.threads)[0],
                       set_threads=set_threads, name=f"conceptlab {args.agent}", output=sys.stdout)
    engine.run(sys.stdin)
    return 0


def _opponent_name(options: dict[str, Any]) -> str:
    if options["opponent"] == "stockfish":
        budget = (f"{options['stockfish_nodes']} nodes" if options["stockfish_nodes"]
                  else f"{options['stockfish_time']} s")
        return f"Stockfish UCI_Elo {options['stockfish_elo']} ({budget} a move)"
    sims = options["opponent_simulations"]
    return f"{options['opponent']} ({'raw policy' if sims <= 0 else f'{sims} simulations'})"


def _match_share(options: dict[str, Any], worker: int) -> list[tuple[int, Any]]:
    """Games ``worker, worker + workers, ...`` of a ``match`` (in a worker process, or in this one)."""
    from conceptlab_chess.strength import play_match_games, play_player_match

    apply_thread_policy(options["threads"])
    agent = _agent(options["checkpoint"], options["agent"], options["weights"])
    player = _player(agent, options["simulations"], options["search"], options["seed"] + worker)
    indices = range(worker, options["games"], options["workers"])

    def report(i: int, record: object) -> None:
        if options["verbose"]:
            print(f"game {i + 1}/{options['games']}: {record}", file=sys.stderr, flush=True)

    openings = opening_set(options["openings"])
    if options["opponent"] == "stockfish":
        records = play_match_games(
            agent.domain, player, openings, indices,  # type: ignore[arg-type]
            stockfish_elo=options["stockfish_elo"], stockfish_path=options["stockfish"],
            engine_time=options["stockfish_time"], engine_nodes=options["stockfish_nodes"],
            max_plies=options["max_plies"], on_game=report,
        )
    else:
        other = (_agent(options["opponent"]) if options["opponent"].endswith(".pt")
                 else _agent(None, "lc0", options["opponent"]))
        opponent = _player(other, options["opponent_simulations"], options["search"], options["seed"] + 1000 + worker)
        records = play_player_match(agent.domain, player, opponent, openings, indices,  # type: ignore[arg-type]
                                    max_plies=options["max_plies"], on_game=report)
    return list(zip(indices, records))


_MATCH_OPTIONS = (
    "checkpoint", "agent", "weights", "simulations", "search", "seed", "threads", "games", "workers", "openings",
    "stockfish_elo", "stockfish", "stockfish_time", "stockfish_nodes", "max_plies", "verbose", "opponent",
    "opponent_simulations",
)


def _match(args: argparse.Namespace) -> int:
    from conceptlab_chess.strength import summarise

    if args.workers < 1:
        raise ParamsError(f"match: --workers must be at least 1, got {args.workers}")
    if args.games < 1:
        raise ParamsError(f"match: --games must be at least 1, got {args.games}")
    _agent(args.checkpoint, args.agent, args.weights)  # a missing or foreign checkpoint fails here, once
    if args.opponent.endswith(".pt"):
        _agent(args.opponent)  # an az-chess checkpoint: a missing or foreign one fails here, once
    elif args.opponent != "stockfish":
        from conceptlab_chess.lc0.named import resolve

        resolve(args.opponent)  # an unfetched network or a missing file fails here, once
    options = {k: getattr(args, k) for k in _MATCH_OPTIONS}
    if args.workers == 1:
        shares = [_match_share(options, 0)]
    else:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            shares = list(pool.map(_match_share, [options] * args.workers, range(args.workers)))
    records = [record for _, record in sorted(pair for share in shares for pair in share)]
    if args.opponent == "stockfish":
        elo = args.stockfish_elo
    elif args.opponent_elo is not None:
        elo = args.opponent_elo
    else:  # Maia-N is anchored at its training band N; any other net: the difference alone (anchor 0)
        elo = int(args.opponent.rsplit("-", 1)[1]) if args.opponent.startswith("maia-") else 0
    result = summarise([r.score for r in records], elo, _opponent_name(options))
    print(result.describe())
    if args.json:
        import dataclasses
        import json

        Path(args.json).write_text(json.dumps({
            "checkpoint": args.checkpoint, "simulations": args.simulations, **dataclasses.asdict(result),
            "games_played": [dataclasses.asdict(r) for r in records],
        }, indent=2, default=str))
    return 0


def _bootstrap(args: argparse.Namespace) -> int:
    import pydantic

    from conceptlab_chess.bootstrap import AnalysisConfig, TrainConfig, analyse_positions, load_dataset, train

    apply_thread_policy(args.threads)
    config = _bootstrap_config(args.config)
    flags = {k: v for k, v in vars(args).items() if v is not None}
    analysis_keys = ("seed", "openings", "depth", "time_limit", "multipv", "min_plies", "max_plies", "chunk_size")
    train_keys = ("seed", "history", "blocks", "filters", "se_ratio", "epochs", "batch_size", "learning_rate")
    positions = int(flags.get("positions", config.get("positions", 1000)))
    try:
        analysis = AnalysisConfig.model_validate(
            {**config.get("analysis", {}), **{k: flags[k] for k in analysis_keys if k in flags}}
        )
        training = TrainConfig.model_validate(
            {**config.get("train", {}), **{k: flags[k] for k in train_keys if k in flags}}
        )
    except pydantic.ValidationError as exc:
        raise ParamsError(f"bootstrap: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if not args.train_only:
        figures = analyse_positions(args.out, positions, analysis, stockfish_path=args.stockfish, progress=say)
        say(f"analysis: {figures['analysed']} new positions in {figures['seconds']:.1f} s")
        dataset = load_dataset(args.out)
        dataset.save(Path(args.out) / "dataset.npz")
        say(f"dataset: {len(dataset)} positions in {Path(args.out) / 'dataset.npz'}")
    if not args.analyse_only:
        checkpoints = train(args.out, training, progress=say, precision=args.precision)
        if checkpoints:
            print(checkpoints[-1])
    return 0


def _bootstrap_config(path: str | None) -> dict[str, Any]:
    """The settings file of ``bootstrap --config``: ``positions``, ``[analysis]`` and ``[train]``."""
    if path is None:
        return {}
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ParamsError(f"bootstrap: cannot read --config {path!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParamsError(f"bootstrap: --config {path!r} is not TOML: {exc}") from None
    unknown = sorted(set(data) - {"positions", "analysis", "shards", "games", "train", "ship"})
    if unknown:
        raise ParamsError(f"--config {path!r} has unknown keys {unknown}; expected positions and [analysis] "
                          "(bootstrap) or shards and [games] (distill), [train], [ship]")
    return data


def _ship(args: argparse.Namespace) -> int:
    from conceptlab_chess.bootstrap import ship_checkpoints

    config = _bootstrap_config(args.config)
    steps = args.steps if args.steps is not None else config.get("ship", {}).get("steps")
    if not steps:
        raise ParamsError("ship: give --steps (e.g. --steps 1 3 6) or [ship] steps in --config")
    note = args.note if args.note is not None else str(config.get("ship", {}).get("note", ""))
    strength = []
    for path in args.strength or ():
        try:
            strength.append(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as exc:
            raise ParamsError(f"ship: cannot read --strength {path!r}: {exc}") from None
    print(ship_checkpoints(args.out, [int(s) for s in steps], args.dest, note=note, strength=strength))
    return 0


def _distill(args: argparse.Namespace) -> int:
    import pydantic

    from conceptlab_chess.distill import DistillTrainConfig, GamesConfig, generate, train_distilled

    apply_thread_policy(args.threads)
    config = _bootstrap_config(args.config)
    shards = int(args.shards if args.shards is not None else config.get("shards", 8))
    try:
        games = GamesConfig.model_validate(config.get("games", {}))
        training = DistillTrainConfig.model_validate(
            {**config.get("train", {}), **({"samples": args.samples} if args.samples is not None else {})})
    except pydantic.ValidationError as exc:
        raise ParamsError(f"distill: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None

    def say(line: str) -> None:
        print(time.strftime("%H:%M:%S ") + line, file=sys.stderr, flush=True)

    if not args.train_only:
        figures = generate(args.out, shards, games, history=training.history, workers=args.workers,
                           stockfish_path=args.stockfish, progress=say)
        say(f"games: {figures['positions']:.0f} new positions in {figures['seconds']:.1f} s "
            f"({figures['labels_per_second']:.0f} labels/s, {args.workers} workers, load {os.getloadavg()[0]:.1f})")
    if not args.games_only:
        checkpoints = train_distilled(args.out, training, precision=args.precision, progress=say)
        if checkpoints:
            print(checkpoints[-1])
    return 0


def _fetch_weights(args: argparse.Namespace) -> int:
    from conceptlab_chess.lc0.named import NAMED_WEIGHTS, fetch

    for name in args.names:
        path = fetch(name)
        print(f"{name}: {path} ({NAMED_WEIGHTS[name].licence})")
    return 0


def build_parser(prog: str = "conceptlab-chess") -> argparse.ArgumentParser:
    """The argument parser of ``conceptlab chess`` (also the ``conceptlab-chess`` script)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, checkpoint_required: bool) -> None:
        p.add_argument("--agent", default="az-chess", choices=("az-chess", "lc0"), help="the agent that plays")
        p.add_argument("--weights", default=None,
                       help="--agent lc0: an lc0 weights file (.pb, .pb.gz) or a fetched network (maia-1900)")
        p.add_argument("--checkpoint", required=checkpoint_required,
                       help="az-chess checkpoint (default: the shipped teacher); with --agent lc0, a fine-tuned one")
        p.add_argument("--simulations", type=int, default=400, help="search simulations per move (0: the net's policy alone)")
        p.add_argument("--search", default="puct", help="registered search to use")
        p.add_argument("--threads", type=int, default=None,
                       help="torch threads per process (default 1, or CONCEPTLAB_THREADS; see docs/cli.md)")
        p.add_argument("--seed", type=int, default=0)

    uci = commands.add_parser("uci", help="speak UCI on stdin/stdout")
    common(uci, checkpoint_required=False)
    uci.set_defaults(func=_uci)

    match = commands.add_parser("match", help="play Stockfish (limited Elo) or an lc0 net such as Maia-1900, and estimate our Elo")
    common(match, checkpoint_required=False)
    match.add_argument("--stockfish-elo", type=int, default=1500)
    match.add_argument("--games", type=int, default=40)
    match.add_argument("--stockfish", default=None, help="Stockfish binary (default: found on PATH)")
    match.add_argument("--stockfish-time", type=float, default=0.05, help="Stockfish seconds per move")
    match.add_argument("--stockfish-nodes", type=int, default=None,
                       help="Stockfish nodes per move instead of --stockfish-time (reproducible on any machine)")
    match.add_argument("--opponent", default="stockfish",
                       help="'stockfish' (default), an lc0 net to play against (a fetched network such as "
                            "maia-1900, or a weights file), or another az-chess checkpoint (a .pt file)")
    match.add_argument("--opponent-simulations", type=int, default=0,
                       help="the opponent net's simulations per move (default 0: its raw policy, lc0's 1 node)")
    match.add_argument("--opponent-elo", type=int, default=None,
                       help="the rating the Elo estimate is anchored to for a net opponent (default: N for maia-N, "
                            "the band of its training games; 0, the bare difference, for any other net)")
    match.add_argument("--json", default=None, help="also write the result and every game to this JSON file")
    match.add_argument("--openings", default="eco")
    match.add_argument("--max-plies", type=int, default=300, help="adjudicate a draw after this many plies")
    match.add_argument("--verbose", action="store_true", help="print each game")
    match.add_argument("--workers", type=int, default=1,
                       help="processes playing the games (game i in worker i mod N, search seed + worker)")
    match.set_defaults(func=_match)

    boot = commands.add_parser("bootstrap", help="train the net on Stockfish's analysis (resumable)")
    boot.add_argument("--out", required=True, help="directory of the analysis, dataset and checkpoints")
    boot.add_argument("--config", default=None,
                      help="TOML file with positions, [analysis] and [train] settings (flags override it)")
    boot.add_argument("--positions", type=int, default=None, help="positions to analyse (default 1000)")
    boot.add_argument("--depth", type=int, default=None, help="analysis depth (default 8)")
    boot.add_argument("--time-limit", type=float, default=None, help="seconds per position instead of a depth")
    boot.add_argument("--multipv", type=int, default=None, help="lines per position (default 4)")
    boot.add_argument("--min-plies", type=int, default=None)
    boot.add_argument("--max-plies", type=int, default=None)
    boot.add_argument("--chunk-size", type=int, default=None)
    boot.add_argument("--openings", default=None)
    boot.add_argument("--stockfish", default=None)
    boot.add_argument("--history", type=int, default=None)
    boot.add_argument("--blocks", type=int, default=None, help="residual blocks (default 6)")
    boot.add_argument("--filters", type=int, default=None, help="filters (default 64)")
    boot.add_argument("--se-ratio", type=int, default=None)
    boot.add_argument("--epochs", type=int, default=None, help="training epochs (default 10)")
    boot.add_argument("--batch-size", type=int, default=None)
    boot.add_argument("--learning-rate", type=float, default=None)
    boot.add_argument("--threads", type=int, default=None,
                      help="torch threads (default 1, or CONCEPTLAB_THREADS)")
    boot.add_argument("--seed", type=int, default=None)
    boot.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "auto"),
                      help="fit in fp32, bf16 (fast only on CPUs with native bf16) or auto (see docs/cli.md)")
    boot.add_argument("--analyse-only", action="store_true")
    boot.add_argument("--train-only", action="store_true")
    boot.set_defaults(func=_bootstrap)

    fetch = commands.add_parser(
        "fetch-weights", help="download a named lc0 network into the cache folder (checks its SHA-256)"
    )
    fetch.add_argument("names", nargs="+", metavar="NAME", help="maia-1900")
    fetch.set_defaults(func=_fetch_weights)

    ship = commands.add_parser("ship", help="copy bootstrap checkpoints into a folder with an index.json")
    ship.add_argument("--out", required=True, help="the bootstrap directory")
    ship.add_argument("--steps", type=int, nargs="+", default=None, help="epochs to ship; the last becomes teacher.pt")
    ship.add_argument("--config", default=None, help="bootstrap TOML file; its [ship] table gives steps and note")
    ship.add_argument("--note", default=None, help="how the checkpoints were made, stored in the index")
    ship.add_argument("--dest", default=str(DEFAULT_CHECKPOINT.parent), help="where to write (default: the plugin's)")
    ship.add_argument("--strength", nargs="+", default=None, metavar="JSON",
                      help="match results ('match --json'), each recorded with the checkpoint it played with")

    distill = commands.add_parser(
        "distill", help="train the net on Stockfish games labelled by nodes-limited searches (resumable)")
    distill.add_argument("--out", required=True, help="directory of the games and checkpoints (outside the repository)")
    distill.add_argument("--config", default=None, help="TOML file with shards, [games], [train] and [ship]")
    distill.add_argument("--shards", type=int, default=None, help="game shards to play (default: the config's, else 8)")
    distill.add_argument("--samples", type=int, default=None, help="training samples in all (default: the config's)")
    distill.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                         help="processes playing games, one Stockfish thread each (default: the CPU count)")
    distill.add_argument("--stockfish", default=None)
    distill.add_argument("--threads", type=int, default=None, help="torch threads for training (default 1, or "
                         "CONCEPTLAB_THREADS; a machine of its own for training takes its core count)")
    distill.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "auto"),
                         help="fit in fp32, bf16 (fast only on CPUs with native bf16) or auto (see docs/cli.md)")
    distill.add_argument("--games-only", action="store_true")
    distill.add_argument("--train-only", action="store_true")
    distill.set_defaults(func=_distill)
    ship.set_defaults(func=_ship)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "conceptlab-chess") -> int:
    """Run ``conceptlab chess`` (or the ``conceptlab-chess`` script); returns the exit status."""
    args = build_parser(prog).parse_args(argv)
    try:
        return int(args.func(args))
    except ConceptlabError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
