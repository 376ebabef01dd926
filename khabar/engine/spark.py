"""The Spark runner: every step of every stage as Spark transformations, and a bounded driver.

    from khabar.engine.spark import SparkRunner
    from khabar.pipeline import Job

    with SparkRunner("spark://head:7077", conf={"spark.executor.memory": "4g"}) as spark, \\
            Job(["dups", "reuse"], ["/shared/corpus/"], workers=spark) as job:
        job.run()
        job.write("/shared/out")          # a folder every node sees

The stages hand this runner the very step functions they hand `LocalRunner`
(`khabar.engine.dataset` describes the contract); nothing here knows a stage.
A dataset is an RDD of records, each dataset persisted (memory, then disk) as
the local runner keeps each one in files:

* maps run over the records of a partition in batches of `BATCH`;
* a shuffle is the contract's own halves: ``split_fn`` in ``mapPartitions``,
  each chunk tagged with (input, map partition, batch) and moved by
  ``partitionBy`` on the partition it computed, then ``reduce_fn`` once per
  partition over its chunks in tag order, so a partition reads as a local one;
* work on pairs joins the pairs with the table on each side (passim's data
  flow): no record is ever looked up through the driver;
* connected components are large-star / small-star iterations (Kiveris et al.
  2014) on DataFrames, checkpointed, smallest node as label; a graph whose
  edges fit one task (``components_local_edges``) is finished in one executor
  with SciPy, which gives the same labels;
* input files are read by the executors (`khabar.io.readers.read_part`), the
  JSON lines parsed where they land, documents numbered densely in input order
  from per-chunk counts; bad records come back to the driver as problems only;
* outputs are written by the executors as sorted part files that the driver
  concatenates byte for byte, so a Spark run writes the local run's files.

The driver holds dataset handles, counts and small aggregates; every stream
back to it (`batches`, `sorted_batches`) comes one partition at a time, and a
partition too big for ``spark.driver.maxResultSize`` is cut first, or, when the
work folder is a path of this machine, written there by the executors and read
back a batch at a time (a single record may be bigger than a result). Numbering
in a key's order (`ranked`) is a distributed sort and ``zipWithIndex``.

At start, one tiny job checks that the executors' Python has khabar, NumPy,
SciPy, PyStemmer and pyarrow and runs the driver's khabar; otherwise the run
stops with one line saying what is missing and how to fix it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import pickle
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from khabar.engine.dataset import Dataset, SplitFn
from khabar.engine.local import BATCH, batched
from khabar.errors import KhabarError

MASTER = re.compile(r"local(\[(\d+|\*)(,\s*\d+)?\])?$|local-cluster\[\d+,\s*\d+,\s*\d+\]$"
                    r"|(spark|k8s|mesos)://\S+$|yarn$")
"""The master URLs Spark accepts (checked here, before a JVM starts and fails at length)."""
LOG_CONFIG = Path(__file__).resolve().parents[1] / "data" / "spark-log4j2.properties"
"""Errors only: Spark's start-up chatter would bury khabar's own progress and results."""
MODULES = (("numpy", "numpy"), ("scipy", "scipy"), ("Stemmer", "PyStemmer"),
           ("pyarrow", "pyarrow"), ("khabar", "khabar"))
"""What the executors' Python must import (module, package to install)."""
WORKDIR_CONF = "spark.khabar.workdir"
"""Where the runner keeps what it writes between jobs (checkpoints, documents streamed from
a store): a folder or Hadoop URL the driver and every executor share."""
CHUNKS_PER_PARTITION = 1
"""Parsed input chunks (2,048 lines each) per partition of the documents."""
RECORDS_PER_PARTITION = 4096
"""Documents of the collection per partition of a shuffle (its size follows the collection's:
postings, candidate pairs and passages all grow with the documents)."""
SOURCE_GROUP = 4096
"""Records the driver holds at a time while it streams a dataset it reads itself."""
COMPONENTS_LOCAL_EDGES = 2_000_000
"""A graph of at most this many edges is labelled in one executor task (SciPy, ~100 bytes an
edge): the star iterations cost a few Spark jobs each, which only pays on larger graphs."""
CHECKPOINT_EVERY = 2
"""Star rounds between checkpoints of the edge set (keeps the plan and lineage short)."""
FAN_IN = 32
"""Partial aggregates combined per task before the driver sees them."""
MAX_PARTITIONS = 20_000
_TRACE = bool(os.environ.get("KHABAR_TRACE"))


# -- steps run in the executors (top-level classes: pickled by reference to khabar) -------------


class _Map:
    """``fn`` over the records of a partition, a batch at a time."""

    def __init__(self, fn: Callable[..., list[Any]], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args

    def __call__(self, records: Iterable[Any]) -> Iterator[Any]:
        for batch in batched(records, BATCH):
            yield from self.fn(batch, *self.args)


class _Multi:
    """One pass, several outputs: each batch's output ``o`` kept as one pickled blob tagged
    ``o``, so reading one output skips the others' bytes without unpickling them."""

    def __init__(self, fn: Callable[..., tuple[list[Any], ...]], args: tuple[Any, ...],
                 outputs: int) -> None:
        self.fn = fn
        self.args = args
        self.outputs = outputs

    def __call__(self, records: Iterable[Any]) -> Iterator[tuple[int, bytes]]:
        for batch in batched(records, BATCH):
            results = self.fn(batch, *self.args)
            if len(results) != self.outputs:
                raise ValueError(f"{self.fn.__name__} gave {len(results)} outputs, "
                                 f"expected {self.outputs}")
            for o, out in enumerate(results):
                if len(out):
                    yield o, pickle.dumps(list(out), protocol=pickle.HIGHEST_PROTOCOL)


class _Output:
    def __init__(self, output: int) -> None:
        self.output = output

    def __call__(self, tagged: Iterable[tuple[int, bytes]]) -> Iterator[Any]:
        for o, blob in tagged:
            if o == self.output:
                yield from pickle.loads(blob)


class _Split:
    """The split half of a shuffle: ``(partition, (input, map partition, batch, chunk))``."""

    def __init__(self, split_fn: SplitFn, args: tuple[Any, ...], partitions: int,
                 side: int) -> None:
        self.split_fn = split_fn
        self.args = args
        self.partitions = partitions
        self.side = side

    def __call__(self, index: int, records: Iterable[Any]) -> Iterator[tuple[int, tuple]]:
        for seq, batch in enumerate(batched(records, BATCH)):
            for p, chunk in self.split_fn(batch, self.partitions, *self.args).items():
                yield p, (self.side, index, seq, chunk)


def _chunk_order(item: tuple) -> tuple[int, int, int]:
    return item[0], item[1], item[2]


class _Reduce:
    """The reduce half: a partition's chunks, per input in tag order, to ``reduce_fn``."""

    def __init__(self, reduce_fn: Callable[..., Iterable[Any]], args: tuple[Any, ...],
                 sides: int) -> None:
        self.reduce_fn = reduce_fn
        self.args = args
        self.sides = sides

    def __call__(self, items: Iterable[tuple[int, tuple]]) -> Iterator[Any]:
        tagged = sorted((value for _p, value in items), key=_chunk_order)
        if not tagged:
            return
        chunks: list[list[Any]] = [[] for _ in range(self.sides)]
        for side, _index, _seq, chunk in tagged:
            chunks[side].append(chunk)
        del tagged
        yield from self.reduce_fn(chunks, *self.args)


def _identity(key: int) -> int:
    return key


class _KeyBy:
    def __init__(self, key_fn: Callable[[Any], int]) -> None:
        self.key_fn = key_fn

    def __call__(self, record: Any) -> tuple[int, Any]:
        return self.key_fn(record), record


def _by_first(pair: tuple[int, int, Any]) -> tuple[int, tuple[int, Any]]:
    i, j, payload = pair
    return i, (j, payload)


def _by_second(joined: tuple[int, tuple[tuple[int, Any], Any]]) -> tuple[int, tuple]:
    i, ((j, payload), record_i) = joined
    return j, (i, payload, record_i)


def _pair_item(joined: tuple[int, tuple[tuple, Any]]) -> tuple[int, int, Any, Any, Any]:
    j, ((i, payload, record_i), record_j) = joined
    return i, j, payload, record_i, record_j


class _Partial:
    """An aggregate of one partition, tagged with its index (empty partitions give none)."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...],
                 combine: Callable[[Any, Any], Any]) -> None:
        self.fn = fn
        self.args = args
        self.combine = combine

    def __call__(self, index: int, records: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        acc = None
        for batch in batched(records, BATCH):
            value = self.fn(batch, *self.args)
            if value is None:
                continue
            acc = value if acc is None else self.combine(acc, value)
        if acc is not None:
            yield index, acc


class _Regroup:
    def __init__(self, fan_in: int) -> None:
        self.fan_in = fan_in

    def __call__(self, item: tuple[int, Any]) -> tuple[int, tuple[int, Any]]:
        return item[0] // self.fan_in, item


class _Combine:
    """Partial aggregates of one group combined in index order (the driver's order)."""

    def __init__(self, combine: Callable[[Any, Any], Any]) -> None:
        self.combine = combine

    def __call__(self, items: Iterable[tuple[int, tuple[int, Any]]]) -> Iterator[tuple[int, Any]]:
        groups: dict[int, list[tuple[int, Any]]] = {}
        for group, item in items:
            groups.setdefault(group, []).append(item)
        for group in sorted(groups):
            acc = None
            for _index, value in sorted(groups[group], key=_first):
                acc = value if acc is None else self.combine(acc, value)
            yield group, acc


def _first(item: tuple) -> Any:
    return item[0]


def _partition_size(index: int, records: Iterable[Any]) -> Iterator[tuple[int, int, int]]:
    count = size = 0
    for batch in batched(records, BATCH):
        count += len(batch)
        size += len(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
    yield index, count, size


class _Cut:
    """Records of partition i numbered into `pieces[i]` consecutive sub-partitions."""

    def __init__(self, base: list[int], pieces: list[int], counts: list[int]) -> None:
        self.base = base
        self.pieces = pieces
        self.counts = counts

    def __call__(self, index: int, records: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        base, pieces, count = self.base[index], self.pieces[index], max(1, self.counts[index])
        for k, record in enumerate(records):
            yield base + k * pieces // count, record


def _unranked(record: Any) -> tuple[Any, int]:
    return record, -1


def _rank_first(item: tuple[Any, int]) -> tuple[int, Any]:
    return item[1], item[0]


def _second(item: tuple[Any, Any]) -> Any:
    return item[1]


def _batches(records: Iterable[Any]) -> Iterator[list[Any]]:
    yield from batched(records, BATCH)


class _SpillPart:
    """Executors write each partition as pickled batches into a folder the driver reads (a
    stream back that never passes through task results, so no record is too big for it)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def __call__(self, index: int, records: Iterable[Any]) -> Iterator[tuple[int, int]]:
        os.makedirs(self.folder, exist_ok=True)
        count = 0
        with open(os.path.join(self.folder, f"part-{index:05d}"), "wb") as fh:
            for batch in batched(records, BATCH):
                pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)
                count += len(batch)
        yield index, count


def _read_spilled(path: str) -> Iterator[list[Any]]:
    with open(path, "rb") as fh:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return


class _WritePart:
    """Executors write their sorted, ranked records, one part file each: JSON lines, or
    Parquet of `schema` when one is given."""

    def __init__(self, folder: str, row: Callable[[Any, int], dict[str, Any]],
                 schema: Any = None) -> None:
        self.folder = folder
        self.row = row
        self.schema = schema

    def __call__(self, index: int, ranked: Iterable[tuple[Any, int]]
                 ) -> Iterator[tuple[int, int, int]]:
        from khabar.io.writers import _line, write_parquet

        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, f"part-{index:05d}")
        if self.schema is not None:
            count = write_parquet((self.row(r, k) for r, k in ranked), path, self.schema)
            yield index, count, os.path.getsize(path)
            return
        count = 0
        with open(path, "wb", buffering=1 << 20) as fh:
            for record, rank in ranked:
                fh.write(_line(self.row(record, rank)))
                count += 1
            size = fh.tell()
        yield index, count, size


# reading input files in the executors


class _ReadParts:
    """Each input part read where it lands: raw JSON-lines chunks (parsed later, spread over
    the cluster) or parsed documents in lists of 2,048, and the reader's problems, tagged
    with the part's place in the input and their own order in it."""

    def __init__(self, fields: Any) -> None:
        self.fields = fields

    def __call__(self, parts: Iterable[tuple[int, Any]]) -> Iterator[tuple]:
        from khabar.io.readers import CHUNK_LINES, LineChunk, read_part

        for k, part in parts:
            problems: list[Any] = []
            emitted = seq = 0
            docs: list[Any] = []
            for item in read_part(part, self.fields, problems.append, defer=True):
                for p in problems:
                    yield "p", k, emitted, p
                    emitted += 1
                problems.clear()
                if isinstance(item, LineChunk):
                    if docs:
                        yield "c", k, seq, docs
                        seq, docs = seq + 1, []
                    yield "c", k, seq, item
                    seq += 1
                else:
                    docs.append(item)
                    if len(docs) >= CHUNK_LINES:
                        yield "c", k, seq, docs
                        seq, docs = seq + 1, []
            if docs:
                yield "c", k, seq, docs
            for p in problems:
                yield "p", k, emitted, p
                emitted += 1


def _is_chunk(item: tuple) -> bool:
    return item[0] == "c"


def _is_problem(item: tuple) -> bool:
    return item[0] == "p"


def _part_counts(items: Iterable[tuple]) -> Iterator[tuple[int, int, int]]:
    chunks: dict[int, int] = {}
    problems: dict[int, int] = {}
    for kind, k, seq, _payload in items:
        if kind == "c":
            chunks[k] = max(chunks.get(k, 0), seq + 1)
        else:
            problems[k] = problems.get(k, 0) + 1
    for k in sorted(set(chunks) | set(problems)):
        yield k, chunks.get(k, 0), problems.get(k, 0)


class _Ordinal:
    """A chunk's place among all chunks of the input, from its part's first chunk."""

    def __init__(self, first: dict[int, int]) -> None:
        self.first = first

    def __call__(self, item: tuple) -> tuple[int, Any]:
        _kind, k, seq, payload = item
        return self.first[k] + seq, payload


class _ChunkRange:
    def __init__(self, per: int) -> None:
        self.per = per

    def __call__(self, ordinal: int) -> int:
        return ordinal // self.per


class _Parse:
    """The chunks of one partition in input order: documents ``("d", ordinal, place, doc)``
    and the problems of bad lines ``("p", ordinal, k, problem)``."""

    def __init__(self, fields: Any) -> None:
        self.fields = fields

    def __call__(self, items: Iterable[tuple[int, Any]]) -> Iterator[tuple]:
        from khabar.io.readers import LineChunk, parse_chunk

        for ordinal, payload in sorted(items, key=_first):
            if isinstance(payload, LineChunk):
                docs, problems = parse_chunk(payload, self.fields)
            else:
                docs, problems = payload, []
            for place, doc in enumerate(docs):
                yield "d", ordinal, place, doc
            for k, p in enumerate(problems):
                yield "p", ordinal, k, p


def _doc_counts(items: Iterable[tuple]) -> Iterator[tuple[int, int]]:
    counts: dict[int, int] = {}
    for kind, ordinal, _place, _doc in items:
        if kind == "d":
            counts[ordinal] = counts.get(ordinal, 0) + 1
    yield from counts.items()


class _Number:
    def __init__(self, first: np.ndarray) -> None:
        self.first = first

    def __call__(self, item: tuple) -> tuple[int, Any]:
        _kind, ordinal, place, doc = item
        return int(self.first[ordinal]) + place, doc


def _problem_order(item: tuple) -> tuple[int, int]:
    return item[1], item[2]


# connected components


def _edge_row(edge: Any) -> tuple[int, int]:
    return int(edge[0]), int(edge[1])


def _row_pair(row: Any) -> tuple[int, int]:
    return int(row[0]), int(row[1])


def _local_edge_labels(edges: Iterable[Any]) -> Iterator[tuple[int, int]]:
    from khabar.engine.components import local_components

    for batch in local_components(batched(edges, 65536)):
        yield from batch


def _local_labels(rows: Iterable[Any]) -> Iterator[tuple[int, int]]:
    from khabar.engine.components import local_components

    for batch in local_components(batched((_row_pair(r) for r in rows), 65536)):
        yield from batch


# -- the environment check (pickled by value: it must run where khabar cannot be imported) ------


def package_digest() -> str:
    """A digest of this khabar's files (read from a folder or a shipped zip alike)."""
    h = hashlib.blake2b(digest_size=12)

    def walk(node: Any, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            name = f"{prefix}{child.name}"
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, name + "/")
            elif child.name.endswith(".py"):
                h.update(name.encode() + b"\0" + child.read_bytes() + b"\0")

    walk(resources.files("khabar"), "")
    return h.hexdigest()


def _environment_probe(modules: tuple[tuple[str, str], ...]) -> Callable[..., Iterator[dict]]:
    def probe(_index: int, _items: Any) -> Iterator[dict]:
        import importlib
        import sys as _sys

        missing = []
        for module, _package in modules:
            try:
                importlib.import_module(module)
            except Exception as exc:  # a broken install is as missing as an absent one
                missing.append((module, f"{type(exc).__name__}: {exc}"))
        version = digest = None
        if not missing:
            import khabar
            from khabar.engine.spark import package_digest as digest_of

            version, digest = khabar.__version__, digest_of()
        yield {"python": ".".join(map(str, _sys.version_info[:3])),
               "executable": _sys.executable, "missing": missing, "version": version,
               "digest": digest}

    return probe


FIX = ("point --spark-conf spark.pyspark.python=PYTHON (or PYSPARK_PYTHON) at a Python with "
       "khabar's dependencies on every node, or ship a packed environment with spark.archives "
       "(README, Scaling out)")


def _environment_error(reports: list[dict], version: str, digest: str) -> str | None:
    for r in reports:
        if r["missing"]:
            module, why = r["missing"][0]
            package = dict(MODULES)[module]
            return (f"Spark executors cannot import {module} ({why.splitlines()[0][:120]}) "
                    f"with Python {r['python']} at {r['executable']}: install {package} there, "
                    f"or {FIX}")
    for r in reports:
        if r["version"] != version or r["digest"] != digest:
            return (f"Spark executors run another khabar ({r['version']}, files {r['digest']}) "
                    f"than the driver ({version}, files {digest}): install the same khabar on "
                    f"every node, or let the runner ship its code (ship_code=True)")
    return None


# -- errors ----------------------------------------------------------------------------------


def _cause(exc: BaseException) -> str:
    """The line of a Spark failure that says what went wrong (not the JVM stack)."""
    text = str(exc)
    for pattern in (r"PYTHON_VERSION_MISMATCH\]?\s*(.*)", r"(Cannot run program [^\n]*)",
                    r"((?:ModuleNotFoundError|ImportError): [^\n]*)",
                    r"\n(\w+(?:Error|Exception): [^\n]*)\n\s*$",
                    r"(Total size of serialized results[^\n]*)",
                    r"((?:OutOfMemoryError|SparkException)[^\n]*)"):
        m = re.search(pattern, text)
        if m:
            return " ".join(m.group(1).split())[:400]
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[0] if lines else type(exc).__name__)[:400]


def _is_spark_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith(("py4j", "pyspark"))


# -- the runner --------------------------------------------------------------------------------


class SparkDataset(Dataset):
    """A dataset as an RDD of records (see the module docstring)."""

    def __init__(self, runner: SparkRunner, rdd: Any) -> None:
        self.runner = runner
        self.rdd = rdd

    def __repr__(self) -> str:
        return f"SparkDataset({self.rdd.getNumPartitions()} partitions)"


class SparkRunner:
    """Runs steps as Spark transformations on `master` (see the module docstring).

    `master` defaults to ``SPARK_MASTER``, then to what ``spark-submit`` set, then to
    ``local[*]``. `conf` adds Spark settings (``spark.khabar.workdir``: a folder or Hadoop
    URL shared by the driver and all executors, needed on a multi-node cluster when the
    run reads documents from a store). Pass `session` to use a SparkSession you already
    have (the runner then never stops it). With `ship_code` the driver's khabar is sent
    to the executors of a cluster, so they never run other stage code than the driver.
    """

    def __init__(self, master: str | None = None, *, conf: dict[str, str] | None = None,
                 session: Any = None, app_name: str = "khabar", ship_code: bool = True,
                 check: bool = True, components_local_edges: int = COMPONENTS_LOCAL_EDGES
                 ) -> None:
        self.master = (master or os.environ.get("SPARK_MASTER") or "").strip() or None
        if self.master and not MASTER.match(self.master):
            raise KhabarError(f"Spark master {self.master!r}: expected local, local[N], "
                              "local[*], spark://HOST:PORT, yarn or k8s://URL")
        self.conf = {str(k): str(v) for k, v in (conf or {}).items()}
        self.app_name = app_name
        self.ship_code = ship_code
        self.check = check
        self.components_local_edges = components_local_edges
        self._session = session
        self._own = session is None
        self._ready = False
        self._shipped: Path | None = None
        self._workdir: str | None = None
        self._own_workdir: str | None = None
        self._shared = True
        self._persisted: list[Any] = []
        self._broadcasts: list[Any] = []
        self._seq = 0
        self._scale = 0
        self.measure = False
        """Record what reaches the driver in `driver_data` (costs a pickling of each
        aggregate; benchmarks turn it on)."""
        self.driver_data: list[tuple[str, str, int]] = []
        """(kind, calling step, bytes) of every broadcast, aggregate and stream back."""

    # -- lifecycle

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = self._start()
        if not self._ready:
            # a session started here or given: the work folder, the shipped code and the
            # executors' check come once, before the first step
            try:
                self._prepare(self._session.sparkContext)
            except BaseException:
                if self._own:
                    self._session.stop()
                    self._session = None
                self._cleanup()
                raise
            self._ready = True
        return self._session

    @property
    def sc(self) -> Any:
        return self.session.sparkContext

    @property
    def workers(self) -> int:
        """Cores Spark schedules tasks on (its default parallelism)."""
        return max(1, int(self.sc.defaultParallelism))

    def _local(self) -> bool:
        submitted = "PYSPARK_GATEWAY_PORT" in os.environ
        return (self.master or ("" if submitted else "local")).startswith("local")

    def _start(self) -> Any:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise KhabarError("the Spark runner needs pyspark: pip install 'khabar[spark]'"
                              ) from exc
        self._preflight()
        local = self._local()
        submitted = "PYSPARK_GATEWAY_PORT" in os.environ
        from pyspark import SparkConf, SparkContext
        from pyspark.serializers import PickleSerializer

        conf = {"spark.app.name": self.app_name, "spark.ui.showConsoleProgress": "false"}
        if self.master or not submitted:
            conf["spark.master"] = self.master or "local[*]"
        java_opts = self.conf.get("spark.driver.extraJavaOptions", "")
        if "log4j2.configurationFile" not in java_opts:
            java_opts = f"-Dlog4j2.configurationFile={LOG_CONFIG} {java_opts}"
        if "TieredStopAtLevel" not in java_opts:
            # the driver's JVM moves bytes and schedules tasks (and, on a local master, runs
            # the tasks' JVM side): the optimizing compiler cost it more CPU than it saved
            # (measured at 4k articles: 64 s of compilation, 19 s of JVM CPU saved without)
            java_opts = f"-XX:TieredStopAtLevel=1 {java_opts}"
        conf["spark.driver.extraJavaOptions"] = java_opts.strip()
        python = self.conf.get("spark.pyspark.python")
        if python is None and local and not os.environ.get("PYSPARK_PYTHON"):
            # a local Spark's Python workers must be this interpreter (the one that has
            # khabar), not whatever `python3` comes first on PATH
            python = sys.executable
        try:
            # records cross the JVM with the C pickler: PySpark's default, cloudpickle, runs
            # a Python hook for every object, which cost more than half of the executors'
            # serialization time (functions still go by cloudpickle, with the tasks)
            sc = SparkContext(conf=SparkConf().setAll(list({**self.conf, **conf}.items())),
                              serializer=PickleSerializer())
            session = SparkSession(sc)
        except Exception as exc:  # no Java, a JVM that cannot start: one line
            raise KhabarError(f"could not start Spark ({self.master or 'local[*]'}): "
                              f"{_cause(exc)}") from exc
        sc = session.sparkContext
        if python is not None:
            # PySpark takes the executors' Python from PYSPARK_PYTHON only; set on this
            # context, not in the process environment
            sc.pythonExec = python
        if "spark.sql.shuffle.partitions" not in self.conf:
            session.conf.set("spark.sql.shuffle.partitions",
                             str(max(2, 2 * int(sc.defaultParallelism))))
        return session

    def _prepare(self, sc: Any) -> None:
        if self.ship_code and not str(sc.master).startswith("local"):
            self._ship(sc)
        self._setup_workdir(sc)
        if self.check:
            self._check_executors(sc)

    def _preflight(self) -> None:
        """What would otherwise fail slowly or at length: Java, an unreachable master."""
        java_home = os.environ.get("JAVA_HOME")
        if shutil.which("java") is None and not (
                java_home and Path(java_home, "bin", "java").exists()):
            raise KhabarError("Spark needs Java (17 or later): no java on PATH and JAVA_HOME "
                              "is not set")
        if self.master and self.master.startswith("spark://"):
            errors = []
            for address in self.master[len("spark://"):].split(","):
                host, _, port = address.strip().rpartition(":")
                try:
                    with socket.create_connection((host, int(port)), timeout=5):
                        return
                except (OSError, ValueError) as exc:
                    errors.append(f"{address} ({getattr(exc, 'strerror', None) or exc})")
            raise KhabarError(f"cannot reach the Spark master at {', '.join(errors)}: is it "
                              "running, and is the URL right?")

    def _ship(self, sc: Any) -> None:
        package = Path(__file__).resolve().parents[1]
        tmp = Path(tempfile.mkdtemp(prefix="khabar-spark-"))
        archive = tmp / "khabar.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(package.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    zf.write(path, Path("khabar") / path.relative_to(package))
        sc.addPyFile(str(archive))
        self._shipped = archive

    def _setup_workdir(self, sc: Any) -> None:
        base = self.conf.get(WORKDIR_CONF) or sc.getConf().get(WORKDIR_CONF)
        if base:
            self._workdir = f"{base.rstrip('/')}/khabar-{secrets.token_hex(6)}"
        else:
            # fine for local masters and a cluster on this one machine; a multi-node cluster
            # sets spark.khabar.workdir (checkpoints and streamed documents go there)
            self._own_workdir = tempfile.mkdtemp(prefix="khabar-spark-work-")
            self._workdir = Path(self._own_workdir).as_uri()
        # a temporary folder on the driver is seen by executors on this machine only
        host = re.sub(r"^spark://|:\d+$", "", str(sc.master))
        self._shared = bool(base) or str(sc.master).startswith("local") \
            or host in ("127.0.0.1", "localhost", socket.gethostname())
        if sc.getCheckpointDir() is None:
            sc.setCheckpointDir(f"{self._workdir}/checkpoints")

    def _check_executors(self, sc: Any) -> None:
        tasks = max(1, int(sc.defaultParallelism))
        try:
            reports = sc.parallelize(range(tasks), tasks).mapPartitionsWithIndex(
                _environment_probe(MODULES)).collect()
        except Exception as exc:
            if not _is_spark_error(exc):
                raise
            raise KhabarError(f"Spark executors could not run Python: {_cause(exc)}; {FIX}"
                              ) from exc
        import khabar

        problem = _environment_error(reports, khabar.__version__, package_digest())
        if problem:
            raise KhabarError(problem)

    def close(self) -> None:
        """Stop Spark if this runner started it, and remove what it wrote."""
        if self._session is not None:
            for rdd in self._persisted:
                with contextlib.suppress(Exception):
                    rdd.unpersist()
            for b in self._broadcasts:
                with contextlib.suppress(Exception):
                    b.destroy()
            if self._own:
                self._session.stop()
        self._persisted, self._broadcasts = [], []
        self._session = None
        self._ready = False
        self._cleanup()

    stop = close

    def _cleanup(self) -> None:
        if self._own_workdir is not None:
            shutil.rmtree(self._own_workdir, ignore_errors=True)
            self._own_workdir = None
        if self._shipped is not None:
            shutil.rmtree(self._shipped.parent, ignore_errors=True)
            self._shipped = None

    def __enter__(self) -> SparkRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SparkRunner(master={self.master or 'local[*]'!r})"

    # -- helpers

    def _rdd(self, ds: Dataset) -> Any:
        if not isinstance(ds, SparkDataset) or ds.runner is not self:
            raise ValueError("this dataset belongs to another runner")
        return ds.rdd

    def _keep(self, rdd: Any) -> SparkDataset:
        """A dataset that is computed once, whoever reads it (as local files are written once)."""
        rdd.persist(self._storage())
        self._persisted.append(rdd)
        return SparkDataset(self, rdd)

    def _storage(self) -> Any:
        from pyspark import StorageLevel

        level = os.environ.get("KHABAR_SPARK_STORAGE", "DISK_ONLY")
        return getattr(StorageLevel, level)

    def _partitions(self, rdds: Sequence[Any] = ()) -> int:
        """Partitions of a shuffle: by the size of the collection (documents read, or
        records streamed in), at least two per core. Not by the inputs' partitions: unions
        add those up, and a PySpark task costs tens of milliseconds however little it does."""
        if self._scale:
            by_size = math.ceil(self._scale / RECORDS_PER_PARTITION)
        else:
            by_size = max((r.getNumPartitions() for r in rdds), default=1)
        return int(min(MAX_PARTITIONS, max(2 * self.workers, by_size)))

    def _name(self, stem: str) -> str:
        _ = self.session  # the work folder is chosen when Spark starts
        self._seq += 1
        return f"{self._workdir}/{self._seq:05d}-{stem}"

    @contextlib.contextmanager
    def _job(self, what: str) -> Iterator[None]:
        """Spark failures as one line naming what failed and why (the cause is chained)."""
        started = time.perf_counter()
        try:
            yield
            if _TRACE:
                print(f"[trace] spark {what}: {time.perf_counter() - started:.2f} s",
                      file=sys.stderr)
        except KhabarError:
            raise
        except Exception as exc:
            if not _is_spark_error(exc):
                raise
            raise KhabarError(f"Spark {what} failed: {_cause(exc)}") from exc

    def _collect(self, rdd: Any, what: str) -> list[Any]:
        with self._job(what):
            return rdd.collect()

    def _result_limit(self) -> int:
        """Bytes of one partition streamed to the driver: well under maxResultSize."""
        raw = self.sc.getConf().get("spark.driver.maxResultSize", "1g")
        size = _bytes(raw)
        return max(1 << 20, min(64 << 20, size // 4 if size > 0 else 64 << 20))

    def _stream(self, rdd: Any, what: str, key: Callable[[Any], Any] | None = None
                ) -> Iterator[list[Any]]:
        """Batches of an RDD to the driver (sorted by `key` if given, else in partition
        order), never more than `_result_limit` bytes in one result: a dataset that small
        comes in one job (sorted here), a larger one a partition at a time, each partition
        too big for one result cut into consecutive pieces first."""
        with self._job(what):
            sizes = sorted(rdd.mapPartitionsWithIndex(_partition_size).collect())
        total = sum(z for _i, _c, z in sizes)
        if self.measure:
            self.driver_data.append(("stream", _caller(), total))
        if not any(count for _i, count, _size in sizes):
            return
        limit = self._result_limit()
        if total <= limit:
            with self._job(what):
                records = rdd.collect()
            if key is not None:
                records.sort(key=key)
            yield from batched(records, BATCH)
            return
        if key is not None:
            with self._job(what):
                rdd = rdd.sortBy(key, numPartitions=self._partitions([rdd]))
                sizes = sorted(rdd.mapPartitionsWithIndex(_partition_size).collect())
        if any(size > limit for _i, _count, size in sizes):
            folder = self._local_folder("stream")
            if folder is not None:
                yield from self._spilled(rdd, folder, what)
                return
            pieces = [max(1, math.ceil(size / limit)) for _i, _count, size in sizes]
            base = [0, *np.cumsum(pieces).tolist()[:-1]]
            rdd = rdd.mapPartitionsWithIndex(_Cut(base, pieces, [c for _i, c, _s in sizes])
                                              ).partitionBy(sum(pieces), _identity).map(_second)
        with self._job(what):
            yield from rdd.mapPartitions(_batches).toLocalIterator()

    def _local_folder(self, stem: str) -> str | None:
        """A new folder of the work folder as a path of this machine, if the work folder is
        a plain or ``file:`` path (seen by the executors, `_shared`); None for a Hadoop URL."""
        if not self._shared:
            return None
        name = self._name(stem)
        if name.startswith("file:"):
            from urllib.parse import unquote, urlparse

            return unquote(urlparse(name).path)
        return name if name.startswith("/") else None

    def _spilled(self, rdd: Any, folder: str, what: str) -> Iterator[list[Any]]:
        """Partitions too big for one task result: written to files by the executors, read
        here a batch at a time (in partition order), each file removed once read."""
        try:
            with self._job(what):
                written = sorted(rdd.mapPartitionsWithIndex(_SpillPart(folder)).collect())
            for index, _count in written:
                path = os.path.join(folder, f"part-{index:05d}")
                yield from _read_spilled(path)
                os.remove(path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- the contract

    def source(self, batches: Iterable[list[Any]]) -> SparkDataset:
        """A dataset of records the driver streams (e.g. from a store): each group of
        `SOURCE_GROUP` records is saved to the shared work folder by an executor, so the
        driver holds one group at a time."""
        folder = self._name("source")
        if not self._shared:
            raise KhabarError(f"records streamed from the driver (a --db store, documents "
                              f"given in Python) go through a folder the executors read: set "
                              f"{WORKDIR_CONF} to one every node sees (e.g. hdfs:///tmp/khabar)")
        paths: list[str] = []
        group: list[Any] = []
        total = 0

        def flush() -> None:
            path = f"{folder}/g{len(paths):06d}"
            with self._job("saving records streamed from the driver"):
                self.sc.parallelize(group, 1).saveAsPickleFile(path)
            paths.append(path)

        for batch in batches:
            group.extend(batch)
            if len(group) >= SOURCE_GROUP:
                flush()
                total += len(group)
                group = []
        if group:
            flush()
            total += len(group)
            group = []
        if not paths:
            return SparkDataset(self, self.sc.emptyRDD())
        self._scale = max(self._scale, total)
        rdd = self.sc.union([self.sc.pickleFile(p) for p in paths])
        ds = self._keep(rdd)
        with self._job("reading records streamed from the driver"):
            found = rdd.count()
        if found != total:
            raise KhabarError(f"the Spark executors did not find what was saved in {folder} "
                              f"({found} of {total} records): set {WORKDIR_CONF} to a folder "
                              "(or hdfs:// URL) the driver and every executor share")
        return ds

    def parallelize(self, items: Iterable[Any]) -> SparkDataset:
        return self.source(batched(items, BATCH))

    def read_documents(self, inputs: Any, fields: Any, on_problem: Callable[[Any], None] | None
                       ) -> SparkDataset:
        """``(n, Document)`` records of the inputs, read and parsed by the executors.

        The driver only lists the inputs (folders are walked, no file is opened). Each
        part (a file, or .txt files of one folder) is read by one task; JSON lines stay raw
        chunks of 2,048 lines until they are spread over the cluster and parsed. Numbers
        are dense and in input order (each chunk's first number from the counts of the
        chunks before it). Problems reach `on_problem` in the order a local run reports
        them: reading problems in input order, then bad lines in input order.
        """
        import heapq

        from khabar.io.readers import Fields, InputPart, input_parts

        fields = fields or Fields()
        report = on_problem or (lambda _p: None)
        paths = [os.fspath(p) for p in (inputs if isinstance(inputs, list | tuple)
                                        else [inputs])]
        items = list(input_parts(paths, fields))
        parts = [(k, it) for k, it in enumerate(items) if isinstance(it, InputPart)]
        listed = [("p", k, -1, it) for k, it in enumerate(items) if not isinstance(it, InputPart)]
        if not parts:
            for item in listed:
                report(item[3])
            return SparkDataset(self, self.sc.emptyRDD())
        raw = self.sc.parallelize(parts, _read_slices(parts, self.workers)).mapPartitions(
            _ReadParts(fields))
        from pyspark import StorageLevel

        raw.persist(StorageLevel.DISK_ONLY)
        counts = sorted(self._collect(raw.mapPartitions(_part_counts), "reading the inputs"))
        first: dict[int, int] = {}
        chunks = 0
        for k, nchunks, _nproblems in counts:
            first[k] = chunks
            chunks += nchunks
        read_problems: Iterable[list[tuple]] = [] if not any(c[2] for c in counts) else \
            self._stream(raw.filter(_is_problem), "reporting input problems", _problem_order)
        for item in heapq.merge(listed, _flat(read_problems), key=_problem_order):
            report(item[3])
        if not chunks:
            raw.unpersist()
            return SparkDataset(self, self.sc.emptyRDD())
        nparts = max(1, math.ceil(chunks / CHUNKS_PER_PARTITION))
        parsed = raw.filter(_is_chunk).map(_Ordinal(first)).partitionBy(
            nparts, _ChunkRange(CHUNKS_PER_PARTITION)).mapPartitions(_Parse(fields))
        parsed.persist(self._storage())
        self._persisted.append(parsed)
        per_chunk = np.zeros(chunks, dtype=np.int64)
        for ordinal, count in self._collect(parsed.mapPartitions(_doc_counts),
                                            "parsing the inputs"):
            per_chunk[ordinal] = count
        raw.unpersist()
        numbers = np.zeros(chunks, dtype=np.int64)
        np.cumsum(per_chunk[:-1], out=numbers[1:])
        for batch in self._stream(parsed.filter(_is_problem), "reporting bad lines",
                                  _problem_order):
            for item in batch:
                report(item[3])
        self._scale = max(self._scale, int(per_chunk.sum()))
        return self._keep(parsed.filter(_is_doc).map(_Number(numbers)))

    def write_jsonl(self, ds: Dataset, key: Callable[[Any], Any], path: str | Path,
                    row: Callable[[Any, int], dict[str, Any]]) -> int:
        """The dataset as JSON lines in the order of `key`, written by the executors as
        part files beside `path` (a folder every node sees) and joined here byte for byte
        into the file a local run writes."""
        return self._write(ds, key, Path(path), row, None)

    def write_parquet(self, ds: Dataset, key: Callable[[Any], Any], path: str | Path,
                      row: Callable[[Any, int], dict[str, Any]], schema: Any) -> int:
        """The rows `write_jsonl` writes, as Parquet part files written by the executors and
        joined here a row group at a time into the one file a local run writes (same rows,
        same order)."""
        return self._write(ds, key, Path(path), row, schema)

    def _write(self, ds: Dataset, key: Callable[[Any], Any], target: Path,
               row: Callable[[Any, int], dict[str, Any]], schema: Any) -> int:
        from khabar.io.writers import _atomic, join_parquet

        target.parent.mkdir(parents=True, exist_ok=True)
        folder = target.parent / f".{target.name}.parts-{secrets.token_hex(4)}"
        rdd = self._rdd(ds)
        try:
            with self._job(f"sorting {target.name}"):
                ordered = rdd.sortBy(key, numPartitions=self._partitions([rdd]))
            if getattr(row, "number", True) is None:
                # a `khabar.pipeline.Row` that numbers nothing: no ranks, no job to count
                ranked = ordered.map(_unranked)
            else:
                ordered.persist()
                ranked = ordered.zipWithIndex()
            try:
                written = sorted(self._collect(
                    ranked.mapPartitionsWithIndex(_WritePart(str(folder), row, schema)),
                    f"writing {target.name}"))
            finally:
                ordered.unpersist()
            parts = []
            for index, _count, size in written:
                part = folder / f"part-{index:05d}"
                if not part.exists() or part.stat().st_size != size:
                    raise KhabarError(
                        f"{target}: the executors wrote their parts where this driver "
                        f"cannot read them; --out must be a folder every node sees")
                parts.append(part)
            if schema is not None:
                return join_parquet(parts, target, schema)
            with _atomic(target) as out:
                for part in parts:
                    with open(part, "rb") as fh:
                        shutil.copyfileobj(fh, out, 1 << 20)
            return sum(count for _index, count, _size in written)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def map(self, ds: Dataset, fn: Callable[..., list[Any]], args: tuple[Any, ...]
            ) -> SparkDataset:
        return self._keep(self._rdd(ds).mapPartitions(_Map(fn, args)))

    def map_multi(self, ds: Dataset, fn: Callable[..., tuple[list[Any], ...]],
                  args: tuple[Any, ...], outputs: int) -> list[SparkDataset]:
        tagged = self._keep(self._rdd(ds).mapPartitions(_Multi(fn, args, outputs))).rdd
        return [SparkDataset(self, tagged.mapPartitions(_Output(o), preservesPartitioning=True))
                for o in range(outputs)]

    def shuffle(self, inputs: Sequence[tuple[Dataset, SplitFn, tuple[Any, ...]]],
                reduce_fn: Callable[..., Iterable[Any]], args: tuple[Any, ...],
                partitions: int | None = None) -> SparkDataset:
        rdds = [self._rdd(ds) for ds, _split, _args in inputs]
        nparts = partitions or self._partitions(rdds)
        split = [rdd.mapPartitionsWithIndex(_Split(fn, sargs, nparts, side))
                 for side, (rdd, (_ds, fn, sargs)) in enumerate(zip(rdds, inputs, strict=True))]
        moved = (split[0] if len(split) == 1 else self.sc.union(split)).partitionBy(
            nparts, _identity)
        return self._keep(moved.mapPartitions(_Reduce(reduce_fn, args, len(inputs))))

    def union(self, datasets: Sequence[Dataset]) -> SparkDataset:
        rdds = [self._rdd(ds) for ds in datasets]
        if not rdds:
            return SparkDataset(self, self.sc.emptyRDD())
        return SparkDataset(self, rdds[0] if len(rdds) == 1 else self.sc.union(rdds))

    def pairs(self, pairs: Dataset, table: Dataset, key_fn: Callable[[Any], int],
              fn: Callable[..., list[Any]], args: tuple[Any, ...],
              prep: Callable[..., list[Any]] | None = None, prep_args: tuple[Any, ...] = ()
              ) -> SparkDataset:
        """Each pair joined with the table's record of its first side, then of its second."""
        records = self._rdd(table)
        if prep is not None:
            records = records.mapPartitions(_Map(prep, prep_args))
        keyed = self._keep(records.map(_KeyBy(key_fn))).rdd
        left = self._rdd(pairs)
        n = self._partitions([left, keyed])
        first = left.map(_by_first).join(keyed, n).map(_by_second)
        both = first.join(keyed, n).map(_pair_item)
        return self._keep(both.mapPartitions(_Map(fn, args)))

    def aggregate(self, ds: Dataset, fn: Callable[..., Any], args: tuple[Any, ...],
                  combine: Callable[[Any, Any], Any], zero: Any = None) -> Any:
        """Partial results per partition, combined in partition order, in a tree of tasks
        when there are many, so the driver gets at most `FAN_IN` of them."""
        rdd = self._rdd(ds)
        partials = rdd.mapPartitionsWithIndex(_Partial(fn, args, combine))
        n = rdd.getNumPartitions()
        while n > FAN_IN:
            n = math.ceil(n / FAN_IN)
            partials = partials.map(_Regroup(FAN_IN)).partitionBy(n, _identity).mapPartitions(
                _Combine(combine))
        acc = zero
        for _index, value in sorted(self._collect(partials, "aggregating"), key=_first):
            acc = value if acc is None else combine(acc, value)
        if self.measure:
            self.driver_data.append(("aggregate", _caller(), len(pickle.dumps(acc))))
        return acc

    def components(self, edges: Dataset) -> SparkDataset:
        """(node, label) for every node of an edge: the smallest node of its component."""
        from pyspark.sql import functions as F

        rdd = self._rdd(edges)
        with self._job("counting edges"):
            n = rdd.count()
        if n <= self.components_local_edges:
            # one task reading the (persisted) edges: no DataFrame planning for small graphs
            return self._keep(rdd.coalesce(1).mapPartitions(_local_edge_labels))
        spark = self.session
        with self._job("connected components"):
            df = spark.createDataFrame(rdd.map(_edge_row), "a long, b long")
            nodes = df.select(F.col("a").alias("node")).union(
                df.select(F.col("b").alias("node"))).distinct()
            graph = self._checkpoint(df.where(F.col("a") != F.col("b")).select(
                F.greatest("a", "b").alias("src"), F.least("a", "b").alias("dst")).distinct())
            labels = self._star_labels(graph)
            out = nodes.join(labels, "node", "left").select(
                "node", F.coalesce(F.col("label"), F.col("node")).alias("label"))
            return self._keep(out.rdd.map(_row_pair))

    def _checkpoint(self, df: Any, reliable: bool = True) -> Any:
        # reliable checkpoints need a folder every executor reads; without one, checkpoints
        # stay in the executors (the lineage is cut all the same)
        if reliable and self._shared:
            return df.checkpoint(eager=True)
        return df.localCheckpoint(eager=True)

    def _star_labels(self, graph: Any) -> Any:
        """Alternate large-star and small-star until the edges are stars around the smallest
        node of each component (edges kept as (src, dst), src > dst)."""
        from pyspark.sql import functions as F

        previous = None
        rounds = 0
        while True:
            count = graph.count()
            if count <= self.components_local_edges:
                return self._finish_locally(graph)
            graph = _small_star(_large_star(graph))
            rounds += 1
            graph = self._checkpoint(graph, reliable=rounds % CHECKPOINT_EVERY == 0)
            stats = graph.agg(F.count(F.lit(1)), F.sum(F.col("src").cast("decimal(38,0)")),
                              F.sum(F.col("dst").cast("decimal(38,0)"))).first()
            if stats == previous and _stars(graph):
                # every node's one edge points at its component's smallest node
                roots = graph.select(F.col("dst").alias("node")).distinct().select(
                    "node", F.col("node").alias("label"))
                return graph.select(F.col("src").alias("node"), F.col("dst").alias("label")
                                    ).union(roots)
            previous = stats

    def _finish_locally(self, graph: Any) -> Any:
        labels = graph.coalesce(1).rdd.mapPartitions(_local_labels)
        return self.session.createDataFrame(labels, "node long, label long")

    def batches(self, ds: Dataset) -> Iterator[list[Any]]:
        return self._stream(self._rdd(ds), "streaming records to the driver")

    def sorted_batches(self, ds: Dataset, key: Callable[[Any], Any]) -> Iterator[list[Any]]:
        return self._stream(self._rdd(ds), "streaming sorted records to the driver", key)

    def ranked(self, ds: Dataset, key: Callable[[Any], Any]) -> SparkDataset:
        """``(rank, record)`` for every record, ranks 0, 1, … in the order of `key`: a
        distributed sort, then each partition's first rank from the counts of the partitions
        before it (``zipWithIndex``); only those counts reach the driver."""
        rdd = self._rdd(ds)
        with self._job("ranking"):  # the sort counts and samples its input at once
            ordered = rdd.sortBy(key, numPartitions=self._partitions([rdd]))
        ordered.persist(self._storage())  # counted, then numbered: computed once
        self._persisted.append(ordered)
        return self._keep(ordered.zipWithIndex().map(_rank_first))

    def count(self, ds: Dataset) -> int:
        with self._job("counting"):
            return int(self._rdd(ds).count())

    def broadcast(self, value: Any) -> Any:
        b = self.sc.broadcast(value)
        self._broadcasts.append(b)
        path = getattr(b, "_path", None)
        if self.measure and path and os.path.exists(path):
            self.driver_data.append(("broadcast", _caller(), os.path.getsize(path)))
        return b

    def default_partitions(self, ds: Dataset) -> int:
        return self._partitions([self._rdd(ds)])


# -- the star steps on DataFrames (src > dst throughout) ----------------------------------------


def _large_star(graph: Any) -> Any:
    """Each node's larger neighbours point at the smallest of its neighbourhood and itself."""
    from pyspark.sql import functions as F

    both = graph.select("src", "dst").union(
        graph.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
    least = both.groupBy("src").agg(F.min("dst").alias("m"))
    return both.join(least, "src").where(F.col("dst") > F.col("src")).select(
        F.col("dst").alias("src"), F.least(F.col("src"), F.col("m")).alias("dst")).distinct()


def _small_star(graph: Any) -> Any:
    """Each node and its smaller neighbours point at the smallest of those neighbours."""
    from pyspark.sql import functions as F

    least = graph.groupBy("src").agg(F.min("dst").alias("m"))
    moved = graph.join(least, "src").where(F.col("dst") != F.col("m")).select(
        F.col("dst").alias("src"), F.col("m").alias("dst"))
    return moved.union(least.select("src", F.col("m").alias("dst"))).distinct()


def _stars(graph: Any) -> bool:
    """Whether every node has one smaller neighbour and that one has none (exact check)."""
    from pyspark.sql import functions as F

    if graph.groupBy("src").count().where(F.col("count") > 1).limit(1).count():
        return False
    parents = graph.select(F.col("dst").alias("x")).distinct()
    return not parents.join(graph.select(F.col("src").alias("x")), "x", "left_semi"
                            ).limit(1).count()


# -- a standalone cluster on this machine (tests, benchmarks, trying a cluster out) -------------


class LoopbackCluster:
    """A standalone Spark cluster started from the installed pyspark, bound to 127.0.0.1:
    one master and `workers` workers (`cores` and `memory` each). Use it as a context
    manager; every process it started is stopped on exit, by its own id."""

    def __init__(self, workers: int = 2, cores: int = 1, memory: str = "1g",
                 folder: str | Path | None = None, timeout: float = 180) -> None:
        import pyspark

        self._tmp = None if folder is not None else tempfile.mkdtemp(prefix="khabar-cluster-")
        self.folder = Path(folder if folder is not None else self._tmp)
        home = Path(pyspark.__file__).parent
        self.env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
                    "SPARK_LOG_DIR": str(self.folder / "logs"),
                    "SPARK_WORKER_DIR": str(self.folder / "work"),
                    "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false"}
        """The environment for a driver of this cluster (it binds to 127.0.0.1 too)."""
        self.port = _free_port()
        self.master = f"spark://127.0.0.1:{self.port}"
        self.procs: list[Any] = []
        self._spark_class = str(home / "bin" / "spark-class")
        self._args = (workers, cores, memory, timeout)

    def __enter__(self) -> LoopbackCluster:
        import subprocess

        workers, cores, memory, timeout = self._args
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "cluster.log", "ab")
        self._log = log
        try:
            self.procs.append(subprocess.Popen(
                [self._spark_class, "org.apache.spark.deploy.master.Master", "--host",
                 "127.0.0.1", "--port", str(self.port), "--webui-port", str(_free_port())],
                env=self.env, stdout=log, stderr=log))
            _wait_for_port(self.port, timeout, self.procs[0])
            for _ in range(workers):
                self.procs.append(subprocess.Popen(
                    [self._spark_class, "org.apache.spark.deploy.worker.Worker", self.master,
                     "--host", "127.0.0.1", "--port", str(_free_port()), "--webui-port",
                     str(_free_port()), "--cores", str(cores), "--memory", memory,
                     "--work-dir", str(self.folder / "work")],
                    env=self.env, stdout=log, stderr=log))
        except BaseException:
            self.__exit__()
            raise
        return self

    def pids(self) -> list[int]:
        """The master's and workers' processes and everything they started (executors)."""
        return [p.pid for p in self.procs] + [d for p in self.procs for d in _descendants(p.pid)]

    def __exit__(self, *exc: object) -> None:
        import subprocess

        started = [d for p in self.procs for d in _descendants(p.pid)]
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        for pid in started:  # executors and their Python workers, if any outlived a worker
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, 9)
        self.procs = []
        with contextlib.suppress(AttributeError):
            self._log.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, seconds: float, proc: Any) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Spark master exited ({proc.returncode}) before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"the Spark master did not listen on 127.0.0.1:{port} in {seconds} s")


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        children: list[str] = []
        try:  # children started by any thread (a JVM starts its processes from many)
            for task in Path(f"/proc/{p}/task").iterdir():
                children.extend((task / "children").read_text().split())
        except OSError:
            continue
        for c in map(int, children):
            out.append(c)
            todo.append(c)
    return out


# -- small helpers -----------------------------------------------------------------------------


def _caller() -> str:
    """The first function outside the engine on the stack (the stage step that asked)."""
    frame = sys._getframe(1)
    engine = str(Path(__file__).parent)
    while frame is not None and frame.f_code.co_filename.startswith(engine):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "?"
    return f"{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}:{frame.f_lineno}"


def _is_doc(item: tuple) -> bool:
    return item[0] == "d"


def _flat(batches: Iterable[list[Any]]) -> Iterator[Any]:
    for batch in batches:
        yield from batch


def _read_slices(parts: list[tuple[int, Any]], workers: int) -> int:
    """Tasks reading the input parts: one per part, but no more than a few per core
    (small files share a task)."""
    return max(1, min(len(parts), 4 * workers + len(parts) // 64))


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _bytes(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)b?\s*", text.lower())
    if not m:
        return 1 << 30
    return int(m.group(1)) * _UNITS[m.group(2)]


__all__ = ["LoopbackCluster", "SparkDataset", "SparkRunner", "package_digest"]
