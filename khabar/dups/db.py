"""Stored sketches and pairs, so `khabar dups --db` only works on what is new.

A document's sketch is stamped with the sketch parameters and with what its
repaired text depends on (its content hash and the corpus-repair signature);
when the stamp no longer matches, the document is sketched again. Its pairs
with every other document are then recomputed, while pairs between two
untouched documents stay: candidacy and verification depend on the two
documents alone, so the stored pairs equal those of a batch run.

`paired` is set only once a document's pairs are stored, so a run killed
between sketching and pairing resumes correctly.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from khabar.dups.core import SketchTable
from khabar.dups.params import DupParams
from khabar.dups.sketch import SketchBatch
from khabar.store import Store

VERSION = 1
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
    paired INTEGER NOT NULL DEFAULT 0 -- 1 once its pairs with all other documents are stored
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
"""


def declare(store: Store) -> None:
    store.declare("dups", VERSION, DDL)


def reset_if_changed(store: Store, params: DupParams) -> None:
    """Forget stored pairs made under other parameters (sketches go stale by their stamp)."""
    key = params.pairs_key()
    row = store.db.execute("SELECT value FROM dups_meta WHERE name='pairs_key'").fetchone()
    if row is not None and row[0] == key:
        return
    with store.transaction() as db:
        db.execute("DELETE FROM dups_pairs")
        db.execute("UPDATE dups_sketches SET paired=0")
        db.execute("INSERT INTO dups_meta VALUES ('pairs_key', ?) "
                   "ON CONFLICT(name) DO UPDATE SET value=excluded.value", (key,))


def stale(store: Store, params: DupParams) -> tuple[list[int], list[str], list[str]]:
    """(n, id, new stamp) of the documents whose sketch is missing or out of date."""
    prefix = params.sketch_key() + "|"
    ns, ids, stamps = [], [], []
    for n, doc_id, stamp, old in store.db.execute(
        "SELECT d.n, d.id, d.content_hash || '|' || COALESCE(d.context_sig, ''), s.stamp "
        "FROM documents d LEFT JOIN dups_sketches s ON s.doc = d.n ORDER BY d.n"
    ):
        if old != prefix + stamp:
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


def load_sketches(store: Store, num_perm: int) -> tuple[list[int], SketchTable]:
    """Every stored sketch in document order, with `new` set for unpaired documents."""
    ns, tokens, paired, exact, sigs, samples, counts = [], [], [], [], [], [], []
    zero_exact = bytes(16)
    zero_sig = bytes(2 * num_perm)
    for n, tok, ex, sig, smp, done in store.db.execute(
        "SELECT doc, tokens, exact, signature, samples, paired FROM dups_sketches ORDER BY doc"
    ):
        ns.append(n)
        tokens.append(tok)
        paired.append(done)
        exact.append(ex or zero_exact)
        sigs.append(sig or zero_sig)
        samples.append(smp or b"")
        counts.append(len(smp) // 4 if smp else 0)
    count = len(ns)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.asarray(counts, dtype=np.int64), out=offsets[1:])
    table = SketchTable(
        np.asarray(tokens, dtype=np.int32),
        np.frombuffer(b"".join(exact), dtype=np.uint8).reshape(count, 16),
        np.frombuffer(b"".join(sigs), dtype="<u2").astype(np.uint16).reshape(count, num_perm),
        np.frombuffer(b"".join(samples), dtype="<u4").astype(np.uint32),
        offsets,
        np.asarray(paired, dtype=np.int8) == 0,
    )
    return ns, table


def save_pairs(store: Store, new_ns: list[int], rows: list[tuple]) -> None:
    """Replace the pairs of the new documents and mark them paired, in one transaction."""
    with store.transaction() as db:
        db.execute("CREATE TEMP TABLE IF NOT EXISTS dups_new (n INTEGER PRIMARY KEY)")
        db.execute("DELETE FROM dups_new")
        db.executemany("INSERT INTO dups_new VALUES (?)", [(n,) for n in new_ns])
        db.execute("DELETE FROM dups_pairs WHERE a IN (SELECT n FROM dups_new) "
                   "OR b IN (SELECT n FROM dups_new)")
        db.executemany("INSERT INTO dups_pairs VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.execute("UPDATE dups_sketches SET paired=1 WHERE doc IN (SELECT n FROM dups_new)")
        db.execute("DELETE FROM dups_new")


def all_pairs(store: Store) -> list[tuple[int, int, float, float, float, str]]:
    return store.db.execute(
        "SELECT a, b, jaccard, a_in_b, b_in_a, kind FROM dups_pairs ORDER BY a, b").fetchall()


def doc_info(store: Store) -> tuple[list[int], list[str], list[float | None], list[int]]:
    """(n, id, timestamp, text length) of every document, in document order."""
    rows = store.db.execute("SELECT n, id, ts, LENGTH(text) FROM documents ORDER BY n").fetchall()
    return ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
            [r[3] for r in rows])
