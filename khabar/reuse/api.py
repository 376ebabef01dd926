"""Reuse detection over a collection: features → candidate pairs → alignment → passages.

    from khabar.reuse import find_reuse
    passages = find_reuse(docs)                  # Documents in memory
    passages = reuse_store(store)                # the documents of a Store; rows kept in it
    passages = load_passages(store)              # what the last run stored

Feature extraction and alignment are stage functions run by an engine over
batches (`workers`: a number of local processes, or an engine such as
`khabar.engine.spark.SparkEngine`); candidate search runs once over the whole
collection, because which strings are rare is a property of the collection.
Output never depends on the number of workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict

import numpy as np

from khabar.document import Document
from khabar.engine import Engine, batched, get_engine
from khabar.repair import Repair
from khabar.reuse.align import Alignment, align_pair
from khabar.reuse.direction import FORMULAIC, decide
from khabar.reuse.features import DocFeatures, extract_features
from khabar.reuse.fingerprints import Candidates, candidate_pairs
from khabar.reuse.kinds import COPY
from khabar.reuse.options import ReuseOptions
from khabar.reuse.passage import Passage
from khabar.reuse.phrases import mark_phrases
from khabar.store import Store

FEATURE_BATCH = 200
"""Documents per feature batch (normalization is vectorized over a batch)."""
PAIR_BATCH = 2000
"""Candidate pairs per alignment batch."""

SCHEMA_VERSION = 2
MIGRATE = {1: "ALTER TABLE reuse_passages ADD COLUMN kind TEXT NOT NULL DEFAULT 'copy'"}
DDL = """
CREATE TABLE IF NOT EXISTS reuse_passages (
    a INTEGER NOT NULL,               -- documents.n of the side whose id sorts first
    a_start INTEGER NOT NULL,         -- ORIGINAL offsets, half-open
    a_end INTEGER NOT NULL,
    b INTEGER NOT NULL,
    b_start INTEGER NOT NULL,
    b_end INTEGER NOT NULL,
    score REAL NOT NULL,
    source INTEGER,                   -- documents.n of the likely origin, or NULL
    rule TEXT NOT NULL,
    a_sentences TEXT NOT NULL,        -- JSON list of sentence indices
    b_sentences TEXT NOT NULL,
    boilerplate INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT 'copy', -- copy, template or formula
    PRIMARY KEY (a, b, a_start, b_start, a_end, b_end)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reuse_passages_b ON reuse_passages(b);
CREATE TABLE IF NOT EXISTS reuse_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def declare(store: Store) -> None:
    store.declare("reuse", SCHEMA_VERSION, DDL, MIGRATE)


# -- stages -------------------------------------------------------------------------------


def align_batch(batch: tuple[list[DocFeatures], list[tuple[int, int, bool]]],
                options: ReuseOptions) -> list[list[Alignment]]:
    """Stage function: align the pairs of a batch (indices into the batch's own features)."""
    feats, pairs = batch
    return [align_pair(feats[i], feats[j], options, bag=bag) for i, j, bag in pairs]


def _pair_batches(feats: Sequence[DocFeatures], cand: Candidates, size: int
                  ) -> Iterator[tuple[list[DocFeatures], list[tuple[int, int, bool]]]]:
    """Batches of pairs, each carrying just the features its pairs need (so a batch pickles
    small and runs anywhere, a worker process or a Spark task)."""
    for start in range(0, len(cand), size):
        ii = cand.i[start : start + size]
        jj = cand.j[start : start + size]
        used, inverse = np.unique(np.concatenate([ii, jj]), return_inverse=True)
        local = [feats[k] for k in used.tolist()]
        li, lj = inverse[: len(ii)], inverse[len(ii) :]
        yield local, list(zip(li.tolist(), lj.tolist(),
                              cand.bag[start : start + size].tolist(), strict=True))


# -- the whole run ------------------------------------------------------------------------


def features(docs: Iterable[Document | tuple[Document, Repair | None]],
             options: ReuseOptions | None = None, workers: int | Engine = 1,
             batches: Iterable[list] | None = None) -> list[DocFeatures]:
    """`DocFeatures` of every document, in input order."""
    options = options or ReuseOptions()
    engine = get_engine(workers)
    out: list[DocFeatures] = []
    for part in engine.map(extract_features, batches or batched(docs, FEATURE_BATCH),
                           options.ngram):
        out.extend(part)
    return out


def passages_from_features(feats: list[DocFeatures], options: ReuseOptions | None = None,
                           workers: int | Engine = 1,
                           progress: Callable[[int], None] | None = None) -> list[Passage]:
    """Every passage of the collection (boilerplate included, flagged), sorted."""
    options = options or ReuseOptions()
    ids = [f.id for f in feats]
    if len(set(ids)) != len(ids):
        raise ValueError("document ids must be unique")
    cand = candidate_pairs(feats, options)
    mark_phrases(feats, options)
    engine = get_engine(workers)
    out: list[Passage] = []
    done = 0
    results = engine.map(align_batch, _pair_batches(feats, cand, PAIR_BATCH), options)
    for start, batch_result in zip(range(0, len(cand), PAIR_BATCH), results, strict=False):
        for k, aligned in enumerate(batch_result):
            if aligned:
                fa = feats[int(cand.i[start + k])]
                fb = feats[int(cand.j[start + k])]
                out.extend(_passages(fa, fb, aligned))
        done += len(batch_result)
        if progress is not None:
            progress(done)
    out.sort(key=lambda p: p.key)
    return out


def _passages(fa: DocFeatures, fb: DocFeatures, aligned: list[Alignment]) -> list[Passage]:
    # Two token-level alignments can widen to the same characters (both reach the edges of
    # one long sentence): one passage per character range, a copy before anything else,
    # then the best-scoring, reuse before boilerplate on a tie.
    best: dict[tuple[int, int, int, int], Alignment] = {}
    for x in aligned:
        key = (x.a_start, x.a_end, x.b_start, x.b_end)
        old = best.get(key)
        if old is None or _rank(x) > _rank(old):
            best[key] = x
    aligned = [best[k] for k in sorted(best)]
    # only copied text says who copied whom: boilerplate, templates and formulas are
    # shared without anyone copying anyone
    real = [x for x in aligned if x.kind == COPY and not x.boilerplate]
    source, rule = decide(fa, fb, [x.a_content for x in real], [x.b_content for x in real])
    out = []
    for x in aligned:
        src, why = (source, rule) if x.kind == COPY and not x.boilerplate else (None, FORMULAIC)
        if fa.id < fb.id:
            out.append(Passage(fa.id, x.a_start, x.a_end, fb.id, x.b_start, x.b_end, x.score,
                               src, why, x.a_sentences, x.b_sentences, x.boilerplate, x.kind))
        else:
            out.append(Passage(fb.id, x.b_start, x.b_end, fa.id, x.a_start, x.a_end, x.score,
                               src, why, x.b_sentences, x.a_sentences, x.boilerplate, x.kind))
    return out


def _rank(x: Alignment) -> tuple[bool, float, bool]:
    return (x.kind == COPY and not x.boilerplate, x.score, not x.boilerplate)


def keep(p: Passage, options: ReuseOptions) -> bool:
    """Is `p` reported under `options`? Copies always; boilerplate with
    `include_boilerplate`; other templates and formulas with `include_formulaic`."""
    if p.boilerplate:
        return options.include_boilerplate
    return p.kind == COPY or options.include_formulaic


def find_reuse(docs: Iterable[Document | tuple[Document, Repair | None]],
               options: ReuseOptions | None = None, *, workers: int | Engine = 1,
               progress: Callable[[int], None] | None = None) -> list[Passage]:
    """Reused passages among `docs`, sorted by pair and position.

    Boilerplate passages are left out unless `options.include_boilerplate`, templates and
    formulas unless `options.include_formulaic` (see `keep`).
    """
    options = options or ReuseOptions()
    found = passages_from_features(features(docs, options, workers), options, workers,
                                   progress)
    return [p for p in found if keep(p, options)]


# -- the store ----------------------------------------------------------------------------


def reuse_store(store: Store, options: ReuseOptions | None = None, *, workers: int | Engine = 1,
                progress: Callable[[int], None] | None = None) -> list[Passage]:
    """Find reuse among the documents of `store` and keep every passage in it.

    The table is replaced as a whole (which strings are rare depends on the whole
    collection), so running again over the same documents gives the same rows.
    Returns the passages, filtered as `find_reuse` does (`keep`).
    """
    options = options or ReuseOptions()
    declare(store)
    feats = features((), options, workers, batches=store.documents(batch_size=FEATURE_BATCH))
    found = passages_from_features(feats, options, workers, progress)
    n_of = dict(store.db.execute("SELECT id, n FROM documents"))
    rows = [
        (n_of[p.a], p.a_start, p.a_end, n_of[p.b], p.b_start, p.b_end, p.score,
         n_of[p.source] if p.source is not None else None, p.rule,
         json.dumps(p.a_sentences), json.dumps(p.b_sentences), int(p.boilerplate), p.kind)
        for p in found
    ]
    with store.transaction() as db:
        db.execute("DELETE FROM reuse_passages")
        db.executemany("INSERT INTO reuse_passages VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        state = {"options": json.dumps(asdict(options), sort_keys=True),
                 "documents": str(len(feats)), "passages": str(len(rows))}
        db.executemany("INSERT OR REPLACE INTO reuse_state VALUES (?, ?)", state.items())
    return [p for p in found if keep(p, options)]


def load_passages(store: Store, include_boilerplate: bool = False,
                  include_formulaic: bool = False) -> list[Passage]:
    """The passages the last `reuse_store` run kept, sorted like its output: copies, and
    boilerplate or other templates and formulas when asked for."""
    exists = store.db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='reuse_passages'").fetchone()
    if exists is None:
        return []
    rows = store.db.execute(
        "SELECT da.id, r.a_start, r.a_end, db.id, r.b_start, r.b_end, r.score, ds.id, r.rule, "
        "r.a_sentences, r.b_sentences, r.boilerplate, r.kind FROM reuse_passages r "
        "JOIN documents da ON da.n = r.a JOIN documents db ON db.n = r.b "
        "LEFT JOIN documents ds ON ds.n = r.source"
    ).fetchall()
    wanted = ReuseOptions(include_boilerplate=include_boilerplate,
                          include_formulaic=include_formulaic)
    out = [p for p in (Passage(a, a0, a1, b, b0, b1, score, src, rule, tuple(json.loads(sa)),
                               tuple(json.loads(sb)), bool(bp), kind)
                       for a, a0, a1, b, b0, b1, score, src, rule, sa, sb, bp, kind in rows)
           if keep(p, wanted)]
    out.sort(key=lambda p: p.key)
    return out
