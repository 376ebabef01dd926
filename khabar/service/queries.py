"""Reading the service's tables: search, stories, articles, outlets, people and places.

Every function takes a read connection (the server opens one per thread, read-only,
and runs each request in one read transaction, so a request sees one snapshot while
the analysis writes) and returns plain JSON-ready values. Usable without the server:

    import sqlite3
    from khabar.service import queries
    conn = sqlite3.connect("file:news.db?mode=ro", uri=True)
    print(queries.search(conn, "وزارة الصحة")["total"])
"""

from __future__ import annotations

import heapq
import json
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from khabar.errors import KhabarError
from khabar.service import search as s

MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Filters:
    outlet: str | None = None
    start: str | None = None
    end: str | None = None
    person: str | None = None
    place: str | None = None


def day(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        raise KhabarError(f"{name}={value!r}: give a date as YYYY-MM-DD") from None


def paging(limit: Any, offset: Any, default: int = 20) -> tuple[int, int]:
    try:
        lim = default if limit in (None, "") else int(limit)
        off = 0 if offset in (None, "") else int(offset)
    except ValueError:
        raise KhabarError("limit and offset must be whole numbers") from None
    if not 1 <= lim <= MAX_LIMIT or off < 0 or off > 100_000:
        raise KhabarError(f"limit must be 1 to {MAX_LIMIT}, offset 0 to 100000")
    return lim, off


def _where(f: Filters) -> tuple[str, list[Any]]:
    parts, args = [], []
    if f.outlet:
        parts.append("d.source = ?")
        args.append(f.outlet)
    if f.start:
        parts.append("d.day >= ?")
        args.append(f.start)
    if f.end:
        parts.append("d.day <= ?")
        args.append(f.end)
    for kind, name in (("person", f.person), ("place", f.place)):
        if name:
            parts.append("EXISTS (SELECT 1 FROM svc_mentions m WHERE m.n = d.n AND m.type = ? "
                         "AND m.name = ?)")
            args += [kind, name]
    return (" AND " + " AND ".join(parts)) if parts else "", args


def search(conn: sqlite3.Connection, q: str, filters: Filters = Filters(), limit: int = 20,
           offset: int = 0, facets: bool = True) -> dict[str, Any]:
    """Hits of `q` (best first), each with ORIGINAL-offset highlights; total and facets."""
    query = s.parse(q)
    where, args = _where(filters)
    base = f"FROM svc_fts JOIN svc_docs d ON d.n = svc_fts.rowid WHERE svc_fts MATCH ?{where}"
    try:
        if facets:
            # one full-text match: every matching article with its rank (the total and the
            # facets are counted from these rows; the page is the best of them)
            matched = conn.execute(
                f"SELECT d.n, d.source, d.day, bm25(svc_fts, 2.0, 1.0), d.ts {base}",
                [query.fts, *args]).fetchall()
            total = len(matched)
            # the order of ORDER BY bm25, ts DESC (SQLite puts a missing ts last)
            best = sorted(matched, key=lambda r: (r[3], r[4] is None, -(r[4] or 0.0)))
            ns = [r[0] for r in best[offset:offset + limit]]
        else:
            matched = None
            total = conn.execute(f"SELECT COUNT(*) {base}", [query.fts, *args]).fetchone()[0]
            ns = [r[0] for r in conn.execute(
                f"SELECT d.n {base} ORDER BY bm25(svc_fts, 2.0, 1.0), d.ts DESC "
                "LIMIT ? OFFSET ?", [query.fts, *args, limit, offset])]
        # the page's keys, token offsets and texts in one read; highlights marked here from
        # the query's phrases (FTS5's highlight() would run the match again on every row)
        page = {r[0]: r[1:] for r in conn.execute(
            "SELECT f.rowid, d.story, d.starts, d.ends, f.body, doc.id, doc.title, "
            "doc.source, doc.date, doc.text FROM json_each(?) j "
            "CROSS JOIN svc_fts f ON f.rowid = j.value JOIN svc_docs d ON d.n = f.rowid "
            "JOIN documents doc ON doc.n = f.rowid", (json.dumps(ns),))} if ns else {}
    except sqlite3.OperationalError as exc:
        raise KhabarError(f"cannot search for {q!r} ({exc})") from None
    hits = []
    for n in ns:
        story, starts, ends, keys, *doc = page[n]
        spans = s.highlights(s.phrase_tokens(keys or "", query.phrases), starts, ends)
        snip, at = s.snippet(doc[4], spans)
        hits.append({"doc": doc[0], "story": story, "title": doc[1], "source": doc[2],
                     "date": doc[3], "snippet": snip, "snippet_start": at,
                     "highlights": spans})
    out: dict[str, Any] = {"query": q, "total": total, "hits": hits}
    if matched is not None:
        out["facets"] = _facets(conn, matched)
    return out


def _ranked(counts: Counter[str], limit: int, by_name: bool = False) -> list[list[Any]]:
    """The `limit` most frequent (ties by name), or the `limit` last by name."""
    if by_name:
        items = heapq.nlargest(limit, counts.items(), key=lambda kv: kv[0])
    else:
        items = heapq.nsmallest(limit, counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [[k, v] for k, v in items]


def _facets(conn: sqlite3.Connection, matched: list[tuple[int, str | None, str | None]]
            ) -> dict[str, Any]:
    """Counts by outlet (15 largest), day (31 latest), person and place (15 most named)
    among the matching articles."""
    out = {"outlet": _ranked(Counter(r[1] for r in matched if r[1] is not None), 15),
           "day": _ranked(Counter(r[2] for r in matched if r[2] is not None), 31,
                          by_name=True)}
    counts: dict[str, Counter[str]] = {"person": Counter(), "place": Counter()}
    for kind, name, k in conn.execute(
            # from the matching articles to their mentions (CROSS JOIN keeps that order)
            "SELECT m.type, m.name, COUNT(DISTINCT m.n) FROM json_each(?) j CROSS JOIN "
            "svc_mentions m ON m.n = j.value WHERE m.type IN ('person', 'place') "
            "GROUP BY m.type, m.name", (json.dumps([r[0] for r in matched]),)):
        counts[kind][name] = k
    out["person"] = _ranked(counts["person"], 15)
    out["place"] = _ranked(counts["place"], 15)
    return out


# -- stories ------------------------------------------------------------------------------------


def resolve_story(conn: sqlite3.Connection, story: int) -> int:
    """The story a (possibly absorbed) story id now lives in."""
    for _ in range(64):
        row = conn.execute("SELECT into_story FROM svc_story_alias WHERE story=?",
                           (story,)).fetchone()
        if row is None:
            return story
        story = int(row[0])
    return story


def story_row(r: sqlite3.Row | tuple) -> dict[str, Any]:
    return {"story": r[0], "title": r[1], "first_seen": r[2], "last_seen": r[3],
            "members": r[4], "sources": json.loads(r[5]), "page": f"/stories/{r[6]}",
            "version": r[7]}


_STORY_COLS = ("s.story, s.title, s.first_seen, s.last_seen, s.size, s.sources, s.filename, "
               "s.version")


def stories(conn: sqlite3.Connection, q: str | None = None, filters: Filters = Filters(),
            limit: int = 20, offset: int = 0, order: str = "last") -> dict[str, Any]:
    """Stories, latest first (`order` "last"), growing first ("size"), or those with an article
    matching `q` (and the filters)."""
    parts, args = [], []
    if q:
        query = s.parse(q)
        where, wargs = _where(filters)
        parts.append("s.story IN (SELECT d.story FROM svc_fts JOIN svc_docs d ON "
                     f"d.n = svc_fts.rowid WHERE svc_fts MATCH ?{where})")
        args += [query.fts, *wargs]
    else:
        if filters.outlet:
            parts.append("s.story IN (SELECT story FROM svc_docs WHERE source = ?)")
            args.append(filters.outlet)
        if filters.start:
            parts.append("s.last_seen >= ?")
            args.append(filters.start)
        if filters.end:
            parts.append("s.first_seen <= ?")
            args.append(filters.end + "T23:59:59Z")
    where = ("WHERE " + " AND ".join(parts)) if parts else ""
    by = "s.size DESC, s.last_ts DESC" if order == "size" else "s.last_ts DESC, s.story DESC"
    try:
        total = conn.execute(f"SELECT COUNT(*) FROM svc_stories s {where}", args).fetchone()[0]
        rows = conn.execute(f"SELECT {_STORY_COLS} FROM svc_stories s {where} ORDER BY {by} "
                            "LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
    except sqlite3.OperationalError as exc:
        raise KhabarError(f"cannot search for {q!r} ({exc})") from None
    return {"total": total, "stories": [story_row(r) for r in rows]}


def story(conn: sqlite3.Connection, story_id: int) -> dict[str, Any] | None:
    sid = resolve_story(conn, story_id)
    row = conn.execute(f"SELECT {_STORY_COLS}, s.data FROM svc_stories s WHERE s.story=?",
                       (sid,)).fetchone()
    members = conn.execute(
        "SELECT doc.id, doc.title, doc.source, doc.date, d.score FROM svc_docs d JOIN documents "
        "doc ON doc.n = d.n WHERE d.story=? ORDER BY d.ts IS NULL, d.ts, doc.id",
        (sid,)).fetchall()
    if row is None and not members:
        return None
    out = story_row(row) if row is not None else {"story": sid, "title": None, "version": 0}
    # members are live (they change as soon as an article is assigned); the explanations
    # follow once the story is explained again
    out["members"] = [{"doc": m[0], "title": m[1], "source": m[2], "date": m[3],
                       "score": m[4]} for m in members]
    out["size"] = len(members)
    data = json.loads(row[8]) if row is not None and row[8] else {}
    for key in ("summary", "passages", "attributions"):
        out[key] = data.get(key, [])
    if sid != story_id:
        out["merged_from"] = story_id
    return out


def page_of_story(conn: sqlite3.Connection, key: str) -> tuple[int, str | None, int] | None:
    """(story, its rendered page, version) by id or by the page's file name."""
    if key.isdigit():
        sid = resolve_story(conn, int(key))
        row = conn.execute("SELECT story, page, version FROM svc_stories WHERE story=?",
                           (sid,)).fetchone()
    else:
        row = conn.execute("SELECT story, page, version FROM svc_stories WHERE filename=?",
                           (key,)).fetchone()
        if row is None:
            m = re.match(r"^(?:story-)?(\d+)-", key)
            if m:
                sid = resolve_story(conn, int(m.group(1)))
                row = conn.execute("SELECT story, page, version FROM svc_stories "
                                   "WHERE story=?", (sid,)).fetchone()
    return None if row is None else (int(row[0]), row[1], int(row[2]))


# -- articles, outlets, people and places ------------------------------------------------------


def article(conn: sqlite3.Connection, doc_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT doc.n, doc.id, doc.title, doc.source, doc.date, doc.url, "
                       "doc.text, d.story, d.score, doc.probable_title FROM documents doc "
                       "LEFT JOIN svc_docs d ON d.n = doc.n WHERE doc.id=?",
                       (doc_id,)).fetchone()
    if row is None:
        return None
    n = row[0]
    passages = [json.loads(r[0]) for r in conn.execute(
        "SELECT record FROM svc_passages WHERE a=? OR b=? ORDER BY rowid", (n, n))]
    quotes = [{"kind": k, "speaker": sp, "cue": [cs, ce],
               "content": None if qs is None else [qs, qe]}
              for k, sp, cs, ce, qs, qe in conn.execute(
                  "SELECT kind, speaker, cue_start, cue_end, content_start, content_end FROM "
                  "svc_quotes WHERE n=? ORDER BY cue_start", (n,))]
    mentions = [{"type": t, "name": nm, "span": [a, b]} for t, nm, a, b in conn.execute(
        'SELECT type, name, start, "end" FROM svc_mentions WHERE n=? ORDER BY start', (n,))]
    queued = conn.execute("SELECT 1 FROM svc_queue WHERE n=?", (n,)).fetchone() is not None
    return {"id": row[1], "title": row[2] or row[9], "source": row[3], "date": row[4],
            "url": row[5], "text": row[6], "story": row[7], "score": row[8],
            "analyzed": row[7] is not None and not queued, "passages": passages,
            "attributions": quotes, "mentions": mentions}


def outlet(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
    """What an outlet publishes first, whom it copies and who copies it."""
    count = conn.execute("SELECT COUNT(*) FROM svc_docs WHERE source=?", (name,)).fetchone()[0]
    stories_in = conn.execute("SELECT COUNT(DISTINCT story) FROM svc_docs WHERE source=?",
                              (name,)).fetchone()[0]
    first = conn.execute(
        "SELECT COUNT(*) FROM (SELECT story, (SELECT source FROM svc_docs x WHERE x.story = "
        "d.story AND x.ts IS NOT NULL ORDER BY x.ts, x.n LIMIT 1) AS first FROM svc_docs d "
        "WHERE d.source=? GROUP BY story HAVING COUNT(*) >= 1) WHERE first=?",
        (name, name)).fetchone()[0]
    copies_from: dict[str, int] = {}
    copied_by: dict[str, int] = {}
    for rec, sa, sb, ida, _idb in conn.execute(
            "SELECT p.record, da.source, db.source, xa.id, xb.id FROM svc_passages p "
            "JOIN svc_docs da ON da.n = p.a JOIN svc_docs db ON db.n = p.b "
            "JOIN documents xa ON xa.n = p.a JOIN documents xb ON xb.n = p.b "
            "WHERE da.source = ? OR db.source = ?", (name, name)):
        src = json.loads(rec).get("source")
        if src is None:
            continue
        origin, copier = (sa, sb) if src == ida else (sb, sa)
        if copier == name and origin and origin != name:
            copies_from[origin] = copies_from.get(origin, 0) + 1
        elif origin == name and copier and copier != name:
            copied_by[copier] = copied_by.get(copier, 0) + 1
    latest = stories(conn, filters=Filters(outlet=name), limit=20)["stories"]

    def ranked(d: dict[str, int]) -> list[list[Any]]:
        return [[k, v] for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))]

    return {"outlet": name, "articles": count, "stories": stories_in, "first_in": first,
            "copies_from": ranked(copies_from), "copied_by": ranked(copied_by),
            "latest": latest}


def entity(conn: sqlite3.Connection, kind: str, name: str) -> dict[str, Any]:
    """A person's or a place's stories and (for people) their quotes over time."""
    rows = conn.execute(
        f"SELECT {_STORY_COLS} FROM svc_stories s WHERE s.story IN (SELECT d.story FROM "
        "svc_mentions m JOIN svc_docs d ON d.n = m.n WHERE m.type=? AND m.name=?) "
        "ORDER BY s.last_ts DESC LIMIT 50", (kind, name)).fetchall()
    quotes = []
    if kind == "person":
        for doc_id, source, when, story_id, text, cs, ce, qs, qe in conn.execute(
                "SELECT doc.id, doc.source, doc.date, d.story, doc.text, q.cue_start, q.cue_end, "
                "q.content_start, q.content_end FROM svc_quotes q JOIN svc_docs d ON d.n = q.n "
                "JOIN documents doc ON doc.n = q.n WHERE q.speaker=? ORDER BY d.ts DESC "
                "LIMIT 100", (name,)):
            said = text[qs:qe] if qs is not None else text[cs:ce]
            quotes.append({"doc": doc_id, "source": source, "date": when, "story": story_id,
                           "text": said[:400], "span": [qs, qe] if qs is not None else [cs, ce]})
    mentions = conn.execute("SELECT COUNT(DISTINCT n) FROM svc_mentions WHERE type=? AND name=?",
                            (kind, name)).fetchone()[0]
    return {"type": kind, "name": name, "articles": mentions,
            "stories": [story_row(r) for r in rows], "quotes": quotes}


def stats(conn: sqlite3.Connection) -> dict[str, Any]:
    q = conn.execute
    return {
        "documents": q("SELECT COUNT(*) FROM documents").fetchone()[0],
        "analyzed": q("SELECT COUNT(*) FROM svc_docs").fetchone()[0],
        "queued": q("SELECT COUNT(*) FROM svc_queue").fetchone()[0],
        "stories": q("SELECT COUNT(*) FROM svc_stories").fetchone()[0],
        "outlets": q("SELECT COUNT(DISTINCT source) FROM svc_docs").fetchone()[0],
        "passages": q("SELECT COUNT(*) FROM svc_passages").fetchone()[0],
        "duplicate_pairs": q("SELECT COUNT(*) FROM svc_dup_pairs").fetchone()[0],
        "last_seen": q("SELECT MAX(last_seen) FROM svc_stories").fetchone()[0],
    }


def version(conn: sqlite3.Connection, story_id: int | None = None) -> str:
    """What a live page compares: the story's version, or the collection's."""
    if story_id is not None:
        row = conn.execute("SELECT version, size FROM svc_stories WHERE story=?",
                           (resolve_story(conn, story_id),)).fetchone()
        return "0" if row is None else f"{row[0]}"
    row = conn.execute("SELECT COUNT(*), TOTAL(version) FROM svc_stories").fetchone()
    docs = conn.execute("SELECT COUNT(*) FROM svc_docs").fetchone()[0]
    return f"{docs}-{row[0]}-{int(row[1])}"


def job(conn: sqlite3.Connection, job_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT job, created, origin, accepted, rejected, analyzed, stage, "
                       "finished FROM svc_jobs WHERE job=?", (job_id,)).fetchone()
    if row is None:
        return None
    return {"job": row[0], "created": row[1], "origin": row[2], "accepted": row[3],
            "rejected": row[4], "analyzed": row[5], "pending": row[3] - row[5],
            "stage": row[6], "done": row[6] == "done", "finished": row[7]}


__all__ = ["Filters", "article", "day", "entity", "job", "outlet", "page_of_story", "paging",
           "search", "stats", "stories", "story", "version"]
