"""The local engine: the current process, or a pool of worker processes on one machine."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` items (the last may be shorter), drawn lazily: the unit
    every engine hands to a stage function."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def default_workers() -> int:
    """All cores this process may use (respects CPU affinity and cgroup pinning)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class LocalEngine:
    """Maps a stage function over batches, in order, so results never depend on `workers`.

    With ``workers=1`` everything runs in this process (easiest to debug and
    what tests use by default); with more, batches go to a process pool and
    come back in input order.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None or workers <= 0 else workers

    def map(self, fn: Callable[..., R], batches: Iterable[T], *args: Any) -> Iterator[R]:
        if self.workers == 1:
            for batch in batches:
                yield fn(batch, *args)
            return
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        call = _Call(fn, args)
        # Batches are drawn from the iterator in THIS thread (Pool.imap would draw them in a
        # helper thread, where e.g. a SQLite cursor may not be used), with a bounded number
        # in flight so memory does not grow with the input.
        pending: deque[Any] = deque()
        with ctx.Pool(self.workers) as pool:
            for batch in batches:
                pending.append(pool.apply_async(call, (batch,)))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()


class _Call:
    """A picklable `fn(batch, *args)` (lambdas and partials of locals do not pickle)."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args

    def __call__(self, batch: Any) -> Any:
        return self.fn(batch, *self.args)
