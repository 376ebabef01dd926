"""The duplicates stage as steps: sketch → exact groups → LSH and sample buckets → verify → cluster.

1. **sketch** (map): each document's token count, the digest of its token
   sequence, its OPH signature, its containment samples and its sorted set of
   shingle hashes (`sketch`). Views prepared earlier in the run are used as
   they are; otherwise the text is normalized here, once.
2. **exact groups** (group by digest): documents with identical normalized
   tokens are one *unit*; each member is paired with the unit's
   representative only, so n copies cost n, not n²/2.
3. **candidates** (group by key): units sharing an LSH band key, and units
   sharing enough containment samples (a short story inside a long article),
   from postings capped at `MAX_BUCKET` members (a bigger bucket pairs every
   member with its smallest one: a cluster of copies stays linear and still
   connected).
4. **verify** (pairs): every candidate on the two real shingle sets.
5. **cluster** (components): exact and verified pairs joined into clusters,
   each with its representative (earliest date, then longest, then smallest id).

A near pair between two groups of exact copies is reported once, between the
groups' representatives; `clusters.jsonl` lists every copy.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from khabar.corpus import Article
from khabar.dups.lsh import band_keys, need, pairs_in_groups
from khabar.dups.params import DupParams
from khabar.dups.records import DupCluster, DupPair, Short
from khabar.dups.shingles import (
    BatchShingles,
    sequence_digests,
    token_hashes,
    window_hashes,
)
from khabar.dups.sketch import (
    containment_samples,
    oph_signatures,
    seeded,
    shingle_sets,
    sorted_sets,
)
from khabar.dups.verify import accept, intersections, similarities
from khabar.engine import Dataset, cogroup
from khabar.stage import ArticleStep, Context, Output, article_outputs, stage

DECIMALS = 4
"""Similarities are rounded to this many decimals everywhere (Python, files, store), so
every way of reading a result gives the same numbers."""
MAX_BUCKET = 64
"""Largest bucket paired in full; a bigger one (many near copies of one text) pairs each
member with its smallest, which keeps them connected at linear cost."""
MAX_SAMPLE_DF = 256
"""Containment sample keys shared by more units than this are skipped: they are formulas,
not evidence that one text contains another."""


@dataclass(slots=True)
class SketchBlock:
    """The sketches of one batch of documents, column by column (CSR for the variable parts):
    a few large arrays move between steps much faster than many small ones."""

    ns: np.ndarray
    ids: list[str]
    ts: np.ndarray
    """Timestamps, NaN when undated."""
    lengths: np.ndarray
    tokens: np.ndarray
    exact: np.ndarray
    """(n, 16) uint8 digests of the token sequences."""
    signatures: np.ndarray
    samples: np.ndarray
    sample_offsets: np.ndarray
    sets: np.ndarray
    set_offsets: np.ndarray

    def __reduce__(self) -> tuple:
        return (SketchBlock, (self.ns, self.ids, self.ts, self.lengths, self.tokens, self.exact,
                              self.signatures, self.samples, self.sample_offsets, self.sets,
                              self.set_offsets))

    def take(self, rows: np.ndarray, with_sets: bool) -> SketchBlock:
        """These rows only; without their shingle sets unless asked (candidate search never
        reads them, and they are most of a block's bytes)."""
        samples, sample_off = _csr_rows(self.samples, self.sample_offsets, rows)
        if with_sets:
            sets, set_off = _csr_rows(self.sets, self.set_offsets, rows)
        else:
            sets, set_off = np.zeros(0, np.uint64), np.zeros(len(rows) + 1, np.int64)
        return SketchBlock(self.ns[rows], [self.ids[k] for k in rows.tolist()], self.ts[rows],
                           self.lengths[rows], self.tokens[rows], self.exact[rows],
                           self.signatures[rows], samples, sample_off, sets, set_off)

    def rank(self, k: int) -> tuple[float, int, str]:
        """Which copy to keep: earliest date (undated last), then longest text, then id."""
        ts = float(self.ts[k])
        return (math.inf if math.isnan(ts) else ts, -int(self.lengths[k]), self.ids[k])


def _csr_rows(values: np.ndarray, offsets: np.ndarray, rows: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    counts = offsets[rows + 1] - offsets[rows]
    out = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    idx = np.repeat(offsets[rows], counts) + (np.arange(int(out[-1]))
                                             - np.repeat(out[:-1], counts))
    return values[idx], out


@dataclass(slots=True)
class ShingleSet:
    """One document's sorted distinct shingle hashes (what a pair is verified on)."""

    n: int
    id: str
    hashes: np.ndarray

    def __reduce__(self) -> tuple:
        return (ShingleSet, (self.n, self.id, self.hashes))


# -- 1. sketch ------------------------------------------------------------------------------------


def _normalized_shingles(views: list[Any], kind: str, size: int) -> BatchShingles:
    """Shingles of prepared views: their normalized text and token bounds, no new pass."""
    lengths = [len(v.normalized) for v in views]
    bases = np.zeros(len(views) + 1, dtype=np.int64)
    np.cumsum(np.asarray(lengths, dtype=np.int64) + 1, out=bases[1:])
    cps = np.frombuffer("\n".join(v.normalized for v in views).encode(
        "utf-32-le", "surrogatepass"), np.uint32)
    starts = np.concatenate([v.tokens.starts + bases[k] for k, v in enumerate(views)]
                            + [np.zeros(0, np.int64)]).astype(np.int64)
    ends = np.concatenate([v.tokens.ends + bases[k] for k, v in enumerate(views)]
                          + [np.zeros(0, np.int64)]).astype(np.int64)
    counts = np.asarray([len(v.tokens) for v in views], dtype=np.int64)
    tok_off = np.zeros(len(views) + 1, dtype=np.int64)
    np.cumsum(counts, out=tok_off[1:])
    th = token_hashes(cps, starts, ends) if len(starts) else np.zeros(0, np.uint64)
    exact = sequence_digests(th, tok_off)
    hashes, offsets = window_hashes(th, tok_off, size)
    return BatchShingles(hashes, offsets, counts.astype(np.int32), exact)


def sketch_block(batch: list[Article], params: DupParams) -> SketchBlock | None:
    """The sketches of a batch of documents, as one block."""
    if not batch:
        return None
    kind, size = params.shingle_kind
    if all(a.view is not None for a in batch) and kind == "word":
        sh = _normalized_shingles([a.view for a in batch], kind, size)
        sets, offsets = sorted_sets(seeded(sh.hashes, params.seed), sh.offsets)
    else:
        texts = [a.repair.text if a.repair is not None else a.doc.text for a in batch]
        sets, offsets, sh = shingle_sets(texts, params)
    sigs = oph_signatures(sets, offsets, params.num_perm, params.seed,
                          sh.tokens >= params.min_tokens)
    samples, sample_off = containment_samples(sets, offsets, params.sample_rate)
    ts = np.array([np.nan if a.doc.date is None else a.doc.timestamp for a in batch])
    return SketchBlock(
        np.array([a.n for a in batch], dtype=np.int64), [a.doc.id for a in batch], ts,
        np.array([len(a.doc.text) for a in batch], dtype=np.int64), sh.tokens, sh.exact, sigs,
        samples, sample_off, sets, offsets)


def sketch_batch(batch: list[Article], params: DupParams) -> tuple[list[Any], ...]:
    """Map step: sketch a batch and hand each later step only its part: the exact keys,
    the sketches candidate search reads, the shingle sets verification reads, what the
    clusters need to pick representatives, and the documents too short to judge."""
    b = sketch_block(batch, params)
    if b is None:
        return [], [], [], [], []
    long = np.flatnonzero(b.tokens >= params.min_tokens)
    exact = [(b.exact[k].tobytes(), (*b.rank(k), int(b.ns[k]))) for k in long.tolist()]
    meta = [(int(b.ns[k]), b.rank(k)) for k in range(len(b.ids))]
    short = [Short(b.ids[k]) for k in np.flatnonzero(b.tokens < params.min_tokens).tolist()]
    units = b.take(long, with_sets=False)
    sets = b.take(long, with_sets=True)
    return exact, [units], [sets], meta, short


# -- 2. exact groups ------------------------------------------------------------------------------


def _exact_key(batch: list[tuple[bytes, tuple]]) -> list[tuple[bytes, tuple]]:
    return batch


def _exact_members(key: bytes, values: list[tuple]) -> list[tuple[int, tuple[int, str, str]]]:
    """(member n, (representative n, representative id, member id)) for every copy but the
    representative of a group of identical texts."""
    if len(values) < 2:
        return []
    values.sort()
    rep = values[0]
    return [(v[3], (rep[3], rep[2], v[2])) for v in values[1:]]


def _member_ns(batch: list[tuple[int, Any]]) -> np.ndarray:
    return np.asarray([n for n, _ in batch], dtype=np.int64)


def _concat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([a, b])


def _unit_rows(block: SketchBlock, dropped: Any, params: DupParams) -> np.ndarray:
    """Rows of a block that take part in candidate search: long enough, and the
    representative of their group of identical copies (or in no such group)."""
    gone = dropped.value
    if not len(gone):
        return np.arange(len(block.ns))
    return np.flatnonzero(~np.isin(block.ns, gone))


# -- 3. candidates --------------------------------------------------------------------------------


def _band_keys(batch: list[SketchBlock], dropped: Any, params: DupParams
               ) -> tuple[np.ndarray, np.ndarray]:
    bands, rows = params.band_rows()
    keys, ns = [np.zeros(0, np.uint64)], [np.zeros(0, np.int64)]
    for b in batch:
        r = _unit_rows(b, dropped, params)
        if len(r):
            keys.append(band_keys(b.signatures[r], bands, rows).ravel())
            ns.append(np.repeat(b.ns[r], bands))
    return np.concatenate(keys), np.concatenate(ns)


def _bucket_pairs(keys: np.ndarray, ns: np.ndarray, _dropped: Any, _params: DupParams
                  ) -> list[np.ndarray]:
    return [_group_pairs(keys, ns)]


def _group_pairs(keys: np.ndarray, ns: np.ndarray, limit: int = MAX_BUCKET) -> np.ndarray:
    """Pair codes (a << 32 | b, a < b) of members sharing a key; keys sorted, members sorted
    inside each key. Big groups pair every member with their smallest one."""
    if len(keys) < 2:
        return np.zeros(0, np.int64)
    # members arrive in no order inside a key: a big group's head must be its smallest
    order = np.lexsort((ns, keys))
    keys, ns = keys[order], ns[order]
    cut = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], cut))
    sizes = np.diff(np.concatenate((starts, [len(keys)])))
    small = (sizes >= 2) & (sizes <= limit)
    a, b = pairs_in_groups(ns, starts[small], sizes[small])
    big = np.flatnonzero(sizes > limit)
    if len(big):
        heads = np.repeat(ns[starts[big]], sizes[big] - 1)
        rest = np.concatenate([ns[s + 1:s + z] for s, z in zip(starts[big].tolist(),
                                                                sizes[big].tolist(), strict=True)])
        a, b = np.concatenate([a, heads]), np.concatenate([b, rest])
    keep = a != b
    a, b = a[keep], b[keep]
    return np.unique((np.minimum(a, b) << 32) | np.maximum(a, b))


_SAMPLE = np.dtype([("n", np.int64), ("count", np.int64)])


def _sample_keys(batch: list[SketchBlock], dropped: Any, params: DupParams
                 ) -> tuple[np.ndarray, np.ndarray]:
    keys, values = [np.zeros(0, np.uint64)], [np.zeros(0, _SAMPLE)]
    for b in batch:
        r = _unit_rows(b, dropped, params)
        counts = np.diff(b.sample_offsets)[r]
        starts = b.sample_offsets[r]
        idx = np.repeat(starts, counts) + (np.arange(int(counts.sum()))
                                          - np.repeat(np.cumsum(counts) - counts, counts))
        keys.append(b.samples[idx].astype(np.uint64))
        v = np.zeros(len(idx), dtype=_SAMPLE)
        v["n"] = np.repeat(b.ns[r], counts)
        v["count"] = np.repeat(counts, counts)
        values.append(v)
    return np.concatenate(keys), np.concatenate(values)


_SHARED = np.dtype([("code", np.int64), ("count_a", np.int64), ("count_b", np.int64)])


def _sample_pairs(keys: np.ndarray, values: np.ndarray, _dropped: Any, _params: DupParams
                  ) -> list[np.ndarray]:
    """Every pair of units under one sample key (keys shared by 2 to MAX_SAMPLE_DF units)."""
    if len(keys) < 2:
        return []
    cut = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], cut))
    sizes = np.diff(np.concatenate((starts, [len(keys)])))
    ok = (sizes >= 2) & (sizes <= MAX_SAMPLE_DF)
    ia, ib = pairs_in_groups(np.arange(len(keys)), starts[ok], sizes[ok])
    na, nb = values["n"][ia], values["n"][ib]
    ca, cb = values["count"][ia], values["count"][ib]
    swap = na > nb
    out = np.zeros(len(ia), dtype=_SHARED)
    out["code"] = (np.where(swap, nb, na) << 32) | np.where(swap, na, nb)
    out["count_a"] = np.where(swap, cb, ca)
    out["count_b"] = np.where(swap, ca, cb)
    return [out[na != nb]]


def _shared_key(batch: list[np.ndarray], _params: DupParams) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate(batch) if batch else np.zeros(0, _SHARED)
    return rows["code"].astype(np.uint64), rows


def _containment_pairs(keys: np.ndarray, rows: np.ndarray, params: DupParams
                       ) -> list[np.ndarray]:
    """Pairs whose smaller sample set shares enough keys with the other (see `lsh.need`)."""
    if not len(keys):
        return []
    cut = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], cut))
    shared = np.diff(np.concatenate((starts, [len(keys)])))
    first = rows[starts]
    smaller = np.minimum(first["count_a"], first["count_b"])
    ok = shared >= need(smaller, params.containment)
    return [first["code"][ok]]


def _codes(batch: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    codes = np.concatenate(batch) if batch else np.zeros(0, np.int64)
    return codes.astype(np.uint64), codes


def _distinct_pairs(keys: np.ndarray, codes: np.ndarray) -> list[tuple[int, int, None]]:
    unique = np.unique(codes)
    return [(c >> 32, c & 0xFFFFFFFF, None) for c in unique.tolist()]


# -- 4. verify ------------------------------------------------------------------------------------


def _verify(items: list[tuple[int, int, Any, ShingleSet, ShingleSet]], params: DupParams
            ) -> list[tuple[int, int, str, str, float, float, float]]:
    if not items:
        return []
    sets = [s for _, _, _, x, y in items for s in (x.hashes, y.hashes)]
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sets], out=offsets[1:])
    flat = np.concatenate(sets)
    a = np.arange(0, len(sets), 2)
    inter = intersections(flat, offsets, a, a + 1)
    sizes = np.diff(offsets).astype(np.float64)
    jac, a_in_b, b_in_a = similarities(inter, sizes[a], sizes[a + 1])
    ok = accept(jac, a_in_b, b_in_a, params.threshold, params.containment)
    out = []
    for k in np.flatnonzero(ok).tolist():
        _, _, _, x, y = items[k]
        out.append((x.n, y.n, x.id, y.id, float(jac[k]), float(a_in_b[k]), float(b_in_a[k])))
    return out


def _sets(batch: list[SketchBlock], dropped: Any, params: DupParams) -> list[ShingleSet]:
    out = []
    for b in batch:
        for k in _unit_rows(b, dropped, params).tolist():
            out.append(ShingleSet(int(b.ns[k]), b.ids[k],
                                  b.sets[b.set_offsets[k]:b.set_offsets[k + 1]]))
    return out


def _set_n(s: ShingleSet) -> int:
    return s.n


# -- 5. outputs -----------------------------------------------------------------------------------


def _pair(a: str, b: str, jac: float, a_in_b: float, b_in_a: float, kind: str) -> DupPair:
    if b < a:
        a, b, a_in_b, b_in_a = b, a, b_in_a, a_in_b
    return DupPair(a, b, round(jac, DECIMALS), round(a_in_b, DECIMALS), round(b_in_a, DECIMALS),
                   kind)


def _near_records(batch: list[tuple]) -> list[DupPair]:
    return [_pair(x, y, j, ab, ba, "near") for _, _, x, y, j, ab, ba in batch]


def _exact_records(batch: list[tuple[int, tuple[int, str, str]]]) -> list[DupPair]:
    return [_pair(member_id, rep_id, 1.0, 1.0, 1.0, "exact")
            for _, (_, rep_id, member_id) in batch]


def _near_edges(batch: list[tuple]) -> list[tuple[int, int]]:
    return [(r[0], r[1]) for r in batch]


def _exact_edges(batch: list[tuple[int, tuple[int, str, str]]]) -> list[tuple[int, int]]:
    return [(n, rep[0]) for n, rep in batch]


def _meta(batch: list[tuple[int, tuple]]) -> list[tuple[int, tuple]]:
    return batch


def _labelled(n: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    labels, meta = sides
    if not labels or not meta:
        return []
    return [(labels[0], meta[0])]


def _label_keys(batch: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return list(batch)


def _cluster(label: int, members: list[tuple]) -> list[DupCluster]:
    members.sort()
    return [DupCluster(-1, members[0][2], tuple(sorted(m[2] for m in members)))]


def pair_key(p: DupPair) -> tuple[str, str]:
    return (p.a, p.b)


def cluster_key(c: DupCluster) -> tuple[int, str]:
    return (-len(c.members), c.representative)


def short_key(s: Short) -> str:
    return s.id


OUTPUTS = (
    Output("dup_pairs", "pairs.jsonl", DupPair, pair_key),
    Output("dup_clusters", "clusters.jsonl", DupCluster, cluster_key, number="cluster"),
    Output("dup_short", "short.jsonl", Short, short_key),
)


SKETCH = ArticleStep(("dup_exact", "dup_units", "dup_sets", "dup_meta", "dup_short_docs"),
                     sketch_batch)


@stage("dups", params=DupParams, requires=("documents",),
       optional=("articles", *SKETCH.outputs),
       provides=("dup_pairs", "dup_clusters", "dup_short", "dup_exact_groups"), outputs=OUTPUTS,
       article=SKETCH)
def dups_stage(ctx: Context, data: dict[str, Dataset], params: DupParams) -> dict[str, Dataset]:
    """Exact and near duplicates, verified on the real shingle sets, and their clusters."""
    runner = ctx.runner
    exact, units, sets, meta, short = article_outputs(SKETCH, data, params)
    members = exact.group(_exact_key, _exact_members)
    dropped = runner.broadcast(np.sort(members.aggregate(_member_ns, _concat,
                                                         np.zeros(0, np.int64))))
    candidates = [units.group_arrays(_band_keys, _bucket_pairs, dropped, params)]
    if params.containment > 0:
        shared = units.group_arrays(_sample_keys, _sample_pairs, dropped, params)
        candidates.append(shared.group_arrays(_shared_key, _containment_pairs, params))
    pairs = runner.union(candidates).group_arrays(_codes, _distinct_pairs)
    verified = runner.pairs(pairs, sets, _set_n, _verify, (params,), _sets, (dropped, params))
    edges = runner.union([verified.map(_near_edges), members.map(_exact_edges)])
    labels = runner.components(edges)
    labelled = cogroup([labels, meta], [_label_keys, _meta_keys], _labelled)
    out = {
        "dup_exact_groups": members.group(_by_rep, _exact_group),
        "dup_pairs": runner.union([verified.map(_near_records), members.map(_exact_records)]),
        "dup_clusters": labelled.group(_label_keys, _cluster),
        "dup_short": short,
    }
    kinds = out["dup_pairs"].aggregate(_kinds, _add, Counter())
    sizes = out["dup_clusters"].aggregate(_cluster_sizes, _add, Counter())
    ctx.counts["dups"] = {
        "documents": meta.count(), "short": short.count(), "exact": kinds["exact"],
        "near": kinds["near"], "clusters": sizes["clusters"], "dropped": sizes["dropped"],
        "candidates": pairs.count()}
    return out


def _meta_keys(batch: list[tuple[int, tuple]]) -> list[tuple[int, tuple]]:
    return list(batch)


def _by_rep(batch: list[tuple[int, tuple[int, str, str]]]) -> list[tuple[str, str]]:
    return [(rep_id, member_id) for _, (_, rep_id, member_id) in batch]


def _exact_group(rep: str, members: list[str]) -> list[tuple[str, ...]]:
    """A group of exact copies: its representative first, then the others by id."""
    return [(rep, *sorted(members))]


def _kinds(batch: list[DupPair]) -> Counter[str]:
    return Counter(p.kind for p in batch)


def _cluster_sizes(batch: list[DupCluster]) -> Counter[str]:
    return Counter({"clusters": len(batch), "dropped": sum(len(c.members) - 1 for c in batch)})


def _add(a: Counter[str], b: Counter[str]) -> Counter[str]:
    return a + b


def _dropped_ids(batch: list[DupCluster]) -> set[str]:
    return {m for c in batch for m in c.members if m != c.representative}


def _union_sets(a: set[str], b: set[str]) -> set[str]:
    return a | b


def _kept(batch: list[Article], dropped: Any) -> list[Article]:
    gone = dropped.value
    return [a for a in batch if a.doc.id not in gone]


def _article_n(a: Article) -> int:
    return a.n


def deduplicated(job: Any) -> Iterable[Any]:
    """The documents of a finished job but the non-representative members of its
    duplicate clusters, in input order."""
    dropped = job.data["dup_clusters"].aggregate(_dropped_ids, _union_sets, set())
    kept = job.data["documents"].map(_kept, job.runner.broadcast(frozenset(dropped)))
    return (a.doc for a in kept.sorted_records(_article_n))


__all__ = ["OUTPUTS", "ShingleSet", "SketchBlock", "dups_stage", "sketch_batch", "sketch_block"]

