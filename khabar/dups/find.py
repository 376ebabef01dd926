"""`find_duplicates`: exact and near duplicates of documents in memory or in a store.

The flow, the same for both:

1. sketch every document (threads over batches): its token count, the digest
   of its token sequence, its OPH signature and its containment samples, plus
   (in memory) its sorted shingle set;
2. find candidate pairs from the sketches (`core.find_pairs`: exact groups,
   LSH bands, containment samples);
3. verify every candidate on the real shingle sets: kept ones in memory,
   re-shingled from the stored texts for a store (shingle sets are not stored:
   they are several times the size of the sketches, and only candidates need them);
4. cluster the verified pairs and pick representatives.

A store keeps sketches and pairs (`db`), so the next run starts at step 1 with
only the documents added or changed since.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from khabar.document import Document
from khabar.dups.clusters import components, representative
from khabar.dups.core import FoundPairs, SketchTable, find_pairs
from khabar.dups.params import DupParams
from khabar.dups.sketch import SketchBatch, measure_pairs, measure_task, sketch_texts, warm_up
from khabar.errors import KhabarError

if TYPE_CHECKING:
    from khabar.store import Store

# The database side (khabar.store, khabar.dups.db) is imported only when a store is
# used: documents in memory need neither.

DEFAULT_BATCH = 250
DECIMALS = 4
"""Similarities are written rounded to this many decimals."""


@dataclass(frozen=True, slots=True)
class DupPair:
    """A verified duplicate pair (ids ordered a < b).

    Similarities are on the sets of shingles of the normalized tokens: `jaccard`
    = |A∩B| / |A∪B|, `containment_a_in_b` = |A∩B| / |A| (how much of a is in b)
    and `containment_b_in_a` = |A∩B| / |B|. `kind` is `exact` when the
    normalized token sequences are identical, else `near` (Jaccard at the
    threshold, or one containment at the containment threshold).
    """

    a: str
    b: str
    jaccard: float
    containment_a_in_b: float
    containment_b_in_a: float
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "jaccard": round(self.jaccard, DECIMALS),
                "containment_a_in_b": round(self.containment_a_in_b, DECIMALS),
                "containment_b_in_a": round(self.containment_b_in_a, DECIMALS),
                "kind": self.kind}


@dataclass(frozen=True, slots=True)
class DupCluster:
    """Documents joined by verified pairs; `representative` is the one to keep."""

    cluster: int
    representative: str
    members: tuple[str, ...]
    """All members, the representative included, sorted by id."""

    def to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "representative": self.representative,
                "members": list(self.members)}


@dataclass
class DupResult:
    pairs: list[DupPair]
    """Verified duplicate edges, sorted by (a, b): every exact copy against its group's
    representative, and near pairs between group representatives (see `all_pairs`)."""
    clusters: list[DupCluster]
    """Clusters of two or more documents, largest first (then by representative id)."""
    short: list[str]
    """Ids of documents with fewer than `min_tokens` tokens: never called duplicates."""
    stats: dict[str, int] = field(default_factory=dict)
    exact_groups: list[tuple[str, ...]] = field(default_factory=list)
    """Groups of exact copies (identical normalized tokens), each its representative first,
    then the other copies by id; sorted by representative."""

    def all_pairs(self) -> list[DupPair]:
        """Every pair of documents the edges stand for, sorted by (a, b).

        Inside an exact group every two copies; for a near pair between two group
        representatives, every copy of one against every copy of the other (copies
        have identical shingles, so identical similarities). Quadratic in the size of
        the groups: for comparison with tools that list all pairs, not for large
        clusters.
        """
        group = {g[0]: g for g in self.exact_groups}
        out: list[DupPair] = []
        for g in self.exact_groups:
            ordered = sorted(g)
            out.extend(DupPair(x, y, 1.0, 1.0, 1.0, "exact")
                       for i, x in enumerate(ordered) for y in ordered[i + 1 :])
        for p in self.pairs:
            if p.kind == "exact":
                continue
            for x in group.get(p.a, (p.a,)):
                for y in group.get(p.b, (p.b,)):
                    out.append(DupPair(x, y, p.jaccard, p.containment_a_in_b,
                                       p.containment_b_in_a, "near") if x < y else
                               DupPair(y, x, p.jaccard, p.containment_b_in_a,
                                       p.containment_a_in_b, "near"))
        out.sort(key=lambda p: (p.a, p.b))
        return out

    def dropped(self) -> set[str]:
        """Ids a deduplicated corpus leaves out: every cluster member but its representative."""
        return {m for c in self.clusters for m in c.members if m != c.representative}

    def write(self, out_dir: str | os.PathLike[str]) -> dict[str, int]:
        """Write pairs.jsonl, clusters.jsonl and short.jsonl (`{"id": …}` rows) to `out_dir`.

        Rows are sorted (pairs by a then b, clusters largest first) and similarities
        rounded to `DECIMALS`, so equal inputs give byte-identical files. Returns the
        number of rows written per file.
        """
        from khabar.io.writers import write_jsonl

        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise KhabarError(f"{out}: exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        return {
            "pairs.jsonl": write_jsonl((p.to_dict() for p in self.pairs), out / "pairs.jsonl"),
            "clusters.jsonl": write_jsonl((c.to_dict() for c in self.clusters),
                                          out / "clusters.jsonl"),
            "short.jsonl": write_jsonl(({"id": i} for i in self.short), out / "short.jsonl"),
        }

    def summary(self) -> str:
        exact = sum(p.kind == "exact" for p in self.pairs)
        dupes = sum(len(c.members) - 1 for c in self.clusters)
        new = (f", {self.stats['new']} new or changed" if "new" in self.stats else "")
        return (f"{self.stats.get('documents', 0)} documents ({len(self.short)} too short"
                f"{new}), {exact} exact and {len(self.pairs) - exact} near pairs, "
                f"{len(self.clusters)} clusters, {dupes} duplicates to drop")


def _batches(items: Sequence[Any], size: int) -> Iterator[Any]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def workers_count(workers: int | None) -> int:
    """`workers` as given, or all cores for None or 0."""
    if workers and workers > 0:
        return workers
    from khabar.engine.local import default_workers

    return default_workers()


def ordered_map(fn: Callable[..., Any], batches: Iterable[Any], args: tuple[Any, ...],
                workers: int) -> Iterator[Any]:
    """`fn(batch, *args)` over batches on `workers` threads, results in input order.

    Threads rather than processes: the work is NumPy calls on whole batches, which
    release the GIL, so threads use every core without pickling texts out and
    sketches back (with processes that copying cost more CPU than it saved on two
    cores). The stage functions stay picklable top-level functions, so an engine
    of processes (LocalEngine, Spark) can run them unchanged. `batches` is read in
    the calling thread, a few batches ahead, so it may come from SQLite.
    """
    if workers <= 1:
        for batch in batches:
            yield fn(batch, *args)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="khabar-dups") as pool:
        pending: deque[Future[Any]] = deque()
        for batch in batches:
            pending.append(pool.submit(fn, batch, *args))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def find_duplicates(
    corpus: Store | Sequence[Document] | Sequence[str],
    params: DupParams | None = None,
    *,
    workers: int = 1,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> DupResult:
    """Exact and near duplicates among documents, as verified pairs and clusters.

    `corpus` is a `Store` (incremental: sketches and pairs are kept in it, and
    only documents new or changed since the last run are sketched and paired),
    or documents or plain texts in memory (texts get ids "0", "1", …). Stored
    documents are read in their repaired form; in-memory documents as given
    (without corpus context a repair never changes tokens). `workers` threads
    share the work (0: all cores); the result is the same for any `workers` and
    `batch_size`.
    """
    params = params or DupParams()
    workers = workers_count(workers)
    store_module = sys.modules.get("khabar.store")  # not imported: cannot be a Store
    if store_module is not None and isinstance(corpus, store_module.Store):
        with corpus.snapshot():  # one set of documents, whatever ingest commits meanwhile
            return _from_store(corpus, params, workers, batch_size, progress)
    items = list(corpus)
    timestamps: list[float | None]
    if all(isinstance(x, str) for x in items):
        texts, ids, timestamps = items, [str(i) for i in range(len(items))], [None] * len(items)
    elif all(isinstance(x, Document) for x in items):
        texts, ids = [d.text for d in items], [d.id for d in items]
        timestamps = [d.timestamp for d in items]
        if len(set(ids)) != len(ids):
            raise KhabarError("document ids must be unique")
    else:
        raise KhabarError("find_duplicates takes a Store, Documents or strings")
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1
    warm_up(params, int(np.add.reduceat(lengths, np.arange(0, len(texts), batch_size)).max())
            if texts else 0)
    batches: list[SketchBatch] = []
    for sk in ordered_map(sketch_texts, _batches(texts, batch_size), (params, True), workers):
        batches.append(sk)
        if progress is not None:
            progress(sum(len(b.tokens) for b in batches))
    table = SketchTable.concat(batches, params.num_perm)
    sets = np.concatenate([b.sets for b in batches if b.sets is not None]) if batches else (
        np.zeros(0, dtype=np.uint64))
    counts = np.concatenate([np.diff(b.set_offsets) for b in batches
                             if b.set_offsets is not None]) if batches else np.zeros(0, int)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])

    def measure(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        parts = np.array_split(np.arange(len(a)), max(1, min(workers, len(a) // 500)))
        out = np.concatenate([np.zeros((0, 3), np.int64), *ordered_map(
            lambda part: measure_pairs(sets, offsets, a[part], b[part]), parts, (), workers)])
        return out[:, 0], out[:, 1].astype(np.float64), out[:, 2].astype(np.float64)

    lengths_list = (lengths - 1).tolist()
    found = find_pairs(table, params, measure, ranks(ids, timestamps, lengths_list), workers)
    return _result(found, ids, timestamps, lengths_list, table.tokens, params)


def ranks(ids: Sequence[str], timestamps: Sequence[float | None], lengths: Sequence[int]
          ) -> np.ndarray:
    """Each document's place in the representative order: earliest date (undated last),
    then longest text, then smallest id; 0 is the best."""
    order = sorted(range(len(ids)), key=lambda i: (
        timestamps[i] if timestamps[i] is not None else float("inf"), -lengths[i], ids[i]))
    out = np.empty(len(ids), dtype=np.int64)
    out[np.asarray(order, dtype=np.int64)] = np.arange(len(ids))
    return out


def _result(found: FoundPairs, ids: list[str], timestamps: list[float | None],
            lengths: list[int], tokens: np.ndarray, params: DupParams) -> DupResult:
    pairs = []
    for a, b, j, ab, ba, ex in zip(found.a.tolist(), found.b.tolist(), found.jaccard.tolist(),
                                   found.a_in_b.tolist(), found.b_in_a.tolist(),
                                   found.exact.tolist(), strict=True):
        kind = "exact" if ex else "near"
        if ids[a] < ids[b]:
            pairs.append(DupPair(ids[a], ids[b], j, ab, ba, kind))
        else:
            pairs.append(DupPair(ids[b], ids[a], j, ba, ab, kind))
    pairs.sort(key=lambda p: (p.a, p.b))
    clusters = []
    for members in components(len(ids), found.a, found.b):
        rep = representative(members, ids, timestamps, lengths)
        clusters.append((ids[rep], tuple(sorted(ids[m] for m in members.tolist()))))
    clusters.sort(key=lambda c: (-len(c[1]), c[0]))
    short = sorted(ids[i] for i in np.flatnonzero(tokens < params.min_tokens).tolist())
    stats = dict(found.stats)
    stats["documents"] = len(ids)
    stats["pairs"] = len(pairs)
    stats["clusters"] = len(clusters)
    groups = sorted((ids[g[0]], *sorted(ids[m] for m in g[1:].tolist()))
                    for g in found.groups)
    return DupResult(pairs, [DupCluster(i, r, m) for i, (r, m) in enumerate(clusters)], short,
                     stats, groups)


PAIRS_PER_TASK = 250
"""Candidate pairs verified per task when texts must be read again (store). A task shingles
up to twice as many texts at once, with temporaries of some 80 KB per article: 250 keeps a
task near 40 MB whatever the pairs look like (a star of near copies has a new text in
every pair)."""


def _from_store(store: Store, params: DupParams, workers: int, batch_size: int,
                progress: Callable[[int], None] | None) -> DupResult:
    from khabar.dups import db as dupsdb

    dupsdb.declare(store)
    dupsdb.reset_if_changed(store, params)
    ns, ids, stamps = dupsdb.stale(store, params)
    done = 0
    if ids:
        warm_up(params)
        for sk in ordered_map(sketch_texts, dupsdb.texts(store, ids, batch_size),
                              (params, False), workers):
            count = len(sk.tokens)
            dupsdb.save_sketches(store, ns[done : done + count], stamps[done : done + count],
                                 sk, params.min_tokens)
            done += count
            if progress is not None:
                progress(done)
    all_ns, doc_ids, timestamps, lengths = dupsdb.doc_info(store)
    table = dupsdb.load_sketches(store, params.num_perm, all_ns)
    new = int(table.new.sum())
    digests = [bytes(x) for x in table.exact]

    def reshingle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # shingle sets are not stored: the texts of the candidates are shingled again,
        # a slice of pairs at a time
        def tasks() -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
            for lo in range(0, len(a), PAIRS_PER_TASK):
                pa, pb = a[lo : lo + PAIRS_PER_TASK], b[lo : lo + PAIRS_PER_TASK]
                docs, local = np.unique(np.concatenate((pa, pb)), return_inverse=True)
                names = [doc_ids[i] for i in docs.tolist()]
                texts = [t for batch in dupsdb.texts(store, names, batch_size) for t in batch]
                yield texts, local[: len(pa)], local[len(pa) :]

        return np.concatenate([np.zeros((0, 3), np.int64),
                               *ordered_map(measure_task, tasks(), (params,), workers)])

    def measure(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # a verification is a function of the two token sequences: kept by their digests
        swap = [digests[x] > digests[y] for x, y in zip(a.tolist(), b.tolist(), strict=True)]
        keys = [(digests[y], digests[x]) if s else (digests[x], digests[y])
                for x, y, s in zip(a.tolist(), b.tolist(), swap, strict=True)]
        known = dupsdb.verified(store, keys)
        todo = np.array([i for i, k in enumerate(keys) if k not in known], dtype=np.int64)
        out = np.zeros((len(keys), 3), dtype=np.int64)
        if len(todo):
            fresh = reshingle(a[todo], b[todo])
            out[todo] = fresh
            rows = []
            for i, (inter, sa, sb) in zip(todo.tolist(), fresh.tolist(), strict=True):
                if swap[i]:
                    sa, sb = sb, sa
                rows.append((*keys[i], inter, sa, sb))
            dupsdb.save_verified(store, rows)
        for i, k in enumerate(keys):
            if k in known:
                inter, sa, sb = known[k]
                out[i] = (inter, sb, sa) if swap[i] else (inter, sa, sb)
        return out[:, 0], out[:, 1].astype(np.float64), out[:, 2].astype(np.float64)

    found = find_pairs(table, params, measure, ranks(doc_ids, timestamps, lengths), workers)
    rows = [(all_ns[a], all_ns[b], j, ab, ba, "exact" if ex else "near")
            for a, b, j, ab, ba, ex in zip(found.a.tolist(), found.b.tolist(),
                                           found.jaccard.tolist(), found.a_in_b.tolist(),
                                           found.b_in_a.tolist(), found.exact.tolist(),
                                           strict=True)]
    dupsdb.save_pairs(store, rows)  # documents.n ascending: a < b as the table wants
    found.stats.update(sketched=done, new=new)
    return _result(found, doc_ids, timestamps, lengths, table.tokens, params)


def load_pairs(store: Store, params: DupParams | None = None, *, update: bool = True,
               workers: int = 1) -> list[DupPair]:
    """The verified duplicate pairs of a store (brought up to date first, unless `update=False`).

    Cheap when nothing changed: only documents added or changed since the last
    run are sketched and paired.
    """
    from khabar.dups import db as dupsdb

    params = params or DupParams()
    if update:
        return find_duplicates(store, params, workers=workers).pairs
    dupsdb.declare(store)
    ns, doc_ids, _, _ = dupsdb.doc_info(store)
    by_n = dict(zip(ns, doc_ids, strict=True))
    out = []
    for a, b, j, ab, ba, kind in dupsdb.all_pairs(store):
        if a not in by_n or b not in by_n:
            continue  # stored by a run that saw documents this snapshot does not hold
        x, y = by_n[a], by_n[b]
        out.append(DupPair(x, y, j, ab, ba, kind) if x < y else DupPair(y, x, j, ba, ab, kind))
    out.sort(key=lambda p: (p.a, p.b))
    return out


def deduplicated(docs: Iterable[Document], result: DupResult) -> Iterator[Document]:
    """`docs` without the non-representative members of duplicate clusters."""
    drop = result.dropped()
    return (d for d in docs if d.id not in drop)
