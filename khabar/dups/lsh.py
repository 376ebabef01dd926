"""Candidate pairs: LSH banding for Jaccard, consistent samples for containment.

Both work on units (groups of exact copies, see `core`). A band bucket of a
few units gives all its pairs; a larger one is returned whole, for `core` to
verify as a star instead of enumerating its pairs (hundreds of near copies of
one story would otherwise make a quadratic number of candidates). Every
candidate is verified on the real shingle sets (`verify`).

Band/row choice. With b bands of r rows, a pair of Jaccard s becomes a
candidate with probability P(s) = 1 - (1 - s^r)^b. For threshold t we take

    (b, r) = argmin over b·r ≤ k of  w_fp ∫_0^t P(s) ds  +  w_fn ∫_t^1 (1 - P(s)) ds

(the weighted areas of false positives below t and false negatives above it),
with w_fp = 0.05 and w_fn = 0.95. The usual equal weights suit LSH used as the
answer; here a false candidate costs one verification (microseconds) while a
false negative is a copy never reported, so misses are weighted 19 times more.
At t = 0.8, k = 128 this gives 16 bands of 8 rows: P(0.8) = 0.947, P(0.9) =
0.9999, P(0.5) = 0.06.

Containment. A short story A copied into a long article B has a low Jaccard
similarity, which banding cannot see. Each document keeps the shingles whose
hash falls under one fixed cut (`sketch.containment_samples`); with a cut shared
by all documents, A ⊂ B implies samples(A) ⊂ samples(B). A pair is a
containment candidate when the smaller sample set S(A) shares at least
need(|S(A)|) keys with S(B), need(k) = ceil(k·(c − 2·sqrt(c(1−c)/k))): the count
of shared samples is Binomial(k, c) for true containment c, so the bar sits two
standard deviations below its mean. Such pairs are enumerated without
comparing all pairs by prefix filtering (as in set-similarity joins): if
|S(A) ∩ S(B)| ≥ need, any |S(A)| − need + 1 keys of S(A) include a shared one,
so A probes only that many of its keys, its rarest ones, into an inverted index
of all samples. Rarity only makes the probes cheap; the set of candidates is
the same for any order.

The sample rate p (1/8) trades sketch size for recall on short copies: a story
of n shingles has about n·p samples, and one with none cannot be found this way
(chance e^(−n·p), 0.2% at 50 shingles). On the SaudiNewsNet dev set, 99.9% of
the pairs with containment ≥ 0.8 are found (`bench/dups.py`), at about 36
sample keys (143 bytes) per article.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from khabar.dups.shingles import fmix64, odd_constants

FP_WEIGHT = 0.05
FN_WEIGHT = 0.95
Z = 2.0
"""Standard deviations of slack in the containment sample test."""


@lru_cache(maxsize=64)
def choose_bands(threshold: float, num_perm: int, fp_weight: float = FP_WEIGHT,
                 fn_weight: float = FN_WEIGHT) -> tuple[int, int]:
    """(bands, rows) minimizing the weighted false positive and false negative areas."""
    s = np.linspace(0.0, 1.0, 2001)
    below = s <= threshold
    step = s[1] - s[0]

    def area(y: np.ndarray) -> float:  # trapezoid rule (np.trapezoid needs NumPy 2)
        return float((y[1:] + y[:-1]).sum() * step / 2)

    best: tuple[float, int, int] | None = None
    for r in range(1, num_perm + 1):
        sr = s ** r
        for b in range(1, num_perm // r + 1):
            p = 1.0 - (1.0 - sr) ** b
            fp = area(np.where(below, p, 0.0))
            fn = area(np.where(below, 0.0, 1.0 - p))
            cost = fp_weight * fp + fn_weight * fn
            if best is None or cost < best[0] - 1e-12:
                best = (cost, b, r)
    assert best is not None
    return best[1], best[2]


@lru_cache(maxsize=8)
def _multipliers(n: int) -> np.ndarray:
    m = odd_constants(n, 0x6C7368)
    m.setflags(write=False)
    return m


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 key of each band of each signature."""
    n = len(signatures)
    mult = _multipliers(rows)
    keys = np.empty((n, bands), dtype=np.uint64)
    for j in range(bands):
        acc = np.full(n, ((j + 1) * 0x9E3779B97F4A7C15) % (1 << 64), dtype=np.uint64)
        block = signatures[:, j * rows : (j + 1) * rows].astype(np.uint64)
        for k in range(rows):
            acc += block[:, k] * mult[k]
        keys[:, j] = fmix64(acc)
    return keys


def pairs_in_groups(members: np.ndarray, starts: np.ndarray, sizes: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (members[p], members[q]), p < q, inside each group [start, start + size)."""
    if len(starts) == 0:
        empty = np.zeros(0, dtype=members.dtype)
        return empty, empty
    elem = np.repeat(starts, sizes) + (
        np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes))
    later = np.repeat(starts + sizes - 1, sizes) - elem
    left = np.repeat(elem, later)
    right = left + 1 + (np.arange(len(left)) - np.repeat(np.cumsum(later) - later, later))
    return members[left], members[right]


def _ordered(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Pair codes min·n + max, distinct and sorted."""
    lo = np.minimum(a, b).astype(np.int64)
    hi = np.maximum(a, b).astype(np.int64)
    return distinct_counts(lo * n + hi)[0]


def bucket_pairs(signatures: np.ndarray, bands: int, rows: int, limit: int
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Candidates from LSH banding: codes i·n + j (i < j) of pairs sharing a band bucket of
    at most `limit` members, and the larger buckets themselves (members ascending, each
    distinct set once), left to the caller to compare without enumerating their pairs."""
    n = len(signatures)
    keys = band_keys(signatures, bands, rows)
    found: list[np.ndarray] = []
    big: dict[bytes, np.ndarray] = {}
    for j in range(bands):
        order = np.argsort(keys[:, j], kind="stable")
        k = keys[order, j]
        cut = np.flatnonzero(k[1:] != k[:-1]) + 1
        starts = np.concatenate(([0], cut))
        sizes = np.diff(np.concatenate((starts, [n])))
        multi = (sizes >= 2) & (sizes <= limit)
        a, b = pairs_in_groups(order, starts[multi], sizes[multi])
        found.append(_ordered(a, b, n))
        for s, z in zip(starts[sizes > limit].tolist(), sizes[sizes > limit].tolist(),
                        strict=True):
            group = np.sort(order[s : s + z]).astype(np.int64)
            big.setdefault(group.tobytes(), group)
    codes = distinct_counts(np.concatenate(found))[0] if found else np.zeros(0, np.int64)
    return codes, [big[key] for key in sorted(big)]


def need(k: np.ndarray, c: float) -> np.ndarray:
    """Shared samples required of a smaller sample set of size k (see the module doc)."""
    k = np.asarray(k, dtype=np.float64)
    safe = np.maximum(k, 1.0)
    bar = safe * (c - Z * np.sqrt(c * (1.0 - c) / safe))
    return np.maximum(np.ceil(bar - 1e-9), 1).astype(np.int64)


def containment_candidates(samples: np.ndarray, offsets: np.ndarray, new: np.ndarray,
                           c: float) -> np.ndarray:
    """Codes i·n + j (i < j) of pairs passing the containment sample test, one of them new."""
    n = len(offsets) - 1
    counts = np.diff(offsets)
    if n < 2 or len(samples) == 0:
        return np.zeros(0, dtype=np.int64)
    needed = need(counts, c)
    # Most sample keys occur in one document only: they can be shared by no pair. In the
    # rarest-first order they come first, so they fill the start of every prefix, and
    # only the rest of a prefix is probed; everything below works on shared keys only.
    distinct, inverse, df = np.unique(samples, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    shared = df[inverse] >= 2
    owner = np.repeat(np.arange(n, dtype=np.int64), counts)[shared]
    s_samples = samples[shared]
    s_counts = np.bincount(owner, minlength=n)
    s_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(s_counts, out=s_offsets[1:])
    probes_per_doc = np.clip(counts - needed + 1 - (counts - s_counts), 0, s_counts)
    if not len(s_samples) or not probes_per_doc.any():
        return np.zeros(0, dtype=np.int64)
    # rank of each key: rarest first, ties by key (distinct is sorted by key, so a stable
    # sort by frequency alone gives that order); probes then avoid common keys
    common = np.flatnonzero(df >= 2)
    nd = len(common)
    rank_of = np.zeros(len(distinct), dtype=np.int64)
    common_df = df[common].astype(np.uint16) if df.max() < 2**16 else df[common]
    rank_of[common[np.argsort(common_df, kind="stable")]] = np.arange(nd)
    rank = rank_of[inverse[shared]]
    # each document's shared keys rarest first: sorted (document, rank) codes
    by_doc = np.sort(owner * nd + rank)
    pos = np.arange(len(s_samples)) - np.repeat(s_offsets[:-1], s_counts)
    prefix = by_doc[pos < np.repeat(probes_per_doc, s_counts)]
    probe_rank, probe_doc = prefix % nd, prefix // nd
    # inverted index: sorted (rank, document) codes
    postings = np.sort(rank * n + owner)
    post_rank, post_doc = postings // n, postings % n
    probe_new = new[probe_doc]
    found = [_join(probe_rank[probe_new], probe_doc[probe_new], post_rank, post_doc, nd)]
    post_is_new = new[post_doc]
    found.append(_join(probe_rank[~probe_new], probe_doc[~probe_new], post_rank[post_is_new],
                       post_doc[post_is_new], nd))
    a = np.concatenate([f[0] for f in found])
    b = np.concatenate([f[1] for f in found])
    # A probes as the smaller side: keep B with (count, index) above A's
    bigger = (counts[b] > counts[a]) | ((counts[b] == counts[a]) & (b > a))
    code, hits = distinct_counts(a[bigger] * n + b[bigger])
    a, b = code // n, code % n
    # prefix keys found in B already prove enough shared samples for some pairs; the
    # others are counted in full (on shared keys: no other key can be in both)
    ok = hits >= needed[a]
    unsure = np.flatnonzero(~ok)
    ok[unsure] = _shared(s_samples, s_offsets, a[unsure], b[unsure], n) >= needed[a[unsure]]
    return _ordered(a[ok], b[ok], n)


def distinct_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of an integer array and how often each occurs."""
    x = np.sort(x)
    if not len(x):
        return x, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], x[1:] != x[:-1])))
    return x[starts], np.diff(np.append(starts, len(x)))


def _join(probe_rank: np.ndarray, probe_doc: np.ndarray, post_rank: np.ndarray,
          post_doc: np.ndarray, nd: int) -> tuple[np.ndarray, np.ndarray]:
    """(probing document, posted document) for every posting under each probe's key."""
    bounds = np.zeros(nd + 1, dtype=np.int64)  # postings are sorted by rank
    np.cumsum(np.bincount(post_rank, minlength=nd), out=bounds[1:])
    lo = bounds[probe_rank]
    sizes = bounds[probe_rank + 1] - lo
    a = np.repeat(probe_doc, sizes)
    idx = np.repeat(lo, sizes) + (np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes,
                                                                         sizes))
    b = post_doc[idx]
    other = a != b
    return a[other], b[other]


def _shared(samples: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray,
            n: int) -> np.ndarray:
    """|S(a) ∩ S(b)| for each pair, all at once."""
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    counts = np.diff(offsets)
    owner = np.repeat(np.arange(n, dtype=np.uint64), counts)
    index = (owner << np.uint64(32)) | samples.astype(np.uint64)  # sorted: keys sorted per doc
    ka = counts[a]
    pair = np.repeat(np.arange(len(a)), ka)
    elem = np.repeat(offsets[a], ka) + (np.arange(int(ka.sum())) - np.repeat(np.cumsum(ka) - ka,
                                                                          ka))
    look = (b[pair].astype(np.uint64) << np.uint64(32)) | samples[elem].astype(np.uint64)
    at = np.searchsorted(index, look)
    at[at == len(index)] = 0
    hit = index[at] == look
    return np.bincount(pair[hit], minlength=len(a))
