"""Store and ingest: idempotence, versions, corpus repairs, and surviving SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from khabar.document import Document
from khabar.ingest import ingest
from khabar.store import Store

HEADLINE = "انقطاع الكهرباء عن ثلاث مدن ساحلية بسبب العاصفة"


def docs(n: int, prefix: str = "d", source: str = "wire") -> list[Document]:
    return [
        Document(id=f"{prefix}{i}", text=f"هذا نص الخبر رقم {i} عن حدث ما في مكان ما.",
                 source=source, date=datetime(2025, 3, 1 + i % 20, tzinfo=UTC))
        for i in range(n)
    ]


def test_idempotent_and_updates_keep_old_versions(tmp_path):
    db = tmp_path / "k.db"
    r1 = ingest(docs(10), db)
    assert (r1.new, r1.updated, r1.unchanged) == (10, 0, 0)
    r2 = ingest(docs(10), db)
    assert (r2.new, r2.updated, r2.unchanged) == (0, 0, 10)
    changed = docs(10)
    changed[3] = Document(id="d3", text="نص جديد تماما للخبر الثالث بعد التصحيح.", source="wire")
    r3 = ingest(changed + docs(2, prefix="new"), db)
    assert (r3.new, r3.updated, r3.unchanged) == (2, 1, 9)
    with Store(db) as store:
        assert store.count() == 12
        doc, _ = store.get("d3")
        assert doc.text.startswith("نص جديد")
        old = store.versions("d3")
        assert [v["version"] for v in old] == [1] and old[0]["text"].startswith("هذا نص")
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_metadata_round_trip(tmp_path):
    d = Document(id="x", text="نص.", title="عنوان", source="s", url="http://e/x",
                 date=datetime(2025, 3, 1, 10, 30, tzinfo=UTC), date_raw="2025-03-01 10:30:00",
                 meta={"author": "فلان"})
    ingest([d], tmp_path / "k.db")
    with Store(tmp_path / "k.db") as store:
        got, rep = store.get("x")
    assert (got.title, got.source, got.url, got.date, got.date_raw, got.meta) == (
        d.title, d.source, d.url, d.date, d.date_raw, d.meta)
    assert rep.text == "نص."


def test_corpus_pass_links_glued_headline_and_strips_boilerplate(tmp_path):
    sig = "جميع الحقوق محفوظة لموقع الأفق الإخباري"
    corpus = [Document(id=f"afq{i}", text=f"خبر محلي رقم {i} عن السوق والأسعار.\n{sig}",
                       source="afq") for i in range(4)]
    corpus.append(Document(id="glued", source="wire",
                           text="أعلنت الوزارة افتتاح موسم الحصاد اليوم." + HEADLINE))
    corpus.append(Document(id="target", source="sahil", title=HEADLINE,
                           text="انقطعت الكهرباء مساء الأحد عن ثلاث مدن ساحلية بعد العاصفة."))
    report = ingest(corpus, tmp_path / "k.db")
    assert report.repaired_in_context == 5
    with Store(tmp_path / "k.db") as store:
        _, rep = store.get("glued")
        act = [a for a in rep.actions if a.kind == "glued_headline"]
        assert act and act[0].link == "target"
        assert rep.text == "أعلنت الوزارة افتتاح موسم الحصاد اليوم."
        _, rep0 = store.get("afq0")
        assert sig not in rep0.text and "boilerplate" in [a.kind for a in rep0.actions]
    # a rerun changes nothing
    again = ingest(corpus, tmp_path / "k.db")
    assert again.unchanged == 6 and again.repaired_in_context == 0


def test_title_found_for_untitled_target(tmp_path):
    corpus = [
        Document(id="a", text="أعلنت الوزارة افتتاح موسم الحصاد اليوم." + HEADLINE),
        Document(id="b", text="انقطعت الكهرباء مساء الأحد عن ثلاث مدن ساحلية بعد العاصفة. "
                              + HEADLINE + " في تقرير."),
        Document(id="c", text=HEADLINE + "\n\nانقطعت الكهرباء مساء الأحد عن ثلاث مدن."),
    ]
    ingest(corpus, tmp_path / "k.db")
    with Store(tmp_path / "k.db") as store:
        _, rep = store.get("a")
        assert [a.link for a in rep.actions if a.kind == "glued_headline"] == ["c"]
        _, rep_c = store.get("c")
        assert rep_c.title == HEADLINE


def _write_jsonl(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            text = f"الخبر رقم {i}: " + "كلمات كثيرة في نص طويل نسبيا. " * 40
            f.write(json.dumps({"id": f"k{i}", "text": text, "source": f"s{i % 7}",
                                "date": "2025-03-01 10:00:00"}, ensure_ascii=False) + "\n")


def test_sigkill_loses_at_most_one_batch_and_rerun_resumes(tmp_path):
    pytest.importorskip("khabar.io.readers")
    src = tmp_path / "big.jsonl"
    n = 20_000
    _write_jsonl(src, n)
    db = tmp_path / "k.db"
    cmd = [sys.executable, "-m", "khabar", "ingest", str(src), "--db", str(db), "--quiet",
           "--batch-size", "200"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    # wait until some batches are committed, then kill without warning
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as c:
                    stored = c.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if stored >= 1000:
                break
    assert proc.poll() is None, "ingest finished before it could be killed; make the input larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as c:
        after_kill = c.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert after_kill >= stored and after_kill % 200 == 0  # whole batches only
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert f"{n - after_kill} new, 0 updated, {after_kill} unchanged" in out
    with Store(db) as store:
        assert store.count() == n
