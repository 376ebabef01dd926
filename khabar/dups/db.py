"""Stored sketches, verifications and edges, so `khabar dups --db` only sketches what is new.

A document's sketch is stamped with the sketch parameters and with what its
repaired text depends on (its content hash and the corpus-repair signature);
when the stamp no longer matches, the document is sketched again.

The edges (`dups_pairs`) depend on the whole collection (which copy is a
group's representative, how large a bucket is), so each run recomputes them
from all stored sketches and replaces the table; that is array work on
sketches. What is expensive is verification, which needs the texts: every
verified pair of units is kept in `dups_verified`, keyed by the two units'
token-sequence digests with the raw set sizes, so it never has to be done again
while the shingle parameters stay (any threshold can be applied to it). The
stored edges thus equal those of a batch run over the same documents.

Reads of the collection (which documents, their stamps, texts, dates) go
through `store.read`: inside `Store.snapshot()` one consistent snapshot,
whatever another process ingests meanwhile. This stage's own tables are read
and written on the live connection.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from khabar.dups.core import SketchTable
from khabar.dups.params import DupParams
from khabar.dups.sketch import SketchBatch
from khabar.errors import KhabarError
from khabar.store import Store

VERSION = 2
DDL = """
CREATE TABLE IF NOT EXISTS dups_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dups_sketches (
    doc INTEGER PRIMARY KEY,          -- documents.n
    stamp TEXT NOT NULL,              -- sketch key | content hash | corpus-repair signature
    tokens INTEGER NOT NULL,          -- normalized tokens
    exact BLOB,                       -- 16-byte digest of the token sequence (NULL when short)
    signature BLOB,                   -- num_perm little-endian uint16 (NULL when short)
    samples BLOB,                     -- sorted little-endian uint32 containment samples
    paired INTEGER NOT NULL DEFAULT 0 -- 1 once a run has paired it (for "new" in the stats)
);
CREATE TABLE IF NOT EXISTS dups_pairs (
    a INTEGER NOT NULL,               -- documents.n, a < b
    b INTEGER NOT NULL,
    jaccard REAL NOT NULL,
    a_in_b REAL NOT NULL,
    b_in_a REAL NOT NULL,
    kind TEXT NOT NULL,               -- exact | near
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dups_pairs_b ON dups_pairs(b);
CREATE TABLE IF NOT EXISTS dups_verified (
    a BLOB NOT NULL,                  -- token-sequence digest, a < b bytewise
    b BLOB NOT NULL,
    inter INTEGER NOT NULL,           -- |A ∩ B| of the shingle sets
    size_a INTEGER NOT NULL,
    size_b INTEGER NOT NULL,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
"""
MIGRATE = {
    # version 1 stored every pair of copies; version 2 stores edges to representatives,
    # recomputed from the kept sketches on the next run
    1: "DELETE FROM dups_pairs",
}


def declare(store: Store) -> None:
    store.declare("dups", VERSION, DDL, MIGRATE)


def _set_meta(db, name: str, value: str) -> None:
    db.execute("INSERT INTO dups_meta VALUES (?, ?) "
               "ON CONFLICT(name) DO UPDATE SET value=excluded.value", (name, value))


def reset_if_changed(store: Store, params: DupParams) -> None:
    """Forget verifications made under other shingle parameters, and which documents were
    paired under other pair parameters (sketches go stale by their stamp)."""
    meta = dict(store.db.execute("SELECT name, value FROM dups_meta"))
    sketch_key, pairs_key = params.sketch_key(), params.pairs_key()
    if meta.get("verified_key") == sketch_key and meta.get("pairs_key") == pairs_key:
        return
    with store.transaction() as db:
        if meta.get("verified_key") != sketch_key:
            db.execute("DELETE FROM dups_verified")
            _set_meta(db, "verified_key", sketch_key)
        if meta.get("pairs_key") != pairs_key:
            db.execute("UPDATE dups_sketches SET paired=0")
            _set_meta(db, "pairs_key", pairs_key)


def stale(store: Store, params: DupParams) -> tuple[list[int], list[str], list[str]]:
    """(n, id, new stamp) of the documents whose sketch is missing or out of date."""
    prefix = params.sketch_key() + "|"
    stored = dict(store.db.execute("SELECT doc, stamp FROM dups_sketches"))
    ns, ids, stamps = [], [], []
    for n, doc_id, stamp in store.read.execute(
        "SELECT n, id, content_hash || '|' || COALESCE(context_sig, '') FROM documents "
        "ORDER BY n"
    ):
        if stored.get(n) != prefix + stamp:
            ns.append(n)
            ids.append(doc_id)
            stamps.append(prefix + stamp)
    return ns, ids, stamps


def texts(store: Store, ids: list[str], batch_size: int) -> Iterator[list[str]]:
    """Repaired texts (what duplicate detection reads) of `ids`, in batches, in order."""
    for batch in store.documents(ids=ids, batch_size=batch_size):
        yield [rep.text for _, rep in batch]


def save_sketches(store: Store, ns: list[int], stamps: list[str], sk: SketchBatch,
                  min_tokens: int) -> None:
    rows = []
    for i, (n, stamp) in enumerate(zip(ns, stamps, strict=True)):
        tokens = int(sk.tokens[i])
        if tokens < min_tokens:
            rows.append((n, stamp, tokens, None, None, None))
            continue
        a, b = int(sk.sample_offsets[i]), int(sk.sample_offsets[i + 1])
        rows.append((n, stamp, tokens, sk.exact[i].tobytes(),
                     sk.signatures[i].astype("<u2").tobytes(),
                     sk.samples[a:b].astype("<u4").tobytes()))
    with store.transaction() as db:
        db.executemany("INSERT OR REPLACE INTO dups_sketches "
                       "(doc, stamp, tokens, exact, signature, samples, paired) "
                       "VALUES (?, ?, ?, ?, ?, ?, 0)", rows)


def load_sketches(store: Store, num_perm: int, ns: list[int]) -> SketchTable:
    """The stored sketches of documents `ns` (in that order), `new` set for unpaired ones.

    Sketches of documents outside `ns` (written by a run that saw more of the
    collection) are left out; a document of `ns` without a sketch is an error.
    """
    wanted = {n: i for i, n in enumerate(ns)}
    count = len(ns)
    tokens = np.zeros(count, dtype=np.int32)
    paired = np.zeros(count, dtype=bool)
    exact = [bytes(16)] * count
    sigs = [bytes(2 * num_perm)] * count
    samples: list[bytes] = [b""] * count
    seen = 0
    for n, tok, ex, sig, smp, done in store.db.execute(
        "SELECT doc, tokens, exact, signature, samples, paired FROM dups_sketches"
    ):
        i = wanted.get(n)
        if i is None:
            continue
        seen += 1
        tokens[i], paired[i] = tok, bool(done)
        if ex is not None:
            exact[i] = ex
        if sig is not None:
            sigs[i] = sig
        if smp:
            samples[i] = smp
    if seen != count:  # sketches are written before this is read; never expected
        raise KhabarError(f"{store.path}: duplicate sketches out of step; run again")
    counts = np.fromiter((len(x) // 4 for x in samples), dtype=np.int64, count=count)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return SketchTable(
        tokens,
        np.frombuffer(b"".join(exact), dtype=np.uint8).reshape(count, 16),
        np.frombuffer(b"".join(sigs), dtype="<u2").astype(np.uint16).reshape(count, num_perm),
        np.frombuffer(b"".join(samples), dtype="<u4").astype(np.uint32),
        offsets,
        ~paired,
    )


def verified(store: Store, keys: list[tuple[bytes, bytes]]) -> dict[tuple[bytes, bytes],
                                                                     tuple[int, int, int]]:
    """Stored (|A ∩ B|, |A|, |B|) of digest pairs (a < b), for those verified before."""
    if not keys:
        return {}
    db = store.db
    db.execute("CREATE TEMP TABLE IF NOT EXISTS dups_want (a BLOB, b BLOB, "
               "PRIMARY KEY (a, b)) WITHOUT ROWID")
    db.execute("DELETE FROM temp.dups_want")
    db.executemany("INSERT OR IGNORE INTO temp.dups_want VALUES (?, ?)", keys)
    rows = db.execute("SELECT v.a, v.b, v.inter, v.size_a, v.size_b FROM temp.dups_want w "
                      "JOIN dups_verified v ON v.a = w.a AND v.b = w.b").fetchall()
    db.execute("DELETE FROM temp.dups_want")
    return {(a, b): (i, x, y) for a, b, i, x, y in rows}


def save_verified(store: Store, rows: list[tuple[bytes, bytes, int, int, int]]) -> None:
    if rows:
        with store.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO dups_verified VALUES (?, ?, ?, ?, ?)", rows)


def save_pairs(store: Store, rows: list[tuple]) -> None:
    """Replace the stored edges and mark every sketched document paired, in one transaction."""
    with store.transaction() as db:
        old = db.execute("SELECT a, b, jaccard, a_in_b, b_in_a, kind FROM dups_pairs "
                         "ORDER BY a, b").fetchall()
        if old != sorted(rows):
            db.execute("DELETE FROM dups_pairs")
            db.executemany("INSERT INTO dups_pairs VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.execute("UPDATE dups_sketches SET paired=1 WHERE paired=0")


def all_pairs(store: Store) -> list[tuple[int, int, float, float, float, str]]:
    return store.db.execute(
        "SELECT a, b, jaccard, a_in_b, b_in_a, kind FROM dups_pairs ORDER BY a, b").fetchall()


def doc_info(store: Store) -> tuple[list[int], list[str], list[float | None], list[int]]:
    """(n, id, timestamp, text length) of every document, in document order."""
    rows = store.read.execute(
        "SELECT n, id, ts, LENGTH(text) FROM documents ORDER BY n").fetchall()
    return ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
            [r[3] for r in rows])
