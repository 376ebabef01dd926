"""Batch story clustering of a whole collection.

1. Features of every article (`features.extract`) and document frequencies
   over the whole collection.
2. Candidate pairs by sparse products over blocks of articles close in time
   (each block against the articles up to `window` days before it), scored by
   the pair model (`similarity`).
3. Average linkage at the threshold (`linkage`): groups merge only when their
   members agree on average, which keeps two events of one topic apart.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from khabar.stories.features import Articles, TermStats
from khabar.stories.linkage import average_linkage
from khabar.stories.params import StoryParams
from khabar.stories.similarity import (
    DAY,
    FEATURES,
    Pairs,
    Space,
    as_evidence,
    make_space,
    pair_features,
    score,
)

BLOCK = 1000


def collection_pairs(
    arts: Articles, params: StoryParams, stats: TermStats | None = None,
    evidence: Mapping[tuple[str, str], float] | None = None,
    must: np.ndarray | None = None,
) -> Pairs:
    """Scored candidate pairs (i < j in time order, as row indices of `arts`); pairs inside
    one `must` group (copies: together whatever their score) are not scored."""
    if stats is None:
        stats = TermStats(params.features.dim)
        stats.add(arts)
    evidence = as_evidence(evidence)
    space = make_space(arts, stats, params.pairs)
    ts = arts.ts
    dated = np.flatnonzero(~np.isnan(ts))
    dated = dated[np.argsort(ts[dated], kind="stable")]
    undated = np.flatnonzero(np.isnan(ts))
    order = np.concatenate([dated, undated])
    rank = np.empty(len(arts), dtype=np.int64)
    rank[order] = np.arange(len(arts))
    window = params.pairs.window * DAY
    parts: list[Pairs] = []
    sorted_ts = ts[dated]

    def earlier(rows_left: np.ndarray, rows_right: np.ndarray):
        def allowed(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
            ok = rank[rows_right[ri]] < rank[rows_left[li]]
            if must is not None:
                ok &= must[rows_right[ri]] != must[rows_left[li]]
            return ok
        return allowed

    for start in range(0, len(dated), BLOCK):
        rows = dated[start:start + BLOCK]
        lo = int(np.searchsorted(sorted_ts, sorted_ts[start] - window, side="left"))
        right = dated[lo:start + len(rows)]
        parts.append(_pairs(space, rows, right, params, earlier(rows, right), evidence))
    for start in range(0, len(undated), BLOCK):
        rows = undated[start:start + BLOCK]
        # an undated article may belong anywhere: compare it with every article before it
        right = order[: len(dated) + start + len(rows)]
        for r0 in range(0, len(right), 4 * BLOCK):
            sub = right[r0:r0 + 4 * BLOCK]
            parts.append(_pairs(space, rows, sub, params, earlier(rows, sub), evidence))
    left = np.concatenate([p.left for p in parts]) if parts else np.empty(0, np.int64)
    right_ = np.concatenate([p.right for p in parts]) if parts else np.empty(0, np.int64)
    feats = (np.concatenate([p.features for p in parts]) if parts
             else np.empty((0, len(FEATURES))))
    linked = None
    if evidence and parts:
        linked = np.concatenate([p.linked if p.linked is not None
                                 else np.zeros(len(p.left)) for p in parts])
    return score(Pairs(left, right_, feats, linked=linked), params.model)


def _pairs(space: Space, rows: np.ndarray, right: np.ndarray, params: StoryParams,
           allowed, evidence) -> Pairs:
    p = pair_features(space.take(rows), space.take(right), params.pairs, allowed, evidence)
    return Pairs(rows[p.left], right[p.right], p.features, linked=p.linked)


def labelled_pair_features(
    arts: Articles, left: np.ndarray, right: np.ndarray, params: StoryParams,
    stats: TermStats | None = None,
    evidence: Mapping[tuple[str, str], float] | None = None,
) -> np.ndarray:
    """Features of the given pairs of rows (candidates or not), e.g. labelled pairs."""
    if stats is None:
        stats = TermStats(params.features.dim)
        stats.add(arts)
    space = make_space(arts, stats, params.pairs)
    k = np.arange(len(left))
    return pair_features(space.take(left), space.take(right), params.pairs,
                         evidence=evidence, only=(k, k)).features


def cluster_articles(
    arts: Articles, params: StoryParams, stats: TermStats | None = None,
    evidence: Mapping[tuple[str, str], float] | None = None,
    weights: np.ndarray | None = None, must: np.ndarray | None = None,
) -> tuple[np.ndarray, Pairs]:
    """Story labels (one per row of `arts`) and the scored pairs they came from.

    `weights`: how many articles each row stands for (exact copies enter as one row, see
    `copies.CopyUnits`); `must`: rows that start together (copies, see
    `linkage.average_linkage`).
    """
    pairs = collection_pairs(arts, params, stats, evidence, must)
    labels, _ = average_linkage(len(arts), pairs.left, pairs.right, pairs.prob,
                                params.threshold, weights, must)
    return labels, pairs
