"""The service's tables, beside the store's documents (one SQLite file, WAL).

What each holds, and who writes it:

* ``svc_jobs``, ``svc_queue`` — ingest (the server): a job per accepted batch, and
  each accepted document's number until the analysis has taken it; written in
  the same transaction as the documents, so a committed article is never lost
  and never forgotten by the analysis.
* ``svc_docs`` — per analysed document: its story, score, time, outlet, and the
  ORIGINAL offsets of its tokens (``starts``/``ends``, int32) that search
  highlights map through; ``svc_fts`` (FTS5) its search keys (rowid = ``n``).
* duplicate index: ``svc_bands`` (LSH band key → document), ``svc_exact``
  (digest of the normalized tokens), ``svc_sets`` (sorted shingle hashes, what a
  candidate is verified on), ``svc_dup_pairs`` and ``svc_copy`` (copy groups).
* reuse index: ``svc_grams`` (n-gram of content stems, keyed by time bucket →
  document) and ``svc_df`` (how many documents carry each key: above
  ``ReuseOptions.max_df`` it is a formula and never a candidate), ``svc_passages``.
* explanations: ``svc_explain`` (each article's per-article analysis),
  ``svc_mentions`` and ``svc_quotes`` (who is named and who says what).
* stories: ``svc_stories`` (one row per story, with its rendered page and the
  JSON the API serves; ``version`` grows with every change), ``svc_story_alias``
  (a story absorbed by another: its links keep working), ``svc_state`` (the
  story stream's word statistics), ``svc_dirty`` (stories whose members changed and
  whose explanations and page are to be made again, and since when) and
  ``svc_job_wait`` (jobs whose articles are in their stories, waiting for those).
* ``svc_watch`` and ``svc_feed_seen`` — what ``--watch`` and ``--feed`` already read.

Hashes are 64-bit unsigned in numpy and stored as SQLite's signed integers.
"""

from __future__ import annotations

from typing import Any

VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS svc_jobs (
    job TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    origin TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    analyzed INTEGER NOT NULL DEFAULT 0,
    stage TEXT,
    finished TEXT
);
CREATE TABLE IF NOT EXISTS svc_queue (
    n INTEGER PRIMARY KEY,
    job TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS svc_docs (
    n INTEGER PRIMARY KEY,
    story INTEGER,
    score REAL,
    ts REAL,
    day TEXT,
    source TEXT,
    starts BLOB NOT NULL,
    ends BLOB NOT NULL,
    analyzed TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS svc_docs_story ON svc_docs(story);
CREATE INDEX IF NOT EXISTS svc_docs_ts ON svc_docs(ts);
CREATE INDEX IF NOT EXISTS svc_docs_source ON svc_docs(source);
CREATE VIRTUAL TABLE IF NOT EXISTS svc_fts USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TABLE IF NOT EXISTS svc_bands (key INTEGER NOT NULL, n INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS svc_bands_key ON svc_bands(key);
CREATE INDEX IF NOT EXISTS svc_bands_n ON svc_bands(n);
CREATE TABLE IF NOT EXISTS svc_exact (digest BLOB NOT NULL, n INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS svc_exact_digest ON svc_exact(digest);
CREATE INDEX IF NOT EXISTS svc_exact_n ON svc_exact(n);
CREATE TABLE IF NOT EXISTS svc_sets (n INTEGER PRIMARY KEY, tokens INTEGER, sets BLOB);
CREATE TABLE IF NOT EXISTS svc_dup_pairs (
    a INTEGER NOT NULL, b INTEGER NOT NULL, jaccard REAL, a_in_b REAL, b_in_a REAL,
    kind TEXT NOT NULL, PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS svc_dup_pairs_b ON svc_dup_pairs(b);
CREATE TABLE IF NOT EXISTS svc_copy (
    n INTEGER PRIMARY KEY, grp INTEGER NOT NULL, exact_grp INTEGER
);
CREATE INDEX IF NOT EXISTS svc_copy_grp ON svc_copy(grp);
CREATE TABLE IF NOT EXISTS svc_grams (key INTEGER NOT NULL, n INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS svc_grams_key ON svc_grams(key);
CREATE INDEX IF NOT EXISTS svc_grams_n ON svc_grams(n);
CREATE TABLE IF NOT EXISTS svc_df (key INTEGER PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS svc_passages (
    a INTEGER NOT NULL, b INTEGER NOT NULL, a_start INTEGER, a_end INTEGER,
    b_start INTEGER, b_end INTEGER, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS svc_passages_a ON svc_passages(a);
CREATE INDEX IF NOT EXISTS svc_passages_b ON svc_passages(b);
CREATE TABLE IF NOT EXISTS svc_explain (n INTEGER PRIMARY KEY, analysis BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS svc_mentions (
    n INTEGER NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL, start INTEGER, "end" INTEGER
);
CREATE INDEX IF NOT EXISTS svc_mentions_name ON svc_mentions(type, name);
CREATE INDEX IF NOT EXISTS svc_mentions_n ON svc_mentions(n);
-- the search facets read names from the matching articles' rows only (no table lookup)
CREATE INDEX IF NOT EXISTS svc_mentions_cover ON svc_mentions(n, type, name);
CREATE TABLE IF NOT EXISTS svc_quotes (
    n INTEGER NOT NULL, kind TEXT NOT NULL, speaker TEXT, cue_start INTEGER, cue_end INTEGER,
    content_start INTEGER, content_end INTEGER
);
CREATE INDEX IF NOT EXISTS svc_quotes_speaker ON svc_quotes(speaker);
CREATE INDEX IF NOT EXISTS svc_quotes_n ON svc_quotes(n);
CREATE TABLE IF NOT EXISTS svc_stories (
    story INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    first_seen TEXT, last_seen TEXT, first_ts REAL, last_ts REAL,
    size INTEGER NOT NULL,
    sources TEXT NOT NULL,
    filename TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated TEXT NOT NULL,
    page TEXT,
    data TEXT
);
CREATE INDEX IF NOT EXISTS svc_stories_last ON svc_stories(last_ts);
CREATE INDEX IF NOT EXISTS svc_stories_file ON svc_stories(filename);
CREATE TABLE IF NOT EXISTS svc_story_alias (story INTEGER PRIMARY KEY, into_story INTEGER);
CREATE TABLE IF NOT EXISTS svc_state (name TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS svc_dirty (story INTEGER PRIMARY KEY, since REAL NOT NULL);
CREATE TABLE IF NOT EXISTS svc_job_wait (job TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS svc_watch (path TEXT PRIMARY KEY, size INTEGER, mtime REAL);
CREATE TABLE IF NOT EXISTS svc_feed_seen (url TEXT NOT NULL, entry TEXT NOT NULL,
                                          PRIMARY KEY (url, entry)) WITHOUT ROWID;
"""


def declare(store: Any) -> None:
    """Create (or check) the service's tables in `store`."""
    store.declare("service", VERSION, DDL)


__all__ = ["DDL", "VERSION", "declare"]
