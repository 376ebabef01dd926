"""Sketches: one-permutation MinHash with optimal densification, plus containment samples.

MinHash with k independent permutations hashes every shingle k times. One-
permutation hashing (OPH; Li, Owen and Zhang 2012) hashes it once: the hash
picks one of k bins and a bin keeps its smallest hash. Two sets agree on a bin
with probability equal to their Jaccard similarity, as with k permutations.
Bins left empty (short documents) are filled by optimal densification
(Shrivastava 2017): an empty bin copies the value of the first non-empty bin
along its own fixed pseudo-random probe sequence. Because the probe sequence
depends only on the bin and the seed, two documents densify consistently and
the agreement probability stays their Jaccard similarity.

One sort per batch does all the work. Each shingle's 64-bit hash is mixed
under the seed; sorting each document's hashes gives its distinct shingle set
(kept for verification) and, since the bin is a monotone function of the hash
(its top bits), the first hash of each bin is the bin's minimum.

Per bin only 16 bits of the minimum are kept (bits 16-31 of the hash, apart from
the bits choosing the bin). LSH needs equality only, and every candidate is
verified on the real shingles, so the cost of the shorter value is a chance of
2^-16 per bin of agreeing by accident (2^-16·r for a band of r rows), while 128
bins fit in 256 bytes: a million sketches in 256 MB.

Containment samples are the shingles whose hash has its low 16 bits under a
fixed cut (`sample_rate`). The cut is the same for every document, so if A is
contained in B, A's samples are (almost all) among B's samples, whatever the
sizes: the property MinHash lacks and `lsh.containment_candidates` uses. A
sample is stored as the top 32 bits of its hash.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from khabar.dups.params import DupParams
from khabar.dups.shingles import BatchShingles, _power_tables, batch_shingles, fmix64
from khabar.dups.verify import intersections

_U64 = np.uint64
_LOW32 = _U64(0xFFFFFFFF)
_EMPTY = _U64(1 << 32)  # above every 32-bit value
_SAMPLE_BITS = 16


def seed_key(seed: int, salt: int = 0) -> np.uint64:
    """A 64-bit key derived from the user's seed (a mixed value, never the raw small int)."""
    x = np.array([(seed * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9 + 1) % (1 << 64)],
                 dtype=np.uint64)
    return fmix64(x)[0]


def seeded(shingles: np.ndarray, seed: int) -> np.ndarray:
    """Shingle hashes re-mixed under the seed: the one hash each sketch is built from."""
    return fmix64(shingles ^ seed_key(seed))


def _bins(hashes: np.ndarray, k: int) -> np.ndarray:
    # multiply-shift maps the high 32 bits onto [0, k) for any k, not only powers of two;
    # it is monotone in the hash, so hashes sorted by value are sorted by bin too
    return (((hashes >> _U64(32)) * _U64(k)) >> _U64(32)).astype(np.int64)


def sorted_sets(g: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each document's distinct hashes in ascending order (CSR: values, offsets), in one sort.

    The sort key is (document, top 40 bits of the hash); hashes sharing those 40 bits
    inside one document (about one document in two million) are put in order after.
    """
    n = len(offsets) - 1
    doc = np.repeat(np.arange(n, dtype=np.uint64), np.diff(offsets))
    key = (doc << _U64(40)) | (g >> _U64(24))
    order = np.argsort(key)
    gs = g[order]
    ks = key[order]
    # equal keys are mostly a shingle repeated in its document (equal hashes, in order);
    # runs holding different hashes are sorted by the full hash
    ties = np.flatnonzero((ks[1:] == ks[:-1]) & (gs[1:] != gs[:-1]))
    for t in ties.tolist():
        lo, hi = t, t + 1
        while lo > 0 and ks[lo - 1] == ks[t]:
            lo -= 1
        while hi + 1 < len(ks) and ks[hi + 1] == ks[t]:
            hi += 1
        gs[lo : hi + 1] = np.sort(gs[lo : hi + 1])
    ds = ks >> _U64(40)
    keep = np.ones(len(gs), dtype=bool)
    keep[1:] = (gs[1:] != gs[:-1]) | (ds[1:] != ds[:-1])
    gs, ds = gs[keep], ds[keep]
    set_off = np.searchsorted(ds, np.arange(n + 1, dtype=np.uint64)).astype(np.int64)
    return gs, set_off


def oph_signatures(sets: np.ndarray, offsets: np.ndarray, k: int, seed: int,
                   wanted: np.ndarray | None = None) -> np.ndarray:
    """(n, k) uint16 densified OPH signatures from each document's sorted distinct hashes.

    Sorted hashes are sorted by bin, so a bin's minimum is simply its first hash. The
    value kept is 16 bits taken below the bits that choose the bin. Rows not `wanted`
    (documents too short to judge) are left as zeros.
    """
    n = len(offsets) - 1
    counts = np.diff(offsets)
    cell = np.repeat(np.arange(n, dtype=np.int64) * k, counts) + _bins(sets, k)
    first = np.ones(len(cell), dtype=bool)
    first[1:] = cell[1:] != cell[:-1]
    raw = np.full(n * k, _EMPTY, dtype=np.uint64)
    raw[cell[first]] = (sets[first] >> _U64(16)) & _U64(0xFFFF)
    raw = raw.reshape(n, k)
    rows = counts > 0
    if wanted is not None:
        rows &= wanted
    _densify(raw, rows, k, seed)
    raw[~rows] = 0
    return raw.astype(np.uint16)


PROBES = 16
"""Random probes per empty bin before falling back to the next non-empty bin."""


@lru_cache(maxsize=8)
def _probe_table(k: int, seed: int) -> np.ndarray:
    """(k, PROBES) bins each empty bin looks at in turn: fixed by k and seed, never by data."""
    bins = np.repeat(np.arange(k, dtype=np.uint64), PROBES)
    attempt = np.tile(np.arange(1, PROBES + 1, dtype=np.uint64), k)
    probe = np.full(k * PROBES, seed_key(seed, salt=1), dtype=np.uint64)
    probe ^= bins * _U64(0x9E3779B97F4A7C15)
    probe += attempt * _U64(0xD1B54A32D192ED03)
    table = _bins(fmix64(probe), k).reshape(k, PROBES)
    table.setflags(write=False)
    return table


def _densify(raw: np.ndarray, rows: np.ndarray, k: int, seed: int) -> None:
    """Fill empty bins in place from the first originally non-empty bin on their probe path.

    The path of bin i is PROBES pseudo-random bins, then i+1, i+2, … cyclically.
    It depends on i and the seed only, never on the document, which is what keeps
    two documents' densified bins agreeing with probability equal to their
    Jaccard similarity; the random part keeps the variance low (a pure rotation
    would copy one value into long runs of empty bins).
    """
    docs, bins = np.nonzero((raw == _EMPTY) & rows[:, None])
    if docs.size == 0:
        return
    original = raw.copy()
    flat, flat_raw = original.ravel(), raw.ravel()
    # all PROBES candidates of every empty bin at once; the first non-empty one wins
    values = flat[(docs * k)[:, None] + _probe_table(k, seed)[bins]]
    hit = values != _EMPTY
    first = hit.argmax(axis=1)
    found = hit[np.arange(len(docs)), first]
    flat_raw[docs[found] * k + bins[found]] = values[np.flatnonzero(found), first[found]]
    docs, bins = docs[~found], bins[~found]
    if not docs.size:
        return
    # rotation for the rest: the first non-empty bin after i, cyclically
    full = original != _EMPTY
    doubled = np.concatenate((full, full), axis=1)
    cols = np.where(doubled, np.arange(2 * k), 2 * k)
    nxt = np.minimum.accumulate(cols[:, ::-1], axis=1)[:, ::-1]
    target = nxt[docs, bins + 1] % k
    raw[docs, bins] = original[docs, target]


def containment_samples(sets: np.ndarray, offsets: np.ndarray, rate: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct uint32 sample keys per document (CSR: keys, offsets).

    A shingle is sampled when the low 16 bits of its hash fall under the cut; its key
    is the hash's top 32 bits, so keys come out sorted from sorted hashes.
    """
    n = len(offsets) - 1
    cut = _U64(min(round(rate * (1 << _SAMPLE_BITS)), 1 << _SAMPLE_BITS))
    at = np.flatnonzero((sets & _U64((1 << _SAMPLE_BITS) - 1)) < cut)
    doc = np.searchsorted(offsets, at, side="right") - 1
    keys = (sets[at] >> _U64(32)).astype(np.uint32)
    if len(keys) > 1:  # two hashes of one document may share their top 32 bits
        keep = np.ones(len(keys), dtype=bool)
        keep[1:] = (keys[1:] != keys[:-1]) | (doc[1:] != doc[:-1])
        keys, doc = keys[keep], doc[keep]
    out_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc, minlength=n), out=out_off[1:])
    return keys, out_off


@dataclass(slots=True)
class SketchBatch:
    """Everything duplicate detection keeps about a batch of documents."""

    tokens: np.ndarray
    """int32 normalized tokens per document."""
    exact: np.ndarray
    """(n, 16) uint8 digest of the normalized token sequence."""
    signatures: np.ndarray
    """(n, num_perm) uint16 densified OPH signature (zeros for short documents)."""
    samples: np.ndarray
    """uint32 containment samples, document d owning samples[sample_offsets[d]:…[d+1]]."""
    sample_offsets: np.ndarray
    sets: np.ndarray | None = None
    """Sorted distinct seeded shingle hashes, when kept for verification…"""
    set_offsets: np.ndarray | None = None
    """…document d owning sets[set_offsets[d]:set_offsets[d+1]]."""


def shingle_sets(texts: list[str], params: DupParams
                 ) -> tuple[np.ndarray, np.ndarray, BatchShingles]:
    """The sorted distinct seeded shingle hashes of each text (CSR), and the shingles."""
    kind, size = params.shingle_kind
    sh = batch_shingles(texts, kind, size, params.normalize)
    # the seeded hash is a bijection of the shingle hash: sets of either are the same sets
    sets, offsets = sorted_sets(seeded(sh.hashes, params.seed), sh.offsets)
    return sets, offsets, sh


def sketch_texts(texts: list[str], params: DupParams, keep_sets: bool = False) -> SketchBatch:
    """Stage function: normalize, tokenize, shingle and sketch a batch of (repaired) texts."""
    sets, offsets, sh = shingle_sets(texts, params)
    sigs = oph_signatures(sets, offsets, params.num_perm, params.seed,
                          sh.tokens >= params.min_tokens)
    samples, sample_off = containment_samples(sets, offsets, params.sample_rate)
    if not keep_sets:
        return SketchBatch(sh.tokens, sh.exact, sigs, samples, sample_off)
    return SketchBatch(sh.tokens, sh.exact, sigs, samples, sample_off, sets, offsets)


def measure_task(task: tuple[list[str], np.ndarray, np.ndarray], params: DupParams
                 ) -> np.ndarray:
    """Stage function: (|A ∩ B|, |A|, |B|) for pairs of texts, on their real shingle sets.

    `task` is (texts, a, b) with a and b indexing into texts; returns an (m, 3) array.
    """
    texts, a, b = task
    sets, offsets, _ = shingle_sets(texts, params)
    return measure_pairs(sets, offsets, a, b)


def measure_pairs(sets: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray
                  ) -> np.ndarray:
    """(|A ∩ B|, |A|, |B|) for pairs of documents of a CSR of sorted sets."""
    sizes = np.diff(offsets)
    out = np.empty((len(a), 3), dtype=np.int64)
    out[:, 0] = intersections(sets, offsets, a, b)
    out[:, 1] = sizes[a]
    out[:, 2] = sizes[b]
    return out


def warm_up(params: DupParams, chars: int = 0) -> None:
    """Build the normalization, token and power tables once, before workers start."""
    sketch_texts(["warm up"], params)
    if chars:
        _power_tables(chars + 1)
