"""Sketches: one-permutation MinHash with optimal densification, plus containment samples.

MinHash with k independent permutations hashes every shingle k times. One-
permutation hashing (OPH; Li, Owen and Zhang 2012) hashes it once: the hash
picks one of k bins and the rest of the hash is the shingle's value in that
bin; a bin keeps its minimum. Two sets agree on a bin with probability equal
to their Jaccard similarity, as with k permutations. Bins left empty (short
documents) are filled by optimal densification (Shrivastava 2017): an empty
bin copies the value of the first non-empty bin along its own fixed
pseudo-random probe sequence. Because the probe sequence depends only on the
bin and the seed, two documents densify consistently and the agreement
probability stays their Jaccard similarity.

Per bin only the low 16 bits of the minimum are kept. LSH needs equality
only, and every candidate is verified on the real shingles, so the cost of the
shorter value is a chance of 2^-16 per bin of agreeing by accident (2^-16·r for
a band of r rows), while 128 bins fit in 256 bytes: a million sketches in
256 MB.

Containment samples are the shingles whose hash falls under a fixed cut
(`sample_rate`). The cut is the same for every document, so if A is contained
in B, A's samples are (almost all) among B's samples, whatever the sizes: the
property MinHash lacks and `lsh.containment_candidates` uses.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from khabar.dups.params import DupParams
from khabar.dups.shingles import batch_shingles, fmix64
from khabar.dups.verify import distinct

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
    # multiply-shift maps the high 32 bits onto [0, k) for any k, not only powers of two
    return (((hashes >> _U64(32)) * _U64(k)) >> _U64(32)).astype(np.int64)


def oph_signatures(g: np.ndarray, offsets: np.ndarray, k: int, seed: int,
                   wanted: np.ndarray | None = None) -> np.ndarray:
    """(n, k) uint16 densified OPH signatures of the seeded shingle hashes `g`.

    Rows not `wanted` (documents too short to judge) are left as zeros.
    """
    n = len(offsets) - 1
    counts = np.diff(offsets)
    cell = np.repeat(np.arange(n, dtype=np.int64) * k, counts) + _bins(g, k)
    # one sort finds every bin's minimum: order by (cell, value), keep each cell's first
    keys = (cell.astype(np.uint64) << _U64(32)) | (g & _LOW32)
    keys.sort()
    cells = (keys >> _U64(32)).astype(np.int64)
    first = np.ones(len(keys), dtype=bool)
    first[1:] = cells[1:] != cells[:-1]
    raw = np.full(n * k, _EMPTY, dtype=np.uint64)
    raw[cells[first]] = keys[first] & _LOW32
    raw = raw.reshape(n, k)
    rows = counts > 0
    if wanted is not None:
        rows &= wanted
    _densify(raw, rows, k, seed)
    raw[~rows] = 0
    return (raw & _U64(0xFFFF)).astype(np.uint16)


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
    table = _probe_table(k, seed)
    for attempt in range(PROBES):
        values = original[docs, table[bins, attempt]]
        found = values != _EMPTY
        raw[docs[found], bins[found]] = values[found]
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


def containment_samples(g: np.ndarray, offsets: np.ndarray, rate: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct uint32 sample keys per document (CSR: keys, offsets)."""
    n = len(offsets) - 1
    cut = _U64(min(round(rate * (1 << _SAMPLE_BITS)), 1 << _SAMPLE_BITS))
    # bits 32..47 decide sampling; the bin uses the top bits and the key the low 32
    at = np.flatnonzero(((g >> _U64(32)) & _U64((1 << _SAMPLE_BITS) - 1)) < cut)
    doc = (np.searchsorted(offsets, at, side="right") - 1).astype(np.uint64)
    keys = np.sort((doc << _U64(32)) | (g[at] & _LOW32))
    if len(keys) > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    owner = (keys >> _U64(32)).astype(np.int64)
    out_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=out_off[1:])
    return (keys & _LOW32).astype(np.uint32), out_off


@dataclass(slots=True)
class SketchBatch:
    """Everything duplicate detection keeps about a batch of documents."""

    tokens: np.ndarray
    """int32 normalized tokens per document."""
    exact: np.ndarray
    """(n, 16) uint8 digest of the normalized token sequence."""
    signatures: np.ndarray
    """(n, num_perm) uint16 densified OPH signature (zeros for empty documents)."""
    samples: np.ndarray
    """uint32 containment samples, document d owning samples[sample_offsets[d]:…[d+1]]."""
    sample_offsets: np.ndarray
    shingles: np.ndarray | None = None
    """Raw shingle hashes (repeats included), when kept for verification…"""
    shingle_offsets: np.ndarray | None = None
    """…document d owning shingles[shingle_offsets[d]:shingle_offsets[d+1]]."""


def sketch_texts(texts: list[str], params: DupParams, keep_shingles: bool = False) -> SketchBatch:
    """Stage function: normalize, tokenize, shingle and sketch a batch of (repaired) texts."""
    kind, size = params.shingle_kind
    sh = batch_shingles(texts, kind, size, params.normalize)
    g = seeded(sh.hashes, params.seed)
    sigs = oph_signatures(g, sh.offsets, params.num_perm, params.seed,
                          sh.tokens >= params.min_tokens)
    samples, sample_off = containment_samples(g, sh.offsets, params.sample_rate)
    if not keep_shingles:
        return SketchBatch(sh.tokens, sh.exact, sigs, samples, sample_off)
    return SketchBatch(sh.tokens, sh.exact, sigs, samples, sample_off, sh.hashes, sh.offsets)


def shingle_sets(texts: list[str], params: DupParams) -> list[np.ndarray]:
    """Stage function: the sorted distinct shingle hashes of each text (for verification)."""
    kind, size = params.shingle_kind
    sh = batch_shingles(texts, kind, size, params.normalize)
    off = sh.offsets.tolist()
    return [distinct(sh.hashes[a:b]) for a, b in itertools.pairwise(off)]


def warm_up(params: DupParams) -> None:
    """Build the normalization and token tables once, before worker processes fork."""
    sketch_texts(["warm up"], params)
