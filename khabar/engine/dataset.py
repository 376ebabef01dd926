"""Datasets: partitioned collections of records that a runner owns, and the steps over them.

A stage never loops over a collection itself. It hands the runner plain,
picklable top-level functions (the *steps*) and the runner decides where they
run: in this process, in a pool of local processes, or in Spark executors.

* ``ds.map(fn, *args)`` — a per-record map, called on batches:
  ``fn(batch: list, *args) -> list``.
* ``ds.map_multi(fn, k, *args)`` — one pass writing k datasets (``fn`` returns
  one list per output), so later steps read only the part they need.
* ``ds.group(key_fn, reduce_fn, *args)`` — a keyed grouping and a per-group
  reduction: ``key_fn(batch, *args)`` yields ``(key, value)`` pairs and
  ``reduce_fn(key, values, *args)`` yields output records. Values of a key
  arrive in no guaranteed order: a reduction that needs an order sorts them.
* ``ds.group_arrays(key_fn, reduce_fn, *args)`` — the same for millions of
  small keys (postings, band keys): ``key_fn(batch, *args)`` returns
  ``(keys: uint64 array, values: array)`` and ``reduce_fn(keys, values, *args)``
  gets one partition's keys sorted (values aligned, in no order inside a key),
  as arrays, and yields records.
* ``cogroup([ds1, ds2], [key_fn1, key_fn2], reduce_fn)`` — a join: the
  reduction sees, for each key, the values of every input.
* ``runner.pairs(pairs, table, key_fn, fn, args, prep)`` — work on pairs of
  records: ``pairs`` holds ``(i, j, payload)`` and ``table`` holds records
  keyed by an integer (``key_fn``; ``prep`` maps its batches first);
  ``fn(items, *args)`` gets ``(i, j, payload, record_i, record_j)`` tuples.
* ``ds.aggregate(fn, combine)`` — a small result (counts, fixed-size arrays)
  on the driver.
* ``runner.components(edges)`` — connected components of an integer graph.
* ``ds.batches()`` / ``ds.sorted_batches(key)`` — stream records back to the
  driver, one partition at a time (the driver never holds a whole dataset).
* ``runner.ranked(ds, key)`` — ``(rank, record)`` in the order of ``key`` (story
  numbers by first appearance).
* ``runner.read_documents(inputs, fields, on_problem)`` — ``(n, Document)``
  records of input files, numbered in input order (parsed where the runner's
  workers are); ``runner.write_jsonl(ds, key, path, row)`` — a dataset
  written as JSON lines in the order of ``key``; ``runner.write_parquet(ds, key,
  path, row, schema)`` — the same rows as one Parquet file.

Every output a user sees is written in a canonical order (`sorted_batches`),
and every reduction depends only on the multiset of its inputs, so results
never depend on the runner, the number of workers or the partitioning.
"""

from __future__ import annotations

import heapq
import itertools
import operator
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

# -- stable partitioning --------------------------------------------------------------------------

_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    """SplitMix64's finalizer: consecutive integers spread over all partitions."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def stable_hash(key: Any) -> int:
    """A hash that is the same in every process and on every machine.

    Python's own `hash` of a string is salted per process, so two workers
    would send one key to different partitions.
    """
    if isinstance(key, bool):
        return _mix(int(key))
    if isinstance(key, int):
        return _mix(key & _MASK)
    if isinstance(key, str):
        return _mix(zlib.crc32(key.encode("utf-8", "surrogatepass")))
    if isinstance(key, bytes):
        return _mix(zlib.crc32(key))
    if isinstance(key, tuple):
        h = 0x345678
        for item in key:
            h = _mix(h ^ stable_hash(item))
        return h
    if isinstance(key, float):
        return _mix(zlib.crc32(repr(key).encode()))
    if key is None:
        return 0
    raise TypeError(f"cannot partition by a key of type {type(key).__name__}")


def array_partitions(keys: np.ndarray, partitions: int) -> np.ndarray:
    """Partition of each uint64 key (vectorized, the same mixing as `stable_hash`)."""
    x = keys.astype(np.uint64, copy=True)
    x += np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x % np.uint64(partitions)).astype(np.int64)


# -- the runner contract --------------------------------------------------------------------------

SplitFn = Callable[..., dict[int, Any]]
ReduceFn = Callable[..., Iterable[Any]]


class Broadcast(Protocol):
    """A read-only value every task can read (`.value`), shipped once per worker."""

    @property
    def value(self) -> Any: ...


class Runner(Protocol):
    """What executes steps. `LocalRunner` and `SparkRunner` implement it."""

    workers: int

    def source(self, batches: Iterable[list[Any]]) -> Dataset: ...

    def read_documents(self, inputs: Any, fields: Any,
                       on_problem: Callable[[Any], None] | None) -> Dataset: ...

    def write_jsonl(self, ds: Dataset, key: Callable[[Any], Any], path: Any,
                    row: Callable[[Any, int], dict[str, Any]]) -> int: ...

    def write_parquet(self, ds: Dataset, key: Callable[[Any], Any], path: Any,
                      row: Callable[[Any, int], dict[str, Any]], schema: Any) -> int: ...

    def map(self, ds: Dataset, fn: Callable[..., list[Any]], args: tuple[Any, ...]) -> Dataset: ...

    def map_multi(self, ds: Dataset, fn: Callable[..., tuple[list[Any], ...]],
                  args: tuple[Any, ...], outputs: int) -> list[Dataset]: ...

    def shuffle(self, inputs: Sequence[tuple[Dataset, SplitFn, tuple[Any, ...]]],
                reduce_fn: Callable[..., Iterable[Any]], args: tuple[Any, ...],
                partitions: int | None) -> Dataset: ...

    def union(self, datasets: Sequence[Dataset]) -> Dataset: ...

    def pairs(self, pairs: Dataset, table: Dataset, key_fn: Callable[[Any], int],
              fn: Callable[..., list[Any]], args: tuple[Any, ...],
              prep: Callable[..., list[Any]] | None = None, prep_args: tuple[Any, ...] = ()
              ) -> Dataset: ...

    def aggregate(self, ds: Dataset, fn: Callable[..., Any], args: tuple[Any, ...],
                  combine: Callable[[Any, Any], Any], zero: Any) -> Any: ...

    def components(self, edges: Dataset) -> Dataset: ...

    def batches(self, ds: Dataset) -> Iterator[list[Any]]: ...

    def sorted_batches(self, ds: Dataset, key: Callable[[Any], Any]) -> Iterator[list[Any]]: ...

    def ranked(self, ds: Dataset, key: Callable[[Any], Any]) -> Dataset: ...

    def count(self, ds: Dataset) -> int: ...

    def broadcast(self, value: Any) -> Broadcast: ...

    def default_partitions(self, ds: Dataset) -> int: ...


class Dataset:
    """A partitioned collection of records owned by a runner (lazy or on disk).

    The methods only describe work: the runner executes it. Subclasses hold the
    runner's own representation (partition files, a Spark RDD).
    """

    runner: Runner

    # per-record maps

    def map(self, fn: Callable[..., list[Any]], *args: Any) -> Dataset:
        return self.runner.map(self, fn, args)

    def map_multi(self, fn: Callable[..., tuple[list[Any], ...]], outputs: int, *args: Any
                  ) -> list[Dataset]:
        """One pass, several datasets: ``fn(batch, *args)`` returns one list per output."""
        return self.runner.map_multi(self, fn, args, outputs)

    # keyed groupings and per-group reductions

    def group(self, key_fn: Callable[..., Iterable[tuple[Any, Any]]],
              reduce_fn: Callable[..., Iterable[Any]], *args: Any,
              partitions: int | None = None) -> Dataset:
        return self.runner.shuffle([(self, split_records, (key_fn, args))],
                                   reduce_groups, (reduce_fn, args), partitions)

    def group_arrays(self, key_fn: Callable[..., tuple[np.ndarray, np.ndarray]],
                     reduce_fn: Callable[..., Iterable[Any]], *args: Any,
                     partitions: int | None = None) -> Dataset:
        return self.runner.shuffle([(self, split_arrays, (key_fn, args))],
                                   reduce_arrays, (reduce_fn, args), partitions)

    def aggregate(self, fn: Callable[..., Any], combine: Callable[[Any, Any], Any],
                  zero: Any = None, *args: Any) -> Any:
        return self.runner.aggregate(self, fn, args, combine, zero)

    # back to the driver, one partition at a time

    def batches(self) -> Iterator[list[Any]]:
        return self.runner.batches(self)

    def records(self) -> Iterator[Any]:
        for batch in self.runner.batches(self):
            yield from batch

    def sorted_batches(self, key: Callable[[Any], Any]) -> Iterator[list[Any]]:
        return self.runner.sorted_batches(self, key)

    def sorted_records(self, key: Callable[[Any], Any]) -> Iterator[Any]:
        for batch in self.runner.sorted_batches(self, key):
            yield from batch

    def count(self) -> int:
        return self.runner.count(self)


def cogroup(datasets: Sequence[Dataset], key_fns: Sequence[Callable[..., Iterable[tuple]]],
            reduce_fn: Callable[..., Iterable[Any]], *args: Any,
            partitions: int | None = None) -> Dataset:
    """Group several datasets by one key: ``reduce_fn(key, [values of input 0, values of
    input 1, …], *args)`` yields records (keys missing from an input get an empty list)."""
    if not datasets:
        raise ValueError("cogroup needs at least one dataset")
    runner = datasets[0].runner
    inputs = [(ds, split_records, (fn, ())) for ds, fn in zip(datasets, key_fns, strict=True)]
    return runner.shuffle(inputs, reduce_cogroups, (reduce_fn, args), partitions)


# -- the split and reduce halves of a shuffle (shared by every runner) ----------------------------


def split_records(batch: list[Any], partitions: int, key_fn: Callable[..., Iterable[tuple]],
                  args: tuple[Any, ...]) -> dict[int, list[tuple[Any, Any]]]:
    out: dict[int, list[tuple[Any, Any]]] = defaultdict(list)
    for key, value in key_fn(batch, *args):
        out[stable_hash(key) % partitions].append((key, value))
    return out


def reduce_groups(chunks: list[list[list[tuple[Any, Any]]]], reduce_fn: ReduceFn,
                  args: tuple[Any, ...]) -> Iterator[Any]:
    items = [kv for chunk in chunks[0] for kv in chunk]
    items.sort(key=_first)
    for key, group in itertools.groupby(items, key=_first):
        yield from reduce_fn(key, [v for _, v in group], *args)


def reduce_cogroups(chunks: list[list[list[tuple[Any, Any]]]], reduce_fn: ReduceFn,
                    args: tuple[Any, ...]) -> Iterator[Any]:
    tagged = [(k, side, v) for side, parts in enumerate(chunks) for chunk in parts
              for k, v in chunk]
    tagged.sort(key=_first)
    for key, group in itertools.groupby(tagged, key=_first):
        sides: list[list[Any]] = [[] for _ in chunks]
        for _, side, value in group:
            sides[side].append(value)
        yield from reduce_fn(key, sides, *args)


def split_arrays(batch: list[Any], partitions: int,
                 key_fn: Callable[..., tuple[np.ndarray, np.ndarray]],
                 args: tuple[Any, ...]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    keys, values = key_fn(batch, *args)
    if len(keys) == 0:
        return {}
    part = array_partitions(keys, partitions)
    order = np.argsort(part, kind="stable")
    part = part[order]
    bounds = np.flatnonzero(np.diff(part)) + 1
    return _split_by_part(keys, values, part, order, bounds)


def _split_by_part(keys: np.ndarray, values: np.ndarray, part: np.ndarray, order: np.ndarray,
                   bounds: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(order)]])
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        idx = order[s:e]
        out[int(part[s])] = (keys[idx], values[idx])
    return out


def reduce_arrays(chunks: list[list[tuple[np.ndarray, np.ndarray]]], reduce_fn: ReduceFn,
                  args: tuple[Any, ...]) -> Iterable[Any]:
    parts = chunks[0]
    if not parts:
        return ()
    keys = np.concatenate([k for k, _ in parts])
    values = np.concatenate([v for _, v in parts])
    parts.clear()  # copied: the pieces go before the sort makes another copy
    # by key only: inside a key the values come in no guaranteed order (a reduction that
    # needs one sorts them, usually on fewer fields than a full sort would take)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    values = values[order]
    del order
    return reduce_fn(keys, values, *args)


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


# -- canonical order on the driver ----------------------------------------------------------------


def merge_sorted(parts: Iterable[Iterable[Any]], key: Callable[[Any], Any],
                 batch_size: int = 2048) -> Iterator[list[Any]]:
    """Batches of the k-way merge of individually sorted streams."""
    batch: list[Any] = []
    for item in heapq.merge(*parts, key=key):
        batch.append(item)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def sort_batch(batch: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    """Map step: one batch sorted (the first half of a global sort)."""
    return sorted(batch, key=key)


itemgetter = operator.itemgetter
