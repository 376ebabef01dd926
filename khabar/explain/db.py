"""Stored explanations, so `khabar report --db` shows what `khabar run` computed.

Rows refer to documents by `documents.n`; loaders give back the records of
`khabar.explain` (ids, ORIGINAL offsets). Saving a story replaces what was
stored for it and for its members, so a story that changed membership
between runs leaves nothing stale behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from khabar.document import Document
from khabar.engine import Engine, batched, get_engine
from khabar.explain.attribution import Attribution
from khabar.explain.entities import Mention
from khabar.explain.novelty import SentenceNovelty
from khabar.explain.story import ExplainParams, StoryExplanation, explain_batch
from khabar.repair import Repair
from khabar.store import Store

VERSION = 1
DDL = """
CREATE TABLE IF NOT EXISTS explain_novelty (
    doc INTEGER NOT NULL,             -- documents.n
    idx INTEGER NOT NULL,             -- sentence index in the document
    start INTEGER NOT NULL, end INTEGER NOT NULL,
    status TEXT NOT NULL,             -- new | repeated
    first_doc INTEGER, first_start INTEGER, first_end INTEGER,
    evidence TEXT,                    -- reuse | paraphrase
    similarity REAL NOT NULL,
    PRIMARY KEY (doc, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS explain_summary (
    story TEXT NOT NULL,
    rank INTEGER NOT NULL,
    doc INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL,
    text TEXT NOT NULL,
    carriers TEXT NOT NULL,           -- JSON list of document ids
    outlets TEXT NOT NULL,            -- JSON list of outlets
    exclusive INTEGER NOT NULL,
    PRIMARY KEY (story, rank)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS explain_attributions (
    doc INTEGER NOT NULL,
    kind TEXT NOT NULL, cue TEXT, start INTEGER NOT NULL, end INTEGER NOT NULL,
    speaker TEXT, speaker_start INTEGER, speaker_end INTEGER,
    quote TEXT, quote_start INTEGER, quote_end INTEGER
);
CREATE INDEX IF NOT EXISTS explain_attributions_doc ON explain_attributions(doc);
CREATE TABLE IF NOT EXISTS explain_mentions (
    doc INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL,
    text TEXT NOT NULL, kind TEXT NOT NULL, canonical TEXT
);
CREATE INDEX IF NOT EXISTS explain_mentions_doc ON explain_mentions(doc);
"""


def declare(store: Store) -> None:
    store.declare("explain", VERSION, DDL)


def _declared(store: Store) -> bool:
    row = store.db.execute("SELECT 1 FROM components WHERE name='explain'").fetchone()
    return row is not None


def save(store: Store, explanations: Iterable[StoryExplanation]) -> int:
    """Store explanations (one transaction); returns how many stories were written."""
    declare(store)
    items = list(explanations)
    ids = sorted({d for e in items for d in e.docs} | {
        s.first_doc for e in items for marks in e.novelty.values() for s in marks if s.first_doc})
    n_of = {i: v[0] for i, v in store.existing(ids).items()}
    with store.transaction() as db:
        for e in items:
            ns = [n_of[d] for d in e.docs if d in n_of]
            db.execute("DELETE FROM explain_summary WHERE story=?", (e.story,))
            for table in ("explain_novelty", "explain_attributions", "explain_mentions"):
                db.executemany(f"DELETE FROM {table} WHERE doc=?", [(n,) for n in ns])
            db.executemany(
                "INSERT OR REPLACE INTO explain_novelty VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(n_of[s.doc], s.index, s.start, s.end, s.status,
                  n_of.get(s.first_doc) if s.first_doc else None, s.first_start, s.first_end,
                  s.evidence, s.similarity)
                 for marks in e.novelty.values() for s in marks if s.doc in n_of])
            db.executemany(
                "INSERT INTO explain_summary VALUES (?,?,?,?,?,?,?,?,?)",
                [(e.story, k, n_of[s.doc], s.start, s.end, s.text,
                  json.dumps(list(s.carriers), ensure_ascii=False),
                  json.dumps(list(s.outlets), ensure_ascii=False), int(s.exclusive))
                 for k, s in enumerate(e.summary) if s.doc in n_of])
            db.executemany(
                "INSERT INTO explain_attributions VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(n_of[a.doc], a.kind, a.cue, a.start, a.end, a.speaker, a.speaker_start,
                  a.speaker_end, a.quote, a.quote_start, a.quote_end)
                 for atts in e.attributions.values() for a in atts if a.doc in n_of])
            db.executemany(
                "INSERT INTO explain_mentions VALUES (?,?,?,?,?,?)",
                [(n_of[m.doc], m.start, m.end, m.text, m.kind, m.canonical)
                 for ms in e.mentions.values() for m in ms if m.doc in n_of])
    return len(items)


def run(
    store: Store,
    stories: Iterable[tuple[str, Sequence[str]]],
    passages: Iterable[Any] | None = None,
    params: ExplainParams | None = None,
    batch_size: int = 50,
    workers: int | Engine = 1,
) -> dict[str, int]:
    """Explain stored stories ((story id, member ids) pairs) and store the results.

    Documents come with their stored repairs; `passages` (reuse passages of the
    corpus) are handed to each story they fall in. Stories are explained by
    `explain_batch` on `workers` (local processes or an engine), `batch_size`
    stories at a time, and saved in input order. Returns counts.
    """
    by_doc: dict[str, list[Any]] = {}
    for p in passages or ():
        by_doc.setdefault(p.a, []).append(p)

    def jobs() -> Iterator[tuple[str, list[Document], list[Repair | None], list[Any]]]:
        # read in this thread: the store's connection is not for the engine's workers
        for sid, members in stories:
            docs, reps = [], []
            for batch in store.documents(ids=list(members)):
                for doc, rep in batch:
                    docs.append(doc)
                    reps.append(rep)
            if not docs:
                continue
            member_set = {d.id for d in docs}
            pas = [p for d in docs for p in by_doc.get(d.id, ()) if p.b in member_set]
            yield str(sid), docs, reps, pas

    counts = {"stories": 0, "sentences": 0, "repeated": 0, "attributions": 0, "mentions": 0}
    for done in get_engine(workers).map(explain_batch, batched(jobs(), batch_size), params):
        for e in done:
            counts["stories"] += 1
            for marks in e.novelty.values():
                counts["sentences"] += len(marks)
                counts["repeated"] += sum(1 for s in marks if s.status == "repeated")
            counts["attributions"] += sum(len(a) for a in e.attributions.values())
            counts["mentions"] += sum(len(m) for m in e.mentions.values())
        save(store, done)
    return counts


# -- loaders (what the report reads) ------------------------------------------------------------


def _ids(store: Store) -> dict[int, str]:
    return dict(store.db.execute("SELECT n, id FROM documents"))


def load_novelty(store: Store) -> list[SentenceNovelty]:
    if not _declared(store):
        return []
    ids = _ids(store)
    return [SentenceNovelty(ids[d], i, s, e, st, ids.get(fd) if fd is not None else None, fs, fe,
                            ev, sim)
            for d, i, s, e, st, fd, fs, fe, ev, sim in store.db.execute(
                "SELECT * FROM explain_novelty ORDER BY doc, idx") if d in ids]


def load_summaries(store: Store) -> dict[str, list[Any]]:
    from khabar.explain.summary import SummarySentence

    if not _declared(store):
        return {}
    ids = _ids(store)
    out: dict[str, list[Any]] = {}
    for story, _rank, d, s, e, text, carriers, outlets, excl in store.db.execute(
            "SELECT * FROM explain_summary ORDER BY story, rank"):
        if d in ids:
            out.setdefault(story, []).append(SummarySentence(
                ids[d], s, e, text, tuple(json.loads(carriers)), tuple(json.loads(outlets)),
                bool(excl)))
    return out


def load_attributions(store: Store) -> list[Attribution]:
    if not _declared(store):
        return []
    ids = _ids(store)
    return [Attribution(ids[row[0]], *row[1:]) for row in store.db.execute(
        "SELECT * FROM explain_attributions ORDER BY doc, start, kind") if row[0] in ids]


def load_mentions(store: Store) -> list[Mention]:
    if not _declared(store):
        return []
    ids = _ids(store)
    return [Mention(ids[row[0]], *row[1:]) for row in store.db.execute(
        "SELECT * FROM explain_mentions ORDER BY doc, start") if row[0] in ids]


__all__ = ["declare", "load_attributions", "load_mentions", "load_novelty", "load_summaries",
           "run", "save"]
