"""The ``conceptlab bench`` subcommands: each prints measured figures and writes them as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from conceptlab.plugins import Registry

__all__ = ["add_bench_commands"]


def add_bench_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``bench search`` and ``bench mine``."""
    p = commands.add_parser("search", help="batched search vs one-leaf search vs raw net throughput")
    p.add_argument("spec", help="a spec naming the domain, agent and search to measure")
    p.add_argument("--checkpoint", help="agent weights (default: freshly initialised)")
    p.add_argument("--positions", type=int, default=8, help="root positions searched")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value")
    p.add_argument("--json", dest="json_path", help="also write the figures to this file")
    p.set_defaults(func=_cmd_bench_search)

    p = commands.add_parser("mine", help="seconds per concept: cvxpy vs direct LP, and teaching")
    p.add_argument("--dim", type=int, default=4096, help="activation dimension (the reference layer size)")
    p.add_argument("--pairs", type=int, default=100, help="constraint pairs per concept")
    p.add_argument("--concepts", type=int, default=3, help="concepts timed per backend")
    p.add_argument("--json", dest="json_path", help="also write the figures to this file")
    p.set_defaults(func=_cmd_bench_mine)


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
    )
    return _emit(figures, args.json_path)


def _cmd_bench_mine(args: argparse.Namespace, registry: Registry) -> int:
    import numpy as np

    from conceptlab.bench.mine import bench_mine

    figures = bench_mine(
        dim=args.dim, pairs=args.pairs, concepts=args.concepts, rng=np.random.default_rng(0)
    )
    return _emit(figures, args.json_path)
