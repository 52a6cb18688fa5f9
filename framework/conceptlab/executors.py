"""Where units of work run: in this process, or in a pool of worker processes.

Stages hand an executor a top-level function and a list of picklable payloads;
the executor yields ``(index, result)`` pairs as units finish, in any order.
Stages write each result under its index, so the order of completion never
changes what ends up on disk. A Ray executor implements the same interface.
"""

from __future__ import annotations

import multiprocessing
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from conceptlab.errors import SpecError
from conceptlab.spec import EXECUTORS, ExecutorSpec

__all__ = ["Executor", "LocalExecutor", "SerialExecutor", "make_executor"]

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


def _init_worker() -> None:
    # One numeric thread per worker: the pool supplies the parallelism.
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


class LocalExecutor(Executor):
    """A pool of worker processes on this machine (``spawn`` start method).

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


def make_executor(spec: ExecutorSpec) -> Executor:
    """The executor a spec asks for."""
    if spec.name == "serial":
        return SerialExecutor()
    if spec.name == "local":
        if spec.workers == 1:
            return SerialExecutor()
        return LocalExecutor(spec.workers)
    raise SpecError(f"unknown executor {spec.name!r}; choose one of {', '.join(EXECUTORS)}")


def run_all(executor: Executor, fn: Callable[[T], Any], payloads: Sequence[T]) -> list[Any]:
    """All results of ``executor.imap`` in payload order."""
    results: list[Any] = [None] * len(payloads)
    for index, result in executor.imap(fn, payloads):
        results[index] = result
    return results
