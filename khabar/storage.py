"""Stage outputs in the store: one table per output, its schema derived from the record type.

`save_outputs(store, job)` replaces, in one transaction per table, what the
store held for each output the job produced (a table named after the dataset,
e.g. ``dup_pairs`` or ``passages``); `load(store, dataset)` streams a stored
output back as records, in its canonical order. Document ids are stored as
``documents.n``, so the tables stay small and follow renames of nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from khabar.records import Schema
from khabar.stage import Output

VERSION = 1
BATCH = 2000


def table_name(output: Output) -> str:
    return f"out_{output.dataset}"


def declare(store: Any, output: Output) -> Schema:
    schema = output.record.schema()
    store.declare(table_name(output), VERSION, schema.ddl(table_name(output)))
    return schema


def _id_lookup(store: Any, ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted({i for i in ids if i is not None})
    out: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        marks = ",".join("?" * len(chunk))
        out.update(store.db.execute(f"SELECT id, n FROM documents WHERE id IN ({marks})", chunk))
    return out


def save(store: Any, output: Output, records: Iterable[Any]) -> int:
    """Replace the stored rows of `output` with `records` (one transaction)."""
    schema = declare(store, output)
    refs = [c.field for c in schema.columns if c.kind == "docref"]
    table = table_name(output)
    marks = ",".join("?" * len(schema.sql_columns))
    count = 0
    with store.transaction() as db:
        db.execute(f"DELETE FROM {table}")
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
    return count


def load(store: Any, output: Output) -> Iterator[Any]:
    """The stored rows of `output` as records, in its canonical order (nothing if never saved)."""
    table = table_name(output)
    exists = store.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                              (table,)).fetchone()
    if exists is None:
        return iter(())
    schema = output.record.schema()
    ids: dict[int, str] = {}

    def id_of(n: int) -> str | None:
        if n not in ids:
            row = store.db.execute("SELECT id FROM documents WHERE n=?", (n,)).fetchone()
            ids[n] = row[0] if row else None
        return ids[n]

    rows = store.db.execute(f"SELECT {schema.quoted_columns} FROM {table}")
    records = [schema.from_row(r, id_of) for r in rows]
    records.sort(key=output.key)
    return iter(records)


def save_outputs(store: Any, job: Any) -> dict[str, int]:
    """Keep every output of a finished `khabar.pipeline.Job` in `store`."""
    return {table_name(o): save(store, o, job.rows(o)) for o in job.outputs()}


__all__ = ["declare", "load", "save", "save_outputs", "table_name"]
