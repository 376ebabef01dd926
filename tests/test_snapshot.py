"""Reads stay consistent while another process writes: one snapshot per stage.

`khabar stories --db X` during a running `khabar ingest --db X` crashed with a
KeyError in 1 of 5 tries: document numbers and documents were read in separate
transactions. Every stage now reads the collection through one snapshot
(`Store.snapshot`). The deterministic tests make the other writer commit
exactly between two reads of a stage; the last one runs every stage as a
command against a real concurrent `khabar ingest`, several times.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from khabar.document import Document
from khabar.ingest import ingest
from khabar.store import Store

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
DAY = datetime(2024, 5, 1, tzinfo=UTC)


def articles(n: int, start: int = 0, seed: int = 7) -> list[Document]:
    """Made-up articles; every fifth one a near copy of the one before (so that duplicates,
    reuse and stories all have something to find)."""
    rng = random.Random(seed + start)
    vocab = ["".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 7))) for _ in range(900)]
    out: list[Document] = []
    for k in range(start, start + n):
        if k % 5 == 4 and out:
            words = out[-1].text.split()
            words[len(words) // 2] = "تعديل"
            body = " ".join(words)
        else:
            body = "\n".join(" ".join(rng.choice(vocab) for _ in range(14)) + "."
                             for _ in range(5))
        out.append(Document(f"doc-{k:05d}", body, title=f"خبر {k}", source=f"outlet{k % 13}",
                            date=DAY + timedelta(hours=k % 72)))
    return out


def write_feed(path: Path, docs: list[Document]) -> Path:
    path.write_text("".join(json.dumps({"id": d.id, "text": d.text, "title": d.title,
                                        "source": d.source, "date": d.date.isoformat()},
                                       ensure_ascii=False) + "\n" for d in docs),
                    encoding="utf-8")
    return path


def test_snapshot_reads_one_moment(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        ingest(articles(5), store)
        with store.snapshot():
            assert store.count() == 5
            with Store(db) as other:  # another writer commits meanwhile
                ingest(articles(3, start=5), other)
            assert store.count() == 5 and len(store.ids()) == 5
            assert sum(len(b) for b in store.documents()) == 5
            assert store.get("doc-00006") is None
            # writes go on, on the live connection, and read back there
            with store.transaction() as live:
                live.execute("CREATE TABLE IF NOT EXISTS mine (x INTEGER)")
                live.execute("INSERT INTO mine VALUES (1)")
            assert store.db.execute("SELECT COUNT(*) FROM mine").fetchone()[0] == 1
            with store.snapshot():  # nested: the same snapshot
                assert store.count() == 5
        assert store.count() == 8  # the next read sees everything


def test_stories_never_meets_a_document_it_did_not_number(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """Ingest commits between the stage's two reads of the store (the crash of the issue):
    the stage keeps to the documents it read."""
    from khabar.stories import cluster_stories
    from khabar.stories import db as storydb

    db = tmp_path / "s.db"
    real = storydb.stored_members

    def members_then_ingest(store: Store) -> dict[int, tuple[int, float]]:
        out = real(store)
        with Store(db) as other:
            ingest(articles(20, start=40), other)
        return out

    with Store(db) as store:
        ingest(articles(40), store)
        monkeypatch.setattr(storydb, "stored_members", members_then_ingest)
        result = cluster_stories(store)  # a KeyError before stages read one snapshot
        assert sum(len(s.members) for s in result.stories) == 40
        monkeypatch.setattr(storydb, "stored_members", real)
        assert sum(len(s.members) for s in cluster_stories(store).stories) == 60


def test_dups_reads_one_moment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer commits while the stage is half-way through reading the documents."""
    from khabar import corpus
    from khabar.dups import find_duplicates

    db = tmp_path / "d.db"
    real = corpus._stored

    def ingest_midway(store: Store):
        for k, batch in enumerate(real(store)):
            yield batch
            if k == 0:
                with Store(db) as other:
                    ingest(articles(20, start=40), other)

    monkeypatch.setattr(corpus, "READ_BATCH", 10)
    with Store(db) as store:
        ingest(articles(40), store)
        monkeypatch.setattr(corpus, "_stored", ingest_midway)
        first = find_duplicates(store)
        assert first.stats["documents"] == 40
        monkeypatch.setattr(corpus, "_stored", real)
        second = find_duplicates(store)
        assert second.stats["documents"] == 60


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
    except sqlite3.Error:
        return 0


def _khabar(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "khabar", *map(str, args)]


@pytest.mark.slow
def test_every_stage_against_a_concurrent_ingest(tmp_path: Path) -> None:
    """dups, reuse, stories, the whole job and the report, each run while `khabar ingest`
    commits batches into the same database, two rounds.

    The ingest reads a named pipe; while each stage runs, this test feeds it two articles
    every 300 ms (at most 20 per stage, so the collection, and with it the stages' cost,
    stays small on a slow machine), and checks that the stage saw the count of documents
    grow while it ran.
    """
    db = tmp_path / "live.db"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    seed = write_feed(tmp_path / "seed.jsonl", articles(120))
    subprocess.run(_khabar("ingest", seed, "--db", db, "-q"), check=True, env=env)
    subprocess.run(_khabar("stories", "--db", db, "-q"), check=True, env=env,
                   capture_output=True)
    stages = [
        _khabar("dups", "--db", db, "--out", tmp_path / "dups", "-q", "--workers", "1"),
        _khabar("reuse", "--db", db, "--out", tmp_path / "passages.jsonl", "-q",
                "--workers", "1"),
        _khabar("stories", "--db", db, "--out", tmp_path / "stories", "--workers", "1"),
        _khabar("run", "--db", db, "--out", tmp_path / "run", "-q", "--workers", "1"),
        _khabar("report", "--db", db, "--out", tmp_path / "report", "-q", "--min-size", "2"),
    ]
    fed = 0
    for round_ in range(2):
        pipe = tmp_path / f"feed{round_}.jsonl"
        os.mkfifo(pipe)
        writer = subprocess.Popen(_khabar("ingest", pipe, "--db", db, "--batch-size", "2", "-q"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        go, stop = threading.Event(), threading.Event()
        sent: list[int] = [0]

        def feed(pipe: Path = pipe, go: threading.Event = go, stop: threading.Event = stop,
                 sent: list[int] = sent, start: int = 10_000 * (round_ + 1)) -> None:
            with pipe.open("w", encoding="utf-8") as out:
                while not stop.is_set():
                    if not go.wait(0.05):
                        continue
                    for d in articles(2, start=start + sent[0]):
                        out.write(json.dumps({"id": d.id, "text": d.text, "title": d.title,
                                              "source": d.source,
                                              "date": d.date.isoformat()},
                                             ensure_ascii=False) + "\n")
                    # the reader takes the pipe in blocks of 1 MB: a blank line of padding
                    # makes it commit now, not after 1,000 articles
                    out.write(" " * 500_000 + "\n")
                    out.flush()
                    sent[0] += 2
                    time.sleep(0.3)

        feeder = threading.Thread(target=feed)
        feeder.start()
        try:
            # the ingest is started and committing before any stage starts: a stage can take
            # less time than a fresh `khabar ingest` needs to start
            before = _count(db)
            go.set()
            while _count(db) == before and writer.poll() is None:
                time.sleep(0.02)
            go.clear()
            for cmd in stages:
                at_start = _count(db)
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env)
                fed_before = sent[0]
                go.set()
                while proc.poll() is None and sent[0] - fed_before < 20:
                    time.sleep(0.05)
                go.clear()
                _, err = proc.communicate(timeout=600)
                assert proc.returncode == 0, (cmd[3:5], err[-2000:])
                assert "Traceback" not in err
                assert _count(db) > at_start, (round_, cmd[2:4], "no commit during the stage")
        finally:
            go.clear()
            stop.set()
            feeder.join(timeout=60)
            _, err_w = writer.communicate(timeout=120)
        assert writer.returncode == 0, err_w.decode()[-2000:]
        fed += sent[0]
    assert _count(db) == 120 + fed
    stories = [json.loads(line) for line in
               (tmp_path / "stories" / "stories.jsonl").read_text("utf-8").splitlines()]
    assert sum(s["size"] for s in stories) > 120
