"""The embedded database: one SQLite file (WAL mode) holding everything khabar knows.

Documents are stored with their original text, their repaired text and the
offset map between the two. Writes happen in batches, each in one
transaction, so a run killed at any moment loses at most the batch in flight
and the next run picks up where it stopped (finished documents come back as
"unchanged").

Each later stage owns its own tables and declares them with
`Store.declare(component, version, ddl)`; the store keeps one schema version
per component and refuses a database written by a newer khabar.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from khabar.document import Document
from khabar.errors import KhabarError, Problem
from khabar.repair import Repair, RepairAction
from khabar.text.offsets import OffsetMap

SCHEMA_VERSION = 2
DEFAULT_DB = "khabar.db"

_CORE_DDL = """
CREATE TABLE IF NOT EXISTS components (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    n INTEGER PRIMARY KEY,            -- compact integer key for other tables
    id TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,               -- the original, exactly as decoded
    title TEXT,
    source TEXT,
    date TEXT,                        -- ISO 8601 UTC, or NULL
    ts REAL,                          -- the same as a unix timestamp
    date_raw TEXT,
    url TEXT,
    meta TEXT,                        -- JSON object of other input fields
    origin TEXT,
    repaired TEXT,                    -- NULL when the repair changed nothing
    repair_map BLOB,
    repairs TEXT,                     -- JSON list of repair actions (original offsets)
    probable_title TEXT,
    tail_key TEXT,                    -- a possible glued headline at the end, normalized
    context_sig TEXT,                 -- corpus knowledge the current repair used
    ingested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE INDEX IF NOT EXISTS documents_ts ON documents(ts);
CREATE INDEX IF NOT EXISTS documents_tail ON documents(tail_key) WHERE tail_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS document_versions (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    title TEXT, source TEXT, date TEXT, ts REAL, date_raw TEXT, url TEXT, meta TEXT, origin TEXT,
    replaced_at TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS doc_lines (
    doc INTEGER NOT NULL,
    source TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS doc_lines_key ON doc_lines(source, hash);
CREATE INDEX IF NOT EXISTS doc_lines_doc ON doc_lines(doc);
CREATE TABLE IF NOT EXISTS headline_keys (
    key TEXT NOT NULL,
    doc INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS headline_keys_key ON headline_keys(key);
CREATE INDEX IF NOT EXISTS headline_keys_doc ON headline_keys(doc);
CREATE TABLE IF NOT EXISTS runs (
    run INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    counts TEXT
);
CREATE TABLE IF NOT EXISTS problems (
    file TEXT NOT NULL,               -- as reported: the path given, or archive.zip!member
    line INTEGER NOT NULL,            -- 0 when the problem concerns the whole file
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    first_run INTEGER NOT NULL,       -- the runs that met it first and last
    last_run INTEGER NOT NULL,
    PRIMARY KEY (file, line, reason)
) WITHOUT ROWID;
"""

_CORE_MIGRATE = {
    # 1 -> 2: problems were one row per run that met them (counted again by every rerun
    # after a crash); now one row per (file, line, reason)
    1: """
ALTER TABLE problems RENAME TO problems_v1;
CREATE TABLE problems (
    file TEXT NOT NULL,
    line INTEGER NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    first_run INTEGER NOT NULL,
    last_run INTEGER NOT NULL,
    PRIMARY KEY (file, line, reason)
) WITHOUT ROWID;
INSERT INTO problems SELECT file, COALESCE(line, 0), reason, MAX(message), MIN(run), MAX(run)
    FROM problems_v1 GROUP BY file, COALESCE(line, 0), reason;
DROP TABLE problems_v1
""",
}

_DOC_COLUMNS = ("id", "text", "title", "source", "date", "ts", "date_raw", "url", "meta", "origin")


def _uri(path: Path, readonly: bool) -> str:
    """An SQLite URI for `path`: percent-encoded, so a name holding ``?`` or ``#`` opens
    the file it names."""
    return path.resolve().as_uri() + ("?mode=ro" if readonly else "")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def content_hash(doc: Document) -> str:
    """What "same content" means for ingest: text and every metadata field."""
    payload = json.dumps(
        [doc.text, doc.title, doc.source, doc.date_raw, iso(doc.date), doc.url, doc.meta],
        ensure_ascii=False, sort_keys=True, default=str,
    )
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()


class Store:
    """A khabar database. Use as a context manager or call `close()`."""

    def __init__(self, path: str | Path = DEFAULT_DB, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._snapshot: sqlite3.Connection | None = None
        if readonly and not self.path.exists():
            raise KhabarError(f"{self.path}: no such database (run `khabar ingest` first)")
        if self.path.is_dir():
            raise KhabarError(f"{self.path}: is a directory, not a database file")
        parent = self.path.parent
        if not readonly and not parent.is_dir():
            # a typo in --db must not leave a tree of new folders behind
            what = "is not a folder" if parent.exists() else "does not exist"
            raise KhabarError(f"{self.path}: the folder {parent} {what}; create it first")
        try:
            self.db = sqlite3.connect(_uri(self.path, readonly), uri=True, timeout=60,
                                      isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            if not readonly:
                self.db.executescript(_CORE_DDL)
            self._check_version("core", SCHEMA_VERSION, readonly)
            if not readonly:
                self._migrate_core()
        except sqlite3.DatabaseError as exc:
            raise KhabarError(f"{self.path}: not a usable khabar database ({exc})") from None

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def read(self) -> sqlite3.Connection:
        """The connection to read the collection with (documents and everything ingest
        writes): inside `snapshot()` its one read transaction, else the live connection."""
        return self._snapshot if self._snapshot is not None else self.db

    @contextmanager
    def snapshot(self) -> Iterator[Store]:
        """Read the collection as of one moment, whatever other processes write meanwhile.

        Opens a second, read-only connection and a read transaction on it
        (deferred ``BEGIN``, then a first read: in WAL mode that read fixes the
        snapshot), used by `read` and by every document method of the store
        (`documents`, `get`, `count`, `ids`, `stats`) until the block ends. A
        stage run inside one sees one set of documents from start to end: a
        `khabar ingest` committing batches meanwhile cannot add a document
        between two of its reads. Writes are untouched: `db` and
        `transaction()` stay on the live connection, so a stage keeps writing
        (and reading back) its own tables; the snapshot only holds the WAL back
        from being checkpointed past it. Nested snapshots share the outer one.
        """
        if self._snapshot is not None:
            yield self
            return
        conn = sqlite3.connect(_uri(self.path, readonly=True), uri=True, timeout=60,
                               isolation_level=None)
        try:
            conn.execute("BEGIN")
            conn.execute("SELECT COUNT(*) FROM components").fetchone()
        except BaseException:
            conn.close()
            raise
        self._snapshot = conn
        try:
            yield self
        finally:
            self._snapshot = None
            try:
                conn.execute("ROLLBACK")  # it only ever read
            finally:
                conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def _check_version(self, name: str, version: int, readonly: bool) -> None:
        row = self.db.execute("SELECT version FROM components WHERE name=?", (name,)).fetchone()
        if row is None:
            if not readonly:
                self.db.execute("INSERT INTO components VALUES (?, ?)", (name, version))
            return
        if row[0] > version:
            raise KhabarError(
                f"{self.path}: written by a newer khabar ({name} schema {row[0]} > {version})"
            )

    def _migrate_core(self) -> None:
        """Bring the core tables of an older database to `SCHEMA_VERSION` (documents untouched)."""
        row = self.db.execute("SELECT version FROM components WHERE name='core'").fetchone()
        if row is None or row[0] >= SCHEMA_VERSION:
            return
        with self.transaction():
            # another process may have migrated while this one waited for the lock
            current = self.db.execute(
                "SELECT version FROM components WHERE name='core'").fetchone()[0]
            while current < SCHEMA_VERSION:
                for statement in _CORE_MIGRATE[current].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                current += 1
            self.db.execute("UPDATE components SET version=? WHERE name='core'",
                            (SCHEMA_VERSION,))

    def declare(self, name: str, version: int, ddl: str, migrate: dict[int, str] | None = None
                ) -> None:
        """Create a component's tables, or migrate them from an older version.

        `migrate` maps an old version to the SQL that brings it to the next one.
        """
        row = self.db.execute("SELECT version FROM components WHERE name=?", (name,)).fetchone()
        if row is not None and row[0] > version:
            raise KhabarError(
                f"{self.path}: written by a newer khabar ({name} schema {row[0]} > {version})"
            )
        with self.transaction():
            current = row[0] if row else version
            while current < version:
                step = (migrate or {}).get(current)
                if step is None:
                    raise KhabarError(f"{self.path}: cannot upgrade {name} schema from {current}")
                for statement in step.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                current += 1
            for statement in ddl.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute(
                "INSERT INTO components VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET version=?",
                (name, version, version),
            )

    def ingest(self, inputs: Any, **options: Any) -> Any:
        """Read `inputs` into this store; see `khabar.ingest.ingest` for the options."""
        from khabar.ingest import ingest

        return ingest(inputs, self, **options)

    # -- runs and problems ------------------------------------------------------------------

    def start_run(self, command: str) -> int:
        cur = self.db.execute("INSERT INTO runs(command, started) VALUES (?, ?)",
                              (command, now_iso()))
        return int(cur.lastrowid)

    def finish_run(self, run: int, counts: dict[str, Any]) -> None:
        self.db.execute("UPDATE runs SET finished=?, counts=? WHERE run=?",
                        (now_iso(), json.dumps(counts, ensure_ascii=False), run))

    def add_problems(self, run: int, problems: Iterable[Problem]) -> None:
        """Record problems met by `run`: one row per (file, line, reason), however many runs
        meet it (a rerun after a crash re-reads the same bad records)."""
        rows = [(p.file, p.line or 0, p.reason, p.message, run, run) for p in problems]
        if rows:
            self.db.executemany(
                "INSERT INTO problems (file, line, reason, message, first_run, last_run) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (file, line, reason) DO UPDATE SET "
                "message=excluded.message, last_run=excluded.last_run", rows)

    # -- documents --------------------------------------------------------------------------

    def existing(self, ids: Sequence[str]) -> dict[str, tuple[int, int, str]]:
        """id -> (n, version, content_hash) for the ids already stored."""
        out: dict[str, tuple[int, int, str]] = {}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT id, n, version, content_hash FROM documents WHERE id IN ({marks})", chunk
            ):
                out[row[0]] = (row[1], row[2], row[3])
        return out

    def write_document(
        self, doc: Document, digest: str, rep: Repair, tail_key: str | None,
        lines: Iterable[str], headline_keys: Iterable[str],
        previous: tuple[int, int, str] | None,
    ) -> int:
        """Insert or update one document (call inside `transaction`); returns its `n`."""
        now = now_iso()
        row = _doc_row(doc)
        repair_cols = _repair_row(doc.text, rep)
        if previous is None:
            cur = self.db.execute(
                f"INSERT INTO documents ({', '.join(_DOC_COLUMNS)}, version, content_hash, "
                "repaired, repair_map, repairs, probable_title, tail_key, context_sig, "
                "ingested_at, updated_at) VALUES "
                f"({', '.join('?' * len(_DOC_COLUMNS))}, 1, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (*row, digest, *repair_cols, tail_key, now, now),
            )
            n = int(cur.lastrowid)
        else:
            n, version, _ = previous
            # keep the old version before overwriting it
            self.db.execute(
                "INSERT OR REPLACE INTO document_versions SELECT id, version, content_hash, text, "
                "title, source, date, ts, date_raw, url, meta, origin, ? FROM documents WHERE n=?",
                (now, n),
            )
            self.db.execute(
                f"UPDATE documents SET {', '.join(c + '=?' for c in _DOC_COLUMNS)}, version=?, "
                "content_hash=?, repaired=?, repair_map=?, repairs=?, probable_title=?, "
                "tail_key=?, context_sig=NULL, updated_at=? WHERE n=?",
                (*row, version + 1, digest, *repair_cols, tail_key, now, n),
            )
            self.db.execute("DELETE FROM doc_lines WHERE doc=?", (n,))
            self.db.execute("DELETE FROM headline_keys WHERE doc=?", (n,))
        source = doc.source or ""
        self.db.executemany("INSERT INTO doc_lines VALUES (?, ?, ?)",
                            [(n, source, h) for h in lines])
        self.db.executemany("INSERT INTO headline_keys VALUES (?, ?)",
                            [(k, n) for k in headline_keys])
        return n

    def update_repair(self, n: int, text: str, rep: Repair, context_sig: str) -> None:
        self.db.execute(
            "UPDATE documents SET repaired=?, repair_map=?, repairs=?, probable_title=?, "
            "context_sig=? WHERE n=?",
            (*_repair_row(text, rep), context_sig, n),
        )

    def set_probable_title(self, n: int, title: str) -> None:
        self.db.execute(
            "UPDATE documents SET probable_title=? WHERE n=? AND probable_title IS NULL",
            (title, n),
        )

    def count(self) -> int:
        return int(self.read.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    def ids(self) -> list[str]:
        return [r[0] for r in self.read.execute("SELECT id FROM documents ORDER BY n")]

    def get(self, doc_id: str) -> tuple[Document, Repair] | None:
        row = self.read.execute(f"SELECT {_SELECT} FROM documents WHERE id=?",
                                (doc_id,)).fetchone()
        return _from_row(row) if row else None

    def documents(
        self, ids: Sequence[str] | None = None, batch_size: int = 1000,
        since_n: int | None = None,
    ) -> Iterator[list[tuple[Document, Repair]]]:
        """Stored documents with their repairs, in batches, in insertion order."""
        if ids is not None:
            for i in range(0, len(ids), batch_size):
                chunk = list(ids[i : i + batch_size])
                marks = ",".join("?" * len(chunk))
                rows = self.read.execute(
                    f"SELECT {_SELECT} FROM documents WHERE id IN ({marks})", chunk
                ).fetchall()
                by_id = {r[0]: _from_row(r) for r in rows}
                yield [by_id[x] for x in chunk if x in by_id]
            return
        last = since_n or 0
        while True:
            rows = self.read.execute(
                f"SELECT {_SELECT}, n FROM documents WHERE n > ? ORDER BY n LIMIT ?",
                (last, batch_size),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][-1]
            yield [_from_row(r[:-1]) for r in rows]

    def versions(self, doc_id: str) -> list[dict[str, Any]]:
        cur = self.read.execute(
            "SELECT version, content_hash, title, date, replaced_at, text FROM document_versions "
            "WHERE id=? ORDER BY version", (doc_id,))
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur]

    def stats(self) -> dict[str, Any]:
        with self.snapshot():  # one moment for every count, even while ingest writes
            return self._stats()

    def _stats(self) -> dict[str, Any]:
        q = self.read.execute
        out: dict[str, Any] = {
            "database": str(self.path),
            "documents": q("SELECT COUNT(*) FROM documents").fetchone()[0],
            "characters": q("SELECT COALESCE(SUM(LENGTH(text)), 0) FROM documents").fetchone()[0],
            "old_versions": q("SELECT COUNT(*) FROM document_versions").fetchone()[0],
            "without_date": q("SELECT COUNT(*) FROM documents WHERE ts IS NULL").fetchone()[0],
            "repaired": q("SELECT COUNT(*) FROM documents WHERE repairs != '[]'").fetchone()[0],
        }
        first, last = q("SELECT MIN(date), MAX(date) FROM documents").fetchone()
        out["first_date"], out["last_date"] = first, last
        out["sources"] = dict(q(
            "SELECT COALESCE(source, '(none)'), COUNT(*) FROM documents GROUP BY source "
            "ORDER BY COUNT(*) DESC, source").fetchall())
        kinds: dict[str, int] = {}
        for (reps,) in q("SELECT repairs FROM documents WHERE repairs != '[]'"):
            for a in json.loads(reps):
                kinds[a["kind"]] = kinds.get(a["kind"], 0) + 1
        out["repairs"] = dict(sorted(kinds.items()))
        out["runs"] = q("SELECT COUNT(*) FROM runs").fetchone()[0]
        # distinct (file, line, reason): also right on a database opened read-only before
        # its problems table was migrated to one row per problem
        out["problems"] = dict(q(
            "SELECT reason, COUNT(*) FROM (SELECT DISTINCT file, COALESCE(line, 0) AS line, "
            "reason FROM problems) GROUP BY reason ORDER BY reason").fetchall())
        out["components"] = dict(q("SELECT name, version FROM components ORDER BY name"))
        return out


_SELECT = ("id, text, title, source, date, date_raw, url, meta, origin, repaired, repair_map, "
           "repairs, probable_title")


def _doc_row(doc: Document) -> tuple:
    return (
        doc.id, doc.text, doc.title, doc.source, iso(doc.date), doc.timestamp, doc.date_raw,
        doc.url, json.dumps(doc.meta, ensure_ascii=False, default=str) if doc.meta else None,
        doc.origin,
    )


def _repair_row(text: str, rep: Repair) -> tuple:
    unchanged = rep.text == text and rep.map.is_identity
    return (
        None if unchanged else rep.text,
        None if unchanged else rep.map.to_bytes(),
        json.dumps([a.to_dict() for a in rep.actions], ensure_ascii=False),
        rep.title,
    )


def _from_row(row: Sequence[Any]) -> tuple[Document, Repair]:
    (doc_id, text, title, source, date, date_raw, url, meta, origin,
     repaired, repair_map, repairs, probable_title) = row
    doc = Document(
        id=doc_id, text=text, title=title, source=source, date=parse_iso(date), url=url,
        date_raw=date_raw, meta=json.loads(meta) if meta else {}, origin=origin,
    )
    if repaired is None:
        rep_text, omap = text, OffsetMap.identity(len(text))
    else:
        rep_text, omap = repaired, OffsetMap.from_bytes(repair_map, len(text))
    actions = [RepairAction.from_dict(a) for a in json.loads(repairs or "[]")]
    return doc, Repair(rep_text, omap, actions, probable_title)
