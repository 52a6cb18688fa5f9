"""How many numeric threads each process uses, and how idle OpenMP threads wait.

Every process conceptlab starts (the ``conceptlab`` command, executor workers,
benchmarks, the plugins' commands and engines) applies one policy:

* **one intra-op thread per process** by default. The network evaluations of a
  search are small (a batch of 8-32 positions), and on a machine shared with other
  work torch's default of one thread per core collapses: each call waits for its
  slowest thread, and a thread that loses its core stalls them all. Work that is
  parallel (self-play games, stage units) runs in worker processes instead.
* **a passive OpenMP wait policy** (``OMP_WAIT_POLICY=PASSIVE``): idle OpenMP
  threads sleep instead of spinning, so that several threads or processes do not
  steal each other's cores. OpenMP reads it once, when torch is first imported,
  so it is set in the environment before that (and inherited by child processes).

The override, in order of precedence: a ``--threads N`` flag, then the
``CONCEPTLAB_THREADS`` environment variable, then ``OMP_NUM_THREADS``; an
``OMP_WAIT_POLICY`` already in the environment is left as it is.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

from conceptlab.errors import ConceptlabError

__all__ = [
    "DEFAULT_THREADS",
    "THREADS_ENV",
    "ThreadPolicy",
    "ThreadPolicyError",
    "apply_thread_policy",
    "current_thread_policy",
    "load_average",
    "resolve_threads",
    "set_wait_policy",
    "thread_state",
]

THREADS_ENV = "CONCEPTLAB_THREADS"
"""Environment variable that sets the intra-op threads of every conceptlab process."""

DEFAULT_THREADS = 1
"""Intra-op threads per process when nothing overrides it."""

WAIT_POLICY = "PASSIVE"
"""The OpenMP wait policy set when the environment names none."""


class ThreadPolicyError(ConceptlabError):
    """A thread count that is not a positive integer."""


@dataclass(frozen=True)
class ThreadPolicy:
    """The numeric threading a process runs with."""

    threads: int
    """Intra-op threads of torch (and of OpenMP in this process and its children)."""
    source: str
    """Where ``threads`` came from: ``"--threads"``, ``"CONCEPTLAB_THREADS"``, ``"OMP_NUM_THREADS"`` or ``"default"``."""
    wait_policy: str
    """``OMP_WAIT_POLICY`` in the environment."""
    wait_policy_in_effect: bool
    """False when torch was imported before the policy first set the wait policy (OpenMP reads it only then)."""

    def describe(self) -> str:
        """One line for benchmark output and logs."""
        late = "" if self.wait_policy_in_effect else " (set after torch was imported: not in effect)"
        return (
            f"{self.threads} intra-op thread{'s' if self.threads != 1 else ''} per process "
            f"(from {self.source}), OMP_WAIT_POLICY={self.wait_policy}{late}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The policy as JSON data (for manifests and benchmark figures)."""
        return asdict(self)


def _parse(value: str | int, where: str) -> int:
    try:
        threads = int(str(value).strip())
    except ValueError:
        threads = 0
    if threads < 1:
        raise ThreadPolicyError(f"{where}: expected a positive number of threads, got {value!r}")
    return threads


def resolve_threads(threads: int | str | None = None) -> tuple[int, str]:
    """(thread count, where it came from): ``threads``, else the environment, else 1.

    Raises:
        ThreadPolicyError: The flag or an environment variable is not a positive integer.
    """
    if threads is not None:
        return _parse(threads, "--threads"), "--threads"
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            return _parse(value, name), name
    return DEFAULT_THREADS, "default"


def set_wait_policy() -> str:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the environment names one; return the policy in force.

    Never fails: a module that imports torch at its top calls this first.
    """
    return os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)


def apply_thread_policy(threads: int | str | None = None) -> ThreadPolicy:
    """Apply the thread policy to this process and to the processes it will start.

    Call it as early as possible, before torch is imported: the wait policy only
    takes effect then. It sets ``CONCEPTLAB_THREADS``, ``OMP_NUM_THREADS`` (read by
    torch when it is imported, here and in child processes) and, when unset,
    ``OMP_WAIT_POLICY``; when torch is already imported it also calls
    ``torch.set_num_threads``.

    Args:
        threads: An explicit count (a ``--threads`` flag); None reads the environment.

    Raises:
        ThreadPolicyError: A count that is not a positive integer.
    """
    count, source = resolve_threads(threads)
    torch_loaded = "torch" in sys.modules
    already_set = "OMP_WAIT_POLICY" in os.environ  # e.g. inherited from the process that started this one
    os.environ[THREADS_ENV] = str(count)
    os.environ["OMP_NUM_THREADS"] = str(count)
    set_wait_policy()
    if torch_loaded:
        torch = sys.modules["torch"]
        if torch.get_num_threads() != count:
            torch.set_num_threads(count)
    policy = ThreadPolicy(
        threads=count,
        source=source,
        wait_policy=os.environ["OMP_WAIT_POLICY"],
        wait_policy_in_effect=not torch_loaded or already_set,
    )
    _APPLIED[:] = [policy]
    return policy


_APPLIED: list[ThreadPolicy] = []
"""The policy this process applied last (a list of at most one)."""


def current_thread_policy() -> ThreadPolicy:
    """The policy this process last applied, or (when none was) the policy applied now."""
    if _APPLIED and _APPLIED[-1].threads == resolve_threads()[0]:
        return _APPLIED[-1]
    return apply_thread_policy()


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15-minute load averages (NaNs where the platform has none)."""
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):
        return (float("nan"),) * 3
    return (round(one, 2), round(five, 2), round(fifteen, 2))


def thread_state() -> dict[str, Any]:
    """The threading this process runs with now: torch's intra-op threads and the environment.

    ``torch_threads`` is None when torch is not installed. A top-level function, so
    that executor tests and benchmarks can ask a worker process for it.
    """
    try:
        import torch
    except ImportError:
        torch_threads = None
    else:
        torch_threads = int(torch.get_num_threads())
    return {
        "torch_threads": torch_threads,
        THREADS_ENV: os.environ.get(THREADS_ENV),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
    }


def thread_state_of_unit(_payload: object) -> dict[str, Any]:
    """:func:`thread_state` as an executor unit (its payload is ignored)."""
    return thread_state()
