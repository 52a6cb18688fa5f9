"""Search speed idle and beside busy processes, with torch's old default threading and with the policy.

Runs ``conceptlab bench search`` in a fresh process four times per round:

* ``torch default, idle`` / ``torch default, N busy``: two intra-op threads and
  the OpenMP wait policy left at its default (torch is imported before the
  thread policy could set it, as it was before the policy existed);
* ``policy, idle`` / ``policy, N busy``: the thread policy's default (one
  thread, ``OMP_WAIT_POLICY=PASSIVE`` set before torch loads).

"N busy" starts N processes that spin (``while True: pass``) for the length of
that measurement and stops them afterwards. Each measurement prints the load
average beside its figures; the ratios loaded/idle are the point.

Usage::

    python scripts/bench_contention.py [--busy 2] [--rounds 1] [--simulations 200] [--positions 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEACHER = ROOT / "plugins" / "chess" / "conceptlab_chess" / "checkpoints" / "teacher.pt"

OLD_DEFAULT = (
    "import sys, torch; torch.set_num_threads(2); "  # torch first: the wait policy set later has no effect
    "from conceptlab.cli import main; sys.exit(main(sys.argv[1:]))"
)
POLICY = "import sys; from conceptlab.cli import main; sys.exit(main(sys.argv[1:]))"


def _bench(code: str, threads: int, args: argparse.Namespace, timeout: float) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CONCEPTLAB_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        command = [
            sys.executable, "-c", code, "--threads", str(threads), "bench", "search", args.spec,
            "--checkpoint", args.checkpoint, "--positions", str(args.positions), "--repeats", "1",
            "--set", f"search.params.simulations={args.simulations}",
            "--set", f"search.params.batch_size={args.batch_size}", "--json", str(out),
        ]
        subprocess.run(command, env=env, check=True, timeout=timeout, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def _measure(code: str, threads: int, busy: int, args: argparse.Namespace) -> dict[str, object] | None:
    """The bench's figures, or None when it ran past ``--timeout`` (it is then stopped)."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)
    ]
    try:
        if spinners:
            time.sleep(1.0)  # let them take their cores
        return _bench(code, threads, args, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "specs" / "chess-quick.toml"))
    parser.add_argument("--checkpoint", default=str(TEACHER))
    parser.add_argument("--busy", type=int, default=2, help="spinning processes beside the loaded runs")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the four measurements")
    parser.add_argument("--simulations", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--positions", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=240.0,
                        help="seconds one bench may take (past it, it is stopped and reported as timed out)")
    args = parser.parse_args(argv)

    configs = [("torch default (2 threads)", OLD_DEFAULT, 2), ("policy (1 thread, PASSIVE)", POLICY, 1)]
    print(f"{'config':<28} {'load':<5} {'sims/s':>8} {'evals/s':>8} {'loadavg at start':>18}  thread policy")
    results: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for name, code, threads in configs:
            for busy in (0, args.busy):
                start = time.perf_counter()
                figures = _measure(code, threads, busy, args)
                if figures is None:
                    results.setdefault((name, busy), []).append(float("nan"))
                    print(f"{name:<28} {busy:<5} timed out after {time.perf_counter() - start:.0f} s "
                          f"(load {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end)", flush=True)
                    continue
                rate = float(figures["batched_sims_per_s"])  # type: ignore[arg-type]
                results.setdefault((name, busy), []).append(rate)
                print(f"{name:<28} {busy:<5} {rate:>8.0f} {float(figures['net_evals_per_s']):>8.0f} "  # type: ignore[arg-type]
                      f"{figures['load_average_start']:>18}  {figures['thread_policy']}", flush=True)
    print()
    for name, _, _ in configs:
        idle, loaded = results[(name, 0)], results[(name, args.busy)]
        ratios = [b / a for a, b in zip(idle, loaded)]
        print(f"{name}: {args.busy} busy / idle = " + ", ".join(
            "timed out" if r != r else f"{r:.2f}" for r in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
