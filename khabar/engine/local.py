"""The local runner: steps in this process or a pool of processes, data in files on disk.

Every dataset is a list of partition files in a work folder, each a sequence of
pickled batches. A map task reads some batches of one partition and writes
its own file; a shuffle writes, from each input partition, one chunk file per
output partition, and a reduce task reads the chunks of its partition. So a
worker holds one batch (map) or one partition (reduce) at a time and the
driver holds file names and counts: memory does not grow with the collection.

With ``workers=1`` every task runs in this process (easiest to debug and what
tests use by default); with more, tasks go to a pool of forked processes. The
results never depend on the number of workers (see `khabar.engine.dataset`).
"""

from __future__ import annotations

import bisect
import gc
import itertools
import math
import multiprocessing as mp
import os
import pickle
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from khabar.engine.dataset import Dataset, SplitFn, merge_sorted, sort_batch
from khabar.pickling import fast_pickle

T = TypeVar("T")

BATCH = 256
"""Records per batch handed to a step (the unit of vectorized work)."""
PARTITION_BATCHES = 8
"""Batches per partition written by `source`."""
SHUFFLE_TARGET_BYTES = 16 << 20
"""A shuffle makes enough partitions to keep each one about this size (what one reduce task
holds in memory)."""
MAX_PARTITIONS = 4096
_TRACE = bool(os.environ.get("KHABAR_TRACE"))


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` items (the last may be shorter), drawn lazily."""
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


# -- partition files ------------------------------------------------------------------------------


@fast_pickle
@dataclass(frozen=True, slots=True)
class Part:
    """Some batches of one file: `offsets[k]` is where batch k starts, `offsets[-1]` the end."""

    path: str
    offsets: tuple[int, ...]
    count: int

    @property
    def nbatches(self) -> int:
        return len(self.offsets) - 1

    @property
    def nbytes(self) -> int:
        return self.offsets[-1] - self.offsets[0]

    def read(self) -> Iterator[list[Any]]:
        if self.nbatches == 0:
            return
        with open(self.path, "rb") as fh:
            fh.seek(self.offsets[0])
            for _ in range(self.nbatches):
                yield pickle.load(fh)

    def slices(self, size: int) -> list[Part]:
        """This part cut into parts of at most `size` batches (counts are unknown: -1)."""
        if self.nbatches <= size:
            return [self]
        return [Part(self.path, self.offsets[k:k + size + 1], -1)
                for k in range(0, self.nbatches, size)]


class _Writer:
    """Writes batches to one partition file, remembering where each starts."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fh = open(path, "wb")  # noqa: SIM115 (closed in `close`)
        self.offsets = [0]
        self.count = 0

    def write(self, batch: list[Any], size: int = BATCH) -> None:
        for start in range(0, len(batch), size):
            chunk = batch[start:start + size] if len(batch) > size else batch
            if not chunk:
                continue
            pickle.dump(chunk, self.fh, protocol=pickle.HIGHEST_PROTOCOL)
            self.offsets.append(self.fh.tell())
            self.count += len(chunk)

    def close(self) -> Part:
        self.fh.close()
        return Part(self.path, tuple(self.offsets), self.count)


def _write_stream(path: str, items: Iterable[Any]) -> Part:
    writer = _Writer(path)
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            writer.write(batch)
            batch = []
    writer.write(batch)
    return writer.close()


# -- tasks (top-level functions: they run in worker processes) ------------------------------------


def _map_task(task: tuple) -> Part:
    part, fn, args, out = task
    writer = _Writer(out)
    for batch in part.read():
        writer.write(fn(batch, *args))
    return writer.close()


def _parse_task(task: tuple) -> tuple[list[Part], Any]:
    k, payload, fn, args, outs = task
    outputs, side = fn(k, payload, *args)
    parts = []
    for records, out in zip(outputs, outs, strict=True):
        writer = _Writer(out)
        writer.write(records)
        parts.append(writer.close())
    return parts, side


def _multi_task(task: tuple) -> list[Part]:
    part, fn, args, outs = task
    writers = [_Writer(out) for out in outs]
    for batch in part.read():
        for writer, records in zip(writers, fn(batch, *args), strict=True):
            writer.write(records)
    return [w.close() for w in writers]


def _split_task(task: tuple) -> list[tuple[int, Part]]:
    part, split_fn, args, partitions, prefix = task
    pending: dict[int, list[Any]] = {}
    for batch in part.read():
        for p, chunk in split_fn(batch, partitions, *args).items():
            pending.setdefault(p, []).append(chunk)
    out = []
    for p in sorted(pending):
        path = f"{prefix}-{p:05d}"
        with open(path, "wb") as fh:
            for chunk in pending[p]:
                pickle.dump(chunk, fh, protocol=pickle.HIGHEST_PROTOCOL)
            end = fh.tell()
        out.append((p, Part(path, (0, end), len(pending[p]))))
    return out


def _read_chunks(part: Part) -> Iterator[Any]:
    with open(part.path, "rb") as fh:
        while fh.tell() < part.offsets[-1]:
            yield pickle.load(fh)


def _reduce_task(task: tuple) -> Part:
    chunk_parts, reduce_fn, args, out = task
    chunks = [[c for part in parts for c in _read_chunks(part)] for parts in chunk_parts]
    part = _write_stream(out, reduce_fn(chunks, *args))
    for parts in chunk_parts:
        for p in parts:
            os.unlink(p.path)
    return part


def _aggregate_task(task: tuple) -> Any:
    part, fn, args, combine, zero = task
    acc = zero
    for batch in part.read():
        value = fn(batch, *args)
        acc = value if acc is None else combine(acc, value)
    return acc


def _pairs_task(task: tuple) -> Part:
    part, table, fn, args, out = task
    lookup = _Lookup(table)
    writer = _Writer(out)
    get = lookup.get
    for batch in part.read():
        writer.write(fn([(i, j, payload, get(i), get(j)) for i, j, payload in batch], *args))
    return writer.close()


def _sorted_task(task: tuple) -> Part:
    part, key, out = task
    items = [x for batch in part.read() for x in batch]
    return _write_stream(out, sort_batch(items, key))


def _starts(batches: Iterable[list[Any]]) -> Iterator[tuple[int, list[Any]]]:
    done = 0
    for batch in batches:
        yield done, batch
        done += len(batch)


# -- reading inputs -------------------------------------------------------------------------------

RECORD_BITS = 12
"""Records a payload may hold, in bits: a document's number is (payload << 12) | place."""


def _payloads(items: Iterable[Any]) -> Iterator[Any]:
    """Line chunks as they are; documents read by the driver, in lists of at most 4,096."""
    from khabar.io.readers import LineChunk

    batch: list[Any] = []
    for item in items:
        if isinstance(item, LineChunk):
            if batch:
                yield batch
                batch = []
            yield item
        else:
            batch.append(item)
            if len(batch) >= 1 << RECORD_BITS:
                yield batch
                batch = []
    if batch:
        yield batch


def _parse_payload(k: int, payload: Any, fields: Any) -> tuple[tuple[list[Any]], list[Any]]:
    from khabar.io.readers import LineChunk, parse_chunk

    if isinstance(payload, LineChunk):
        docs, problems = parse_chunk(payload, fields)
    else:
        docs, problems = payload, []
    base = k << RECORD_BITS
    return ([(base + i, d) for i, d in enumerate(docs)],), problems


# -- keyed tables for work on pairs ---------------------------------------------------------------


@fast_pickle
@dataclass(frozen=True, slots=True)
class _Shard:
    path: str
    low: int
    high: int
    count: int


@fast_pickle
@dataclass(frozen=True, slots=True)
class _Table:
    """Records keyed by an integer, in shard files each holding one sorted range of keys.

    Shards are built from the partitions as they are (no shuffle): datasets numbered
    by the reader keep disjoint ranges of document numbers through every map. When
    ranges overlap the records are first shuffled by key range.
    """

    shards: tuple[_Shard, ...]
    lows: tuple[int, ...]


def _shard_task(task: tuple) -> _Shard | None:
    part, prep, prep_args, key_fn, out = task
    records = []
    for batch in part.read():
        records.extend(prep(batch, *prep_args) if prep is not None else batch)
    if not records:
        return None
    records.sort(key=key_fn)
    keys = np.fromiter((key_fn(r) for r in records), dtype=np.int64, count=len(records))
    with open(out, "wb") as fh:
        pickle.dump((keys, records), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return _Shard(out, int(keys[0]), int(keys[-1]), len(records))


class _Lookup:
    """Reads records of a `_Table` by key, keeping the last shards it opened."""

    def __init__(self, table: _Table, keep: int = 256) -> None:
        self.table = table
        self.keep = keep
        self.loaded: dict[int, tuple[np.ndarray, list[Any]]] = {}

    def get(self, key: int) -> Any:
        t = self.table
        s = bisect.bisect_right(t.lows, key) - 1
        if s < 0 or key > t.shards[s].high:
            raise KeyError(key)
        shard = self.loaded.get(s)
        if shard is None:
            if len(self.loaded) >= self.keep:
                self.loaded.pop(next(iter(self.loaded)))
            with open(t.shards[s].path, "rb") as fh:
                shard = pickle.load(fh)
            self.loaded[s] = shard
        keys, records = shard
        k = int(np.searchsorted(keys, key))
        if k >= len(keys) or keys[k] != key:
            raise KeyError(key)
        return records[k]


def _range_split(batch: list[Any], partitions: int, key_fn: Callable[[Any], int], bounds: Any
                 ) -> dict[int, list[tuple[int, Any]]]:
    out: dict[int, list[tuple[int, Any]]] = {}
    for r in batch:
        k = key_fn(r)
        out.setdefault(int(np.searchsorted(bounds, k, side="right")), []).append((k, r))
    return out


def _ranged_records(chunks: list[list[list[tuple[int, Any]]]]) -> list[Any]:
    return [r for chunk in chunks[0] for _, r in chunk]


# -- the runner -----------------------------------------------------------------------------------


class LocalDataset(Dataset):
    def __init__(self, runner: LocalRunner, parts: Sequence[Part]) -> None:
        self.runner = runner
        self.parts = list(parts)

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.parts)

    def __repr__(self) -> str:
        return f"LocalDataset({len(self.parts)} parts, {self.nbytes} bytes)"


class LocalBroadcast:
    """A value pickled once into the work folder; each worker process loads it once."""

    _loaded: ClassVar[dict[str, Any]] = {}  # path -> value: files are immutable, so this is a cache

    def __init__(self, path: str, value: Any) -> None:
        self.path = path
        self._value = value

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self._value = _MISSING

    @property
    def value(self) -> Any:
        if self._value is _MISSING:
            if self.path not in self._loaded:
                with open(self.path, "rb") as fh:
                    self._loaded[self.path] = pickle.load(fh)
            self._value = self._loaded[self.path]
        return self._value


_MISSING = object()


class LocalRunner:
    """Runs steps on this machine: `workers` processes (0 or None: all cores).

    `workdir` is where intermediate files go (a fresh folder inside it, removed on
    `close`); by default the system's temporary folder.
    """

    def __init__(self, workers: int | None = None, *, workdir: str | Path | None = None) -> None:
        self.workers = default_workers() if workers is None or workers <= 0 else workers
        self._base = workdir
        self._dir: str | None = None
        self._pool: Any = None
        self._seq = 0

    # -- lifecycle

    @property
    def dir(self) -> str:
        if self._dir is None:
            if self._base is not None:
                Path(self._base).mkdir(parents=True, exist_ok=True)
            self._dir = tempfile.mkdtemp(prefix="khabar-work-",
                                         dir=None if self._base is None else str(self._base))
        return self._dir

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> LocalRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalRunner(workers={self.workers})"

    def _path(self, stem: str) -> str:
        self._seq += 1
        return os.path.join(self.dir, f"{self._seq:06d}-{stem}")

    def _run(self, fn: Callable[[Any], T], tasks: list[Any]) -> list[T]:
        if _TRACE:
            import time

            from khabar.pipeline import cpu_seconds

            wall, cpu = time.perf_counter(), cpu_seconds()
        if self.workers == 1 or len(tasks) <= 1:
            out = [fn(t) for t in tasks]
        else:
            out = self._get_pool().map(fn, tasks, chunksize=1)
        if _TRACE:
            step = getattr(tasks[0][1], "__name__", "") if tasks and len(tasks[0]) > 1 else ""
            if tasks and len(tasks[0]) > 2 and isinstance(tasks[0][2], tuple) and tasks[0][2] \
                    and callable(tasks[0][2][0]):
                step += "/" + getattr(tasks[0][2][0], "__name__", "")
            took = time.perf_counter() - wall
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            print(f"[trace] {fn.__name__} {step} x{len(tasks)}: {took:.2f} s, "
                  f"{cpu_seconds() - cpu:.2f} CPU s, driver peak {peak} MB", file=sys.stderr)
        return out

    def _get_pool(self) -> Any:
        if self._pool is None:
            method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
            # a forked worker's garbage collector would walk (and so copy, page by page)
            # every object the driver holds; frozen objects are left alone
            gc.freeze()
            try:
                self._pool = mp.get_context(method).Pool(self.workers)
            finally:
                gc.unfreeze()
        return self._pool

    def _slices(self, ds: LocalDataset) -> list[Part]:
        """Parts cut small enough that every worker gets several tasks."""
        batches = sum(p.nbatches for p in ds.parts)
        size = max(1, math.ceil(batches / (4 * self.workers)))
        return [s for p in ds.parts for s in p.slices(size) if s.nbatches]

    # -- the Runner contract

    def source(self, batches: Iterable[list[Any]]) -> LocalDataset:
        parts: list[Part] = []
        writer: _Writer | None = None
        for n, batch in enumerate(batches, 1):
            if writer is None:
                writer = _Writer(self._path("source"))
            writer.write(batch)
            if n % PARTITION_BATCHES == 0:
                parts.append(writer.close())
                writer = None
        if writer is not None:
            parts.append(writer.close())
        return LocalDataset(self, parts)

    def source_parsed(self, payloads: Iterable[Any], fn: Callable[..., tuple[Any, Any]],
                      args: tuple[Any, ...] = (), outputs: int = 1
                      ) -> tuple[list[LocalDataset], list[Any]]:
        """Datasets from raw payloads parsed by workers: ``fn(k, payload, *args)`` returns
        ``(records of each output, side)`` for the k-th payload; the small side results
        (e.g. its problems) come back to the driver in payload order. Payloads are drawn
        here, a few ahead of the workers, so reading stays sequential and memory bounded."""
        parts: list[list[Part]] = []
        sides: list[Any] = []
        tasks = ((k, p, fn, args, [self._path(f"parsed{o}") for o in range(outputs)])
                 for k, p in enumerate(payloads))

        def take(result: tuple[list[Part], Any]) -> None:
            parts.append(result[0])
            sides.append(result[1])

        if self.workers == 1:
            for task in tasks:
                take(_parse_task(task))
        else:
            pool = self._get_pool()
            pending: deque[Any] = deque()
            for task in tasks:
                pending.append(pool.apply_async(_parse_task, (task,)))
                if len(pending) >= 2 * self.workers:
                    take(pending.popleft().get())
            while pending:
                take(pending.popleft().get())
        return [LocalDataset(self, [p[o] for p in parts]) for o in range(outputs)], sides

    def read_documents(self, inputs: Any, fields: Any, on_problem: Callable[[Any], None] | None
                       ) -> LocalDataset:
        """``(n, Document)`` records of the inputs, numbered in input order.

        The driver reads bytes (sequential, cheap); workers parse JSON lines and build
        documents on all cores. Numbers are ``(chunk << 12) | place``: input order, known
        without counting what came before. Bad records go to `on_problem` as they are met
        by the driver, or in input order once the workers are done.
        """
        from khabar.io.readers import read_deferred

        docs, sides = self.source_parsed(_payloads(read_deferred(inputs, fields, on_problem)),
                                         _parse_payload, (fields,))
        for problems in sides:
            for p in problems:
                if on_problem is not None:
                    on_problem(p)
        return docs[0]

    def write_jsonl(self, ds: Dataset, key: Callable[[Any], Any], path: str | Path,
                    row: Callable[[Any, int], dict[str, Any]]) -> int:
        """Write a dataset as JSON lines in the order of `key`; ``row(record, rank)`` gives
        each line (the rank is the record's place in that order)."""
        from khabar.io.writers import write_jsonl

        return write_jsonl((row(r, k) for k, r in enumerate(
            x for batch in self.sorted_batches(ds, key) for x in batch)), path)

    def write_parquet(self, ds: Dataset, key: Callable[[Any], Any], path: str | Path,
                      row: Callable[[Any, int], dict[str, Any]], schema: Any) -> int:
        """The rows `write_jsonl` writes, as one Parquet file of `schema`
        (`khabar.records.Schema`)."""
        from khabar.io.writers import write_parquet

        return write_parquet((row(r, k) for k, r in enumerate(
            x for batch in self.sorted_batches(ds, key) for x in batch)), path, schema)

    def parallelize(self, items: Iterable[Any]) -> LocalDataset:
        return self.source(batched(items, BATCH))

    def map(self, ds: Dataset, fn: Callable[..., list[Any]], args: tuple[Any, ...]) -> LocalDataset:
        ds = self._own(ds)
        tasks = [(p, fn, args, self._path("map")) for p in self._slices(ds)]
        return LocalDataset(self, self._run(_map_task, tasks))

    def map_multi(self, ds: Dataset, fn: Callable[..., tuple[list[Any], ...]],
                  args: tuple[Any, ...], outputs: int) -> list[LocalDataset]:
        ds = self._own(ds)
        tasks = [(p, fn, args, [self._path(f"multi{o}") for o in range(outputs)])
                 for p in self._slices(ds)]
        results = self._run(_multi_task, tasks)
        return [LocalDataset(self, [r[o] for r in results]) for o in range(outputs)]

    def shuffle(self, inputs: Sequence[tuple[Dataset, SplitFn, tuple[Any, ...]]],
                reduce_fn: Callable[..., Iterable[Any]], args: tuple[Any, ...],
                partitions: int | None = None) -> LocalDataset:
        owned = [(self._own(ds), split, sargs) for ds, split, sargs in inputs]
        nparts = partitions or self._partitions(sum(ds.nbytes for ds, _, _ in owned))
        tasks, sides = [], []
        for side, (ds, split, sargs) in enumerate(owned):
            for k, part in enumerate(self._slices(ds)):
                tasks.append((part, split, sargs, nparts, self._path(f"s{side}-{k:05d}")))
                sides.append(side)
        chunk_parts: list[list[list[Part]]] = [[[] for _ in owned] for _ in range(nparts)]
        for side, result in zip(sides, self._run(_split_task, tasks), strict=True):
            for p, part in result:
                chunk_parts[p][side].append(part)
        reduce_tasks = [(chunk_parts[p], reduce_fn, args, self._path("reduce"))
                        for p in range(nparts) if any(chunk_parts[p])]
        return LocalDataset(self, self._run(_reduce_task, reduce_tasks))

    def union(self, datasets: Sequence[Dataset]) -> LocalDataset:
        return LocalDataset(self, [p for ds in datasets for p in self._own(ds).parts])

    def table(self, ds: Dataset, key_fn: Callable[[Any], int],
              prep: Callable[..., list[Any]] | None = None, prep_args: tuple[Any, ...] = ()
              ) -> _Table:
        """Records keyed by an integer for random access (`prep` maps batches first)."""
        owned = self._own(ds)
        tasks = [(p, prep, prep_args, key_fn, self._path("shard")) for p in owned.parts]
        shards = sorted((s for s in self._run(_shard_task, tasks) if s is not None),
                        key=lambda s: s.low)
        if any(a.high >= b.low for a, b in itertools.pairwise(shards)):
            # ranges overlap (the dataset was shuffled): cut the keys into ranges first
            source = owned if prep is None else self.map(owned, prep, prep_args)
            cuts = np.unique(np.asarray([s.low for s in shards], dtype=np.int64))[1:]
            ranged = self.shuffle([(source, _range_split, (key_fn, cuts))], _ranged_records, (),
                                  len(cuts) + 1)
            tasks = [(p, None, (), key_fn, self._path("shard")) for p in ranged.parts]
            shards = sorted((s for s in self._run(_shard_task, tasks) if s is not None),
                            key=lambda s: s.low)
        return _Table(tuple(shards), tuple(s.low for s in shards))

    def pairs(self, pairs: Dataset, table: Dataset, key_fn: Callable[[Any], int],
              fn: Callable[..., list[Any]], args: tuple[Any, ...],
              prep: Callable[..., list[Any]] | None = None, prep_args: tuple[Any, ...] = ()
              ) -> LocalDataset:
        indexed = self.table(table, key_fn, prep, prep_args)
        owned = self._own(pairs)
        tasks = [(p, indexed, fn, args, self._path("pairs")) for p in self._slices(owned)]
        return LocalDataset(self, self._run(_pairs_task, tasks))

    def aggregate(self, ds: Dataset, fn: Callable[..., Any], args: tuple[Any, ...],
                  combine: Callable[[Any, Any], Any], zero: Any = None) -> Any:
        owned = self._own(ds)
        acc = zero
        for value in self._run(_aggregate_task, [(p, fn, args, combine, None)
                                                 for p in owned.parts]):
            if value is None:
                continue
            acc = value if acc is None else combine(acc, value)
        return acc

    def components(self, edges: Dataset) -> LocalDataset:
        from khabar.engine.components import local_components

        return self.source(local_components(self.batches(edges)))

    def batches(self, ds: Dataset) -> Iterator[list[Any]]:
        for part in self._own(ds).parts:
            yield from part.read()

    def sorted_batches(self, ds: Dataset, key: Callable[[Any], Any]) -> Iterator[list[Any]]:
        owned = self._own(ds)
        tasks = [(p, key, self._path("sorted")) for p in owned.parts]
        parts = self._run(_sorted_task, tasks)

        def stream(part: Part) -> Iterator[Any]:
            for batch in part.read():
                yield from batch

        yield from merge_sorted([stream(p) for p in parts], key)

    def ranked(self, ds: Dataset, key: Callable[[Any], Any]) -> LocalDataset:
        """``(rank, record)`` for every record, ranks 0, 1, … in the order of `key`."""
        ranks = (list(enumerate(batch, start)) for start, batch in _starts(
            self.sorted_batches(ds, key)))
        return self.source(ranks)

    def count(self, ds: Dataset) -> int:
        owned = self._own(ds)
        if all(p.count >= 0 for p in owned.parts):
            return sum(p.count for p in owned.parts)
        return sum(len(b) for b in self.batches(owned))

    def broadcast(self, value: Any) -> LocalBroadcast:
        path = self._path("broadcast")
        with open(path, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return LocalBroadcast(path, value)

    def default_partitions(self, ds: Dataset) -> int:
        return self._partitions(self._own(ds).nbytes)

    # -- helpers

    def _own(self, ds: Dataset) -> LocalDataset:
        if not isinstance(ds, LocalDataset) or ds.runner is not self:
            raise ValueError("this dataset belongs to another runner")
        return ds

    def _partitions(self, nbytes: int) -> int:
        by_size = math.ceil(nbytes / SHUFFLE_TARGET_BYTES)
        return int(min(MAX_PARTITIONS, max(1, by_size, 2 * self.workers if nbytes else 1)))
