"""Inputs split into parts a cluster reads apart give what one sequential read gives."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from khabar.errors import Problem
from khabar.io import readers
from khabar.io.readers import InputPart, input_parts, read, read_part

TEXT = "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في الرياض"


def _lines(records: list) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                   for r in records)


def mixed_inputs(root: Path) -> list[str]:
    """A folder of every format (bad records included), a file, a missing path and an empty
    folder; returned relative to `root`, as a user in `root` would name them."""
    corpus = root / "corpus"
    (corpus / "news" / "sub").mkdir(parents=True)
    (corpus / "a.jsonl").write_text(_lines([
        {"id": "a1", "text": f"{TEXT} 1", "source": "spa", "date": "2020-08-08"},
        "{broken", {"id": "a2", "title": "no text"}, {"text": f"{TEXT} 2"},
        {"id": "a3", "text": f"{TEXT} 3", "tags": ["x"]}]), encoding="utf-8")
    (corpus / "b.csv").write_text(f"id,text,source\nb1,{TEXT} b1,sabq\nb2,{TEXT} b2\n"
                                  f"b3,{TEXT} b3,okaz\n", encoding="utf-8")
    (corpus / "news" / "x.txt").write_text(f"{TEXT} x", encoding="utf-8")
    (corpus / "news" / "y.txt").write_text(f"{TEXT} y", encoding="utf-8")
    (corpus / "news" / "metadata.csv").write_text("file,title,source\nx.txt,عنوان س,spa\n"
                                                  "y,عنوان ص,sabq\n", encoding="utf-8")
    (corpus / "news" / "y.meta.json").write_text(json.dumps({"source": "alriyadh"}),
                                                 encoding="utf-8")
    (corpus / "news" / "sub" / "z.txt").write_text(f"{TEXT} z", encoding="utf-8")
    with gzip.open(corpus / "c.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(_lines([{"id": "c1", "text": f"{TEXT} c1"}, {"id": "c2", "text": f"{TEXT} c2"}]))
    (corpus / "d.json").write_text(json.dumps([{"id": "d1", "text": f"{TEXT} d1"},
                                               {"id": "d2", "text": ""}], ensure_ascii=False),
                                   encoding="utf-8")
    pq.write_table(pa.table({"id": ["e1", "e2"], "text": [f"{TEXT} e1", f"{TEXT} e2"]}),
                   corpus / "e.parquet")
    with zipfile.ZipFile(corpus / "f.zip", "w") as zf:
        zf.writestr("inner/g.jsonl", _lines([{"id": "g1", "text": f"{TEXT} g1"}]))
    (corpus / ".hidden.jsonl").write_text(_lines([{"id": "h", "text": TEXT}]), encoding="utf-8")
    (corpus / "notes.md").write_text("not an article", encoding="utf-8")
    (root / "single.jsonl").write_text(_lines([{"text": f"{TEXT} s1"}, {"id": 7, "text": "x"}]),
                                       encoding="utf-8")
    (root / "empty").mkdir()
    return ["corpus", "single.jsonl", "missing.jsonl", "empty"]


def by_parts(paths: list[str], defer: bool = False) -> tuple[list, list[Problem]]:
    problems: list[Problem] = []
    docs: list = []
    for item in input_parts(paths):
        if isinstance(item, Problem):
            problems.append(item)
        else:
            docs.extend(read_part(item, on_problem=problems.append, defer=defer))
    return docs, problems


def test_parts_read_like_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    paths = mixed_inputs(tmp_path)
    problems: list[Problem] = []
    want = list(read(paths, on_problem=problems.append))
    got, got_problems = by_parts(paths)
    assert [d.id for d in want] == [d.id for d in got]
    assert want == got
    assert problems == got_problems
    reasons = {p.reason for p in problems}
    assert {"json", "no-text", "csv", "missing", "empty"} <= reasons
    # what problems and origins name is the input as given, not the resolved path
    assert all(not p.file.startswith(str(tmp_path)) for p in problems)
    assert {d.id: d.source for d in got if d.id.startswith("news/")} == {
        "news/x.txt": "spa", "news/y.txt": "alriyadh", "news/sub/z.txt": None}


def test_parts_are_read_from_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    paths = mixed_inputs(tmp_path)
    parts = [p for p in input_parts(paths) if isinstance(p, InputPart)]
    assert all(Path(p.path).is_absolute() for p in parts)
    # an executor's working folder is elsewhere: the parts still read the same
    monkeypatch.chdir(tmp_path / "empty")
    elsewhere = [d for p in parts for d in read_part(p)]
    monkeypatch.chdir(tmp_path)
    assert elsewhere == list(read(paths))


def test_txt_files_of_one_folder_share_a_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    for k in range(7):
        (tmp_path / f"{k:02d}.txt").write_text(f"{TEXT} {k}", encoding="utf-8")
    (tmp_path / "metadata.csv").write_text("file,source\n03.txt,spa\n", encoding="utf-8")
    monkeypatch.setattr(readers, "TXT_PART_FILES", 3)
    parts = list(input_parts([str(tmp_path)]))
    assert [len(p.rels) for p in parts] == [3, 3, 1]
    assert all("metadata.csv" in p.meta for p in parts)
    assert by_parts([str(tmp_path)])[0] == list(read([str(tmp_path)]))


def test_deferred_parts_give_raw_jsonl_chunks(tmp_path: Path) -> None:
    paths = [str(tmp_path / p) for p in mixed_inputs(tmp_path)]
    items, _ = by_parts(paths, defer=True)
    chunks = [x for x in items if isinstance(x, readers.LineChunk)]
    assert chunks and all(c.first_line >= 1 for c in chunks)
    parsed = []
    for x in items:
        parsed.extend(readers.parse_chunk(x)[0] if isinstance(x, readers.LineChunk) else [x])
    assert [d.id for d in parsed] == [d.id for d in read(paths)]
