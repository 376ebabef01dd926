"""The detection itself, on sketches already made: candidates, verification, expansion.

Documents with identical normalized token sequences (exact duplicates) have
identical shingles, sketches and similarities to everything else, so they are
collapsed into one *unit* before any search; pairs found between units are
expanded back to every member. A wire story copied verbatim by ten outlets thus
costs one sketch comparison instead of ten, and yields its 45 exact pairs
directly.

Only pairs with at least one *new* document are produced: in a batch run every
document is new; in an incremental run the old-old pairs are already stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from khabar.dups.lsh import containment_candidates, lsh_candidates, pairs_in_groups
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


def _csr_take(values: np.ndarray, offsets: np.ndarray, idx: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    counts = offsets[idx + 1] - offsets[idx]
    out_off = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(counts, out=out_off[1:])
    pos = np.repeat(offsets[idx], counts) + (np.arange(int(out_off[-1]))
                                             - np.repeat(out_off[:-1], counts))
    return values[pos], out_off


def find_pairs(table: SketchTable, params: DupParams, measure: Measure, workers: int = 1
               ) -> FoundPairs:
    """Every verified duplicate pair with at least one new document."""
    eligible = np.flatnonzero(table.tokens >= params.min_tokens)
    stats = {"documents": len(table.tokens), "short": len(table.tokens) - len(eligible)}
    empty = np.zeros(0, dtype=np.int64)
    if len(eligible) == 0:
        z = np.zeros(0)
        return FoundPairs(empty, empty, z, z, z, np.zeros(0, bool), stats)
    # units: eligible documents grouped by their exact digest, in first-seen order
    digests = np.ascontiguousarray(table.exact[eligible]).view(np.dtype((np.void, 16))).ravel()
    _, first, unit_of = np.unique(digests, return_index=True, return_inverse=True)
    unit_of = unit_of.ravel()
    # renumber units by their first member so unit order follows document order
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(len(first))
    unit_of = renumber[unit_of]
    n_units = len(first)
    members_order = np.argsort(unit_of, kind="stable")
    members = eligible[members_order]  # documents grouped by unit, ascending inside a unit
    unit_sizes = np.bincount(unit_of, minlength=n_units)
    unit_off = np.zeros(n_units + 1, dtype=np.int64)
    np.cumsum(unit_sizes, out=unit_off[1:])
    rep = members[unit_off[:-1]]
    new_doc = table.new
    unit_new = np.zeros(n_units, dtype=bool)
    np.logical_or.at(unit_new, unit_of, new_doc[eligible])
    stats["units"] = n_units

    out_a: list[np.ndarray] = []
    out_b: list[np.ndarray] = []
    out_vals: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    # exact pairs inside units
    multi = np.flatnonzero((unit_sizes >= 2) & unit_new)
    xa, xb = pairs_in_groups(members, unit_off[multi], unit_sizes[multi])
    keep = new_doc[xa] | new_doc[xb]
    xa, xb = xa[keep], xb[keep]
    ones = np.ones(len(xa))
    out_a.append(xa)
    out_b.append(xb)
    out_vals.append((ones, ones, ones, np.ones(len(xa), dtype=bool)))
    stats["exact_pairs"] = len(xa)

    # candidate unit pairs
    bands, rows = params.band_rows()
    n = n_units
    with ThreadPoolExecutor(2 if workers > 1 else 1) as pool:
        # the two generators are independent NumPy work: with threads, side by side
        lsh_job = pool.submit(lsh_candidates, table.signatures[rep], unit_new, bands, rows)
        cont_job = None
        if params.containment > 0:
            samples, offsets = _csr_take(table.samples, table.sample_offsets, rep)
            cont_job = pool.submit(containment_candidates, samples, offsets, unit_new,
                                   params.containment)
        codes = lsh = lsh_job.result()
        stats["lsh_candidates"] = len(lsh)
        if cont_job is not None:
            cont = cont_job.result()
            stats["containment_candidates"] = len(cont)
            codes = np.union1d(lsh, cont)
    ua, ub = codes // n, codes % n
    stats["candidates"] = len(codes)

    # verification on the real shingle sets of the units' first members
    inter, size_a, size_b = measure(rep[ua], rep[ub])
    jac, a_in_b, b_in_a = similarities(inter, size_a, size_b)
    ok = accept(jac, a_in_b, b_in_a, params.threshold, params.containment)
    ua, ub, jac, a_in_b, b_in_a = ua[ok], ub[ok], jac[ok], a_in_b[ok], b_in_a[ok]
    stats["verified_unit_pairs"] = len(ua)

    # expand unit pairs to member pairs (ua < ub, so members of ua come first in order)
    sa, sb = unit_sizes[ua], unit_sizes[ub]
    per = sa * sb
    pair = np.repeat(np.arange(len(ua)), per)
    k = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    da = members[unit_off[ua][pair] + k // sb[pair]]
    db = members[unit_off[ub][pair] + k % sb[pair]]
    keep = new_doc[da] | new_doc[db]
    pair, da, db = pair[keep], da[keep], db[keep]
    out_a.append(da)
    out_b.append(db)
    out_vals.append((jac[pair], a_in_b[pair], b_in_a[pair], np.zeros(len(pair), dtype=bool)))
    stats["near_pairs"] = len(pair)

    a = np.concatenate(out_a)
    b = np.concatenate(out_b)
    jv = np.concatenate([v[0] for v in out_vals])
    ab = np.concatenate([v[1] for v in out_vals])
    ba = np.concatenate([v[2] for v in out_vals])
    ex = np.concatenate([v[3] for v in out_vals])
    # orient every pair as (smaller index, larger index)
    swap = a > b
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    ab, ba = np.where(swap, ba, ab), np.where(swap, ab, ba)
    order = np.lexsort((b, a))
    return FoundPairs(a[order], b[order], jv[order], ab[order], ba[order], ex[order], stats)
