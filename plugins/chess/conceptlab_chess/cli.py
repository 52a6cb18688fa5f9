"""``conceptlab-chess``: play over UCI, measure strength against Stockfish, bootstrap the net.

Commands::

    conceptlab-chess uci [--checkpoint PATH] [--simulations N]
    conceptlab-chess match --checkpoint PATH --stockfish-elo 1500 --games 40 --simulations 400
    conceptlab-chess bootstrap --out DIR --positions N --depth D [--epochs E ...]

Errors a user can fix print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from conceptlab.errors import CheckpointError, ConceptlabError, ParamsError

from conceptlab_chess.agent import AlphaZeroChessAgent, load_agent
from conceptlab_chess.openings import opening_set
from conceptlab_chess.players import Player, PolicyPlayer, SearchPlayer, registry_search_factory

__all__ = ["DEFAULT_CHECKPOINT", "build_parser", "main"]

DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "teacher.pt"
"""The shipped teacher network, used when no ``--checkpoint`` is given."""


def _agent(path: str | None) -> AlphaZeroChessAgent:
    if path is None:
        if not DEFAULT_CHECKPOINT.is_file():
            raise CheckpointError(
                f"no --checkpoint given and the shipped teacher {str(DEFAULT_CHECKPOINT)!r} is missing; "
                "make one with 'conceptlab-chess bootstrap --out DIR' and pass "
                "--checkpoint DIR/checkpoints/step-NNNN.pt"
            )
        path = str(DEFAULT_CHECKPOINT)
    return load_agent(path)


def _player(agent: AlphaZeroChessAgent, simulations: int, search: str, seed: int) -> Player:
    if simulations <= 0:
        return PolicyPlayer(agent.domain, agent)  # type: ignore[arg-type]
    factory = registry_search_factory(agent.domain, search)  # type: ignore[arg-type]
    return SearchPlayer(agent.domain, agent, factory, simulations, np.random.default_rng(seed))  # type: ignore[arg-type]


def _uci(args: argparse.Namespace) -> int:
    import torch

    from conceptlab_chess.uci import UciEngine

    torch.set_num_threads(args.threads)
    agent = _agent(args.checkpoint)
    engine = UciEngine(
        agent.domain, _player(agent, args.simulations, args.search, args.seed),  # type: ignore[arg-type]
        default_simulations=max(args.simulations, 1), output=sys.stdout,
    )
    engine.run(sys.stdin)
    return 0


def _match(args: argparse.Namespace) -> int:
    import torch

    from conceptlab_chess.strength import play_match

    torch.set_num_threads(args.threads)
    agent = _agent(args.checkpoint)

    def report(i: int, record: object) -> None:
        print(f"game {i + 1}/{args.games}: {record}", file=sys.stderr, flush=True)

    result, _ = play_match(
        agent.domain, _player(agent, args.simulations, args.search, args.seed),  # type: ignore[arg-type]
        opening_set(args.openings), games=args.games, stockfish_elo=args.stockfish_elo,
        stockfish_path=args.stockfish, engine_time=args.stockfish_time, max_plies=args.max_plies,
        on_game=report if args.verbose else None,
    )
    print(result.describe())
    return 0


def _bootstrap(args: argparse.Namespace) -> int:
    import pydantic
    import torch

    from conceptlab_chess.bootstrap import AnalysisConfig, TrainConfig, analyse_positions, load_dataset, train

    torch.set_num_threads(args.threads)
    try:
        analysis = AnalysisConfig(
            seed=args.seed, openings=args.openings, depth=args.depth, time_limit=args.time_limit,
            multipv=args.multipv, min_plies=args.min_plies, max_plies=args.max_plies, chunk_size=args.chunk_size,
        )
        training = TrainConfig(
            history=args.history, blocks=args.blocks, filters=args.filters, se_ratio=args.se_ratio,
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
        )
    except pydantic.ValidationError as exc:
        raise ParamsError(f"bootstrap: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if not args.train_only:
        figures = analyse_positions(args.out, args.positions, analysis, stockfish_path=args.stockfish, progress=say)
        say(f"analysis: {figures['analysed']} new positions in {figures['seconds']:.1f} s")
        dataset = load_dataset(args.out)
        dataset.save(Path(args.out) / "dataset.npz")
        say(f"dataset: {len(dataset)} positions in {Path(args.out) / 'dataset.npz'}")
    if not args.analyse_only:
        checkpoints = train(args.out, training, progress=say)
        if checkpoints:
            print(checkpoints[-1])
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``conceptlab-chess`` argument parser."""
    parser = argparse.ArgumentParser(prog="conceptlab-chess", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, checkpoint_required: bool) -> None:
        p.add_argument("--checkpoint", required=checkpoint_required, help="az-chess checkpoint (default: the shipped teacher)")
        p.add_argument("--simulations", type=int, default=400, help="search simulations per move (0: the net's policy alone)")
        p.add_argument("--search", default="puct", help="registered search to use")
        p.add_argument("--threads", type=int, default=1, help="torch threads")
        p.add_argument("--seed", type=int, default=0)

    uci = commands.add_parser("uci", help="speak UCI on stdin/stdout")
    common(uci, checkpoint_required=False)
    uci.set_defaults(func=_uci)

    match = commands.add_parser("match", help="play Stockfish at a limited Elo and estimate ours")
    common(match, checkpoint_required=False)
    match.add_argument("--stockfish-elo", type=int, default=1500)
    match.add_argument("--games", type=int, default=40)
    match.add_argument("--stockfish", default=None, help="Stockfish binary (default: found on PATH)")
    match.add_argument("--stockfish-time", type=float, default=0.05, help="Stockfish seconds per move")
    match.add_argument("--openings", default="eco")
    match.add_argument("--max-plies", type=int, default=300, help="adjudicate a draw after this many plies")
    match.add_argument("--verbose", action="store_true", help="print each game")
    match.set_defaults(func=_match)

    boot = commands.add_parser("bootstrap", help="train the net on Stockfish's analysis (resumable)")
    boot.add_argument("--out", required=True, help="directory of the analysis, dataset and checkpoints")
    boot.add_argument("--positions", type=int, default=1000)
    boot.add_argument("--depth", type=int, default=8)
    boot.add_argument("--time-limit", type=float, default=None, help="seconds per position instead of a depth")
    boot.add_argument("--multipv", type=int, default=4)
    boot.add_argument("--min-plies", type=int, default=2)
    boot.add_argument("--max-plies", type=int, default=16)
    boot.add_argument("--chunk-size", type=int, default=64)
    boot.add_argument("--openings", default="eco")
    boot.add_argument("--stockfish", default=None)
    boot.add_argument("--history", type=int, default=8)
    boot.add_argument("--blocks", type=int, default=6)
    boot.add_argument("--filters", type=int, default=64)
    boot.add_argument("--se-ratio", type=int, default=None)
    boot.add_argument("--epochs", type=int, default=10)
    boot.add_argument("--batch-size", type=int, default=256)
    boot.add_argument("--learning-rate", type=float, default=1e-3)
    boot.add_argument("--threads", type=int, default=1)
    boot.add_argument("--seed", type=int, default=0)
    boot.add_argument("--analyse-only", action="store_true")
    boot.add_argument("--train-only", action="store_true")
    boot.set_defaults(func=_bootstrap)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``conceptlab-chess``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConceptlabError as exc:
        print(f"conceptlab-chess: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
