from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khabar.document import Document
from khabar.errors import KhabarError, Problem
from khabar.io.readers import Fields, read
from khabar.io.writers import format_date, write_documents, write_jsonl

FORMATS = ["jsonl", "jsonl.gz", "ndjson", "json", "json.gz", "csv", "csv.gz", "tsv", "parquet"]
TEXT = "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في الرياض."


def reread(path: Path, fields: Fields = Fields()) -> list[Document]:  # noqa: B008
    problems: list[Problem] = []
    docs = list(read(path, fields=fields, on_problem=problems.append))
    assert problems == []
    return docs


def key(doc: Document) -> tuple[Any, ...]:
    return (doc.id, doc.text, doc.title, doc.source, doc.date, doc.url, doc.meta)


def sample_docs() -> list[Document]:
    return [
        Document(
            id="a1",
            text='سطر أول\r\nسطر "ثان"، مع فاصلة, و\tجدولة\nوسطر\rأخير',
            title="عنوان",
            source="spa",
            date=datetime(2020, 8, 8, 7, 30, 0, 250000, tzinfo=UTC),
            url="https://example.com/1",
            date_raw="whatever was read",
            meta={"author": "واس", "section": "محليات"},
        ),
        Document(id="a2", text=TEXT, meta={"author": "", "section": "دولي"}),
        Document(id="a3", text=TEXT, date=None, date_raw="03/04/2020", meta={"extra": "x"}),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_every_format(tmp_path: Path, fmt: str) -> None:
    docs = sample_docs()
    path = tmp_path / f"out.{fmt}"
    assert write_documents(docs, path) == 3
    back = reread(path)
    columns = {"author", "section", "extra"}
    for original, copy in zip(docs, back, strict=True):
        assert copy.id == original.id and copy.text == original.text
        assert (copy.title, copy.source, copy.url) == (
            original.title,
            original.source,
            original.url,
        )
        assert copy.date == original.date
        if fmt.startswith(("csv", "tsv", "parquet")):
            # Tabular files have every column on every row; cells absent from a
            # document come back empty (CSV) or null (Parquet).
            filler = "" if not fmt.startswith("parquet") else None
            expected = {c: original.meta.get(c, filler) for c in columns}
            assert copy.meta == expected
        else:
            assert copy.meta == original.meta
    # A date that could not be parsed is written back as it was read.
    assert back[2].date is None and back[2].date_raw == "03/04/2020"
    assert back[0].date_raw == "2020-08-08T07:30:00.250000Z"


def test_custom_fields_round_trip(tmp_path: Path) -> None:
    fields = Fields(id="uid", text="body", title="headline", date="published")
    docs = sample_docs()
    for fmt in ("jsonl", "csv", "parquet"):
        path = tmp_path / f"custom.{fmt}"
        write_documents(docs, path, fields)
        assert [key(d)[:6] for d in reread(path, fields)] == [key(d)[:6] for d in docs]
    first = json.loads((tmp_path / "custom.jsonl").read_text().splitlines()[0])
    assert list(first)[:5] == ["uid", "headline", "source", "published", "url"]
    assert list(first)[-1] == "body"


def test_json_types_survive_jsonl_and_json(tmp_path: Path) -> None:
    meta = {"n": 3, "f": 1.5, "ok": True, "tags": ["أ", "ب"], "nested": {"k": None}}
    docs = [Document(id="x", text=TEXT, meta=dict(meta))]
    for fmt in ("jsonl", "json"):
        path = tmp_path / f"t.{fmt}"
        write_documents(docs, path)
        assert reread(path)[0].meta == meta


def test_parquet_types_and_row_groups(tmp_path: Path) -> None:
    docs = [
        Document(
            id=str(i),
            text=TEXT,
            date=datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=i),
            meta={
                "n": i,
                "score": i / 2,
                "flag": i % 2 == 0,
                "tags": ["x"] * (i % 3),
                "big": 2**70,
            },
        )
        for i in range(10_000)
    ]
    path = tmp_path / "many.parquet"
    assert write_documents(docs, path) == 10_000
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups >= 3  # written in row groups, not as one table
    schema = pq.read_schema(path)
    assert str(schema.field("n").type) == "int64"
    assert str(schema.field("score").type) == "double"
    assert str(schema.field("flag").type) == "bool"
    assert str(schema.field("date").type) == "string"
    back = reread(path)
    assert [key(d)[:6] for d in back] == [key(d)[:6] for d in docs]
    assert back[5].meta == {
        "n": 5,
        "score": 2.5,
        "flag": False,
        "tags": '["x", "x"]',
        "big": str(2**70),
    }


def test_meta_columns_first_seen_late_are_kept(tmp_path: Path) -> None:
    docs = [Document(id=str(i), text=TEXT) for i in range(5)]
    docs.append(Document(id="late", text=TEXT, meta={"only_here": "نعم"}))
    for fmt in ("csv", "parquet"):
        path = tmp_path / f"late.{fmt}"
        write_documents(iter(docs), path)
        back = reread(path)
        assert back[-1].meta["only_here"] == "نعم"


def test_empty_outputs(tmp_path: Path) -> None:
    for fmt in ("jsonl", "json", "csv", "parquet"):
        path = tmp_path / f"none.{fmt}"
        assert write_documents([], path) == 0
        assert path.exists()
    assert json.loads((tmp_path / "none.json").read_text()) == []
    assert pq.read_table(tmp_path / "none.parquet").num_rows == 0


def test_write_jsonl_key_order_utf8_and_types(tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.jsonl"
    records = [
        {"z": 1, "a": "نص عربي", "when": datetime(2020, 8, 8, 10, 30, tzinfo=UTC)},
        {"day": date(2020, 8, 8), "ids": {"b", "a"}, "n": np.int64(7), "v": np.arange(3)},
        {"path": Path("x/y"), "f": np.float32(0.5)},
    ]
    assert write_jsonl(iter(records), path) == 3
    raw = path.read_bytes()
    assert "نص عربي".encode() in raw  # not \\u-escaped
    lines = raw.decode().splitlines()
    assert lines[0] == '{"z": 1, "a": "نص عربي", "when": "2020-08-08T10:30:00Z"}'
    assert json.loads(lines[1]) == {"day": "2020-08-08", "ids": ["a", "b"], "n": 7, "v": [0, 1, 2]}
    assert json.loads(lines[2]) == {"path": "x/y", "f": 0.5}


def test_write_jsonl_gz_is_deterministic(tmp_path: Path) -> None:
    records = [{"i": i, "t": TEXT} for i in range(100)]
    write_jsonl(records, tmp_path / "a.jsonl.gz")
    write_jsonl(records, tmp_path / "b.jsonl.gz")
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    with gzip.open(tmp_path / "a.jsonl.gz", "rt", encoding="utf-8") as handle:
        assert [json.loads(line) for line in handle] == records


def test_lone_surrogate_is_escaped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    write_jsonl([{"t": "bad \ud800 char"}], path)
    assert json.loads(path.read_text()) == {"t": "bad \ud800 char"}


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken() -> Any:
        yield {"ok": 1}
        raise RuntimeError("upstream failure")

    target = tmp_path / "partial.jsonl"
    target.write_text("previous complete output\n")
    with pytest.raises(RuntimeError):
        write_jsonl(broken(), target)
    assert target.read_text() == "previous complete output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partial.jsonl"]


def test_unsupported_output_format(tmp_path: Path) -> None:
    with pytest.raises(KhabarError, match="output format"):
        write_documents([], tmp_path / "out.xlsx")
    with pytest.raises(KhabarError, match="Parquet"):
        write_documents([], tmp_path / "out.parquet.gz")


def test_format_date() -> None:
    assert format_date(datetime(2020, 8, 8, 10, 30, tzinfo=UTC)) == "2020-08-08T10:30:00Z"
    assert format_date(datetime(2020, 8, 8, 10, 30)) == "2020-08-08T10:30:00Z"


# ---------------------------------------------------------------- property

safe_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x0621, max_codepoint=0x064A),
        st.sampled_from([*" \n\r\t\",،.«»\\'", "😀"]),
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=80,
).filter(lambda s: not s.isspace())
maybe_text = st.one_of(st.none(), safe_text)
moments = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
documents = st.builds(
    Document,
    id=safe_text,
    text=safe_text,
    title=maybe_text,
    source=maybe_text,
    date=moments,
    url=maybe_text,
    meta=st.dictionaries(st.sampled_from(["m1", "m2", "مصدر"]), safe_text, max_size=3),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=st.lists(documents, min_size=1, max_size=6), fmt=st.sampled_from(FORMATS))
def test_round_trip_property(tmp_path: Path, docs: list[Document], fmt: str) -> None:
    path = tmp_path / f"prop.{fmt}"
    write_documents(docs, path)
    back = reread(path)
    assert len(back) == len(docs)
    for original, copy in zip(docs, back, strict=True):
        assert key(copy)[:6] == key(original)[:6]
        if fmt.startswith(("csv", "tsv")):
            assert {k: v for k, v in copy.meta.items() if v != ""} == {
                k: v for k, v in original.meta.items() if v != ""
            }
        elif fmt == "parquet":
            assert {k: v for k, v in copy.meta.items() if v is not None} == original.meta
        else:
            assert copy.meta == original.meta
