"""A problem is one (file, line, reason): counted once whatever the number of runs.

After a SIGKILL mid-ingest and a rerun, `khabar stats` said `no-text: 258` for an
input with 216 records without text: every run that met a bad record stored it
again. Problems are now one row per (file, line, reason), and a database of the
older layout is migrated without losing a document.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from khabar.cli import main
from khabar.ingest import ingest
from khabar.store import SCHEMA_VERSION, Store

ARTICLE = "أعلنت الوزارة اليوم عن خطة جديدة لتطوير الطرق في المناطق الريفية خلال العام."


def feed(path: Path, n: int, every: int = 4) -> int:
    """`n` records, every `every`-th without text; returns how many lack text."""
    missing = 0
    with path.open("w", encoding="utf-8") as out:
        for k in range(n):
            empty = k % every == 0
            missing += empty
            out.write(json.dumps({"id": f"r{k:05d}", "text": "" if empty else f"{ARTICLE} {k}"},
                                 ensure_ascii=False) + "\n")
        out.write("{broken json\n")
    return missing


def stats(db: Path, capsys) -> dict:
    capsys.readouterr()
    main(["stats", "--db", str(db), "--json"])
    return json.loads(capsys.readouterr().out)


def test_rerunning_an_ingest_counts_each_problem_once(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.jsonl"
    missing = feed(src, 40)
    db = tmp_path / "k.db"
    for _ in range(3):
        main(["ingest", str(src), "--db", str(db), "-q"])
    got = stats(db, capsys)
    assert got["problems"] == {"json": 1, "no-text": missing}
    assert got["runs"] == 3
    with Store(db) as store:
        first, last = store.db.execute(
            "SELECT MIN(first_run), MAX(last_run) FROM problems").fetchone()
        assert (first, last) == (1, 3)


def test_after_a_sigkill_and_a_rerun_counts_stay_true(tmp_path: Path, capsys) -> None:
    src = tmp_path / "big.jsonl"
    missing = feed(src, 6000, every=5)
    db = tmp_path / "k.db"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-m", "khabar", "ingest", str(src), "--db", str(db),
                             "--batch-size", "50", "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                seen = conn.execute("SELECT COUNT(*) FROM problems").fetchone()[0]
        except sqlite3.Error:
            seen = 0
        if seen >= 20:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert seen >= 20, "the ingest stored no problem before it was killed"
    main(["ingest", str(src), "--db", str(db), "-q"])
    got = stats(db, capsys)
    assert got["documents"] == 6000 - missing
    assert got["problems"] == {"json": 1, "no-text": missing}


OLD_CORE = """
CREATE TABLE components (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
INSERT INTO components VALUES ('core', 1);
CREATE TABLE runs (run INTEGER PRIMARY KEY, command TEXT NOT NULL, started TEXT NOT NULL,
                   finished TEXT, counts TEXT);
CREATE TABLE problems (run INTEGER NOT NULL, file TEXT NOT NULL, line INTEGER,
                       reason TEXT NOT NULL, message TEXT NOT NULL);
"""


def test_an_older_database_is_migrated_without_losing_documents(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    src = tmp_path / "in.jsonl"
    missing = feed(src, 12)
    ingest([src], db)
    with sqlite3.connect(db) as conn:  # back to the version 1 layout, problems doubled
        rows = conn.execute("SELECT file, line, reason, message FROM problems").fetchall()
        docs = conn.execute("SELECT id, text FROM documents ORDER BY n").fetchall()
        conn.execute("DROP TABLE problems")
        conn.execute("CREATE TABLE problems (run INTEGER NOT NULL, file TEXT NOT NULL, "
                     "line INTEGER, reason TEXT NOT NULL, message TEXT NOT NULL)")
        for run in (1, 2):
            conn.executemany("INSERT INTO problems VALUES (?, ?, ?, ?, ?)",
                             [(run, f, line or None, r, m) for f, line, r, m in rows])
        conn.execute("INSERT INTO problems VALUES (2, 'gone.csv', NULL, 'decode', 'x')")
        conn.execute("UPDATE components SET version=1 WHERE name='core'")
    # a read-only look (khabar stats) before any migration already counts each once
    with Store(db, readonly=True) as store:
        assert store.stats()["problems"] == {"decode": 1, "json": 1, "no-text": missing}
    with Store(db) as store:
        assert store.db.execute("SELECT version FROM components WHERE name='core'"
                                ).fetchone()[0] == SCHEMA_VERSION
        assert store.stats()["problems"] == {"decode": 1, "json": 1, "no-text": missing}
        assert [(d.id, d.text) for batch in store.documents() for d, _ in batch] == docs
        whole_file = store.db.execute(
            "SELECT line, first_run, last_run FROM problems WHERE file='gone.csv'").fetchone()
        assert whole_file == (0, 2, 2)
    # and ingesting again after the migration adds nothing
    ingest([src], db)
    with Store(db) as store:
        assert store.stats()["problems"] == {"decode": 1, "json": 1, "no-text": missing}
