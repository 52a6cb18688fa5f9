"""Where units of work run: in this process, or in a pool of worker processes.

Stages hand an executor a top-level function and a list of picklable payloads;
the executor yields ``(index, result)`` pairs as units finish, in any order.
Stages write each result under its index, so the order of completion never
changes what ends up on disk. :class:`RayExecutor` runs the same units as Ray
tasks, on a local Ray instance or on an existing cluster (``ray`` is optional:
``pip install 'conceptlab[ray]'``).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from conceptlab.errors import ComponentError, SpecError
from conceptlab.spec import EXECUTORS, ExecutorSpec
from conceptlab.threads import THREADS_ENV, apply_thread_policy

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "SerialExecutor", "make_executor", "require_ray"]

T = TypeVar("T")
R = TypeVar("R")


class Executor(ABC):
    """Runs independent units of work."""

    name: str

    @abstractmethod
    def imap(self, fn: Callable[[T], R], payloads: Sequence[T]) -> Iterator[tuple[int, R]]:
        """Run ``fn(payload)`` for each payload; yield ``(index, result)`` as each finishes.

        An exception in a unit propagates to the caller; units already yielded
        stay yielded, so what was written for them is kept.
        """

    def close(self) -> None:
        """Release workers (a no-op for in-process executors)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every unit in this process, in order. Best for tests and debugging."""

    name = "serial"

    def imap(self, fn: Callable[[T], R], payloads: Sequence[T]) -> Iterator[tuple[int, R]]:
        for index, payload in enumerate(payloads):
            yield index, fn(payload)


PARENT_CHECK_SECONDS = 0.5
"""How often a pool worker checks that the process that started it is still alive."""


def _exit_with_parent(parent: int, interval: float = PARENT_CHECK_SECONDS) -> None:
    """Exit this process as soon as ``parent`` is no longer its parent (it died; the process was
    handed to another), even in the middle of a unit.

    A pool worker otherwise outlives a parent killed with SIGKILL: it waits for work
    on a queue whose write end it holds itself, so it never sees the end of input.
    """
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="conceptlab-parent-watch", daemon=True).start()


def _init_worker(parent: int | None = None) -> None:
    """Set up a pool worker: it exits when ``parent`` dies, and runs under the thread policy
    (one numeric thread unless overridden): the pool supplies the parallelism."""
    if parent is not None:
        _exit_with_parent(parent)
    apply_thread_policy()
    try:
        import torch  # noqa: F401  (imported after the policy set OMP_NUM_THREADS and the wait policy)
    except ImportError:
        return
    apply_thread_policy()  # torch is loaded now: set its intra-op threads directly as well


class LocalExecutor(Executor):
    """A pool of worker processes on this machine (``spawn`` start method).

    Each worker exits within :data:`PARENT_CHECK_SECONDS` of the process that started
    it dying, however it died (SIGKILL included), so a killed run leaves no workers.

    Args:
        workers: Pool size; default the machine's CPU count.
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def imap(self, fn: Callable[[T], R], payloads: Sequence[T]) -> Iterator[tuple[int, R]]:
        if not payloads:
            return
        pool = self._get_pool()
        pending: dict[Future[R], int] = {}
        queue = iter(enumerate(payloads))
        # keep a bounded number in flight so that results are written as they come
        for index, payload in queue:
            pending[pool.submit(fn, payload)] = index
            if len(pending) >= 2 * self.workers:
                break
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.__getitem__):
                    index = pending.pop(future)
                    yield index, future.result()
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(fn, nxt[1])] = nxt[0]
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


RAY_INSTALL_HINT = "pip install 'conceptlab[ray]'"
"""How to install the optional Ray dependency."""


def require_ray() -> Any:
    """The ray module; a :class:`ComponentError` naming the pip extra when it is missing."""
    try:
        import ray
    except ImportError as exc:
        raise ComponentError(
            f"executor 'ray' needs the ray package, which is not installed ({exc}); "
            f"install it with: {RAY_INSTALL_HINT}"
        ) from None
    return ray


def _ray_unit(fn: Callable[[T], R], payload: T) -> R:
    """One unit inside a Ray worker, under the thread policy (the cluster supplies the parallelism)."""
    _init_worker()
    return fn(payload)


class RayExecutor(Executor):
    """Units of work as Ray tasks: on a local Ray instance, or on an existing cluster.

    Each unit is one task needing one CPU. A task whose worker process dies (killed,
    out of memory, node lost) is rerun up to ``max_retries`` times; an exception
    raised by the unit itself is not retried and propagates, as with the other
    executors. Results come back to this process, which writes them, so a retried
    unit is written once: nothing is duplicated or lost.

    Args:
        address: Cluster to join (``"auto"``, ``"ray://head:10001"``); None starts a
            local instance (or uses the one this process already started).
        workers: Units in flight at once (default: the cluster's CPUs).
        num_cpus: CPUs of a local instance started here (default: all).
        max_retries: Reruns of a unit whose worker died.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        num_cpus: int | None = None,
        max_retries: int = 3,
    ) -> None:
        self._ray = require_ray()
        self.address = address
        self.workers = workers
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self._started_here = False
        self._remote: Any = None

    def _connect(self) -> Any:
        ray = self._ray
        if not ray.is_initialized():
            policy = apply_thread_policy()
            env = {"env_vars": {
                THREADS_ENV: str(policy.threads), "OMP_NUM_THREADS": str(policy.threads),
                "OMP_WAIT_POLICY": policy.wait_policy,
            }}
            try:
                if self.address is None:
                    ray.init(num_cpus=self.num_cpus, include_dashboard=False,
                             runtime_env=env, log_to_driver=False)
                else:
                    ray.init(address=self.address, runtime_env=env, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "a local instance"
                raise ComponentError(f"executor 'ray': cannot start or join {where}: {exc}") from None
            self._started_here = True
        if self._remote is None:
            self._remote = ray.remote(num_cpus=1, max_retries=self.max_retries,
                                      retry_exceptions=False)(_ray_unit)
        return ray

    def in_flight(self) -> int:
        """Units run at once: ``workers``, else the cluster's CPUs."""
        return self.workers or self._cluster_cpus()

    def _cluster_cpus(self) -> int:
        return max(1, int(self._connect().cluster_resources().get("CPU", 1)))

    def imap(self, fn: Callable[[T], R], payloads: Sequence[T]) -> Iterator[tuple[int, R]]:
        if not payloads:
            return
        ray = self._connect()
        limit = self.in_flight()
        # Ray starts a queued task as soon as a CPU is free, so units are queued ahead
        # (hiding the round trip to this process) only when every CPU may be used;
        # with fewer workers than CPUs exactly ``workers`` units are submitted at a time.
        if limit >= self._cluster_cpus():
            limit *= 2
        fn_ref = ray.put(fn)
        pending: dict[Any, int] = {}
        queue = iter(enumerate(payloads))

        def submit() -> None:
            nxt = next(queue, None)
            if nxt is not None:
                pending[self._remote.remote(fn_ref, nxt[1])] = nxt[0]

        for _ in range(limit):
            submit()
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    index = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        # the unit's own exception, re-raised as itself
                        raise exc.as_instanceof_cause() from None
                    yield index, result
                    submit()
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)  # kill: interrupting a unit could leave a half-done import behind

    def close(self) -> None:
        if self._started_here and self._ray.is_initialized():
            self._ray.shutdown()
        self._started_here = False
        self._remote = None


def make_executor(spec: ExecutorSpec) -> Executor:
    """The executor a spec asks for."""
    if spec.name == "serial":
        return SerialExecutor()
    if spec.name == "local":
        if spec.workers == 1:
            return SerialExecutor()
        return LocalExecutor(spec.workers)
    if spec.name == "ray":
        return RayExecutor(spec.address, spec.workers, spec.num_cpus, spec.max_retries)
    raise SpecError(f"unknown executor {spec.name!r}; choose one of {', '.join(EXECUTORS)}")


def run_all(executor: Executor, fn: Callable[[T], Any], payloads: Sequence[T]) -> list[Any]:
    """All results of ``executor.imap`` in payload order."""
    results: list[Any] = [None] * len(payloads)
    for index, result in executor.imap(fn, payloads):
        results[index] = result
    return results
