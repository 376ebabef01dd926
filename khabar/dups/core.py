"""The detection itself, on sketches already made: candidates, verification, edges.

Work stays linear in the size of duplicate clusters, however large:

* Documents with identical normalized token sequences (exact copies) have
  identical shingles, sketches and similarities to everything else, so they are
  collapsed into one *unit* before any search. Each copy is paired with its
  unit's representative only (the earliest dated, then longest, then smallest
  id: the same rule as a cluster's), never with every other copy: 2,000 copies
  of a wire story are 1,999 pairs, not 1,999,000.
* Units are candidates by LSH band buckets. A bucket of up to `BUCKET` units
  gives all its pairs; a larger one (hundreds of near copies of one story) is
  verified as a star, every unit against the bucket's best-ranked unit, and the
  units that fail are bucketed again among themselves, for a few rounds.
* A large group of near copies verified by the bands (more than `BUCKET`
  units) is collapsed too, its best-ranked unit standing for it, before the
  containment search, whose inverted index would otherwise pair every near copy
  with every other.
* Verified pairs between units are reported once, between the two units'
  representatives: every other copy of either unit has the same similarities.

So `pairs.jsonl` is a set of edges, not every pair above the threshold: every
duplicate is reached from its cluster's representative, and `DupResult.all_pairs`
expands the edges back to every pair of copies when that is wanted. What is
paired depends on the whole table (ranks, buckets), so a store recomputes the
edges on every run from all stored sketches; only verifications are kept
(`db`, keyed by the two units' token digests), so a rerun re-reads no text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from khabar.dups.clusters import union_find
from khabar.dups.lsh import bucket_pairs, containment_candidates, pairs_in_groups
from khabar.dups.params import DupParams
from khabar.dups.sketch import SketchBatch
from khabar.dups.verify import accept, similarities

Measure = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
"""Given document index pairs (a, b): |S_a ∩ S_b|, |S_a| and |S_b| on the real shingle sets."""


@dataclass(slots=True)
class SketchTable:
    """Sketches of a whole corpus, document i in row i."""

    tokens: np.ndarray
    exact: np.ndarray
    signatures: np.ndarray
    samples: np.ndarray
    sample_offsets: np.ndarray
    new: np.ndarray
    """True for documents whose pairs are to be (re)computed."""

    @classmethod
    def concat(cls, batches: Sequence[SketchBatch], num_perm: int,
               new: np.ndarray | None = None) -> SketchTable:
        if not batches:
            return cls(np.zeros(0, np.int32), np.zeros((0, 16), np.uint8),
                       np.zeros((0, num_perm), np.uint16), np.zeros(0, np.uint32),
                       np.zeros(1, np.int64), np.zeros(0, bool))
        counts = np.concatenate([np.diff(b.sample_offsets) for b in batches])
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        tokens = np.concatenate([b.tokens for b in batches])
        return cls(
            tokens,
            np.concatenate([b.exact for b in batches]),
            np.concatenate([b.signatures for b in batches]),
            np.concatenate([b.samples for b in batches]),
            offsets,
            np.ones(len(tokens), dtype=bool) if new is None else new,
        )


@dataclass(slots=True)
class FoundPairs:
    """Verified pairs between document indices a < b."""

    a: np.ndarray
    b: np.ndarray
    jaccard: np.ndarray
    a_in_b: np.ndarray
    b_in_a: np.ndarray
    exact: np.ndarray
    stats: dict[str, int] = field(default_factory=dict)
    groups: list[np.ndarray] = field(default_factory=list)
    """Document indices of each group of exact copies (two or more), representative first."""


def _csr_take(values: np.ndarray, offsets: np.ndarray, idx: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    counts = offsets[idx + 1] - offsets[idx]
    out_off = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(counts, out=out_off[1:])
    pos = np.repeat(offsets[idx], counts) + (np.arange(int(out_off[-1]))
                                             - np.repeat(out_off[:-1], counts))
    return values[pos], out_off


BUCKET = 24
"""Largest LSH bucket (in units) whose pairs are all compared; larger ones go star-wise."""
STAR_ROUNDS = 8
"""Rounds of star verification of a large bucket's leftover units before giving up on them
(counted in the stats as `unresolved`; natural text never needs more than one or two)."""


def find_pairs(table: SketchTable, params: DupParams, measure: Measure, rank: np.ndarray,
               workers: int = 1) -> FoundPairs:
    """The duplicate edges of the whole table (see the module doc).

    `rank[i]` orders documents as representatives (0 is the best: earliest
    date, then longest text, then smallest id); `measure` gives exact set sizes
    for document pairs. Edges come oriented (smaller index, larger index) and
    sorted. `workers` is kept for engines that may run the measure in parallel.
    """
    eligible = np.flatnonzero(table.tokens >= params.min_tokens)
    stats = {"documents": len(table.tokens), "short": len(table.tokens) - len(eligible)}
    empty = np.zeros(0, dtype=np.int64)
    if len(eligible) == 0:
        z = np.zeros(0)
        return FoundPairs(empty, empty, z, z, z, np.zeros(0, bool), stats)
    # units: eligible documents grouped by their exact digest; members of a unit by rank
    digests = np.ascontiguousarray(table.exact[eligible]).view(np.dtype((np.void, 16))).ravel()
    _, unit_of = np.unique(digests, return_inverse=True)
    unit_of = unit_of.ravel()
    order = np.lexsort((rank[eligible], unit_of))
    members = eligible[order]
    sizes = np.bincount(unit_of, minlength=int(unit_of.max()) + 1)
    unit_off = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=unit_off[1:])
    rep = members[unit_off[:-1]]  # each unit's best-ranked member
    # units renumbered by their representative's rank: unit 0 is the best, and the order
    # does not depend on where documents sit in the table
    by_rank = np.argsort(rank[rep], kind="stable")
    rep, sizes, starts = rep[by_rank], sizes[by_rank], unit_off[:-1][by_rank]
    n_units = len(rep)
    stats["units"] = n_units

    # exact edges: every other member of a unit against the unit's representative
    multi = np.flatnonzero(sizes >= 2)
    others = sizes[multi] - 1
    pos = np.repeat(starts[multi] + 1, others) + (
        np.arange(int(others.sum())) - np.repeat(np.cumsum(others) - others, others))
    xa, xb = np.repeat(rep[multi], others), members[pos]
    stats["exact_pairs"] = len(xa)

    verify = _Verifier(rep, measure, params)
    bands, rows = params.band_rows()
    codes, big = bucket_pairs(table.signatures[rep], bands, rows, BUCKET)
    stats["lsh_candidates"] = len(codes)
    stats["big_buckets"] = len(big)
    star_codes, leftover, unresolved = _stars(big, verify, n_units)
    codes = np.union1d(np.union1d(codes, star_codes), leftover)
    stats["star_candidates"] = len(star_codes) + len(leftover)
    stats["unresolved"] = unresolved
    verify(codes // n_units, codes % n_units)

    if params.containment > 0:
        # a large group of near copies found so far stands as one unit (its best-ranked):
        # the containment index would otherwise pair all of them with each other. Small
        # groups stay as they are, so that a short story inside one copy but not in the
        # others is still found.
        ok_a, ok_b = verify.accepted()
        lead = union_find(n_units, ok_a, ok_b)  # the smallest, i.e. best-ranked, unit
        group_size = np.bincount(lead, minlength=n_units)[lead]
        leads = np.flatnonzero((lead == np.arange(n_units)) | (group_size <= BUCKET))
        samples, offsets = _csr_take(table.samples, table.sample_offsets, rep[leads])
        cont = containment_candidates(samples, offsets, np.ones(len(leads), dtype=bool),
                                      params.containment)
        ca, cb = leads[cont // len(leads)], leads[cont % len(leads)]
        stats["containment_candidates"] = len(cont)
        verify(ca, cb)
    ua, ub, jac, a_in_b, b_in_a = verify.accepted(values=True)
    stats["candidates"] = verify.count
    stats["verified_unit_pairs"] = len(ua)
    stats["near_pairs"] = len(ua)

    a = np.concatenate((xa, rep[ua]))
    b = np.concatenate((xb, rep[ub]))
    ones = np.ones(len(xa))
    jv = np.concatenate((ones, jac))
    ab = np.concatenate((ones, a_in_b))
    ba = np.concatenate((ones, b_in_a))
    ex = np.concatenate((np.ones(len(xa), dtype=bool), np.zeros(len(ua), dtype=bool)))
    # orient every pair as (smaller index, larger index)
    swap = a > b
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    ab, ba = np.where(swap, ba, ab), np.where(swap, ab, ba)
    order = np.lexsort((b, a))
    groups = [members[starts[u] : starts[u] + sizes[u]] for u in multi.tolist()]
    return FoundPairs(a[order], b[order], jv[order], ab[order], ba[order], ex[order], stats,
                      groups)


class _Verifier:
    """Verification of unit pairs on their representatives, each pair once per run."""

    def __init__(self, rep: np.ndarray, measure: Measure, params: DupParams) -> None:
        self.rep, self.measure, self.params = rep, measure, params
        self.n = len(rep)
        self.codes = np.zeros(0, dtype=np.int64)  # sorted
        self.values = np.zeros((0, 3), dtype=np.float64)
        self.ok = np.zeros(0, dtype=bool)

    @property
    def count(self) -> int:
        return len(self.codes)

    def __call__(self, ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
        """Whether each unit pair is a duplicate (verifying those not seen yet)."""
        lo, hi = np.minimum(ua, ub).astype(np.int64), np.maximum(ua, ub).astype(np.int64)
        codes = lo * self.n + hi
        todo = np.setdiff1d(codes[lo != hi], self.codes)
        if len(todo):
            ta, tb = todo // self.n, todo % self.n
            inter, size_a, size_b = self.measure(self.rep[ta], self.rep[tb])
            jac, a_in_b, b_in_a = similarities(inter, size_a, size_b)
            ok = accept(jac, a_in_b, b_in_a, self.params.threshold, self.params.containment)
            all_codes = np.concatenate((self.codes, todo))
            keep = np.argsort(all_codes, kind="stable")
            self.codes = all_codes[keep]
            self.values = np.concatenate((self.values,
                                          np.column_stack((jac, a_in_b, b_in_a))))[keep]
            self.ok = np.concatenate((self.ok, ok))[keep]
        at = np.searchsorted(self.codes, codes)
        at[at == len(self.codes)] = 0
        found = (self.codes[at] == codes) if len(self.codes) else np.zeros(len(codes), bool)
        return found & self.ok[at] if len(self.codes) else found

    def accepted(self, values: bool = False) -> tuple[np.ndarray, ...]:
        codes = self.codes[self.ok]
        ua, ub = codes // self.n, codes % self.n
        if not values:
            return ua, ub
        v = self.values[self.ok]
        return ua, ub, v[:, 0], v[:, 1], v[:, 2]


def _stars(big: list[np.ndarray], verify: _Verifier, n: int
           ) -> tuple[np.ndarray, np.ndarray, int]:
    """Star verification of large buckets (unit numbers ascending = best rank first).

    Returns the star pair codes, the pair codes of leftover groups small enough to
    compare in full, and how many units were still unresolved after the last round.
    """
    stars: list[np.ndarray] = []
    small: list[np.ndarray] = []
    pending = big
    for _ in range(STAR_ROUNDS):
        if not pending:
            break
        centers = np.concatenate([np.full(len(g) - 1, g[0]) for g in pending])
        spokes = np.concatenate([g[1:] for g in pending])
        ok = verify(centers, spokes)
        stars.append(centers * n + spokes)
        nxt = []
        at = 0
        for g in pending:
            left = g[1:][~ok[at : at + len(g) - 1]]
            at += len(g) - 1
            if len(left) > BUCKET:
                nxt.append(left)
            elif len(left) >= 2:
                a, b = pairs_in_groups(left, np.array([0]), np.array([len(left)]))
                small.append(a * n + b)
        pending = nxt
    empty = np.zeros(0, dtype=np.int64)
    return (np.unique(np.concatenate(stars)) if stars else empty,
            np.unique(np.concatenate(small)) if small else empty,
            sum(len(g) for g in pending))
