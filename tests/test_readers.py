from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from khabar.document import Document
from khabar.errors import KhabarError, Problem, ProblemLog
from khabar.io import decode, readers
from khabar.io.dates import parse_date
from khabar.io.readers import Fields, read

TEXT = "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في الرياض."
AUG8 = datetime(2020, 8, 8, 7, 30, tzinfo=UTC)


def collect(paths: Any, **kw: Any) -> tuple[list[Document], list[Problem]]:
    problems: list[Problem] = []
    docs = list(read(paths, on_problem=problems.append, **kw))
    return docs, problems


def where(problems: list[Problem]) -> list[tuple[str, int | None, str]]:
    return [(Path(p.file).name, p.line, p.reason) for p in problems]


def jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text(
        "".join(
            (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
        ),
        encoding="utf-8",
    )
    return path


def full_record(i: int = 1) -> dict[str, Any]:
    return {
        "id": f"a{i}",
        "text": f"{TEXT} {i}",
        "title": "عنوان",
        "source": "spa",
        "date": "Sat, 08 Aug 2020 10:30:00 +0300",
        "url": f"https://example.com/{i}",
        "author": "واس",
        "tags": ["صحة", "الرياض"],
    }


# ------------------------------------------------------------------ JSONL


@pytest.mark.parametrize("ext", [".jsonl", ".ndjson"])
def test_jsonl_fields_meta_dates_origin(tmp_path: Path, ext: str) -> None:
    path = jsonl(
        tmp_path / f"news{ext}", [full_record(1), {"text": TEXT, "id": 42}, {"text": TEXT}]
    )
    docs, problems = collect(path)
    assert problems == []
    first = docs[0]
    assert (first.id, first.text, first.title, first.source, first.url) == (
        "a1",
        f"{TEXT} 1",
        "عنوان",
        "spa",
        "https://example.com/1",
    )
    assert first.date == AUG8
    assert first.date_raw == "Sat, 08 Aug 2020 10:30:00 +0300"
    assert first.meta == {"author": "واس", "tags": ["صحة", "الرياض"]}
    assert first.origin == f"{path}:1"
    assert docs[1].id == "42"  # non-string ids become strings
    assert docs[2].id == f"news{ext}:3"  # missing ids: <file name>:<line>
    assert docs[2].title is None and docs[2].date is None and docs[2].date_raw is None


def test_custom_fields_and_unmapped_names_go_to_meta(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "x.jsonl",
        [{"uid": 7, "body": TEXT, "headline": "ع", "published": "8 أغسطس 2020", "text": "other"}],
    )
    fields = Fields(id="uid", text="body", title="headline", date="published")
    [doc], problems = collect(path, fields=fields)
    assert problems == []
    assert (doc.id, doc.text, doc.title) == ("7", TEXT, "ع")
    assert doc.date == datetime(2020, 8, 8, tzinfo=UTC) and doc.date_raw == "8 أغسطس 2020"
    assert doc.meta == {"text": "other"}


def test_unparseable_date_keeps_raw(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "d.jsonl",
        [{"text": TEXT, "date": "03/04/2020"}, {"text": TEXT, "date": 1596871800}],
    )
    docs, _ = collect(path)
    assert docs[0].date is None and docs[0].date_raw == "03/04/2020"
    assert docs[1].date == AUG8 and docs[1].date_raw == "1596871800"


def test_jsonl_problems_are_reported_and_good_records_kept(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        json.dumps(full_record(1), ensure_ascii=False).encode(),  # 1 good
        b'{"id": "b", "text": "broken',  # 2 json
        b"",  # 3 blank: ignored
        b'["not", "an", "object"]',  # 4 json
        b'{"id": "c"}',  # 5 no-text (missing)
        b'{"id": "d", "text": "   \\n  "}',  # 6 no-text (whitespace)
        b'{"id": "e", "text": 12}',  # 7 no-text (not a string)
        b'{"id": "f", "text": "bad \xff byte"}',  # 8 decode
        json.dumps(full_record(9), ensure_ascii=False).encode(),  # 9 good
    ]
    path.write_bytes(b"\n".join(lines))
    docs, problems = collect(path)
    assert [d.id for d in docs] == ["a1", "a9"]
    assert sorted(where(problems), key=lambda w: w[1] or 0) == [
        ("mixed.jsonl", 2, "json"),
        ("mixed.jsonl", 4, "json"),
        ("mixed.jsonl", 5, "no-text"),
        ("mixed.jsonl", 6, "no-text"),
        ("mixed.jsonl", 7, "no-text"),
        ("mixed.jsonl", 8, "decode"),
    ]
    for problem in problems:
        assert problem.file == str(path)
        line = str(problem)
        assert line.startswith(f"{path}:{problem.line}: ") and "\n" not in line
    assert "'c'" in problems[2].message or any("'c'" in p.message for p in problems)


def test_problems_without_callback_are_collected_not_raised(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "p.jsonl", ["{oops", {"text": TEXT}])
    stream = read([path, tmp_path / "missing.jsonl"])
    docs = list(stream)
    assert len(docs) == 1
    assert isinstance(stream.problems, ProblemLog)
    assert stream.problems.counts == {"json": 1, "missing": 1}


def test_problem_counts_with_callback_too(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "p.jsonl", ["{oops", "[]"])
    seen: list[Problem] = []
    stream = read(path, on_problem=seen.append)
    assert list(stream) == []
    assert len(seen) == 2 and stream.problems.total == 2


@pytest.mark.parametrize(
    "name, content",
    [
        ("e.jsonl", b""),
        ("e.jsonl", b"\n  \n"),
        ("e.json", b"   "),
        ("e.csv", b""),
        ("e.tsv", b"\n\n"),
        ("e.txt", b""),
        ("e.txt", codecs.BOM_UTF8 + b" \r\n"),
        ("e.parquet", b""),
        ("e.zip", b""),
    ],
)
def test_empty_files(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    docs, problems = collect(tmp_path / name)
    assert docs == []
    assert where(problems) == [(name, None, "empty")]


def test_empty_gz(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl.gz"
    path.write_bytes(gzip.compress(b""))
    assert where(collect(path)[1]) == [("e.jsonl.gz", None, "empty")]


def test_missing_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "notes.xml").write_text("<a/>")
    docs, problems = collect([tmp_path / "nope.jsonl", str(tmp_path / "notes.xml")])
    assert docs == []
    assert where(problems) == [("nope.jsonl", None, "missing"), ("notes.xml", None, "format")]
    assert ".jsonl" in problems[1].message


def test_undecodable_file_is_one_decode_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes(
        json.dumps({"text": "café crème brûlée à Montréal"}, ensure_ascii=False).encode("latin-1")
        * 3
    )
    good = jsonl(tmp_path / "good.jsonl", [{"text": TEXT}])
    docs, problems = collect([path, good])
    assert len(docs) == 1
    assert where(problems) == [("latin.jsonl", None, "decode")]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16-le", "utf-16-be", "cp1256"])
def test_jsonl_in_every_encoding(tmp_path: Path, encoding: str) -> None:
    text = "".join(
        json.dumps({"id": str(i), "text": f"{TEXT} رقم {i}"}, ensure_ascii=False) + "\r\n"
        for i in range(5)
    )
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    path = tmp_path / "enc.jsonl"
    path.write_bytes(bom + text.encode(encoding))
    docs, problems = collect(path)
    assert problems == []
    assert [d.text for d in docs] == [f"{TEXT} رقم {i}" for i in range(5)]
    assert [d.origin for d in docs][-1] == f"{path}:5"


# ------------------------------------------------------------------- JSON


def test_json_array_pretty_printed(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps([full_record(1), full_record(2)], ensure_ascii=False, indent=2))
    docs, problems = collect(path)
    assert problems == []
    assert [d.id for d in docs] == ["a1", "a2"]
    assert docs[0].origin == f"{path}:2"
    assert docs[1].origin == f"{path}:{path.read_text().splitlines().index('  {', 2) + 1}"
    assert docs[0].meta == {"author": "واس", "tags": ["صحة", "الرياض"]}


@pytest.mark.parametrize("chunk", [3, 17, 256])
def test_json_array_across_small_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(decode, "CHUNK_SIZE", chunk)
    monkeypatch.setattr(readers, "CHUNK_SIZE", chunk)
    records = [
        {
            "id": i,
            "text": TEXT * (i % 4 + 1),
            "score": 12345678901234567890 + i,
            "x": [1.5e10, None, True],
        }
        for i in range(30)
    ]
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(records, ensure_ascii=False, separators=(",", ":")))
    docs, problems = collect(path)
    assert problems == []
    assert [d.id for d in docs] == [str(i) for i in range(30)]
    assert [d.meta["score"] for d in docs] == [r["score"] for r in records]
    assert all(d.origin == f"{path}:1" for d in docs)


def test_json_array_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        f'[\n {{"id": "1", "text": "{TEXT}"}},\n 7,\n {{"id": "3"}},\n'
        ' {"id": "4", "text": "x" oops},\n'
        ' {"id": "5", "text": "never read"}\n]'
    )
    docs, problems = collect(path)
    assert [d.id for d in docs] == ["1"]
    assert where(problems) == [
        ("bad.json", 3, "json"),
        ("bad.json", 4, "no-text"),
        ("bad.json", 5, "json"),
    ]
    assert "line 5" in problems[2].message


def test_json_that_is_really_jsonl(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "lines.json", [full_record(1), "{broken", full_record(3)])
    docs, problems = collect(path)
    assert [d.id for d in docs] == ["a1", "a3"]
    assert [d.origin for d in docs] == [f"{path}:1", f"{path}:3"]
    assert where(problems) == [("lines.json", 2, "json")]


def test_json_single_object_empty_array_and_trailing_data(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps({"text": TEXT}))
    (tmp_path / "none.json").write_text("[ ]")
    (tmp_path / "tail.json").write_text(json.dumps([{"text": TEXT}]) + "\n[]")
    (tmp_path / "open.json").write_text(f'[{{"text": "{TEXT}"}},')
    docs, problems = collect(
        [tmp_path / n for n in ("one.json", "none.json", "tail.json", "open.json")]
    )
    assert len(docs) == 3
    assert where(problems) == [("tail.json", 2, "json"), ("open.json", 1, "json")]


def test_json_bad_bytes_inside_one_element(tmp_path: Path) -> None:
    good = json.dumps({"id": "g", "text": TEXT}, ensure_ascii=False).encode()
    bad = b'{"id": "b", "text": "\xff\xfe bad"}'
    path = tmp_path / "bytes.json"
    path.write_bytes(b"[\n" + b",\n".join([good] * 20 + [bad] + [good]) + b"\n]")
    docs, problems = collect(path)
    assert len(docs) == 21
    assert where(problems) == [("bytes.json", 22, "decode")]


# -------------------------------------------------------------------- CSV


def write_csv(
    path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def test_csv_quoted_multiline_and_exact_text(tmp_path: Path) -> None:
    multi = 'سطر أول\r\nسطر "ثان"، مع فاصلة, هنا\nوسطر\rثالث'
    path = write_csv(
        tmp_path / "n.csv",
        [
            ["id", "title", "text", "date", "section"],
            ["1", "عنوان", multi, "2020-08-08T10:30:00+03:00", "محليات"],
            ["2", "", TEXT, "", ""],
        ],
    )
    docs, problems = collect(path)
    assert problems == []
    assert docs[0].text == multi
    assert docs[0].date == AUG8 and docs[0].meta == {"section": "محليات"}
    assert docs[1].title is None and docs[1].date is None and docs[1].meta == {"section": ""}
    assert docs[0].origin == f"{path}:2"
    assert docs[1].origin == f"{path}:5"  # the first record spans lines 2-4


def test_csv_problems(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(
        "\ufeffid,text,title\n"  # BOM before the header
        "1,نص أول,ع\n"
        "2,,ع\n"  # no-text
        "3,too,many,fields\n"  # csv
        "\n"
        "4,   ,ع\n"  # no-text (whitespace)
        "5,نص أخير,ع\n".encode()
    )
    docs, problems = collect(path)
    assert [d.id for d in docs] == ["1", "5"]
    assert where(problems) == [
        ("p.csv", 3, "no-text"),
        ("p.csv", 4, "csv"),
        ("p.csv", 6, "no-text"),
    ]


def test_tsv_and_cp1256_csv(tmp_path: Path) -> None:
    rows = [["id", "text"], ["1", TEXT], ["2", "خبر ثان\tمع جدولة"]]
    tsv = write_csv(tmp_path / "n.tsv", rows, delimiter="\t")
    old = write_csv(tmp_path / "old.csv", rows, encoding="cp1256")
    docs, problems = collect([tsv, old])
    assert problems == []
    assert [d.text for d in docs] == [TEXT, "خبر ثان\tمع جدولة"] * 2


def test_csv_without_ids_and_header_only(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "noid.csv", [["text"], [TEXT], [TEXT]])
    header_only = write_csv(tmp_path / "h.csv", [["id", "text"]])
    docs, problems = collect([path, header_only])
    assert [d.id for d in docs] == ["noid.csv:2", "noid.csv:3"]
    assert problems == []


def test_csv_field_over_the_limit_is_a_csv_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "CSV_FIELD_LIMIT", 50)
    limit = csv.field_size_limit()
    csv.field_size_limit(50)
    try:
        path = write_csv(tmp_path / "big.csv", [["id", "text"], ["1", "x" * 80], ["2", TEXT[:40]]])
        docs, problems = collect(path)
    finally:
        csv.field_size_limit(limit)
    assert [d.id for d in docs] == ["2"]
    assert where(problems) == [("big.csv", 2, "csv")]


# ---------------------------------------------------------------- Parquet


def write_parquet(path: Path, rows: list[dict[str, Any]], row_group_size: int = 2) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


def test_parquet(tmp_path: Path) -> None:
    rows = [
        {"id": "p1", "text": TEXT, "date": datetime(2020, 8, 8, 7, 30, tzinfo=UTC), "n": 1},
        {"id": None, "text": TEXT, "date": None, "n": 2},
        {"id": "p3", "text": "", "date": None, "n": 3},
        {"id": "p4", "text": TEXT, "date": None, "n": 4},
    ]
    path = write_parquet(tmp_path / "t.parquet", rows)
    docs, problems = collect(path)
    assert [d.id for d in docs] == ["p1", "t.parquet:2", "p4"]
    assert docs[0].date == AUG8 and docs[0].date_raw == "2020-08-08T07:30:00+00:00"
    assert [d.origin for d in docs] == [f"{path}#1", f"{path}#2", f"{path}#4"]
    assert docs[2].meta == {"n": 4}
    assert where(problems) == [("t.parquet", 3, "no-text")]


def test_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / "c.parquet").write_bytes(b"PAR1 this is not parquet at all")
    docs, problems = collect(tmp_path / "c.parquet")
    assert docs == [] and where(problems) == [("c.parquet", None, "corrupt")]


# -------------------------------------------------------------------- txt


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1256"])
def test_txt_is_one_document_with_exact_text(tmp_path: Path, encoding: str) -> None:
    text = "عنوان\r\n\r\nفقرة أولى.\rفقرة ثانية\n"
    path = tmp_path / "article.txt"
    path.write_bytes(text.encode(encoding))
    [doc], problems = collect(path)
    assert problems == []
    assert doc.text == text and doc.id == "article.txt" and doc.origin == str(path)


def test_txt_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(("سطر جيد\n" * 40).encode() + b"\xff\n")
    docs, problems = collect(path)
    assert docs == [] and where(problems) == [("bad.txt", 41, "decode")]


# ------------------------------------------------------------- gzip, zip


def test_gzip_of_each_format(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(json.dumps({"text": TEXT}).encode()))
    (tmp_path / "b.json.gz").write_bytes(gzip.compress(json.dumps([{"text": TEXT}]).encode()))
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(f"text\n{TEXT}\n".encode()))
    (tmp_path / "d.tsv.gz").write_bytes(gzip.compress(f"text\n{TEXT}\n".encode()))
    (tmp_path / "e.txt.gz").write_bytes(gzip.compress(TEXT.encode("cp1256")))
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{"text": TEXT}]), buffer)
    (tmp_path / "f.parquet.gz").write_bytes(gzip.compress(buffer.getvalue()))
    names = ["a.jsonl.gz", "b.json.gz", "c.csv.gz", "d.tsv.gz", "e.txt.gz", "f.parquet.gz"]
    docs, problems = collect([tmp_path / n for n in names])
    assert problems == []
    assert [d.text for d in docs] == [TEXT] * 6
    assert [d.id for d in docs] == [
        "a.jsonl.gz:1",
        "b.json.gz:1",
        "c.csv.gz:2",
        "d.tsv.gz:2",
        "e.txt.gz",
        "f.parquet.gz:1",
    ]


def test_truncated_and_fake_gzip(tmp_path: Path) -> None:
    body = "".join(json.dumps({"id": str(i), "text": f"{TEXT} {i}"}) + "\n" for i in range(3000))
    packed = gzip.compress(body.encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "fake.jsonl.gz").write_bytes(b"this is not gzip data at all")
    docs, problems = collect([tmp_path / "cut.jsonl.gz", tmp_path / "fake.jsonl.gz"])
    assert 0 < len(docs) < 3000  # what was readable before the cut came through
    assert [(w[0], w[2]) for w in where(problems)] == [
        ("cut.jsonl.gz", "corrupt"),
        ("fake.jsonl.gz", "corrupt"),
    ]
    assert problems[0].line is not None and problems[0].line >= len(docs)


def test_zip_members_by_extension(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{"id": "pq", "text": TEXT}]), buffer)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("b/lines.jsonl", json.dumps({"text": TEXT}) + "\nnot json\n")
        archive.writestr("a.csv", f"id,text\nc1,{TEXT}\n")
        archive.writestr("docs/one.txt", TEXT)
        archive.writestr("docs/one.meta.json", json.dumps({"title": "ع", "date": "8 أغسطس 2020"}))
        archive.writestr("readme.md", "ignored")
        archive.writestr("__MACOSX/docs/._one.txt", b"\x00\x05\x16\x07junk")
        archive.writestr("inner.jsonl.gz", gzip.compress(json.dumps({"text": TEXT}).encode()))
        archive.writestr("z.parquet", buffer.getvalue())
    docs, problems = collect(path)
    assert [d.id for d in docs] == [
        "c1",
        "bundle.zip!b/lines.jsonl:1",
        "bundle.zip!docs/one.txt",
        "bundle.zip!inner.jsonl.gz:1",
        "pq",
    ]
    assert docs[2].title == "ع" and docs[2].date == datetime(2020, 8, 8, tzinfo=UTC)
    assert docs[1].origin == f"{path}!b/lines.jsonl:1"
    assert [(p.file, p.line, p.reason) for p in problems] == [(f"{path}!b/lines.jsonl", 2, "json")]


def test_corrupt_zip(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really a zip")
    docs, problems = collect(tmp_path / "bad.zip")
    assert docs == [] and where(problems) == [("bad.zip", None, "corrupt")]


# -------------------------------------------------------------- directories


def test_directory_walk_sidecars_and_metadata_csv(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "b.txt").write_text("نص ب")
    (root / "a.txt").write_text("نص أ")
    (root / "a.meta.json").write_text(
        json.dumps(
            {"title": "أ", "source": "واس", "lang": "ar", "text": "ignored", "id": "ignored"}
        )
    )
    (root / "c.txt").write_text("نص ج")
    (root / "c.txt.meta.json").write_text(json.dumps({"date": "2020-08-08T10:30:00+03:00"}))
    (root / "metadata.csv").write_text(
        "file,title,url,desk\nb.txt,عنوان ب,https://e/b,اقتصاد\na.txt,from csv,https://e/a,سياسة\n"
    )
    (root / "sub" / "s1.txt").write_text("نص فرعي")
    (root / "sub" / "metadata.csv").write_text("id,title\nsub/s1.txt,فرعي\n")
    (root / "sub" / "deeper" / "rows.jsonl").write_text(json.dumps({"text": TEXT}) + "\n")
    (root / "sub" / "notes.xml").write_text("<ignored/>")
    (root / ".hidden" / "x.txt").write_text("hidden")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    docs, problems = collect(root)
    assert problems == []
    assert [d.id for d in docs] == [
        "a.txt",
        "b.txt",
        "c.txt",
        "sub/deeper/rows.jsonl:1",
        "sub/s1.txt",
    ]
    a, b, c, rows, s1 = docs
    # the sidecar wins over metadata.csv; unknown fields go to meta
    assert (a.title, a.source, a.url, a.meta) == (
        "أ",
        "واس",
        "https://e/a",
        {"desk": "سياسة", "lang": "ar"},
    )
    assert a.text == "نص أ"
    assert (b.title, b.url, b.meta) == ("عنوان ب", "https://e/b", {"desk": "اقتصاد"})
    assert c.date == AUG8 and c.date_raw == "2020-08-08T10:30:00+03:00"
    assert s1.title == "فرعي"
    assert a.origin == str(root / "a.txt")
    assert rows.origin == f"{root / 'sub' / 'deeper' / 'rows.jsonl'}:1"


def test_directory_bad_sidecar_is_reported_document_kept(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TEXT)
    (tmp_path / "a.meta.json").write_text("{broken")
    (tmp_path / "b.txt").write_text(TEXT)
    (tmp_path / "b.meta.json").write_text("[1, 2]")
    docs, problems = collect(tmp_path)
    assert [d.id for d in docs] == ["a.txt", "b.txt"]
    assert [(w[0], w[2]) for w in where(problems)] == [
        ("a.meta.json", "json"),
        ("b.meta.json", "json"),
    ]


def test_directory_or_zip_without_readable_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "xml").mkdir()
    (tmp_path / "xml" / "a.xml").write_text("<a/>")
    with zipfile.ZipFile(tmp_path / "docs.zip", "w") as archive:
        archive.writestr("readme.md", "nothing")
    docs, problems = collect([tmp_path / "empty", tmp_path / "xml", tmp_path / "docs.zip"])
    assert docs == []
    assert where(problems) == [
        ("empty", None, "empty"),
        ("xml", None, "empty"),
        ("docs.zip", None, "empty"),
    ]


def test_several_inputs_in_order(tmp_path: Path) -> None:
    one = jsonl(tmp_path / "one.jsonl", [{"text": TEXT}])
    two = write_csv(tmp_path / "two.csv", [["text"], [TEXT]])
    docs, _ = collect([str(two), one])
    assert [d.id for d in docs] == ["two.csv:2", "one.jsonl:1"]
    docs, _ = collect(one)  # a single path, not a list
    assert len(docs) == 1


# ----------------------------------------------------------------- Fields


def test_fields_defaults_and_parse() -> None:
    assert Fields().names() == ("id", "text", "title", "source", "date", "url")
    assert Fields.parse("text=body, title=headline") == Fields(text="body", title="headline")
    assert Fields.parse(["id=uid"]) == Fields(id="uid")
    with pytest.raises(KhabarError, match="unknown field"):
        Fields.parse("body=text")
    with pytest.raises(KhabarError):
        Fields.parse("text")
    with pytest.raises(KhabarError):
        Fields(title="text")  # two fields from one column
    with pytest.raises(AttributeError):
        Fields().text = "x"  # type: ignore[misc]


# ------------------------------------------------------ streaming, memory


def test_reading_is_lazy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = jsonl(tmp_path / "lazy.jsonl", [{"id": str(i), "text": TEXT} for i in range(20_000)])
    parsed = 0
    real_loads = json.loads

    def counting(text: str) -> Any:
        nonlocal parsed
        parsed += 1
        return real_loads(text)

    monkeypatch.setattr(readers.json, "loads", counting)
    stream = read(path)
    assert parsed == 0  # nothing happens before the first document is asked for
    assert next(stream).id == "0"
    assert parsed == 1
    stream.close()


@pytest.mark.parametrize("kind", ["jsonl", "json", "csv"])
def test_memory_does_not_grow_with_file_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr(decode, "CHUNK_SIZE", 1 << 16)
    monkeypatch.setattr(readers, "CHUNK_SIZE", 1 << 16)
    record = {"id": "", "text": TEXT * 20, "title": "عنوان"}
    path = tmp_path / f"big.{kind}"
    with open(path, "w", encoding="utf-8", newline="") as out:
        if kind == "csv":
            writer = csv.writer(out)
            writer.writerow(list(record))
        elif kind == "json":
            out.write("[\n")
        for i in range(8000):
            record["id"] = str(i)
            if kind == "csv":
                writer.writerow(list(record.values()))
            else:
                sep = ",\n" if kind == "json" and i else ""
                out.write(
                    sep + json.dumps(record, ensure_ascii=False) + ("\n" if kind == "jsonl" else "")
                )
        if kind == "json":
            out.write("\n]")
    size = path.stat().st_size
    assert size > 15_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in read(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 8000
    assert peak < 3_000_000, f"peak {peak} bytes for a {size}-byte file"


# ------------------------------------------------------------ real corpus


@pytest.mark.slow
def test_saudinewsnet_dev_reads_fully(saudinewsnet: Path) -> None:
    # The `saudinewsnet` fixture (tests/conftest.py) skips when ../shared is absent.
    stream = read(saudinewsnet)
    docs = list(stream)
    # 216 records of the file have an empty text: they are counted as no-text.
    assert len(docs) + stream.problems.counts["no-text"] == 16_327
    assert set(stream.problems.counts) <= {"no-text"}
    with gzip.open(saudinewsnet, "rt", encoding="utf-8") as raw:
        raw_dates = [json.loads(line).get("date") for line in raw]
    assert len(raw_dates) == 16_327
    assert all(parse_date(value) is not None for value in raw_dates if value)
    assert all(doc.date is not None for doc in docs if doc.date_raw)
    assert len({doc.id for doc in docs}) == len(docs)


def test_html_entities_in_titles_are_decoded_and_text_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    rows = [{"id": "1", "title": "مصادر &quot;سبق&quot;: اجتماع &amp; لقاء",
             "text": "نص فيه &quot; كما هو"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    (doc,) = read([path])
    assert doc.title == 'مصادر "سبق": اجتماع & لقاء'
    assert doc.text == "نص فيه &quot; كما هو"  # the text keeps its characters (offsets)
