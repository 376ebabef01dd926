"""Stage outputs in the store: one table per output, its schema derived from the record type.

`save_outputs(store, job)` replaces, in one transaction per table, what the
store held for each output the job produced (a table named after the dataset,
e.g. ``out_dup_pairs`` or ``out_passages``); `load(store, dataset)` streams a stored
output back as records, in its canonical order. Document ids are stored as
``documents.n``, so the tables stay small.

Outputs are derived data: a table whose record type changed is dropped and made
again, and an output equal to what is stored (same digest of its rows) is not
written at all, so re-running a job on unchanged data writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from khabar.records import Schema
from khabar.stage import Output

VERSION = 1
BATCH = 2000


def table_name(output: Output) -> str:
    return f"out_{output.dataset}"


_META = ("CREATE TABLE IF NOT EXISTS out_meta (name TEXT PRIMARY KEY, ddl TEXT NOT NULL, "
         "digest TEXT)")


def declare(store: Any, output: Output) -> Schema:
    """Create the table of `output`, or make it again if its record type changed."""
    schema = output.record.schema()
    table = table_name(output)
    ddl = schema.ddl(table)
    store.db.execute(_META)
    row = store.db.execute("SELECT ddl FROM out_meta WHERE name=?", (table,)).fetchone()
    if row is not None and row[0] == ddl:
        return schema
    with store.transaction() as db:
        if row is not None:  # derived rows only: the next save fills it again
            db.execute(f'DROP TABLE IF EXISTS "{table}"')
        for statement in ddl.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("INSERT INTO out_meta VALUES (?, ?, NULL) ON CONFLICT(name) DO UPDATE "
                   "SET ddl=excluded.ddl, digest=NULL", (table, ddl))
    return schema


def _id_lookup(store: Any, ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted({i for i in ids if i is not None})
    out: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        marks = ",".join("?" * len(chunk))
        out.update(store.db.execute(f"SELECT id, n FROM documents WHERE id IN ({marks})", chunk))
    return out


def _digest(records: Iterable[Any]) -> tuple[str, int]:
    h = hashlib.blake2b(digest_size=16)
    count = 0
    for r in records:
        h.update(repr(r.to_dict()).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
        count += 1
    return h.hexdigest(), count


def save(store: Any, output: Output,
         records: Iterable[Any] | Callable[[], Iterable[Any]]) -> int:
    """Replace the stored rows of `output` with `records` (one transaction).

    When `records` is a callable giving the rows afresh on each call, they are
    first read once for their digest, and nothing is written if the stored rows
    have the same one. Returns the number of rows.
    """
    schema = declare(store, output)
    refs = [c.field for c in schema.columns if c.kind == "docref"]
    table = table_name(output)
    digest = None
    if callable(records):
        digest, n = _digest(records())
        stored = store.db.execute("SELECT digest FROM out_meta WHERE name=?",
                                  (table,)).fetchone()
        if stored is not None and stored[0] == digest:
            return n
        records = records()
    marks = ",".join("?" * len(schema.sql_columns))
    count = 0
    with store.transaction() as db:
        db.execute(f'DELETE FROM "{table}"')
        batch: list[Any] = []

        def flush() -> None:
            n_of = _id_lookup(store, (getattr(r, f) for r in batch for f in refs))
            db.executemany(f"INSERT INTO {table} VALUES ({marks})",
                           [schema.to_row(r, n_of.get) for r in batch])

        for rec in records:
            batch.append(rec)
            count += 1
            if len(batch) >= BATCH:
                flush()
                batch = []
        if batch:
            flush()
        db.execute("UPDATE out_meta SET digest=? WHERE name=?", (digest, table))
    return count


def load(store: Any, output: Output) -> Iterator[Any]:
    """The stored rows of `output` as records, in its canonical order (nothing if never saved)."""
    table = table_name(output)
    exists = store.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                              (table,)).fetchone()
    if exists is None or not store.db.execute("SELECT 1 FROM sqlite_master WHERE "
                                              "name='out_meta'").fetchone():
        return iter(())
    schema = output.record.schema()
    ids: dict[int, str] = {}

    def id_of(n: int) -> str | None:
        if n not in ids:
            row = store.db.execute("SELECT id FROM documents WHERE n=?", (n,)).fetchone()
            ids[n] = row[0] if row else None
        return ids[n]

    rows = store.db.execute(f'SELECT {schema.quoted_columns} FROM "{table}"')
    records = [schema.from_row(r, id_of) for r in rows]
    records.sort(key=output.key)
    return iter(records)


def save_outputs(store: Any, job: Any) -> dict[str, int]:
    """Keep every output of a finished `khabar.pipeline.Job` in `store`."""
    return {table_name(o): save(store, o, lambda o=o: job.rows(o)) for o in job.outputs()}


__all__ = ["declare", "load", "save", "save_outputs", "table_name"]
