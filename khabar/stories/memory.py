"""Story clustering of a collection held in one process: the reference the stage follows.

`khabar.stories.stage` runs the same steps spread over a runner. This module
keeps them in memory (features of every article in one `Articles`), which is
what fitting and cross-validating the pair model needs (`bench/stories.py`)
and what tests compare the stage against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from khabar.document import Document
from khabar.repair import Repair
from khabar.stories.batch import cluster_articles
from khabar.stories.copies import (
    Copies,
    CopyUnits,
    copy_units,
    must_labels,
    unit_evidence,
    unit_member_scores,
)
from khabar.stories.crosslingual import crosslingual_evidence
from khabar.stories.features import Articles, FeatureParams, TermStats, extract
from khabar.stories.params import StoryParams
from khabar.stories.result import member_scores
from khabar.stories.similarity import Evidence, as_evidence, make_space
from khabar.stories.stream import StoryStream, stream_labels

BATCH = 1000


def extract_pairs(batch: list[tuple[Document, Repair | None]], params: FeatureParams
                  ) -> Articles:
    """Engine stage: features of (document, repair) pairs."""
    return extract([d for d, _ in batch], [r for _, r in batch], params)


def _features(
    pairs: Iterable[tuple[Document, Repair | None]], params: StoryParams,
    progress: Callable[[int], None] | None, workers: Any = 1,
) -> Articles:
    parts: list[Articles] = []
    done = 0
    for arts in (extract_pairs(b, params.features) for b in _batched(pairs, BATCH)):
        parts.append(arts)
        done += len(arts)
        if progress is not None:
            progress(done)
    return Articles.concat(parts, params.features.dim)


def stream_order(arts: Articles) -> np.ndarray:
    """Rows in the order a stream sees a collection: by time, undated ones last (stable)."""
    dated = np.flatnonzero(~np.isnan(arts.ts))
    dated = dated[np.argsort(arts.ts[dated], kind="stable")]
    return np.concatenate([dated, np.flatnonzero(np.isnan(arts.ts))]).astype(np.int64)


def with_crosslingual(evidence: Mapping[tuple[str, str], float] | None, arts: Articles,
                      params: StoryParams) -> Evidence | Mapping[tuple[str, str], float] | None:
    """`evidence`, with the links between English/French and Arabic reports that share
    names and figures (`crosslingual`) as certain evidence."""
    cross = crosslingual_evidence(arts, params.pairs.window)
    if not cross:
        return evidence
    known = as_evidence(evidence)
    plain = {k: s for k, s, sure in known.items() if not sure} if known else {}
    certain = {k: s for k, s, sure in known.items() if sure} if known else {}
    for key, strength in cross.items():
        certain[key] = max(certain.get(key, 0.0), strength)
    return Evidence(plain, certain)


def _copies(copies: bool | Copies, corpus: Any, workers: Any) -> Copies:
    if isinstance(copies, Copies):
        return copies
    if not copies:
        return Copies()
    return Copies.from_duplicates(corpus, 1)


def _units(arts: Articles, params: StoryParams, copies: Copies | None
           ) -> tuple[CopyUnits, TermStats]:
    """Exact copies folded into one row each, and the word statistics, where a text
    republished verbatim counts once: a word's document frequency says how many
    different texts use it, and an event copied everywhere must keep its own words."""
    units = copy_units(arts.ids, arts.ts, copies.exact if copies else {})
    stats = TermStats(params.features.dim)
    stats.add(arts if units.trivial else arts.take(units.reps))
    return units, stats


def _batch(arts: Articles, params: StoryParams, evidence,
           copies: Copies | None = None) -> tuple[np.ndarray, np.ndarray, Any]:
    units, stats = _units(arts, params, copies)
    must = must_labels(units, arts.ids, copies.groups) if copies else None
    if units.trivial and must is None:
        labels, pairs = cluster_articles(arts, params, stats, evidence)
        scores = member_scores(len(arts), labels, pairs.left, pairs.right, pairs.prob)
    else:
        reps = arts if units.trivial else arts.take(units.reps)
        ulabels, pairs = cluster_articles(reps, params, stats,
                                          unit_evidence(evidence, arts.ids, units),
                                          units.weight, must)
        uscores = unit_member_scores(units, ulabels, pairs.left, pairs.right, pairs.prob)
        labels, scores = ulabels[units.unit], uscores[units.unit]
    vectors = make_space(arts, stats, params.pairs)
    return labels, scores, vectors


def _stream(arts: Articles, params: StoryParams, evidence,
            copies: Copies | None = None) -> tuple[np.ndarray, np.ndarray, Any]:
    _, stats = _units(arts, params, copies)
    # a collection replayed as a stream: its word statistics are known from the start
    # (a live `StoryStream` learns them as it goes)
    stream = StoryStream(params, stats, evidence, copies)
    labels, scores, _ = stream_labels(stream, arts, stream_order(arts), BATCH)
    return labels, scores, make_space(arts, stats, params.pairs)


def _batched(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    from khabar.engine import batched

    return batched(items, size)
