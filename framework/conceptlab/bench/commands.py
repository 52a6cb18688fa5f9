"""The ``conceptlab bench`` subcommands: each prints measured figures and writes them as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from conceptlab.plugins import Registry

__all__ = ["add_bench_commands"]


def add_bench_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``bench search``, ``bench mine`` and ``bench scale``."""
    p = commands.add_parser("search", help="batched search vs one-leaf search vs raw net throughput")
    p.add_argument("spec", help="a spec naming the domain, agent and search to measure")
    p.add_argument("--checkpoint", help="agent weights (default: freshly initialised)")
    p.add_argument(
        "--player", action="append", default=[], metavar="NAME",
        help="also measure the spec's player NAME (e.g. an lc0 net) in the same process; its figures are prefixed NAME_",
    )
    p.add_argument("--positions", type=int, default=8, help="root positions searched")
    p.add_argument(
        "--repeats", type=int, default=3, help="rounds of the three timings (each figure is the best round's)"
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value")
    p.add_argument("--json", dest="json_path", help="also write the figures to this file")
    p.set_defaults(func=_cmd_bench_search)

    p = commands.add_parser("mine", help="seconds per concept: cvxpy vs direct LP, and teaching")
    p.add_argument("--dim", type=int, default=4096, help="activation dimension (the reference layer size)")
    p.add_argument("--pairs", type=int, default=100, help="constraint pairs per concept")
    p.add_argument("--concepts", type=int, default=3, help="concepts timed per backend")
    p.add_argument(
        "--spec", help="also time the spec's teachability filter with the spec's agent (teach_s_per_concept)"
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value")
    p.add_argument("--pool", type=int, help="pool positions for teaching (default: the spec's pool_size)")
    p.add_argument("--json", dest="json_path", help="also write the figures to this file")
    p.set_defaults(func=_cmd_bench_mine)

    p = commands.add_parser(
        "scale", help="self-play games/s on 1 and 2 Ray workers; novelty peak memory at two pool sizes"
    )
    p.add_argument("spec", help="a spec naming the domain, agent and search of the self-play games")
    p.add_argument("--games", type=int, default=64, help="self-play games per timing")
    p.add_argument("--repeats", type=int, default=3, help="timings per worker count (the best is kept)")
    p.add_argument("--pool", type=int, default=8192, help="rows per side of the small novelty pool (large: 4x)")
    p.add_argument("--dim", type=int, default=512, help="activation dimension of the novelty pools")
    p.add_argument("--address", help="Ray cluster to join (default: a local instance of 2 CPUs)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value")
    p.add_argument("--json", dest="json_path", help="also write the figures to this file")
    p.set_defaults(func=_cmd_bench_scale)


def _emit(figures: dict[str, Any], json_path: str | None) -> int:
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return 0


def _cmd_bench_search(args: argparse.Namespace, registry: Registry) -> int:
    import numpy as np

    from conceptlab.bench.search import bench_search
    from conceptlab.pipeline import Components
    from conceptlab.spec import load_spec, resolve_spec

    spec = load_spec(args.spec, args.set)
    components = Components(resolve_spec(spec, registry, source=args.spec), registry)
    agent = components.agent(args.checkpoint) if args.checkpoint else components.new_agent(spec.seed)
    figures = bench_search(
        components.domain,
        agent,
        components.resolved.params["search"],
        positions=args.positions,
        rng=np.random.default_rng(spec.seed),
        repeats=args.repeats,
    )
    for name in args.player:  # the same roots and search, another agent, back to back
        measured = bench_search(
            components.domain, components.player(name), components.resolved.params["search"],
            positions=args.positions, rng=np.random.default_rng(spec.seed), repeats=args.repeats,
        )
        figures.update({f"{name}_{key}": value for key, value in measured.items()})
    if "torch" in sys.modules:  # the figures depend on it: record it with them
        figures["torch_threads"] = sys.modules["torch"].get_num_threads()
    return _emit(figures, args.json_path)


def _cmd_bench_mine(args: argparse.Namespace, registry: Registry) -> int:
    import numpy as np

    from conceptlab.bench.mine import bench_mine

    figures = bench_mine(
        dim=args.dim, pairs=args.pairs, concepts=args.concepts, rng=np.random.default_rng(0)
    )
    if args.spec:
        from conceptlab.bench.mine import bench_teach
        from conceptlab.pipeline import Components
        from conceptlab.spec import load_spec, resolve_spec

        spec = load_spec(args.spec, args.set)
        components = Components(resolve_spec(spec, registry, source=args.spec), registry)
        figures.update(bench_teach(
            components, rng=np.random.default_rng(spec.seed), concepts=args.concepts, pool_size=args.pool
        ))
    return _emit(figures, args.json_path)


def _cmd_bench_scale(args: argparse.Namespace, registry: Registry) -> int:
    import sys

    from conceptlab.bench.scale import bench_scale
    from conceptlab.errors import SpecError
    from conceptlab.executors import require_ray
    from conceptlab.spec import load_spec, resolve_spec

    if min(args.games, args.repeats, args.pool, args.dim) < 1:
        raise SpecError("bench scale: --games, --repeats, --pool and --dim must be >= 1")
    spec = load_spec(args.spec, args.set)
    resolve_spec(spec, registry, source=args.spec)
    require_ray()  # one clear error before any work when ray is missing

    def progress(message: str) -> None:
        print(f"bench scale: {message}", file=sys.stderr, flush=True)

    figures = bench_scale(
        spec, games=args.games, repeats=args.repeats, pool=args.pool, dim=args.dim,
        address=args.address, progress=progress,
    )
    return _emit(figures, args.json_path)
