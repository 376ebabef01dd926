"""Ingest: read inputs, repair, and store, in batches that survive being killed.

    from khabar.ingest import ingest
    report = ingest(["articles.jsonl.gz"], "khabar.db")
    print(report.summary())

Each batch is one transaction. Re-running over the same inputs finds every
stored document unchanged, so a run killed mid-way resumes by simply running
again. After the last batch, a corpus pass applies the repairs that need the
whole collection (outlet boilerplate, glued headlines linked to the document
they belong to) to the documents they concern.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khabar.document import Document
from khabar.engine.local import batched
from khabar.errors import Problem, ProblemLog
from khabar.repair import (
    RepairContext,
    RepairOptions,
    TitleIndex,
    document_line_hashes,
    find_tail,
    headline_keys,
    line_key,
    repair,
)
from khabar.store import DEFAULT_DB, Store, content_hash

DEFAULT_BATCH = 500


@dataclass
class IngestReport:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    """Skipped records and files by reason (decode, json, no-text, …)."""
    repaired_in_context: int = 0
    """Documents whose repair changed once the whole corpus was known."""
    problems: list[Problem] = field(default_factory=list)

    @property
    def read(self) -> int:
        return self.new + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        return {"new": self.new, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": dict(self.skipped), "repaired_in_context": self.repaired_in_context}

    def summary(self) -> str:
        skipped = sum(self.skipped.values())
        line = (f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
                f"{skipped} skipped")
        if skipped:
            line += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items())) + ")"
        return line


def ingest(
    inputs: str | Path | Iterable[str | Path] | Iterable[Document],
    store: Store | str | Path = DEFAULT_DB,
    *,
    fields: Any = None,
    batch_size: int = DEFAULT_BATCH,
    on_problem: Callable[[Problem], None] | None = None,
    progress: Callable[[int], None] | None = None,
    repair_options: RepairOptions | None = None,
) -> IngestReport:
    """Read `inputs` (paths, or `Document`s already in memory) into `store`.

    `on_problem` sees every bad record as it is skipped; `progress` is called
    with the number of records handled after each batch.
    """
    own = not isinstance(store, Store)
    db = Store(store) if own else store
    try:
        return _ingest(inputs, db, fields, batch_size, on_problem, progress, repair_options)
    finally:
        if own:
            db.close()


def _ingest(inputs, db: Store, fields, batch_size, on_problem, progress, repair_options
            ) -> IngestReport:
    opts = repair_options or RepairOptions()
    log = ProblemLog()

    def sink(p: Problem) -> None:
        log(p)
        if on_problem is not None:
            on_problem(p)

    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    inputs = list(inputs)
    if inputs and all(isinstance(x, Document) for x in inputs):
        docs: Iterable[Document] = inputs
    else:
        from khabar.io.readers import Fields, read

        docs = read(inputs, fields=fields or Fields(), on_problem=sink)

    report = IngestReport()
    run = db.start_run("ingest")
    done = 0
    flushed = 0
    for batch in batched(docs, batch_size):
        with db.transaction():
            existing = db.existing([d.id for d in batch])
            for doc in batch:
                digest = content_hash(doc)
                prev = existing.get(doc.id)
                if prev is not None and prev[2] == digest:
                    report.unchanged += 1
                    continue
                rep = repair(doc.text, doc.id, doc.source, None, opts)
                tail = find_tail(doc.text, opts)
                tail_key = line_key(tail.group("frag")) if tail else None
                n = db.write_document(
                    doc, digest, rep, tail_key,
                    document_line_hashes(doc.text, opts),
                    headline_keys(doc.text, doc.title, opts),
                    prev,
                )
                existing[doc.id] = (n, (prev[1] + 1) if prev else 1, digest)
                if prev is None:
                    report.new += 1
                else:
                    report.updated += 1
            db.add_problems(run, log.problems[flushed:])
            flushed = len(log.problems)
        done += len(batch)
        if progress is not None:
            progress(done)
    with db.transaction():
        db.add_problems(run, log.problems[flushed:])
        report.repaired_in_context = apply_corpus_repairs(db, opts)
    report.skipped = Counter(log.counts)
    report.problems = log.problems
    db.finish_run(run, report.as_dict())
    return report


def apply_corpus_repairs(db: Store, options: RepairOptions | None = None) -> int:
    """Re-repair the documents that corpus knowledge concerns; returns how many changed.

    Call inside a transaction. Only documents whose applicable knowledge (their
    boilerplate lines, their glued headline's target) differs from what their
    stored repair used are repaired again, so this stays cheap when re-run.
    """
    opts = options or RepairOptions()
    q = db.db.execute
    # a text one outlet publishes many times is copies of one article, not boilerplate:
    # documents with the same text (same length, same short lines) count once
    q("DROP TABLE IF EXISTS temp.text_keys")
    q("CREATE TEMP TABLE text_keys AS SELECT d.n AS doc, COALESCE(d.source, '') AS source, "
      "LENGTH(d.text) || ':' || COALESCE((SELECT GROUP_CONCAT(hash) FROM (SELECT hash FROM "
      "doc_lines WHERE doc = d.n ORDER BY hash)), '') AS key FROM documents d")
    per_source = dict(q("SELECT source, COUNT(DISTINCT key) FROM temp.text_keys GROUP BY source"))
    boiler: dict[str, set[str]] = defaultdict(set)
    for source, h, c in q(
        "SELECT l.source, l.hash, COUNT(DISTINCT k.key) FROM doc_lines l "
        "JOIN temp.text_keys k ON k.doc = l.doc WHERE l.source != '' "
        "GROUP BY l.source, l.hash HAVING COUNT(DISTINCT k.key) >= ?",
        (opts.boilerplate_min_docs,)
    ):
        if c >= opts.boilerplate_min_share * per_source.get(source, 0):
            boiler[source].add(h)

    affected: dict[int, dict[str, Any]] = defaultdict(lambda: {"hashes": set(), "link": None})
    for source, hashes in boiler.items():
        for doc, h in q("SELECT doc, hash FROM doc_lines WHERE source=?", (source,)):
            if h in hashes:
                affected[doc]["hashes"].add(h)

    for n, tail in q("SELECT n, tail_key FROM documents WHERE tail_key IS NOT NULL").fetchall():
        rows = q(
            "SELECT h.key, h.doc, d.id FROM headline_keys h JOIN documents d ON d.n = h.doc "
            "WHERE h.doc != ? AND (h.key = ? OR (h.key > ? AND h.key < ?)) "
            "ORDER BY h.key = ? DESC, h.doc LIMIT 1",
            (n, tail, tail + " ", tail + " \U0010ffff", tail),
        ).fetchone()
        if rows is not None:
            affected[n]["link"] = (rows[2], rows[1], tail)

    stale = {n for (n,) in q("SELECT n FROM documents WHERE context_sig IS NOT NULL")}
    changed = 0
    for n in sorted(set(affected) | stale):
        info = affected.get(n, {"hashes": set(), "link": None})
        sig = _signature(info)
        row = q("SELECT id, text, source, context_sig FROM documents WHERE n=?", (n,)).fetchone()
        doc_id, text, source, old_sig = row
        if sig == (old_sig or ""):
            continue
        link = info["link"]
        ctx = RepairContext(
            boilerplate={source or "": info["hashes"]} if info["hashes"] else {},
            titles=TitleIndex([(link[2], link[0])] if link else []),
        )
        rep = repair(text, doc_id, source, ctx, opts)
        db.update_repair(n, text, rep, sig or None)
        if link:
            glued = next((a for a in rep.actions if a.kind == "glued_headline"), None)
            if glued is not None:
                db.set_probable_title(link[1], glued.detail)
        changed += 1
    return changed


def _signature(info: dict[str, Any]) -> str:
    if not info["hashes"] and not info["link"]:
        return ""
    payload = ",".join(sorted(info["hashes"])) + "|" + (info["link"][0] if info["link"] else "")
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()
