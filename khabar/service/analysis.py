"""Incremental analysis: each new batch against the stored collection, never the whole of it.

    from khabar.service.analysis import Analyzer, accept
    with Analyzer("news.db") as an:
        job = accept(an.store, documents, origin="script")   # durable, queued
        an.run_pending()                                      # analyse what is queued
        print(an.story_of("doc-17"))

A batch goes through the stages' own kernels, each against indexes kept in
SQLite (`khabar.service.schema`) rather than against a collection in memory:

1. **repair** with what the store knows of each document's outlet (its
   boilerplate lines) and of glued headlines (`repair.RepairContext`);
2. **prepare** once (`text.view.prepare`), then every per-article kernel on the
   view: `dups.stage.sketch_block`, `reuse.stage.features_batch`,
   `stories.features.extract`, `explain.stage.explain_docs`, the search keys;
3. **duplicates**: exact digests and LSH band keys looked up in the stored
   index (buckets above `dups.stage.MAX_BUCKET` members are formulas, skipped),
   candidates verified on the real shingle sets (`dups.verify`);
4. **reuse**: the batch's rare n-grams (document frequency per time bucket at
   most `ReuseOptions.max_df`) looked up in the stored postings, candidates
   within `window_days`, each pair aligned (`reuse.align.align_pair`) and cut
   into passages (`reuse.stage.passages_of`);
5. **stories**: the batch in time order through one `stories.StoryStream`
   that lives as long as the worker (restarted from the stored assignments of
   its window), with the copy groups and the duplicate and reuse evidence;
   story ids are the stream's and never reused, an absorbed story is aliased;
6. **explanations**: who says what in each article of the batch
   (`explain.stage.explain_docs`); then, for every story the batch touched, marked in
   ``svc_dirty``, the story's explanations (`explain.stage.explain_bundle`) and its page
   rendered with the report's templates (`report.stage.page_of`,
   `report.render.render_batch`), kept with the JSON the API serves. `run_pending`
   does it at once; the server's worker (`run_pending(explain=False)` then
   `explain_pending`) places every waiting batch in its stories first and explains
   each touched story once for many batches, when no article waits or when a story has
   waited `MAX_EXPLAIN_DELAY`.

Each batch is placed in one transaction, with its queue rows deleted in it:
a worker killed mid-batch redoes the batch at its next start; the stories it marked
are explained after a restart as before.
"""

from __future__ import annotations

import json
import math
import pickle
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from khabar.corpus import Article
from khabar.document import Document
from khabar.dups.lsh import band_keys
from khabar.dups.params import DupParams
from khabar.dups.stage import MAX_BUCKET, sketch_block
from khabar.dups.verify import accept as accept_pairs
from khabar.dups.verify import intersections, similarities
from khabar.errors import KhabarError
from khabar.explain.stage import ExplainDoc, StoryBundle, explain_bundle, explain_docs
from khabar.explain.story import ExplainParams
from khabar.records import iso
from khabar.repair import (
    Repair,
    RepairContext,
    RepairOptions,
    TitleIndex,
    document_line_hashes,
    find_tail,
    headline_keys,
    line_key,
    repair,
)
from khabar.reuse.features import DocFeatures, _Lexicon, features_from_view
from khabar.reuse.options import ReuseOptions
from khabar.reuse.passage import Passage
from khabar.reuse.phrases import PhraseTables
from khabar.reuse.stage import DAY, _keyed, keep, passages_of
from khabar.service import schema, search
from khabar.store import _SELECT, Store, _from_row, content_hash, now_iso
from khabar.stories.copies import Copies
from khabar.stories.features import TermStats, extract
from khabar.stories.params import StoryParams
from khabar.stories.similarity import Evidence
from khabar.stories.stage import StoryRecord
from khabar.stories.stream import StoryStream
from khabar.text.view import prepare

BATCH = 250
"""Documents analysed together (the stream and the kernels are vectorized over a batch)."""
MAX_EXPLAIN_DELAY = 30.0
"""Seconds a touched story waits at most for its explanations and page while articles keep
arriving (they are placed in their stories first)."""
MAX_REUSE_CANDIDATES = 40
"""Stored articles aligned with one new article at most, those sharing the most rare
n-grams first: a wire story carried by hundreds of outlets is found through the first
few dozen (the rest are its exact or near copies, found by the duplicate index)."""
MIN_SHARED_GRAMS = 3
"""Rare n-grams two articles must share before they are aligned (alignment decides)."""
STEM_SALT = np.uint64(0x5BD1E9955BD1E995)
"""Stems and n-grams share the document-frequency table: a stem key is salted."""

Progress = Callable[[str, str], None]


def _signed(x: np.ndarray) -> list[int]:
    return np.asarray(x, dtype=np.uint64).view(np.int64).tolist()


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for k in range(0, len(items), size):
        yield items[k:k + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


# -- ingest ----------------------------------------------------------------------------------------


@dataclass
class Accepted:
    job: str
    accepted: int
    new: int
    updated: int
    unchanged: int


def accept(store: Store, docs: Sequence[Document], origin: str,
           options: RepairOptions | None = None) -> Accepted:
    """Store `docs` and queue them for analysis, in ONE transaction (durable when it returns).

    A document whose id is stored with the same content is counted and not queued again; a
    changed one is updated (its old version kept by the store) and analysed again."""
    opts = options or RepairOptions()
    job = uuid.uuid4().hex[:16]
    new = updated = unchanged = 0
    with store.transaction() as db:
        existing = store.existing([d.id for d in docs])
        queued: list[tuple[int, str]] = []
        for doc in docs:
            digest = content_hash(doc)
            prev = existing.get(doc.id)
            if prev is not None and prev[2] == digest:
                unchanged += 1
                continue
            rep = repair(doc.text, doc.id, doc.source, None, opts)
            tail = find_tail(doc.text, opts)
            n = store.write_document(doc, digest, rep, line_key(tail.group("frag")) if tail
                                     else None, document_line_hashes(doc.text, opts),
                                     headline_keys(doc.text, doc.title, opts), prev)
            existing[doc.id] = (n, (prev[1] + 1) if prev else 1, digest)
            queued.append((n, job))
            if prev is None:
                new += 1
            else:
                updated += 1
        db.executemany("INSERT OR REPLACE INTO svc_queue VALUES (?, ?)", queued)
        db.execute("INSERT INTO svc_jobs (job, created, origin, accepted, rejected, analyzed, "
                   "stage, finished) VALUES (?, ?, ?, ?, 0, 0, ?, ?)",
                   (job, now_iso(), origin, len(queued), "queued" if queued else "done",
                    None if queued else now_iso()))
    return Accepted(job, len(docs), new, updated, unchanged)


def open_store(path: str | Path) -> Store:
    store = Store(path)
    schema.declare(store)
    return store


# -- the analyzer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalysisParams:
    """The stages' own parameters (their defaults unless given)."""

    dups: DupParams = field(default_factory=DupParams)
    reuse: ReuseOptions = field(default_factory=ReuseOptions)
    stories: StoryParams = field(default_factory=StoryParams)
    explain: ExplainParams = field(default_factory=ExplainParams)
    repair: RepairOptions = field(default_factory=RepairOptions)
    batch: int = BATCH


@dataclass
class _Batch:
    ns: list[int]
    arts: list[Article]
    by_n: dict[int, Article]


class Analyzer:
    """Analyses queued documents against the stored collection (one per database at a time:
    the story stream is sequential by nature)."""

    def __init__(self, db: str | Path | Store, params: AnalysisParams | None = None) -> None:
        self.store = db if isinstance(db, Store) else open_store(db)
        schema.declare(self.store)
        self.params = params or AnalysisParams()
        self._stream: StoryStream | None = None
        self._stats: TermStats | None = None
        self._bands = self.params.dups.band_rows()
        self._old_stories: set[int] = set()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the queue ----------------------------------------------------------------------------

    def pending(self) -> int:
        return int(self.store.db.execute("SELECT COUNT(*) FROM svc_queue").fetchone()[0])

    def run_pending(self, limit: int | None = None, progress: Progress | None = None,
                    explain: bool = True) -> int:
        """Analyse queued documents, a batch at a time; returns how many. With `explain`
        False the stories they touched are left to `explain_pending` (as the server's
        worker does, so that the next batch is placed in its stories first)."""
        done = 0
        while limit is None or done < limit:
            rows = self.store.db.execute("SELECT n, job FROM svc_queue ORDER BY n LIMIT ?",
                                         (self.params.batch,)).fetchall()
            if not rows:
                break
            self.analyze([n for n, _ in rows], dict(rows), progress, explain=False)
            done += len(rows)
        if explain:
            self.explain_pending()
        return done

    def explain_pending(self, give_way: Callable[[], bool] | None = None,
                        max_delay: float = MAX_EXPLAIN_DELAY) -> int:
        """Explain and render again the stories whose members changed (oldest change first),
        each once however many batches touched it; then finish the jobs that waited for
        them. Stops early, when `give_way()` says articles wait to be placed, unless the
        oldest waiting story has waited `max_delay` seconds. Returns the stories explained."""
        q = self.store.db.execute
        count = 0
        while True:
            rows = q("SELECT story, since FROM svc_dirty ORDER BY since, story LIMIT 20"
                     ).fetchall()
            if not rows:
                break
            for story, since in rows:
                try:
                    self._explain_story(int(story))
                except Exception:  # one story must not hold the others back: logged, dropped
                    import sys
                    import traceback

                    print(f"khabar: story {story} could not be explained:", file=sys.stderr)
                    traceback.print_exc(file=sys.stderr)
                with self.store.transaction() as db:
                    db.execute("DELETE FROM svc_dirty WHERE story=? AND since<=?",
                               (story, since))
                count += 1
                if give_way is not None and give_way():
                    oldest = q("SELECT MIN(since) FROM svc_dirty").fetchone()[0]
                    if oldest is not None and time.time() - oldest < max_delay:
                        return count
        with self.store.transaction() as db:
            now = now_iso()
            db.execute("UPDATE svc_jobs SET stage='done', finished=? WHERE job IN (SELECT job "
                       "FROM svc_job_wait) AND analyzed >= accepted", (now,))
            db.execute("DELETE FROM svc_job_wait WHERE job IN (SELECT job FROM svc_jobs "
                       "WHERE stage='done')")
        return count

    def waited(self) -> float:
        """Seconds the longest-waiting touched story has waited for its explanations."""
        row = self.store.db.execute("SELECT MIN(since) FROM svc_dirty").fetchone()
        return 0.0 if row is None or row[0] is None else max(0.0, time.time() - row[0])

    def explained(self) -> bool:
        """Whether every story is explained as its members now are."""
        return self.store.db.execute("SELECT 1 FROM svc_dirty LIMIT 1").fetchone() is None

    # -- one batch ----------------------------------------------------------------------------

    def analyze(self, ns: list[int], jobs: dict[int, str] | None = None,
                progress: Progress | None = None, explain: bool = True) -> set[int]:
        """Analyse the documents numbered `ns`; returns the stories touched. Their
        explanations and pages are made at once, or with `explain` False marked for
        `explain_pending`."""
        jobs = jobs or {}
        step = progress or (lambda _job, _stage: None)
        for job in set(jobs.values()):
            self._job_stage(job, "repair")
        batch = self._load(ns)
        stream = self._ensure_stream()
        p = self.params
        arts = batch.arts
        if not arts:
            with self.store.transaction() as db:
                db.executemany("DELETE FROM svc_queue WHERE n=?", [(n,) for n in ns])
            return set()
        repaired = self._repair_in_context(arts)
        views = prepare([a.doc for a in arts], [a.repair for a in arts])
        arts = [Article(a.n, a.doc, a.repair, v) for a, v in zip(arts, views, strict=True)]
        batch = _Batch([a.n for a in arts], arts, {a.n: a for a in arts})
        for job in set(jobs.values()):
            self._job_stage(job, "duplicates")
        sketch = sketch_block(arts, p.dups)
        sview = search.views([(a.doc.id, a.doc.text) for a in arts])
        stitles = search.views([(a.doc.id, a.doc.title or (a.repair.title or ""))
                                for a in arts])
        pairs, copy_rows = self._duplicates(batch, sketch)
        for job in set(jobs.values()):
            self._job_stage(job, "reuse")
        feats = self._features(arts)
        passages, gram_rows, df_rows = self._reuse(batch, feats)
        for job in set(jobs.values()):
            self._job_stage(job, "stories")
        assigned, merges = self._stories(batch, pairs, passages, copy_rows, stream)
        touched = {s for s, _ in assigned.values()} | {into for _, into in merges}
        touched |= self._stories_of([n for na, nb, _ in passages for n in (na, nb)
                                     if n not in batch.by_n])
        touched |= {s for s in self._old_stories if s is not None}
        gone = {g for g, _ in merges}
        touched -= gone
        # one transaction: everything the batch found, and its queue rows gone
        with self.store.transaction() as db:
            self._forget(db, batch.ns)
            for n, rep in repaired:
                a = batch.by_n[n]
                self.store.update_repair(n, a.doc.text, rep, "service")
            now = now_iso()
            db.executemany(
                "INSERT INTO svc_docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(a.n, assigned[a.n][0], assigned[a.n][1], a.doc.timestamp,
                  iso(a.doc.date)[:10] if a.doc.date else None, a.doc.source,
                  ix.starts, ix.ends, now)
                 for a, ix in ((a, search.index_text(v)) for a, v in zip(arts, sview,
                                                                         strict=True))])
            db.executemany("INSERT INTO svc_fts (rowid, title, body) VALUES (?, ?, ?)",
                           [(a.n, search.index_text(t).keys, search.index_text(v).keys)
                            for a, v, t in zip(arts, sview, stitles, strict=True)])
            self._write_dups(db, sketch, pairs, copy_rows)
            db.executemany("INSERT INTO svc_grams VALUES (?, ?)", gram_rows)
            db.executemany("INSERT INTO svc_df VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                           "df = df + excluded.df", df_rows)
            db.executemany("INSERT INTO svc_passages VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(na, nb, p_.a_start, p_.a_end, p_.b_start, p_.b_end,
                             json.dumps(p_.to_dict(), ensure_ascii=False))
                            for na, nb, p_ in passages])
            for absorbed, into in merges:
                db.execute("UPDATE svc_docs SET story=? WHERE story=?", (into, absorbed))
                db.execute("INSERT OR REPLACE INTO svc_story_alias VALUES (?, ?)",
                           (absorbed, into))
                db.execute("UPDATE svc_story_alias SET into_story=? WHERE into_story=?",
                           (into, absorbed))
                db.execute("DELETE FROM svc_stories WHERE story=?", (absorbed,))
            db.execute("INSERT OR REPLACE INTO svc_state VALUES ('term_stats', ?)",
                       (self._stats_blob(),))
            db.executemany("DELETE FROM svc_queue WHERE n=?", [(n,) for n in ns])
            # absorbed stories are explained as the story they joined
            db.executemany("DELETE FROM svc_dirty WHERE story=?", [(g,) for g in gone])
            db.executemany("INSERT INTO svc_dirty VALUES (?, ?) ON CONFLICT(story) DO NOTHING",
                           [(st, time.time()) for st in sorted(touched)])
        # the article is in its story and searchable from here; who says what in it, then
        # the pages of the stories it touched follow
        for job in set(jobs.values()):
            self._job_stage(job, "explain")
        xdocs = explain_docs(arts, p.explain)[0]
        with self.store.transaction() as db:
            self._write_explain(db, xdocs)
            counts: dict[str, int] = defaultdict(int)
            for n in ns:
                if n in jobs:
                    counts[jobs[n]] += 1
            for job, k in counts.items():
                db.execute("UPDATE svc_jobs SET analyzed = analyzed + ? WHERE job=?", (k, job))
                db.execute("UPDATE svc_jobs SET stage='queued' WHERE job=? AND "
                           "analyzed < accepted", (job,))
                db.execute("INSERT OR IGNORE INTO svc_job_wait VALUES (?)", (job,))
        if explain:
            self.explain_pending()
        for job in counts:
            step(job, "placed")
        return touched

    def _job_stage(self, job: str, stage: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE svc_jobs SET stage=? WHERE job=? AND analyzed < accepted",
                       (stage, job))

    def _load(self, ns: list[int]) -> _Batch:
        arts = []
        for chunk in _chunks(ns):
            rows = self.store.db.execute(
                f"SELECT {_SELECT}, n FROM documents WHERE n IN ({_marks(len(chunk))})",
                list(chunk)).fetchall()
            for r in rows:
                doc, rep = _from_row(r[:-1])
                arts.append(Article(int(r[-1]), doc, rep))
        arts.sort(key=lambda a: a.n)
        return _Batch([a.n for a in arts], arts, {a.n: a for a in arts})

    def _forget(self, db: Any, ns: list[int]) -> None:
        """An updated document is analysed again: its old index rows go first."""
        for chunk in _chunks(ns):
            marks = _marks(len(chunk))
            for table in ("svc_docs", "svc_bands", "svc_exact", "svc_sets", "svc_grams",
                          "svc_explain", "svc_mentions", "svc_quotes"):
                db.execute(f"DELETE FROM {table} WHERE n IN ({marks})", list(chunk))
            db.execute(f"DELETE FROM svc_fts WHERE rowid IN ({marks})", list(chunk))
            db.execute(f"DELETE FROM svc_passages WHERE a IN ({marks}) OR b IN ({marks})",
                       list(chunk) * 2)

    # -- 1. repair with corpus knowledge --------------------------------------------------------

    def _repair_in_context(self, arts: list[Article]) -> list[tuple[int, Repair]]:
        """Repairs that the stored collection changes (an outlet's boilerplate lines, a glued
        headline whose article is stored); applied to the batch's articles in place."""
        opts = self.params.repair
        q = self.store.db.execute
        per_source: dict[str, int] = {}
        out = []
        for k, a in enumerate(arts):
            source = a.doc.source or ""
            hashes = document_line_hashes(a.doc.text, opts)
            boiler: set[str] = set()
            if source and hashes:
                if source not in per_source:
                    per_source[source] = int(q("SELECT COUNT(DISTINCT doc) FROM doc_lines "
                                               "WHERE source=?", (source,)).fetchone()[0])
                hs = sorted(hashes)
                for h, c in q(f"SELECT hash, COUNT(DISTINCT doc) FROM doc_lines WHERE source=? "
                              f"AND hash IN ({_marks(len(hs))}) GROUP BY hash", [source, *hs]):
                    if c >= opts.boilerplate_min_docs and \
                            c >= opts.boilerplate_min_share * per_source[source]:
                        boiler.add(h)
            link = None
            tail = find_tail(a.doc.text, opts)
            if tail is not None:
                key = line_key(tail.group("frag"))
                row = q("SELECT h.key, d.id FROM headline_keys h JOIN documents d ON d.n = h.doc "
                        "WHERE h.doc != ? AND (h.key = ? OR (h.key > ? AND h.key < ?)) "
                        "ORDER BY h.key = ? DESC, h.doc LIMIT 1",
                        (a.n, key, key + " ", key + " \U0010ffff", key)).fetchone()
                if row is not None:
                    link = (key, row[1])
            if not boiler and link is None:
                continue
            ctx = RepairContext(boilerplate={source: boiler} if boiler else {},
                                titles=TitleIndex([link] if link else []))
            rep = repair(a.doc.text, a.doc.id, a.doc.source, ctx, opts)
            if rep.text != a.repair.text:
                arts[k] = Article(a.n, a.doc, rep)
                out.append((a.n, rep))
        return out

    # -- 3. duplicates ----------------------------------------------------------------------------

    def _duplicates(self, batch: _Batch, sk: Any
                    ) -> tuple[list[tuple[int, int, float, float, float, str]], dict[int, tuple]]:
        """Verified pairs (a n, b n, jaccard, a in b, b in a, kind) of the batch's documents with
        stored ones and with each other, and the copy group of every document they touch."""
        p = self.params.dups
        q = self.store.db.execute
        if sk is None:
            return [], {}
        long = np.flatnonzero(sk.tokens >= p.min_tokens)
        ns = sk.ns.tolist()
        found: dict[tuple[int, int], tuple] = {}
        # exact copies: the same normalized tokens
        digests = {k: sk.exact[k].tobytes() for k in long.tolist()}
        first: dict[bytes, int] = {}
        for k, d in digests.items():
            row = q("SELECT MIN(n) FROM svc_exact WHERE digest=?", (d,)).fetchone()
            rep = row[0] if row and row[0] is not None else first.get(d)
            if rep is None:
                first[d] = ns[k]
            elif rep != ns[k]:
                a, b = min(rep, ns[k]), max(rep, ns[k])
                found[(a, b)] = (a, b, 1.0, 1.0, 1.0, "exact")
        # near copies: LSH band keys, stored and of the batch
        bands, rows = self._bands
        keys = band_keys(sk.signatures[long], bands, rows) if len(long) else np.zeros((0, bands),
                                                                                     np.uint64)
        members: dict[int, list[int]] = defaultdict(list)
        flat = sorted(set(_signed(keys.ravel())))
        for chunk in _chunks(flat):
            for key, n in q(f"SELECT key, n FROM svc_bands WHERE key IN ({_marks(len(chunk))})",
                            list(chunk)):
                members[key].append(n)
        batch_keys = _signed(keys.ravel()) if len(long) else []
        for j, key in enumerate(batch_keys):
            members[key].append(ns[int(long[j // bands])])
        cand: set[tuple[int, int]] = set()
        for key in set(batch_keys):
            group = sorted(set(members[key]))
            if len(group) < 2:
                continue
            new = [n for n in group if n in batch.by_n]
            if len(group) > MAX_BUCKET:
                # a formula, or many copies of one text: each new member with the smallest
                head = group[0]
                cand.update((head, n) for n in new if n != head)
                continue
            for n in new:
                cand.update((min(n, o), max(n, o)) for o in group if o != n)
        cand -= set(found)
        if cand:
            found.update(self._verify(sorted(cand), sk))
        pairs = sorted(found.values())
        return pairs, self._copy_groups(pairs, batch)

    def _verify(self, cand: list[tuple[int, int]], sk: Any) -> dict[tuple[int, int], tuple]:
        p = self.params.dups
        row_of = {int(n): k for k, n in enumerate(sk.ns.tolist())}
        sets: dict[int, np.ndarray] = {}
        for n, k in row_of.items():
            sets[n] = sk.sets[sk.set_offsets[k]:sk.set_offsets[k + 1]]
        old = sorted({n for pair in cand for n in pair if n not in sets})
        for chunk in _chunks(old):
            for n, blob in self.store.db.execute(
                    f"SELECT n, sets FROM svc_sets WHERE n IN ({_marks(len(chunk))})",
                    list(chunk)):
                sets[n] = np.frombuffer(zlib.decompress(blob), dtype=np.uint64)
        cand = [c for c in cand if c[0] in sets and c[1] in sets]
        if not cand:
            return {}
        arrays = [sets[n] for pair in cand for n in pair]
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in arrays], out=offsets[1:])
        a = np.arange(0, len(arrays), 2)
        inter = intersections(np.concatenate(arrays), offsets, a, a + 1)
        sizes = np.diff(offsets).astype(np.float64)
        jac, ab, ba = similarities(inter, sizes[a], sizes[a + 1])
        ok = accept_pairs(jac, ab, ba, p.threshold, p.containment)
        out = {}
        for k in np.flatnonzero(ok).tolist():
            x, y = cand[k]
            out[(x, y)] = (x, y, round(float(jac[k]), 4), round(float(ab[k]), 4),
                           round(float(ba[k]), 4), "near")
        return out

    def _copy_groups(self, pairs: list[tuple], batch: _Batch) -> dict[int, tuple]:
        """n -> (copy group, exact group or None) for the batch's documents with a copy and
        the stored documents they join (a group is named by its smallest member)."""
        if not pairs:
            return {}
        q = self.store.db.execute
        ns = sorted({n for p in pairs for n in p[:2]})
        stored: dict[int, tuple[int, int | None]] = {}
        for chunk in _chunks(ns):
            for n, g, e in q(f"SELECT n, grp, exact_grp FROM svc_copy WHERE n IN "
                             f"({_marks(len(chunk))})", list(chunk)):
                stored[n] = (g, e)
        parent: dict[int, int] = {}
        exact_parent: dict[int, int] = {}

        def root(table: dict[int, int], x: int) -> int:
            while table.get(x, x) != x:
                x = table[x]
            return x

        def union(table: dict[int, int], a: int, b: int) -> None:
            ra, rb = root(table, a), root(table, b)
            if ra != rb:
                table[max(ra, rb)] = min(ra, rb)

        in_exact: set[int] = set()
        for n, (g, e) in stored.items():
            union(parent, n, g)
            if e is not None:
                union(exact_parent, n, e)
                in_exact.update((n, e))
        for a, b, *_sims, kind in pairs:
            # a verified near pair is a copy (the duplicate stage's threshold decided it)
            union(parent, a, b)
            if kind == "exact":
                union(exact_parent, a, b)
                in_exact.update((a, b))
        return {n: (root(parent, n), root(exact_parent, n) if n in in_exact else None)
                for n in ns}

    def _write_dups(self, db: Any, sk: Any, pairs: list[tuple], copy_rows: dict[int, tuple]
                    ) -> None:
        if sk is None:
            return
        p = self.params.dups
        bands, rows = self._bands
        long = np.flatnonzero(sk.tokens >= p.min_tokens)
        ns = sk.ns.tolist()
        if len(long):
            keys = band_keys(sk.signatures[long], bands, rows)
            db.executemany("INSERT INTO svc_bands VALUES (?, ?)",
                           [(key, ns[int(long[j // bands])])
                            for j, key in enumerate(_signed(keys.ravel()))])
        db.executemany("INSERT INTO svc_exact VALUES (?, ?)",
                       [(sk.exact[k].tobytes(), ns[k]) for k in long.tolist()])
        db.executemany("INSERT INTO svc_sets VALUES (?, ?, ?)",
                       [(ns[k], int(sk.tokens[k]),
                         zlib.compress(sk.sets[sk.set_offsets[k]:sk.set_offsets[k + 1]]
                                       .astype(np.uint64).tobytes(), 1))
                        for k in long.tolist()])
        db.executemany("INSERT OR REPLACE INTO svc_dup_pairs VALUES (?, ?, ?, ?, ?, ?)", pairs)
        # a group that grew by joining another: every stored member follows
        for n, (g, e) in copy_rows.items():
            old = db.execute("SELECT grp FROM svc_copy WHERE n=?", (n,)).fetchone()
            if old is not None and old[0] != g:
                db.execute("UPDATE svc_copy SET grp=? WHERE grp=?", (g, old[0]))
            db.execute("INSERT OR REPLACE INTO svc_copy VALUES (?, ?, ?)", (n, g, e))

    # -- 4. reuse ---------------------------------------------------------------------------------

    def _features(self, arts: list[Article]) -> list[DocFeatures]:
        lexicon = _Lexicon([a.view for a in arts])
        feats = [features_from_view(a.view, a.doc, self.params.reuse.ngram, lexicon)
                 for a in arts]
        for a, f in zip(arts, feats, strict=True):
            f.n = a.n
        return feats

    def _bucket(self, ts: float | None) -> int:
        return -1 if ts is None else math.floor(ts / (self.params.reuse.window_days * DAY))

    def _df(self, keys: list[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        for chunk in _chunks(sorted(set(keys))):
            out.update(self.store.db.execute(
                f"SELECT key, df FROM svc_df WHERE key IN ({_marks(len(chunk))})", list(chunk)))
        return out

    def _mark(self, f: DocFeatures, extra: dict[int, int]) -> None:
        """Rarity of a document's stems and n-grams from the stored document frequencies of
        its time bucket and the one before (plus the batch's own, in `extra`)."""
        b = self._bucket(f.ts)
        opts = self.params.reuse
        buckets = [b] if b < 0 else [b, b - 1]

        def counts(hashes: np.ndarray, salt: np.uint64 | None) -> np.ndarray:
            if not len(hashes):
                return np.zeros(0, np.int64)
            base = hashes ^ salt if salt is not None else hashes
            total = np.zeros(len(hashes), np.int64)
            for bucket in buckets:
                keys = _signed(_keyed(base, np.full(len(base), bucket)))
                df = self._df(keys)
                total += np.asarray([df.get(k, 0) + extra.get(k, 0) for k in keys],
                                    dtype=np.int64)
            return total

        stem_df = counts(f.stems, STEM_SALT)
        gram_df = counts(f.grams, None)
        f.rare = stem_df <= opts.max_df
        f.gram_rare = gram_df <= opts.max_df
        f.gram_shared = f.gram_rare
        f.gram_df = np.maximum(gram_df, 1).astype(np.int32)
        common = np.unique(f.grams[~f.gram_rare]) if len(f.grams) else np.zeros(0, np.uint64)
        PhraseTables(common, np.zeros(0, np.uint64), np.zeros(0, np.uint64)).mark(f, opts.ngram)

    def _reuse(self, batch: _Batch, feats: list[DocFeatures]
               ) -> tuple[list[tuple[int, int, Passage]], list[tuple[int, int]],
                          list[tuple[int, int]]]:
        opts = self.params.reuse
        q = self.store.db.execute
        # the batch's own document frequencies count at once (a wire story arriving in
        # one batch from many outlets is as common as if it had been stored)
        df_new: dict[int, int] = defaultdict(int)
        gram_rows: list[tuple[int, int]] = []
        for f in feats:
            b = self._bucket(f.ts)
            g = np.unique(f.grams)
            s = np.unique(f.stems)
            for key in _signed(_keyed(g, np.full(len(g), b))):
                df_new[key] += 1
                gram_rows.append((key, f.n))
            for key in _signed(_keyed(s ^ STEM_SALT, np.full(len(s), b))):
                df_new[key] += 1
        for f in feats:
            self._mark(f, df_new)
        by_n = {f.n: f for f in feats}
        posted: dict[int, list[int]] = defaultdict(list)  # the batch's own postings
        for key, n in gram_rows:
            posted[key].append(n)
        pairs: dict[tuple[int, int], int] = {}
        for f in feats:
            rare = np.unique(f.grams[f.gram_rare]) if len(f.grams) else np.zeros(0, np.uint64)
            if not len(rare):
                continue
            b = self._bucket(f.ts)
            shared: dict[int, int] = defaultdict(int)
            targets = [b] if b < 0 else [b - 1, b, b + 1]
            for bucket in targets:
                keys = _signed(_keyed(rare, np.full(len(rare), bucket)))
                for chunk in _chunks(keys):
                    for _key, n in q(f"SELECT key, n FROM svc_grams WHERE key IN "
                                     f"({_marks(len(chunk))})", list(chunk)):
                        if n != f.n:
                            shared[n] += 1
                for key in keys:
                    for n in posted.get(key, ()):
                        if n != f.n and n < f.n:
                            shared[n] += 1
            best = sorted(((c, n) for n, c in shared.items() if c >= MIN_SHARED_GRAMS),
                          reverse=True)[:MAX_REUSE_CANDIDATES]
            for _c, n in best:
                pairs[(min(n, f.n), max(n, f.n))] = 1
        others = sorted({n for pair in pairs for n in pair if n not in by_n})
        by_n.update(self._stored_features(others, df_new))
        window = opts.window_days * DAY
        found: list[tuple[int, int, Passage]] = []
        for a, b in sorted(pairs):
            fa, fb = by_n.get(a), by_n.get(b)
            if fa is None or fb is None:
                continue
            if fa.ts is not None and fb.ts is not None and abs(fa.ts - fb.ts) > window:
                continue
            from khabar.reuse.align import align_pair

            aligned = align_pair(fa, fb, opts)
            if not aligned:
                continue
            for p in passages_of(fa, fb, aligned):
                if keep(p, opts):
                    na, nb = (a, b) if p.a == fa.id else (b, a)
                    found.append((na, nb, p))
        return found, gram_rows, sorted(df_new.items())

    def _stored_features(self, ns: list[int], extra: dict[int, int]) -> dict[int, DocFeatures]:
        """Reuse features of stored documents, made again from their text (cheaper to make
        than to keep: about 30 bytes a token)."""
        if not ns:
            return {}
        batch = self._load(ns)
        views = prepare([a.doc for a in batch.arts], [a.repair for a in batch.arts])
        arts = [Article(a.n, a.doc, a.repair, v) for a, v in zip(batch.arts, views, strict=True)]
        feats = self._features(arts)
        for f in feats:
            self._mark(f, extra)
        return {f.n: f for f in feats}

    # -- 5. stories -------------------------------------------------------------------------------

    def _ensure_stream(self) -> StoryStream:
        """The story stream, restarted from the store: its statistics, and the articles of
        its window with the stories they are in."""
        if self._stream is not None:
            return self._stream
        p = self.params.stories
        q = self.store.db.execute
        row = q("SELECT value FROM svc_state WHERE name='term_stats'").fetchone()
        stats = _stats_from(row[0], p.features.dim) if row else TermStats(p.features.dim)
        stream = StoryStream(p, prior=stats, evidence=Evidence())
        top = q("SELECT COALESCE(MAX(story), 0) FROM svc_docs").fetchone()[0]
        alias = q("SELECT COALESCE(MAX(story), 0) FROM svc_story_alias").fetchone()[0]
        stream.reserve(max(int(top), int(alias)))
        latest = q("SELECT MAX(ts) FROM svc_docs").fetchone()[0]
        if latest is not None:
            since = latest - p.pairs.window * DAY
            rows = q("SELECT n, story FROM svc_docs WHERE story IS NOT NULL AND ts >= ? "
                     "ORDER BY ts, n", (since,)).fetchall()
            if rows:
                batch = self._load([n for n, _ in rows])
                stories = dict(rows)
                copies = self._copies_of(batch.ns)
                stream.add_copies(copies)
                stream.place_groups(self._group_stories(copies))
                arts = extract([a.doc for a in batch.arts], [a.repair for a in batch.arts],
                               p.features)
                stream.preload(arts, [int(stories[a.n]) for a in batch.arts])
        self._stats = stats
        self._stream = stream
        return stream

    def _copies_of(self, ns: Iterable[int]) -> Copies:
        ids = self._ids(ns)
        groups: dict[str, str] = {}
        exact: dict[str, str] = {}
        wanted = sorted(ids)
        for chunk in _chunks(wanted):
            for n, g, e in self.store.db.execute(
                    f"SELECT n, grp, exact_grp FROM svc_copy WHERE n IN ({_marks(len(chunk))})",
                    list(chunk)):
                groups[ids[n]] = f"g{g}"
                if e is not None:
                    exact[ids[n]] = f"e{e}"
        return Copies(groups, exact)

    def _group_stories(self, copies: Copies) -> dict[str, int]:
        """Copy group -> the story its stored members are in."""
        out: dict[str, int] = {}
        for g in set(copies.groups.values()):
            row = self.store.db.execute(
                "SELECT d.story FROM svc_copy c JOIN svc_docs d ON d.n = c.n WHERE c.grp=? "
                "AND d.story IS NOT NULL ORDER BY d.n LIMIT 1", (int(g[1:]),)).fetchone()
            if row is not None:
                out[g] = int(row[0])
        return out

    def _ids(self, ns: Iterable[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks(sorted(set(ns))):
            out.update(self.store.db.execute(
                f"SELECT n, id FROM documents WHERE n IN ({_marks(len(chunk))})", list(chunk)))
        return out

    def _stories(self, batch: _Batch, pairs: list[tuple], passages: list[tuple],
                 copy_rows: dict[int, tuple], stream: StoryStream
                 ) -> tuple[dict[int, tuple[int, float]], list[tuple[int, int]]]:
        ids = self._ids([n for p in pairs for n in p[:2]] + [n for p in passages for n in p[:2]])
        ids.update({a.n: a.doc.id for a in batch.arts})
        # evidence as the batch stage gives it: containment of duplicates, copied share
        links: dict[tuple[str, str], float] = {}
        for a, b, _j, ab, ba, _k in pairs:
            links[(ids[a], ids[b])] = max(ab, ba)
        cover: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        for na, nb, p in passages:
            if p.kind == "copy" and not p.boilerplate:
                c = cover[(na, nb)]
                c[0] += p.a_end - p.a_start
                c[1] += p.b_end - p.b_start
        lengths = {a.n: len(a.doc.text) for a in batch.arts}
        for (na, nb), (ca, cb) in cover.items():
            share = max(ca / max(lengths.get(na) or self._length(na), 1),
                        cb / max(lengths.get(nb) or self._length(nb), 1))
            key = (ids[na], ids[nb])
            links[key] = max(links.get(key, 0.0), min(share, 1.0))
        ev = stream.evidence if isinstance(stream.evidence, Evidence) else Evidence()
        for (a, b), s in links.items():
            for x, y in ((a, b), (b, a)):
                known = ev.partners.setdefault(x, {})
                known[y] = max(known.get(y, 0.0), float(s))
        stream.evidence = ev
        # copy groups: a copy joins its group's story
        groups = {ids.get(n) or self._ids([n])[n]: f"g{g}" for n, (g, _e) in copy_rows.items()}
        exact = {ids.get(n) or self._ids([n])[n]: f"e{e}" for n, (_g, e) in copy_rows.items()
                 if e is not None}
        copies = Copies(groups, exact)
        stream.add_copies(copies)
        placed = self._group_stories(copies)
        # a stored article that had no copy until this batch has no copy row yet: its group
        # is in the story it is in
        stored_members: dict[str, list[int]] = defaultdict(list)
        for n, (g, _e) in copy_rows.items():
            if n not in batch.by_n and f"g{g}" not in placed:
                stored_members[f"g{g}"].append(n)
        for g, members in stored_members.items():
            row = self.store.db.execute(
                f"SELECT story FROM svc_docs WHERE n IN ({_marks(len(members))}) AND story IS "
                f"NOT NULL ORDER BY n LIMIT 1", members).fetchone()
            if row is not None:
                placed[g] = int(row[0])
        stream.place_groups(placed)
        # in time order (undated at the end, by number): the stream's decisions follow it
        order = sorted(batch.arts, key=lambda a: (a.doc.timestamp is None,
                                                  a.doc.timestamp or 0.0, a.n))
        self._old_stories = self._stories_of([a.n for a in order])
        arts = extract([a.doc for a in order], [a.repair for a in order], self.params.stories
                       .features)
        assigned: dict[int, tuple[int, float]] = {}
        for a, got in zip(order, stream.add_features(arts), strict=True):
            assigned[a.n] = (got.story, got.score)
        merges = stream.pop_merges()
        parent = dict(merges)

        def root(s: int) -> int:
            while s in parent:
                s = parent[s]
            return s

        assigned = {n: (root(s), sc) for n, (s, sc) in assigned.items()}
        if self._stats is not None:
            self._stats.add(arts)
        return assigned, merges

    def _length(self, n: int) -> int:
        row = self.store.db.execute("SELECT LENGTH(text) FROM documents WHERE n=?",
                                    (n,)).fetchone()
        return int(row[0]) if row else 1

    def _stories_of(self, ns: Iterable[int]) -> set[int]:
        out: set[int] = set()
        for chunk in _chunks(sorted(set(ns))):
            out.update(s for (s,) in self.store.db.execute(
                f"SELECT story FROM svc_docs WHERE n IN ({_marks(len(chunk))}) AND story IS NOT "
                f"NULL", list(chunk)))
        return out

    def _stats_blob(self) -> bytes:
        stats = self._stats
        if stats is None:
            return b""
        idx = np.flatnonzero(stats.df)
        sidx = np.flatnonzero(stats.shingle_df)
        return zlib.compress(pickle.dumps((stats.dim, stats.n, idx, stats.df[idx], sidx,
                                           stats.shingle_df[sidx])), 1)

    # -- 6. explanations ---------------------------------------------------------------------

    def _write_explain(self, db: Any, xdocs: list[ExplainDoc]) -> None:
        from khabar.explain.stage import _MENTION_TYPE

        db.executemany("INSERT INTO svc_explain VALUES (?, ?)",
                       [(x.n, zlib.compress(pickle.dumps(x), 1)) for x in xdocs])
        ments, quotes = [], []
        for x in xdocs:
            for m in x.mentions:
                ments.append((x.n, _MENTION_TYPE.get(m.kind, m.kind),
                              (m.canonical or m.text).strip(), m.start, m.end))
            for a in x.attributions:
                if a.kind == "credit":
                    continue
                quotes.append((x.n, "quote" if a.kind == "quote" else "reported",
                               (a.speaker or "").strip() or None, a.start, a.end,
                               a.quote_start, a.quote_end))
        db.executemany("INSERT INTO svc_mentions VALUES (?, ?, ?, ?, ?)", ments)
        db.executemany("INSERT INTO svc_quotes VALUES (?, ?, ?, ?, ?, ?, ?)", quotes)

    def explain_stories(self, stories: Iterable[int]) -> None:
        """Explain and render the given stories again from what the store holds."""
        for story in sorted(set(stories)):
            self._explain_story(story)

    def _explain_story(self, story: int) -> None:
        from khabar.report.render import render_batch, story_filename
        from khabar.report.stage import page_of

        q = self.store.db.execute
        rows = q("SELECT n, score FROM svc_docs WHERE story=?", (story,)).fetchall()
        if not rows:
            with self.store.transaction() as db:
                db.execute("DELETE FROM svc_stories WHERE story=?", (story,))
            return
        scores = dict(rows)
        batch = self._load(list(scores))
        arts = sorted(batch.arts, key=lambda a: (a.doc.date is None, a.doc.timestamp or 0.0,
                                                 a.doc.id))
        xdocs = {}
        for chunk in _chunks(sorted(scores)):
            for n, blob in q(f"SELECT n, analysis FROM svc_explain WHERE n IN "
                             f"({_marks(len(chunk))})", list(chunk)):
                xdocs[n] = pickle.loads(zlib.decompress(blob))
        from khabar.explain.novelty import DocSentences

        docs = [xdocs.get(a.n) or ExplainDoc(a.n, a.doc.id, DocSentences([], [], [], [], []),
                                             [], []) for a in arts]
        members = sorted(scores)
        passages: list[Passage] = []
        seen: set[int] = set()
        outside: set[int] = set()
        for chunk in _chunks(members):
            marks = _marks(len(chunk))
            for rowid, a, b, rec in q(f"SELECT rowid, a, b, record FROM svc_passages WHERE a IN "
                                      f"({marks}) OR b IN ({marks})", list(chunk) * 2):
                if rowid in seen:
                    continue
                seen.add(rowid)
                passages.append(Passage.from_dict(json.loads(rec)))
                outside.update(n for n in (a, b) if n not in scores)
        passages.sort(key=lambda p: p.key)
        sides: dict[str, Any] = {}
        if outside:
            other = self._load(sorted(outside))
            info = {n: (s, sz) for n, s, sz in q(
                f"SELECT d.n, d.story, s.size FROM svc_docs d LEFT JOIN svc_stories s "
                f"ON s.story = d.story WHERE d.n IN ({_marks(len(outside))})",
                sorted(outside))}
            for a in other.arts:
                st, size = info.get(a.n, (None, None))
                sides[a.doc.id] = (a.doc, a.repair, st, size or 1)
        dated = [a.doc.date for a in arts if a.doc.date is not None]
        outlets: dict[str, int] = defaultdict(int)
        for a in arts:
            if a.doc.source:
                outlets[a.doc.source] += 1
        record = StoryRecord(story, _story_title(arts), min(dated) if dated else None,
                             max(dated) if dated else None, tuple(a.doc.id for a in arts),
                             tuple(s for s, _ in sorted(outlets.items(),
                                                        key=lambda kv: (-kv[1], kv[0]))),
                             len(arts), tuple(round(float(scores[a.n] or 1.0), 4)
                                              for a in arts))
        bundle = explain_bundle(StoryBundle(record, arts, docs, passages, sides),
                                self.params.explain)
        page = page_of(bundle)
        sid = str(story)
        doc_story = {a.doc.id: sid for a in arts}
        doc_story.update({d: str(v[2]) for d, v in sides.items() if v[2] is not None})
        shown_as = {c.id: a.id for a in page.articles for c in a.copies}
        old = q("SELECT version FROM svc_stories WHERE story=?", (story,)).fetchone()
        version = (old[0] + 1) if old else 1
        # the service's story page: the report's, asking the service for its version
        live = {"url": f"/api/version?story={story}", "version": str(version),
                "script": "/static/live.js"}
        ((_rel, html),) = render_batch([page], doc_story, None, shown_as, live)
        data = _story_json(bundle, page)
        first_ts = min((a.doc.timestamp for a in arts if a.doc.timestamp is not None),
                       default=None)
        last_ts = max((a.doc.timestamp for a in arts if a.doc.timestamp is not None),
                      default=None)
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO svc_stories VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                       "?, ?, ?, ?)",
                       (story, page.title, iso(record.first_seen), iso(record.last_seen),
                        first_ts, last_ts, len(arts),
                        json.dumps(list(record.sources), ensure_ascii=False),
                        story_filename(sid), version, now_iso(), html,
                        json.dumps(data, ensure_ascii=False)))

    # -- lookups (the Python API) ------------------------------------------------------------

    def story_of(self, doc_id: str) -> int | None:
        row = self.store.db.execute(
            "SELECT s.story FROM documents d JOIN svc_docs s ON s.n = d.n WHERE d.id=?",
            (doc_id,)).fetchone()
        return None if row is None else row[0]


def _stats_from(blob: bytes, dim: int) -> TermStats:
    stats = TermStats(dim)
    if not blob:
        return stats
    d, n, idx, df, sidx, sdf = pickle.loads(zlib.decompress(blob))
    if d != dim:
        return stats
    stats.n = int(n)
    stats.df[idx] = df
    stats.shingle_df[sidx] = sdf
    return stats


def _story_title(arts: list[Article]) -> str:
    """The title most members carry (folded as the text layer folds), else the earliest's."""
    counts: dict[str, list[str]] = defaultdict(list)
    for a in arts:
        title = (a.doc.title or a.repair.title or "").strip() if a.repair else (a.doc.title or "")
        if title:
            counts[line_key(title)].append(title)
    if not counts:
        return arts[0].doc.id if arts else ""
    best = max(counts.values(), key=len)
    return best[0]


def _story_json(bundle: StoryBundle, page: Any) -> dict[str, Any]:
    """What `GET /api/stories/{id}` serves beyond the story row (offsets are ORIGINAL)."""
    return {
        "members": [{"doc": a.doc.id, "title": a.doc.title, "source": a.doc.source,
                     "date": iso(a.doc.date), "url": a.doc.url,
                     "score": bundle.story.scores[k] if k < len(bundle.story.scores) else None}
                    for k, a in enumerate(bundle.articles)],
        "summary": [{"doc": s.doc, "start": s.start, "end": s.end, "text": s.text,
                     "carriers": list(s.carriers), "outlets": list(s.outlets),
                     "exclusive": s.exclusive} for s in bundle.summary],
        "passages": [p.to_dict() for p in bundle.passages],
        "attributions": [{"doc": a.doc, "kind": a.kind, "speaker": a.speaker,
                          "cue": [a.start, a.end],
                          "content": None if a.quote_start is None else [a.quote_start,
                                                                         a.quote_end]}
                         for x in bundle.docs for a in x.attributions],
    }


def wait_for(store: Store, job: str, timeout: float = 60.0) -> dict[str, Any]:
    """Block until `job` is analysed (for scripts driving an `Analyzer` in another process)."""
    deadline = time.monotonic() + timeout
    while True:
        row = store.db.execute("SELECT accepted, analyzed, stage FROM svc_jobs WHERE job=?",
                               (job,)).fetchone()
        if row is None:
            raise KhabarError(f"no job {job!r}")
        if row[2] == "done" or time.monotonic() > deadline:
            return {"job": job, "accepted": row[0], "analyzed": row[1], "stage": row[2]}
        time.sleep(0.05)


def utc_now() -> datetime:
    return datetime.now(UTC)


__all__ = ["Accepted", "AnalysisParams", "Analyzer", "accept", "open_store", "wait_for"]
