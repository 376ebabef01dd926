"""The ingest, show and stats commands: outputs, counts, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import DEMO

from khabar.cli import main


def run(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ingest_reports_bad_lines_and_goes_on(tmp_path, capsys):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps({"id": "a", "text": "خبر أول عن حدث ما."}, ensure_ascii=False) + "\n"
        + '{"id": "b", "text": "broken\n'
        + json.dumps({"id": "c", "text": ""}) + "\n"
        + json.dumps({"id": "d", "text": "خبر رابع."}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    db = tmp_path / "k.db"
    code, out, err = run(["ingest", str(feed), "--db", str(db)], capsys)
    assert code == 0
    assert "2 new, 0 updated, 0 unchanged, 2 skipped" in out
    lines = err.strip().splitlines()
    assert any(f"{feed}:2" in line for line in lines)
    assert any(f"{feed}:3" in line and "text" in line for line in lines)
    assert all("Traceback" not in line for line in lines)
    code, out, _ = run(["stats", "--db", str(db), "--json"], capsys)
    stats = json.loads(out)
    assert stats["documents"] == 2 and sum(stats["problems"].values()) == 2


def test_demo_ingest_show_stats(tmp_path, capsys):
    db = tmp_path / "demo.db"
    code, out, _ = run(["ingest", str(DEMO), "--db", str(db), "--quiet"], capsys)
    assert code == 0 and "25 new" in out
    code, out, _ = run(["show", "sawt-02.txt", "--db", str(db), "--json"], capsys)
    shown = json.loads(out)
    glued = [r for r in shown["repairs"] if r["kind"] == "glued_headline"]
    assert glued and glued[0]["link"] == "sawt-03.txt"
    assert shown["text"].endswith(glued[0]["detail"])
    code, out, _ = run(["show", "sawt-01.txt", "--db", str(db)], capsys)
    assert code == 0 and "original" in out and "normalized" in out
    code, out, _ = run(["stats", "--db", str(db)], capsys)
    assert "documents: 25" in out


def test_user_mistakes_are_one_line_errors(tmp_path, capsys):
    code, _, err = run(["show", "nope", "--db", str(tmp_path / "none.db")], capsys)
    assert code == 1 and err.count("\n") == 1 and "no such database" in err
    code, _, err = run(["ingest", str(tmp_path / "missing.jsonl"), "--db",
                        str(tmp_path / "k.db")], capsys)
    assert code == 1 and "Traceback" not in err and "missing.jsonl" in err
    (tmp_path / "k2.db").write_text("not a database at all")
    code, _, err = run(["stats", "--db", str(tmp_path / "k2.db")], capsys)
    assert code == 1 and err.count("\n") == 1
    code, _, err = run(["ingest"], capsys)
    assert code == 2 and "Missing argument" in err


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "khabar", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("ingest", "show", "stats"):
        assert command in out


def test_show_unknown_id(tmp_path, capsys):
    db = tmp_path / "k.db"
    run(["ingest", str(DEMO / "blog-01.txt"), "--db", str(db), "-q"], capsys)
    code, _, err = run(["show", "nope", "--db", str(db)], capsys)
    assert code == 1 and "nope: no such document" in err
    assert Path(db).exists()


def test_unwritable_output_is_one_line_not_a_traceback(tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    for args in (["reuse", str(DEMO), "--out", str(blocker / "p.jsonl")],
                 ["dups", str(DEMO), "--out", str(blocker / "d")],
                 ["run", str(DEMO), "--out", str(blocker / "r")]):
        res = subprocess.run([sys.executable, "-m", "khabar", *args, "-q"], capture_output=True,
                             text=True, timeout=300)
        assert res.returncode == 1, args
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
        assert lines[0].startswith("khabar: error: ") and str(blocker) in lines[0]
