"""`khabar run` end to end on the bundled demo corpus."""

from __future__ import annotations

import json

from conftest import DEMO, DEMO_KEY

from khabar.cli import main
from khabar.io.readers import read


def _jsonl(path):
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def test_run_on_demo_writes_report_and_data(tmp_path, capsys):
    out = tmp_path / "out"
    db = tmp_path / "k.db"
    main(["run", str(DEMO), "--out", str(out), "--db", str(db), "--workers", "1"])
    printed = capsys.readouterr()
    assert f"report: {out / 'index.html'}" in printed.out
    for stage in ("ingest", "dups", "reuse", "stories", "threads", "explain", "report"):
        assert f"{stage}:" in printed.err
    key = json.loads(DEMO_KEY.read_text("utf-8"))
    index = (out / "index.html").read_text("utf-8")
    assert 'dir="rtl"' in index
    pairs = _jsonl(out / "data" / "pairs.jsonl")
    assert any(p["kind"] == "exact" and sorted([p["a"], p["b"]]) == sorted(pair)
               for p in pairs for pair in key["exact_duplicates"])
    stories = _jsonl(out / "data" / "stories.jsonl")
    story_of = {m: s["story"] for s in stories for m in s["members"]}
    assert set(story_of) == {d for d in key["documents"]}
    ghadir = {story_of[d] for d in key["stories"]["ghadir-flash-flood"]}
    marj = {story_of[d] for d in key["stories"]["marj-dam-flood"]}
    assert not ghadir & marj, "two floods in one province on different days are two stories"
    passages = _jsonl(out / "data" / "passages.jsonl")
    assert passages and all(p["a_end"] > p["a_start"] for p in passages)
    pages = list((out / "stories").glob("*.html"))
    assert len(pages) == len(stories)
    # who says what, as the attribution scorer reads it: offsets into the original text
    texts = {d.id: d.text for d in read([str(DEMO)])}
    atts = _jsonl(out / "data" / "attributions.jsonl")
    assert atts and {a["kind"] for a in atts} <= {"quote", "reported"}
    for a in atts:
        s, e = a["content"]
        assert 0 <= s < e <= len(texts[a["doc"]]) and a["speaker"]
    credits = _jsonl(out / "data" / "credits.jsonl")
    assert credits and all(texts[c["doc"]][c["span"][0]:c["span"][1]] for c in credits)
    # who says what across stories: one page, name variants joined, statements linked
    speakers = (out / "speakers.html").read_text("utf-8")
    assert "نبيل السراج" in speakers and 'href="stories/' in speakers
    assert 'href="speakers.html"' in index
    mentions = _jsonl(out / "data" / "mentions.jsonl")
    assert {m["type"] for m in mentions} == {"person", "place", "organization"}
    assert all(texts[m["doc"]][m["span"][0]:m["span"][1]] == m["text"] for m in mentions)


def test_rerun_adds_nothing_and_keeps_story_ids(tmp_path, capsys):
    out, db = tmp_path / "out", tmp_path / "k.db"
    main(["run", str(DEMO), "--out", str(out), "--db", str(db), "-q", "--workers", "1"])
    first = (out / "data" / "stories.jsonl").read_text("utf-8")
    main(["run", str(DEMO), "--out", str(out), "--db", str(db), "-q", "--workers", "1"])
    assert (out / "data" / "stories.jsonl").read_text("utf-8") == first
    capsys.readouterr()
