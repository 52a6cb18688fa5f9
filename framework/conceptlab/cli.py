"""The ``conceptlab`` command.

A user error prints one line, ``conceptlab: error: ...``, and exits with status 2;
there is no traceback unless ``CONCEPTLAB_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conceptlab import __version__
from conceptlab.errors import ConceptlabError, RunDirError
from conceptlab.interfaces import Component
from conceptlab.plugins import get_registry
from conceptlab.registry import PluginInfo, Registry
from conceptlab.spec import STAGES
from conceptlab.threads import apply_thread_policy

__all__ = ["main"]


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--disable", action="append", default=[], metavar="PLUGIN",
        help="do not load this plugin (repeatable; also CONCEPTLAB_DISABLE_PLUGINS=a,b)",
    )
    parser.add_argument(
        "--no-autoload", action="store_true",
        help="load no entry-point plugins, only built-ins (also CONCEPTLAB_DISABLE_PLUGIN_AUTOLOAD=1)",
    )
    parser.add_argument(
        "--trace-hooks", action="store_true",
        help="write every hook call to stderr (also CONCEPTLAB_TRACE_HOOKS=1)",
    )
    parser.add_argument(
        "--threads", metavar="N",
        help="numeric (torch) threads per process, workers included (default 1; also CONCEPTLAB_THREADS=N)",
    )


def _export_switches(args: argparse.Namespace) -> None:
    # Worker processes build their own registry: pass the switches on through the environment.
    if args.disable:
        current = [p for p in os.environ.get("CONCEPTLAB_DISABLE_PLUGINS", "").split(",") if p]
        os.environ["CONCEPTLAB_DISABLE_PLUGINS"] = ",".join(current + args.disable)
    if args.no_autoload:
        os.environ["CONCEPTLAB_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if args.trace_hooks:
        os.environ["CONCEPTLAB_TRACE_HOOKS"] = "1"


def build_parser(registry: Registry) -> argparse.ArgumentParser:
    """The full parser: ``plugins``, ``spec``, ``run`` and ``report``, plus the commands
    plugins add through ``add_cli_commands`` (the built-in ``study`` and ``bench`` among them)."""
    parser = argparse.ArgumentParser(
        prog="conceptlab",
        description="Find what a self-play agent knows that people don't, and teach it.",
    )
    parser.add_argument("--version", action="version", version=f"conceptlab {__version__}")
    _global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser("plugins", help="list plugins with their hooks and components")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--params", action="store_true",
        help="also describe each component and list its params (imports every component)",
    )
    p.set_defaults(func=_cmd_plugins)

    spec = commands.add_parser("spec", help="validate specs and show their schema")
    spec_cmds = spec.add_subparsers(dest="spec_command", metavar="SUBCOMMAND", required=True)
    p = spec_cmds.add_parser(
        "validate",
        help="validate a spec file (structure, each component's params, the files it names)",
    )
    p.add_argument("file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value")
    p.set_defaults(func=_cmd_spec_validate)
    p = spec_cmds.add_parser("schema", help="print the JSON schema of run specs")
    p.add_argument("--markdown", action="store_true", help="the spec reference page (docs/specs.md)")
    p.set_defaults(func=_cmd_spec_schema)

    p = commands.add_parser("run", help="run a spec's pipeline into a run directory")
    p.add_argument("spec")
    p.add_argument("--out", help="run directory (default: runs/<spec name>)")
    p.add_argument(
        "--stages", help=f"comma-separated stages to run (default: all): {', '.join(STAGES)}"
    )
    p.add_argument("--resume", action="store_true", help="continue the run already in the run directory")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_run)

    p = commands.add_parser("report", help="write the HTML report of a run directory")
    p.add_argument("run_dir")
    p.add_argument("--out", help="report file (default: RUN_DIR/report.html)")
    p.set_defaults(func=_cmd_report)

    # everything else (study, bench, the plugins' tools) arrives through the public hook
    registry.hook.add_cli_commands(commands=commands)
    return parser


def _cmd_plugins(args: argparse.Namespace, registry: Registry) -> int:
    infos = registry.plugins()
    if args.json:
        print(json.dumps([_plugin_json(info, registry, args.params) for info in infos], indent=2))
        return 0
    for info in infos:
        print(f"{info.name}  ({info.distribution} {info.version})")
        print(f"  hooks: {', '.join(info.hooks) or '-'}")
        for kind, name in info.components:
            print(f"  {kind.replace('_', ' ')}: {name} - {_summary(registry, kind, name, args.params)}")
            if args.params:
                for param in _component_params(registry.get(kind, name)):
                    print(f"      {param}")
    if not args.params:
        print("(a component not imported yet shows where it lives; --params imports each one "
              "and lists its description and params)")
    return 0


def _summary(registry: Registry, kind: str, name: str, load: bool) -> str:
    # Listing plugins imports no component: a class not imported yet shows where it lives.
    cls = registry.get(kind, name) if load else registry.loaded(kind, name)
    return (cls.describe() or cls.__name__) if cls is not None else f"({registry.location(kind, name)})"


def _plugin_json(info: PluginInfo, registry: Registry, load: bool) -> dict[str, Any]:
    data: dict[str, Any] = dict(info.__dict__)
    data["locations"] = {f"{kind}:{name}": registry.location(kind, name) for kind, name in info.components}
    if load:
        data["params"] = {
            f"{kind}:{name}": _component_params(registry.get(kind, name)) for kind, name in info.components
        }
    return data


def _component_params(cls: type[Component]) -> list[str]:
    """One ``name: type = default`` line per param of component ``cls``."""
    lines = []
    for name, field in cls.Params.model_fields.items():
        annotation = getattr(field.annotation, "__name__", None) or str(field.annotation)
        default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
        lines.append(f"{name}: {annotation} = {default}")
    return lines


def _cmd_spec_validate(args: argparse.Namespace, registry: Registry) -> int:
    from conceptlab.checks import check_inputs
    from conceptlab.run.components import Components
    from conceptlab.spec import load_spec, resolve_spec

    spec = load_spec(args.file, args.set)
    resolved = resolve_spec(spec, registry, source=args.file)
    check_inputs(spec, Components(resolved, registry).domain, args.file)
    print(f"{args.file}: valid spec {spec.name!r}")
    return 0


def _cmd_spec_schema(args: argparse.Namespace, registry: Registry) -> int:
    from conceptlab.docs import spec_reference
    from conceptlab.spec import RunSpec

    if args.markdown:
        sys.stdout.write(spec_reference(registry))
    else:
        print(json.dumps(RunSpec.model_json_schema(), indent=2))
    return 0


def _cmd_run(args: argparse.Namespace, registry: Registry) -> int:
    from conceptlab.pipeline import run_pipeline
    from conceptlab.spec import load_spec

    spec = load_spec(args.spec, args.set)
    out = Path(args.out) if args.out else Path("runs") / spec.name
    stages = [s.strip() for s in args.stages.split(",") if s.strip()] if args.stages else None
    manifest = run_pipeline(
        spec, out, stages=stages, resume=args.resume, registry=registry, progress=not args.quiet,
        source=args.spec,
    )
    done = [s for s in STAGES if manifest["stages"].get(s, {}).get("status") == "finished"]
    discarded = manifest.get("runtime", {}).get("discarded") or []
    if discarded:
        print(f"stages whose settings changed since they ran (discarded, run again when asked for): "
              f"{', '.join(discarded)}")
    recomputed = manifest.get("runtime", {}).get("recomputed") or []
    if recomputed:
        print(f"files that no longer matched their checksums, recomputed: {', '.join(recomputed)}")
    print(f"run {spec.name!r} in {out}: finished stages {', '.join(done) or 'none'}")
    return 0


def _cmd_report(args: argparse.Namespace, registry: Registry) -> int:
    from conceptlab.report import write_report

    path = write_report(Path(args.run_dir), Path(args.out) if args.out else None, registry)
    print(f"report: {path}")
    try:
        steps = next_steps(Path(args.run_dir))
    except RunDirError as exc:  # e.g. a run directory of an older format: the report is written all the same
        steps = [f"next steps: {exc}"]
    for line in steps:
        print(line)
    return 0


def _program() -> str:
    """The ``conceptlab`` command as it was called (e.g. ``.venv/bin/conceptlab``), for commands to run next."""
    called = Path(sys.argv[0])
    return str(called) if called.name == "conceptlab" else "conceptlab"


def _share(figure: Any) -> str:
    if not isinstance(figure, dict) or figure.get("share") is None:
        return "none assessed"
    return f"{figure['share']:.0%}, 95% CI {figure['ci_low']:.0%}-{figure['ci_high']:.0%}"


def next_steps(run_dir: Path) -> list[str]:
    """What to do with a run next, one line each: its puzzle sets and the command that starts the
    study on them; or, when nothing was exported, why (the filters' pass rates beside their nulls)
    and the command that exports the strongest candidates as control puzzles. Run again from the
    run's own ``spec.json``, that command re-runs the export stage alone."""
    from conceptlab.run.store import open_run

    run = open_run(run_dir)
    program = _program()
    resume = f"{program} run {shlex.quote(str(run_dir / 'spec.json'))} --out {shlex.quote(str(run_dir))} --resume"
    if not run.finished("export"):
        return [f"the export stage has not finished; to finish the run: {resume}"]
    export, teach, novelty = run.figures("export"), run.figures("teach"), run.figures("novelty")
    concepts, controls = int(export.get("concepts_exported", 0)), int(export.get("controls_exported", 0))
    funnel = (
        f"teachable {teach.get('teachable', 0)} of {teach.get('assessed', 0)} assessed "
        f"(null: random sparse directions {_share(teach.get('null_teachable_share'))}); "
        f"novel {novelty.get('novel', 0)} of {novelty.get('assessed', 0)} "
        f"(null: random sparse directions {_share(novelty.get('null_novel_share'))}; "
        f"the agent against itself {_share(novelty.get('agent_split_novel_share'))})"
    )
    puzzles = run_dir / "export" / "puzzles"
    if concepts + controls:
        lines = [f"puzzle sets: {puzzles} ({concepts} concepts, {controls} controls, {export.get('puzzles', 0)} puzzles)"]
        if not concepts:
            lines.append(f"no concept passed both filters, the puzzles are controls only: {funnel}")
        lines.append(f"study: {program} study serve --puzzles {shlex.quote(str(puzzles))} --db study.sqlite")
        return lines
    lines = [f"exported: nothing, no concept passed both filters: {funnel}"]
    if teach.get("assessed", 0):
        lines.append(
            "control puzzles of the strongest candidates (the export stage alone runs again): "
            f"{resume} --set stages.export.fallback=strongest"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``conceptlab`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    _global_options(pre)
    early, _ = pre.parse_known_args(argv)
    try:
        # before any plugin can import torch: OpenMP reads its wait policy once, at import
        apply_thread_policy(early.threads)
        _export_switches(early)
        registry = get_registry(
            autoload=False if early.no_autoload else None,
            disable=early.disable,
            trace=True if early.trace_hooks else None,
        )
        parser = build_parser(registry)
        args = parser.parse_args(argv)
        return int(args.func(args, registry) or 0)
    except ConceptlabError as exc:
        if os.environ.get("CONCEPTLAB_DEBUG") == "1":
            raise
        print(f"conceptlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("conceptlab: interrupted; run again with --resume to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
