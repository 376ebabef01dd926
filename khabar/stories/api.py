"""`cluster_stories`: stories of a collection or a database, batch or streaming."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from khabar.document import Document
from khabar.engine import Engine, batched, get_engine
from khabar.errors import KhabarError
from khabar.repair import Repair
from khabar.store import Store
from khabar.stories import db as storydb
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
from khabar.stories.result import StoryResult, build_stories, member_scores
from khabar.stories.similarity import Evidence, as_evidence, make_space
from khabar.stories.stream import StoryStream, resolve, stream_labels
from khabar.stories.threads import thread_stories

BATCH = 1000
MODES = ("batch", "stream")


def extract_pairs(batch: list[tuple[Document, Repair | None]], params: FeatureParams
                  ) -> Articles:
    """Engine stage: features of (document, repair) pairs."""
    return extract([d for d, _ in batch], [r for _, r in batch], params)


def _features(
    pairs: Iterable[tuple[Document, Repair | None]], params: StoryParams,
    progress: Callable[[int], None] | None, workers: int | Engine = 1,
) -> Articles:
    parts: list[Articles] = []
    done = 0
    for arts in get_engine(workers).map(extract_pairs, batched(pairs, BATCH), params.features):
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


def evidence_from_store(store: Store) -> dict[tuple[str, str], float]:
    """Duplicate and reuse evidence already stored, as id pair -> strength (0-1)
    (`evidence_from`). Nothing is computed here."""
    known = {r[0] for r in store.db.execute("SELECT name FROM components")}
    pairs: list[Any] = []
    passages: list[Any] = []
    if "dups" in known:
        try:
            from khabar.dups import load_pairs
        except ImportError:
            load_pairs = None
        if load_pairs is not None:
            pairs = load_pairs(store, update=False)
    if "reuse" in known:
        try:
            from khabar.reuse import load_passages
        except ImportError:
            load_passages = None
        if load_passages is not None:
            passages = load_passages(store)
    if not passages:
        return evidence_from(pairs, (), {})
    length = dict(store.read.execute("SELECT id, LENGTH(text) FROM documents"))
    return evidence_from(pairs, passages, length)


def evidence_from(pairs: Iterable[Any], passages: Iterable[Any], length: Mapping[str, int]
                  ) -> dict[tuple[str, str], float]:
    """Strength of copying between articles: the share of one article found in the other
    (the larger of the two directions), from the duplicate stage's verified pairs (their
    larger containment) and the reuse stage's copy passages (the share of an article's
    characters they cover; boilerplate, templates and formulas left out). A pure function
    over the two stages' records, grouped by pair."""
    out: dict[tuple[str, str], float] = {}
    for p in pairs:
        out[(p.a, p.b)] = max(p.containment_a_in_b, p.containment_b_in_a)
    covered: dict[tuple[str, str], list[int]] = {}
    for p in passages:
        # an outlet's boilerplate, and the templates and formulas the reuse stage tells from
        # copies (`Passage.kind`), are text shared without copying
        if getattr(p, "boilerplate", False) or getattr(p, "kind", "copy") != "copy":
            continue
        c = covered.setdefault((p.a, p.b), [0, 0])
        c[0] += p.a_end - p.a_start
        c[1] += p.b_end - p.b_start
    for (a, b), (ca, cb) in covered.items():
        share = max(ca / max(length.get(a, 0), 1), cb / max(length.get(b, 0), 1))
        out[(a, b)] = max(out.get((a, b), 0.0), min(share, 1.0))
    return out


def cluster_stories(
    source: Store | Iterable[Document],
    params: StoryParams | None = None,
    *,
    mode: str = "batch",
    evidence: Mapping[tuple[str, str], float] | None = None,
    copies: bool | Copies = True,
    progress: Callable[[int], None] | None = None,
    workers: int | Engine = 1,
) -> StoryResult:
    """Group articles into stories.

    `source` is a `Store` (stories are then kept in it with stable ids; new
    articles join stored stories or make new ones) or any iterable of
    `Document`s (story ids are numbered from 1 by first appearance).
    `mode="stream"` assigns articles one by one in time order (see
    `StoryStream`); with a store, only articles without a story are streamed,
    after the stored articles of the window before them. `workers` (local
    processes, or an engine such as `SparkEngine`) compute features; results
    never depend on it.

    Copies always share a story, whatever their dates (`copies`): the duplicate
    stage is asked for them (`khabar.dups.find_duplicates`, brought up to date
    in a store), or `copies` gives them (`copies.Copies`); `copies=False` leaves
    them to the pair score.
    """
    params = params or StoryParams()
    if mode not in MODES:
        raise KhabarError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    if isinstance(source, Store):
        # one snapshot for every read: document numbers and documents read in separate
        # transactions while `khabar ingest` commits meet a document in one and not the other
        with source.snapshot():
            return _from_store(source, params, mode, evidence, copies, progress, workers)
    docs = list(source)
    ids = [d.id for d in docs]
    if len(set(ids)) != len(ids):
        raise KhabarError("document ids must be unique")
    arts = _features(((d, None) for d in docs), params, progress, workers)
    evidence = with_crosslingual(evidence, arts, params)
    found = _copies(copies, docs, workers)
    if mode == "batch":
        labels, scores, space = _batch(arts, params, evidence, found)
    else:
        labels, scores, space = _stream(arts, params, evidence, found)
    result = build_stories(arts, labels, scores, space.title)
    result.mode = mode
    if params.threads is not None:
        by_id = {d.id: d for d in docs}
        result.threads = thread_stories(result, arts, space, params,
                                        lambda ids: [by_id[i] for i in ids])
    return result


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


def _copies(copies: bool | Copies, corpus: Any, workers: int | Engine) -> Copies:
    if isinstance(copies, Copies):
        return copies
    if not copies:
        return Copies()
    # the duplicate stage runs on this machine's cores (threads), whatever the engine
    return Copies.from_duplicates(corpus, workers if isinstance(workers, int) else 0)


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


def _from_store(store: Store, params: StoryParams, mode: str, evidence,
                copies: bool | Copies,
                progress: Callable[[int], None] | None, workers: int | Engine) -> StoryResult:
    storydb.declare(store)
    if evidence is None:
        evidence = evidence_from_store(store)
    found = _copies(copies, store, workers)
    numbers = storydb.doc_numbers(store)
    arts = _features((pair for batch in store.documents() for pair in batch), params, progress,
                     workers)
    rows_n = np.array([numbers[i] for i in arts.ids], dtype=np.int64)
    evidence = with_crosslingual(evidence, arts, params)
    old = storydb.stored_members(store)
    if mode == "batch":
        labels, scores, space = _batch(arts, params, evidence, found)
    else:
        labels, scores, space = _stream_store(arts, rows_n, old, params, evidence, found)
    result = build_stories(arts, labels, scores, space.title)  # provisional ids
    clusters = [[numbers[m] for m in s.members] for s in result.stories]
    old_story = {n: st for n, (st, _) in old.items()}
    ids = storydb.stable_ids(clusters, old_story, storydb.max_story(store))
    first_row = {arts.ids[r]: r for r in range(len(arts))}
    mapping = {int(labels[first_row[s.members[0]]]): sid
               for s, sid in zip(result.stories, ids, strict=True)}
    result = build_stories(arts, labels, scores, space.title, mapping)
    result.mode = mode
    storydb.save(store, result, numbers)
    if params.threads is not None:
        def fetch(ids: list[str]) -> list[Document]:
            return [d for batch in store.documents(ids=ids) for d, _ in batch]

        threads = thread_stories(result, arts, space, params, fetch)
        storydb.save_threads(store, threads)  # stable thread ids, as for stories
        result.threads = threads
    return result


def _stream_store(arts: Articles, rows_n: np.ndarray, old: dict[int, tuple[int, float]],
                  params: StoryParams, evidence, copies: Copies
                  ) -> tuple[np.ndarray, np.ndarray, Any]:
    """Stream the articles without a stored story, after the stored window before them."""
    assigned = np.array([int(n) in old for n in rows_n.tolist()], dtype=bool)
    labels = np.empty(len(arts), dtype=np.int64)
    scores = np.empty(len(arts))
    for r in np.flatnonzero(assigned).tolist():
        labels[r], scores[r] = old[int(rows_n[r])]
    _, stats = _units(arts, params, copies)
    vectors = make_space(arts, stats, params.pairs)
    new_rows = np.flatnonzero(~assigned)
    if not len(new_rows):
        return labels, scores, vectors
    done = arts.take(np.flatnonzero(assigned))
    # word statistics of everything stored, as when a collection is replayed (`_stream`)
    stream = StoryStream(params, stats, evidence, copies)
    if old:
        stream.reserve(max(st for st, _ in old.values()))
    # copies of stored articles join their stories, however long ago those were
    placed: dict[str, int] = {}
    for r in np.flatnonzero(assigned).tolist():
        group = copies.groups.get(arts.ids[r])
        if group is not None:
            placed.setdefault(group, int(labels[r]))
    stream.place_groups(placed)
    new = arts.take(new_rows)
    dated = new.ts[~np.isnan(new.ts)]
    if len(done) and len(dated):
        # the stored articles of the window before the first new one, as stream members
        start = float(dated.min()) - params.pairs.window * 86400.0
        keep = np.flatnonzero(~(done.ts < start))
        window = stream_order(done.take(keep))
        rows = np.flatnonzero(assigned)[keep[window]]
        stream.preload(arts.take(rows), [int(labels[r]) for r in rows.tolist()])
    order = new_rows[stream_order(new)]
    streamed, streamed_scores, merges = stream_labels(stream, arts, order, BATCH)
    labels[order] = streamed[order]
    scores[order] = streamed_scores[order]
    # stored stories the stream merged: their earlier members follow
    labels[assigned] = resolve(labels[assigned], merges)
    return labels, scores, vectors
