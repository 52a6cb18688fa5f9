"""The ``conceptlab bench`` subcommands: each prints measured figures and writes them as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from conceptlab.errors import ParamsError
from conceptlab.plugins import Registry

__all__ = ["add_bench_commands"]

_PRECISIONS_HELP = (
    "measure these precisions in one run, interleaved round by round (e.g. fp32,bf16; 'auto' is resolved "
    "first), and print each one's figures and their ratios to the first; default: the spec's"
)


def add_bench_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``bench search``, ``bench train``, ``bench probe``, ``bench mine``, ``bench scale``,
    ``bench recovery`` and ``bench support``."""
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
    p.add_argument("--precisions", metavar="LIST", help=_PRECISIONS_HELP)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value")
    p.add_argument("--json", dest="json_path", help="also write the figures to this file")
    p.set_defaults(func=_cmd_bench_search)

    p = commands.add_parser("train", help="supervised training samples/s of the spec's agent (TrainableAgent.fit)")
    p.add_argument("spec", help="a spec naming the domain and agent (and precision) to measure")
    p.add_argument("--checkpoint", help="agent weights (default: freshly initialised)")
    p.add_argument("--positions", type=int, default=512, help="training positions per round (random play)")
    p.add_argument("--batch-size", type=int, help="positions per step (default: the spec's stages.train.batch_size)")
    p.add_argument("--epochs", type=int, default=1, help="passes over the positions per round")
    p.add_argument("--repeats", type=int, default=3, help="rounds timed (the figure is the best round's)")
    p.add_argument("--precisions", metavar="LIST", help=_PRECISIONS_HELP)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value")
    p.add_argument("--json", dest="json_path", help="also write the figures to this file")
    p.set_defaults(func=_cmd_bench_train)

    p = commands.add_parser(
        "probe", help="known-concept validation of a finished probe stage at several pair budgets"
    )
    p.add_argument("run_dir", help="a run directory whose probe stage has run")
    p.add_argument("--pairs", default="50,100,200,500", help="comma-separated max_pairs values to try")
    p.add_argument("--workers", type=int, default=1, help="worker processes for the validation units")
    p.add_argument("--json", dest="json_path", help="also write the rows to this file")
    p.set_defaults(func=_cmd_bench_probe)

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

    p = commands.add_parser(
        "recovery", help="run a spec with a planted concept: is it found, kept, and nothing on a control game"
    )
    p.add_argument("spec", help="a spec whose domain names the planted concept among its known concepts")
    p.add_argument("--out", help="its run directory (default: runs/<spec name>)")
    p.add_argument("--concept", default="planted",
                   help="the planted concept: a boolean known concept of the domain (default: planted)")
    p.add_argument("--shared-concept",
                   help="a boolean known concept both players have (a rule of the standard game), "
                   "whose best-matching candidate the novelty filter should reject")
    p.add_argument("--auc-threshold", type=float, default=0.9,
                   help="the AUC from which a surviving concept counts as the planted one")
    p.add_argument("--control", metavar="SPEC", help="the same pipeline on a game where nothing is planted")
    p.add_argument("--control-set", action="append", default=[], metavar="KEY=VALUE",
                   help="overrides of the control spec (default spec: SPEC itself with these overrides, "
                   "e.g. domain.params.planted=false)")
    p.add_argument("--control-out", help="the control's run directory (default: the run directory + '-control')")
    p.add_argument("--seeds", metavar="N,N,...",
                   help="run SPEC once per seed (run directories <out>-seed-N) and count the seeds that "
                   "recover the concept; the control runs once, at the spec's own seed")
    p.add_argument("--resume", action="store_true", help="continue runs already in the run directories")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value")
    p.add_argument("--json", dest="json_path", help="also write the figures to this file")
    p.set_defaults(func=_cmd_bench_recovery)

    p = commands.add_parser(
        "support", help="rollout positions satisfied by mined dynamic concepts vs random directions"
    )
    p.add_argument("run_dir", help="a run directory whose mine stage has run")
    p.add_argument("--shares", default="1.0,0.9,0.8,0.7,0.6",
                   help="comma-separated shares of a position's pairs that must hold (constraint_share)")
    p.add_argument("--null-directions", type=int, default=200, help="random sparse and as many dense directions")
    p.add_argument("--min-prototypes", type=int, default=10, help="count the directions reaching this many")
    p.add_argument("--seed", type=int, default=0, help="draws the random directions")
    p.add_argument("--json", dest="json_path", help="also write the figures to this file")
    p.set_defaults(func=_cmd_bench_support)


def _context(precision: Any = None) -> dict[str, Any]:
    """What every benchmark prints before its figures: thread policy, load, precision, peak.

    ``precision`` is a :class:`~conceptlab.precision.PrecisionChoice`, or a list of them
    when a benchmark compares precisions.
    """
    from conceptlab.bench.peak import measure_peak
    from conceptlab.threads import current_thread_policy, load_average

    policy = current_thread_policy()
    context: dict[str, Any] = {
        "thread_policy": policy.describe(),
        "threads": policy.threads,
        "load_average_start": " ".join(f"{x:.2f}" for x in load_average()),
    }
    choices = [] if precision is None else precision if isinstance(precision, list) else [precision]
    if choices:
        context["precision"] = "; ".join(f"{c.used} (asked {c.requested}: {c.reason})" for c in choices)
    try:
        import torch  # noqa: F401
    except ImportError:
        return context
    context["torch_threads"] = sys.modules["torch"].get_num_threads()
    peak = measure_peak("float32")
    context["peak_fp32_gflops"] = peak.gflops
    if any(c.used == "bf16" and c.native_bf16 for c in choices):
        context["peak_bf16_gflops"] = measure_peak("bfloat16").gflops
    return context


def _measure_peaks_again(context: dict[str, Any]) -> None:
    """Measure each peak in ``context`` again, after the benchmark's own timings, and keep the higher.

    One measurement of a fraction of a second can land in a slow spell of a shared
    machine; a peak measured too low makes every fraction of it too high (once
    1.22 of the fp32 peak in a run on an otherwise idle machine). Both readings
    stay in the figures (``..._start``, ``..._end``).
    """
    from conceptlab.bench.peak import measure_peak

    for key, dtype in (("peak_fp32_gflops", "float32"), ("peak_bf16_gflops", "bfloat16")):
        if key in context:
            start, end = context[key], measure_peak(dtype).gflops
            context[f"{key}_start"], context[f"{key}_end"] = start, end
            context[key] = max(start, end)


def _peak(context: dict[str, Any], used: str | None = None) -> Any:
    """The peak figures in precision ``used`` are a fraction of: bf16's for native bf16, else fp32's.

    ``used`` defaults to the one precision the benchmark measured. (Emulated bf16
    has no peak worth the name: its matrix products run far below fp32's.)
    """
    from conceptlab.bench.peak import Peak

    if "peak_bf16_gflops" in context and used in (None, "bf16"):
        return Peak(context["peak_bf16_gflops"], "bfloat16", 0, context["threads"])
    return Peak(context.get("peak_fp32_gflops", 0.0), "float32", 0, context["threads"])


def _emit(figures: dict[str, Any], json_path: str | None) -> int:
    from conceptlab.threads import load_average

    figures["load_average_end"] = " ".join(f"{x:.2f}" for x in load_average())
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return 0


def _cmd_bench_search(args: argparse.Namespace, registry: Registry) -> int:
    import numpy as np

    from conceptlab.bench.precisions import parse_precisions
    from conceptlab.bench.search import bench_search
    from conceptlab.pipeline import Components
    from conceptlab.spec import load_spec, resolve_spec

    from conceptlab.bench.peak import network_flops

    spec = load_spec(args.spec, args.set)
    components = Components(resolve_spec(spec, registry, source=args.spec), registry)
    agent = components.agent(args.checkpoint) if args.checkpoint else components.new_agent(spec.seed)
    if args.precisions:
        return _compare_search(args, components, agent, parse_precisions(args.precisions))
    context = _context(components.precision)
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
    flops = network_flops(agent, components.domain.opening_states(figures["batch_size"], np.random.default_rng(0)))
    _measure_peaks_again(context)
    if flops is not None:
        figures["net_mflops_per_eval"] = flops / 1e6
        _search_fractions(figures, flops, _peak(context))
    return _emit({**context, **figures}, args.json_path)


def _search_fractions(figures: dict[str, Any], flops: float, peak: Any, prefix: str = "") -> None:
    """``{prefix}net_fraction_of_peak`` and ``{prefix}search_fraction_of_peak`` from the figures' rates."""
    from conceptlab.bench.peak import fraction_of_peak

    for name, rate in (("net", "net_evals_per_s"), ("search", "batched_sims_per_s")):
        figures[f"{prefix}{name}_fraction_of_peak"] = fraction_of_peak(figures[f"{prefix}{rate}"], flops, peak)


def _cmd_bench_train(args: argparse.Namespace, registry: Registry) -> int:
    import numpy as np

    from conceptlab.bench.peak import fraction_of_peak, network_flops
    from conceptlab.bench.precisions import check_comparable, compare_precisions, parse_precisions
    from conceptlab.bench.train import bench_train
    from conceptlab.pipeline import Components
    from conceptlab.spec import load_spec, resolve_spec

    spec = load_spec(args.spec, args.set)
    components = Components(resolve_spec(spec, registry, source=args.spec), registry)
    agent = components.agent(args.checkpoint) if args.checkpoint else components.new_agent(spec.seed)
    batch_size = args.batch_size or spec.stages.train.batch_size
    choices = parse_precisions(args.precisions) if args.precisions else None
    if choices:
        check_comparable(agent, args.repeats)
    context = _context(choices or components.precision)

    def measure(repeats: int) -> dict[str, Any]:
        return bench_train(
            components.domain, agent, positions=args.positions, batch_size=batch_size,
            epochs=args.epochs, repeats=repeats, rng=np.random.default_rng(spec.seed),
            learning_rate=spec.stages.train.learning_rate,
        )

    if choices:
        used = [choice.used for choice in choices]
        figures = compare_precisions(
            agent, used, args.repeats, lambda: measure(1), ["samples_per_s"], ["positions", "batch_size", "epochs"]
        )
    else:
        used, figures = [], measure(args.repeats)
    states = components.domain.opening_states(min(batch_size, 32), np.random.default_rng(0))
    flops = network_flops(agent, states, backward=True)
    _measure_peaks_again(context)
    if flops is not None:
        figures["train_mflops_per_sample"] = flops / 1e6
        if not choices:
            figures["train_fraction_of_peak"] = fraction_of_peak(figures["samples_per_s"], flops, _peak(context))
        for precision in used:
            figures[f"{precision}_train_fraction_of_peak"] = fraction_of_peak(
                figures[f"{precision}_samples_per_s"], flops, _peak(context, precision)
            )
    return _emit({**context, **figures}, args.json_path)


def _compare_search(args: argparse.Namespace, components: Any, agent: Any, choices: list[Any]) -> int:
    """``bench search --precisions``: each precision's figures, interleaved round by round, and their ratios."""
    import numpy as np

    from conceptlab.bench.peak import network_flops
    from conceptlab.bench.precisions import check_comparable, compare_precisions
    from conceptlab.bench.search import bench_search

    if args.player:
        raise ParamsError("bench search: --player and --precisions do not combine; measure one at a time")
    check_comparable(agent, args.repeats)
    context = _context(choices)
    used = [choice.used for choice in choices]
    seed = components.resolved.spec.seed

    def measure() -> dict[str, Any]:
        return bench_search(
            components.domain, agent, components.resolved.params["search"], positions=args.positions,
            rng=np.random.default_rng(seed), repeats=1,
        )

    rates = ["batched_sims_per_s", "one_leaf_sims_per_s", "net_evals_per_s", "search_evals_per_s"]
    # each round's own: its batched search over its raw net, and the split of its search's time
    spreads = ["search_efficiency", "outside_net_us_per_sim", "tree_us_per_sim", "search_mean_batch"]
    figures = compare_precisions(
        agent, used, args.repeats, measure, rates, ["positions", "batch_size", "simulations"], spreads
    )
    flops = network_flops(agent, components.domain.opening_states(figures["batch_size"], np.random.default_rng(0)))
    _measure_peaks_again(context)
    if flops is not None:
        figures["net_mflops_per_eval"] = flops / 1e6
        for precision in used:
            _search_fractions(figures, flops, _peak(context, precision), f"{precision}_")
    return _emit({**context, **figures}, args.json_path)


def _cmd_bench_probe(args: argparse.Namespace, registry: Registry) -> int:
    from conceptlab.bench.probe import bench_probe_pairs
    from conceptlab.errors import ParamsError
    from conceptlab.executors import LocalExecutor, SerialExecutor

    try:
        budgets = [int(x) for x in args.pairs.split(",") if x.strip()]
    except ValueError:
        raise ParamsError(f"bench probe: --pairs must be comma-separated integers, got {args.pairs!r}") from None
    context = _context()
    for key, value in context.items():
        print(f"{key:<20}  {value:.4g}" if isinstance(value, float) else f"{key:<20}  {value}")
    executor = LocalExecutor(args.workers) if args.workers > 1 else SerialExecutor()
    with executor:
        rows = bench_probe_pairs(args.run_dir, budgets, executor=executor)
    families = list(rows[0]["families"])
    print(f"stage's own mean best accuracy: {rows[0]['stage_mean_best_accuracy']:.4f}")
    print("max_pairs  seconds  mean_best  max_change  mean_change  outside_95%  " + "  ".join(families))
    for row in rows:
        print(f"{row['max_pairs']:>9}  {row['seconds']:>7.1f}  {row['mean_best_accuracy']:>9.4f}  "
              f"{row['max_abs_change']:>10.4f}  {row['mean_abs_change']:>11.4f}  "
              f"{len(row['outside_interval']):>11}  "
              + "  ".join(f"{row['families'].get(f, float('nan')):.4f}" for f in families))
    from conceptlab.threads import load_average

    print(f"load_average_end      {' '.join(f'{x:.2f}' for x in load_average())}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({**context, "rows": rows}, indent=2, sort_keys=True) + "\n")
    return 0


def _cmd_bench_mine(args: argparse.Namespace, registry: Registry) -> int:
    import numpy as np

    from conceptlab.bench.mine import bench_mine

    context = _context()
    figures = bench_mine(
        dim=args.dim, pairs=args.pairs, concepts=args.concepts, rng=np.random.default_rng(0)
    )
    _measure_peaks_again(context)
    if "peak_fp32_gflops" in context:
        # the LP's dense work: each simplex iteration prices the m x 2d constraint matrix once
        work = figures["lp_iterations_per_concept"] * 2.0 * args.pairs * 2 * args.dim
        figures["lp_fraction_of_peak"] = work / figures["lp_s_per_concept"] / (context["peak_fp32_gflops"] * 1e9)
    if args.spec:
        from conceptlab.bench.mine import bench_teach
        from conceptlab.pipeline import Components
        from conceptlab.spec import load_spec, resolve_spec

        spec = load_spec(args.spec, args.set)
        components = Components(resolve_spec(spec, registry, source=args.spec), registry)
        figures.update(bench_teach(
            components, rng=np.random.default_rng(spec.seed), concepts=args.concepts, pool_size=args.pool
        ))
    return _emit({**context, **figures}, args.json_path)


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

    context = _context()
    figures = bench_scale(
        spec, games=args.games, repeats=args.repeats, pool=args.pool, dim=args.dim,
        address=args.address, progress=progress,
    )
    return _emit({**context, **figures}, args.json_path)


def _cmd_bench_recovery(args: argparse.Namespace, registry: Registry) -> int:
    from conceptlab.bench.recovery import RECOVERY_STAGES, check_concepts, recovery_figures
    from conceptlab.errors import SpecError
    from conceptlab.pipeline import Components, run_pipeline
    from conceptlab.spec import load_spec, resolve_spec

    if not 0.5 <= args.auc_threshold <= 1.0:
        raise SpecError(f"bench recovery: --auc-threshold must be in [0.5, 1], got {args.auc_threshold}")
    seeds: list[int] = []
    if args.seeds:
        try:
            seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
        except ValueError:
            raise SpecError(f"bench recovery: --seeds must be comma-separated integers, got {args.seeds!r}") from None
        if not seeds or len(set(seeds)) != len(seeds):
            raise SpecError(f"bench recovery: --seeds must name distinct seeds, got {args.seeds!r}")
    spec = load_spec(args.spec, args.set)
    out = Path(args.out) if args.out else Path("runs") / spec.name
    planted = ([(load_spec(args.spec, [*args.set, f"seed={seed}"]), out.with_name(f"{out.name}-seed-{seed}"), args.spec)
                for seed in seeds] if seeds else [(spec, out, args.spec)])
    control = None
    if args.control or args.control_set:
        source = args.control or args.spec
        overrides = args.control_set if args.control else [*args.set, *args.control_set]
        control = (load_spec(source, overrides), source)
    control_out = Path(args.control_out) if args.control_out else out.with_name(out.name + "-control")
    runs = planted + ([(control[0], control_out, control[1])] if control else [])
    built = []
    shared = [args.shared_concept] * len(planted) + [None] * (len(runs) - len(planted))  # none on the control
    for run_spec, _, source in runs:  # everything checked before any stage runs
        components = Components(resolve_spec(run_spec, registry, source=source), registry)
        check_concepts(components.domain, args.concept, shared[len(built)])
        for name in components.resolved.players:  # a missing weights file fails here
            components.player(name)
        built.append(components)
    context = _context(built[0].precision)

    measured = []
    for (run_spec, run_out, source), components, shared_concept in zip(runs, built, shared, strict=True):
        print(f"bench recovery: stages {', '.join(RECOVERY_STAGES)} of {source} (seed {run_spec.seed}) "
              f"into {run_out}", file=sys.stderr, flush=True)
        run_pipeline(run_spec, run_out, stages=RECOVERY_STAGES, resume=args.resume, registry=registry,
                     source=source)
        measured.append(recovery_figures(
            run_out, components.domain, args.concept, shared_concept=shared_concept,
            auc_threshold=args.auc_threshold, seed=run_spec.seed,
        ))
    figures: dict[str, Any] = {"run": str(planted[0][1]), **measured[0]}
    if seeds:
        per_seed = [{"seed": seed, "run": str(run_out), **found}
                    for seed, (_, run_out, _), found in zip(seeds, planted, measured, strict=False)]
        figures = {
            "seeds": seeds,
            "auc_threshold": args.auc_threshold,
            "seeds_recovered": sum(1 for row in per_seed if row["surviving_planted"] > 0),
            "surviving": sum(row["surviving"] for row in per_seed),
            "surviving_planted": sum(row["surviving_planted"] for row in per_seed),
            "recall_auc": [row["recall_auc"] for row in per_seed],
            "prototype_precision": [row["prototype_precision"] for row in per_seed],
            "best_candidate_auc": [row["best_candidate_auc"] for row in per_seed],
            "null_best_auc": [row.get("null_best_auc") for row in per_seed],
            "probe_auc": [row.get("probe_auc") for row in per_seed],
            "null_surviving_expected": round(sum(row["null_surviving_expected"] for row in per_seed), 4)
            if all(row["null_surviving_expected"] is not None for row in per_seed) else None,
            "per_seed": per_seed,
        }
    if control is None:
        figures["surviving_control_game"] = None
    else:
        theirs = measured[-1]
        figures.update({
            "control_run": str(control_out),
            "surviving_control_game": theirs["surviving"],
            "surviving_planted_control_game": theirs["surviving_planted"],
            "null_surviving_expected_control_game": theirs["null_surviving_expected"],
            "null_surviving_ci_low_control_game": theirs["null_surviving_ci_low"],
            "null_surviving_ci_high_control_game": theirs["null_surviving_ci_high"],
            "best_candidate_auc_control_game": theirs["best_candidate_auc"],
        })
    shown = {**context, **{key: json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value
                           for key, value in figures.items() if key != "per_seed"}}
    _emit(shown, None)  # the verdicts on one line each; the JSON keeps them as objects
    if seeds:
        heads = ("candidates", "surviving", "planted", "best AUC", "random AUC", "probe AUC",
                 "recall AUC", "proto. prec.", "null expected")
        print(f"{'seed':>6}  " + "  ".join(f"{h:>{len(h)}}" for h in heads))
        for row in figures["per_seed"]:
            cells = [row["candidates"], row["surviving"], row["surviving_planted"], row["best_candidate_auc"],
                     row.get("null_best_auc"), row.get("probe_auc"), row["recall_auc"], row["prototype_precision"],
                     row["null_surviving_expected"]]
            shown_cells = ["-" if c is None else (f"{c:.3f}" if isinstance(c, float) else str(c)) for c in cells]
            print(f"{row['seed']:>6}  " + "  ".join(f"{c:>{len(h)}}" for c, h in zip(shown_cells, heads, strict=True)))
    if args.json_path:
        written = {**context, **figures, "load_average_end": shown["load_average_end"]}
        Path(args.json_path).write_text(json.dumps(written, indent=2, sort_keys=True) + "\n")
    return 0


def _cmd_bench_support(args: argparse.Namespace, registry: Registry) -> int:
    from conceptlab.bench.support import bench_rollout_support
    from conceptlab.errors import ParamsError

    try:
        shares = [float(x) for x in args.shares.split(",") if x.strip()]
    except ValueError:
        raise ParamsError(f"bench support: --shares must be comma-separated numbers, got {args.shares!r}") from None
    if args.null_directions < 1 or args.min_prototypes < 1:
        raise ParamsError("bench support: --null-directions and --min-prototypes must be at least 1")
    figures = bench_rollout_support(args.run_dir, shares, null_directions=args.null_directions,
                                    min_prototypes=args.min_prototypes, seed=args.seed)
    print(f"{figures['concepts']} mined concepts and {figures['null_directions']} random sparse and dense "
          f"directions over {figures['rollout_positions']} rollout positions: positions whose pairs hold "
          f"for at least each share (median / mean / max; directions with >= {figures['min_prototypes']})")
    print(f"{'share':>6}  {'mined':>22}  {'random sparse':>22}  {'random dense':>22}")
    for j, share in enumerate(shares):
        cells = []
        for kind in ("mined", "null_sparse", "null_dense"):
            row = figures[kind][j]
            cells.append(f"{row['median']:g} / {row['mean']:.1f} / {row['max']} ({row['at_least_min_prototypes']})")
        print(f"{share:>6g}  " + "  ".join(f"{c:>22}" for c in cells))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return 0
