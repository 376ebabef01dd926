"""Candidate pairs at scale: inverted indexes over fingerprints, never all pairs.

Alignment is far too costly to run on every pair of a collection, so only
pairs that share evidence of reuse are aligned. Two kinds of evidence:

* **ordered** — hashed n-grams of consecutive content stems (stopwords skipped,
  so an added or dropped و/في/من does not break them; stems, so a changed
  clitic or suffix does not either). Every n-gram is indexed (no winnowing:
  at a passage length of eight words any sampling loses the guarantee that a
  minimal passage is found). Sharing one n-gram is not enough — articles on
  one event share names, titles and set phrases all the time — so the index is
  joined with itself *with positions*, and a pair is a candidate when it shares
  a run of n-grams in the same order, allowing an edited word between them and
  at each end, that spans about `core_words` words on both sides.
* **bag** — for reuse that reorders words (a paraphrase, a shuffled passage),
  no n-gram survives; what survives is the set of words within a span. Each
  document is cut into overlapping windows of `bag_window` content tokens (and
  of 4x that, for long passages), and two windows sharing at least `bag_min`
  (4x `bag_min`) distinct *rare* stems make a candidate pair.

Both indexes drop keys found in more than `max_df` documents. A string
carried by that many articles is a formula or boilerplate, and each key of
document frequency k would yield k(k-1)/2 pairs: the cap bounds the work by
(number of keys) x max_df^2 / 2, whatever the corpus size. Window pairs are
counted with one sparse matrix product (SciPy) in row blocks, so memory stays
bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from khabar.reuse.features import DocFeatures, mark_rare
from khabar.reuse.hashing import unique
from khabar.reuse.options import ReuseOptions

CHAIN_STEP = 3
"""Largest step, in content tokens on each side, between consecutive matches of an ordered
chain: room for one or two inserted, dropped or substituted words between them."""


@dataclass(slots=True)
class Candidates:
    """Pairs of document indices (i < j) to align, and how each was found."""

    i: np.ndarray
    j: np.ndarray
    ordered: np.ndarray
    """True when the pair shares an ordered n-gram."""
    bag: np.ndarray
    """True when two windows of the pair share at least `bag_min` rare stems."""

    def __len__(self) -> int:
        return len(self.i)


def _pairs_sharing(rows: np.ndarray, cols: np.ndarray, owner: np.ndarray, n_rows: int,
                   n_cols: int, min_shared: int, block: int = 4096
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Owner pairs (a < b) of rows sharing at least `min_shared` distinct columns.

    Rows are documents or windows (`owner[row]` is the document); the count is
    one sparse product, in row blocks so that memory stays bounded.
    """
    if len(rows) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    x = sp.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)), shape=(n_rows, n_cols))
    x.sum_duplicates()
    x.data[:] = 1
    xt = x.T.tocsr()
    n_owner = int(owner.max()) + 1
    found: list[np.ndarray] = []
    for start in range(0, n_rows, block):
        prod = (x[start : start + block] @ xt).tocoo()
        m = prod.data >= min_shared
        ra = owner[prod.row[m] + start]
        rb = owner[prod.col[m]]
        m2 = ra < rb
        found.append(unique(ra[m2] * n_owner + rb[m2]))
    keys = unique(np.concatenate(found))
    return keys // n_owner, keys % n_owner


def _shared_entries(feats: Sequence[DocFeatures], max_df: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every occurrence pair, across two documents, of a rare n-gram: (doc a < doc b, pos a,
    pos b) as four arrays. This is the inverted index joined with itself; the `max_df`
    cap bounds it to (number of n-grams) x max_df^2 / 2 entries whatever the corpus size."""
    docs, grams, poss = [], [], []
    for d, f in enumerate(feats):
        # only n-grams some other document has too (most n-grams are in one document)
        p = (np.flatnonzero(f.gram_shared) if f.gram_shared is not None
             else np.arange(len(f.grams)))
        docs.append(np.full(len(p), d, np.int64))
        grams.append(f.grams[p])
        poss.append(p.astype(np.int64))
    empty = np.empty(0, np.int64)
    if not grams:
        return empty, empty, empty, empty
    g = np.concatenate(grams)
    d = np.concatenate(docs)
    p = np.concatenate(poss)
    order = np.lexsort((p, d, g))
    g, d, p = g[order], d[order], p[order]
    starts = np.flatnonzero(np.concatenate([[True], g[1:] != g[:-1]]))
    ends = np.append(starts[1:], len(g))
    size = ends - starts
    # a rare n-gram repeated all over its few documents (a refrain) would make a
    # quadratic number of occurrence pairs; it locates nothing either
    keep_group = (size >= 2) & (size <= 4 * max_df)
    end_of = np.repeat(np.where(keep_group, ends, 0), size)
    # pair every occurrence with each later occurrence of its group
    later = np.maximum(end_of - np.arange(len(g)) - 1, 0)
    total = int(later.sum())
    if total == 0:
        return empty, empty, empty, empty
    ea = np.repeat(np.arange(len(g)), later)
    eb = ea + 1 + (np.arange(total) - np.repeat(np.cumsum(later) - later, later))
    da, db, pa, pb = d[ea], d[eb], p[ea], p[eb]
    other = da != db
    da, db, pa, pb = da[other], db[other], pa[other], pb[other]
    swap = da > db
    return (np.where(swap, db, da), np.where(swap, da, db),
            np.where(swap, pb, pa), np.where(swap, pa, pb))


def ordered_pairs(feats: Sequence[DocFeatures], options: ReuseOptions
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Document pairs sharing a *run* of rare n-grams in the same order that spans about
    `core_words` words on both sides.

    Sharing a single n-gram, or several scattered ones, is what two articles on one
    event do all the time (names, titles, set phrases); a reused passage shows as
    consecutive shared n-grams. Consecutive seeds of a run may be up to `ngram` +
    `CHAIN_STEP` - 1 content tokens apart (an edited word between them), and the run
    counts one unmatched content word beyond each end (an edit at the edge), so a
    minimal passage with an edited word is still found. Needs `gram_rare` (`mark_rare`).
    """
    da, db, pa, pb = _shared_entries(feats, options.max_df)
    if len(da) == 0:
        return da, db
    n = options.ngram
    step = n + CHAIN_STEP - 1
    key = da * len(feats) + db
    # one int64 sort key (pair, position in a, position in b) sorts faster than a lexsort
    span = int(max(pa.max(), pb.max())) + 1
    if (int(key.max()) + 1) * span * span < 2**63:
        order = np.argsort((key * span + pa) * span + pb, kind="stable")
    else:  # a huge collection: the combined key would overflow
        order = np.lexsort((pb, pa, key))
    key, da, db, pa, pb = key[order], da[order], db[order], pa[order], pb[order]
    dpa, dpb = np.diff(pa), np.diff(pb)
    linked = (key[1:] == key[:-1]) & (dpa > 0) & (dpa <= step) & (dpb > 0) & (dpb <= step)
    first = np.flatnonzero(np.concatenate([[True], ~linked]))
    last = np.append(first[1:] - 1, len(key) - 1)
    n_content = np.array([f.n_content for f in feats], np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_content)])
    tokens = np.concatenate([f.content for f in feats]).astype(np.int64)

    def words(doc: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        lo = np.maximum(lo - 1, 0)
        hi = np.minimum(hi + 1, n_content[doc] - 1)
        return tokens[offsets[doc] + hi] - tokens[offsets[doc] + lo] + 1

    wa = words(da[first], pa[first], pa[last] + n - 1)
    wb = words(db[first], pb[first], pb[last] + n - 1)
    pairs = unique(key[first[np.minimum(wa, wb) >= options.core_words]])
    return pairs // len(feats), pairs % len(feats)


def window_starts(n: int, window: int) -> np.ndarray:
    """Starts of the windows of `window` content tokens, overlapping by half, covering n."""
    step = max(window // 2, 1)
    return np.arange(0, max(1, n - window + step), step, dtype=np.int64)


def bag_scales(options: ReuseOptions) -> list[tuple[int, int]]:
    """(window, shared rare stems needed) at each bag scale: the window grows fourfold and
    the threshold with it, so every scale asks for the same density of shared rare words.

    One scale is not enough: the words of a long reordered passage are spread over
    its whole length, so a small window of one side meets only a small share of
    them in a small window of the other."""
    return [(options.bag_window * 4**k, options.bag_min * 4**k)
            for k in range(max(options.bag_levels, 0))]


def bag_pairs(feats: Sequence[DocFeatures], options: ReuseOptions
              ) -> tuple[np.ndarray, np.ndarray]:
    """Document pairs with two windows sharing enough distinct rare stems, at any scale."""
    found = [_bag_pairs_at(feats, w, m) for w, m in bag_scales(options)]
    n = max(len(feats), 1)
    keys = unique(np.concatenate([np.empty(0, np.int64), *(a * n + b for a, b in found)]))
    return keys // n, keys % n


def _bag_pairs_at(feats: Sequence[DocFeatures], window: int, min_shared: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Document pairs with two windows sharing at least `min_shared` distinct rare stems.

    Needs `rare` set on the features (`mark_rare`)."""
    w = max(window, 2)
    step = max(w // 2, 1)
    rows: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    r = 0
    for d, f in enumerate(feats):
        rare = f.rare if f.rare is not None else np.ones(len(f.stems), bool)
        pos = np.flatnonzero(rare)
        if len(pos) < min_shared:
            continue
        n_win = len(window_starts(len(f.stems), w))
        # a token at position p lies in windows p // step and p // step - 1
        win = pos // step
        both_w = np.concatenate([win, win - 1])
        both_p = np.concatenate([pos, pos])
        ok = (both_w >= 0) & (both_w < n_win)
        rows.append(both_w[ok] + r)
        keys.append(f.stems[both_p[ok]])
        owners.append(np.full(n_win, d, np.int64))
        r += n_win
    if not keys:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rows_all = np.concatenate(rows)
    keys_all = np.concatenate(keys)
    owner = np.concatenate(owners)
    # rare stems were chosen by document frequency already; here only distinct ids are needed
    uniq, cols = np.unique(keys_all, return_inverse=True)
    return _pairs_sharing(rows_all, cols, owner, r, len(uniq), min_shared)


def candidate_pairs(feats: Sequence[DocFeatures], options: ReuseOptions | None = None
                    ) -> Candidates:
    """All pairs worth aligning, sorted, with the index that found each.

    Marks rare stems and n-grams on `feats` (see `mark_rare`)."""
    options = options or ReuseOptions()
    mark_rare(feats, options.max_df)
    oa, ob = ordered_pairs(feats, options)
    ba, bb = bag_pairs(feats, options)
    n = max(len(feats), 1)
    ko = oa * n + ob
    kb = ba * n + bb
    keys = np.union1d(ko, kb)
    return Candidates(
        i=keys // n, j=keys % n,
        ordered=np.isin(keys, ko), bag=np.isin(keys, kb),
    )
