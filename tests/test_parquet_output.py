"""`--out-format parquet`: the same rows as the JSON lines, with typed columns."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from conftest import DEMO

from khabar.cli import main


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def same_rows(jsonl: Path, parquet: Path) -> None:
    """Every Parquet row is its JSON line: same keys in the same order, same values (fields
    that are not plain lists come as their JSON text)."""
    want = _jsonl(jsonl)
    table = pq.read_table(parquet)
    got = table.to_pylist()
    assert len(got) == len(want), parquet.name
    for w, g in zip(want, got, strict=True):
        assert list(g) == list(w), parquet.name
        for key, value in w.items():
            text = table.schema.field(key).type == "string"
            if isinstance(value, list | dict) and text:
                assert json.loads(g[key]) == value, (parquet.name, key)
            else:
                assert g[key] == value, (parquet.name, key)


def test_run_writes_the_same_rows_as_parquet(tmp_path: Path, capsys) -> None:
    main(["run", str(DEMO), "--out", str(tmp_path / "j"), "--workers", "1", "-q"])
    main(["run", str(DEMO), "--out", str(tmp_path / "p"), "--workers", "1", "-q",
          "--out-format", "parquet"])
    capsys.readouterr()
    jsonl = sorted((tmp_path / "j" / "data").glob("*.jsonl"))
    parquet = sorted((tmp_path / "p" / "data").glob("*"))
    assert [p.name for p in parquet] == [p.stem + ".parquet" for p in jsonl]
    assert len(jsonl) == 12
    for j in jsonl:
        same_rows(j, tmp_path / "p" / "data" / f"{j.stem}.parquet")
    # the report does not depend on the data files' format
    assert (tmp_path / "p" / "index.html").read_bytes() == \
        (tmp_path / "j" / "index.html").read_bytes()
    stories = pq.read_table(tmp_path / "p" / "data" / "stories.parquet")
    assert str(stories.schema.field("members").type) == "list<element: string>"
    novelty = pq.read_table(tmp_path / "p" / "data" / "novelty.parquet")
    spans = [f for f in novelty.schema if str(f.type).startswith("fixed_size_list")]
    assert spans, "spans are [start, end] integer lists"


def test_stage_commands_and_reuse_file(tmp_path: Path, capsys) -> None:
    main(["dups", str(DEMO), "--out", str(tmp_path / "d"), "--out-format", "parquet",
          "--workers", "1", "-q"])
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "clusters.parquet", "pairs.parquet", "short.parquet"]
    assert pq.read_table(tmp_path / "d" / "pairs.parquet").num_rows >= 1
    main(["reuse", str(DEMO), "--out", str(tmp_path / "r.jsonl"), "--workers", "1", "-q"])
    main(["reuse", str(DEMO), "--out", str(tmp_path / "r.parquet"), "--workers", "1", "-q"])
    capsys.readouterr()
    same_rows(tmp_path / "r.jsonl", tmp_path / "r.parquet")
    assert pq.read_table(tmp_path / "r.parquet").num_rows > 10


def test_empty_output_is_a_readable_file(tmp_path: Path, capsys) -> None:
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"id": "x", "text": "خبر واحد قصير لا يتكرر."},
                              ensure_ascii=False) + "\n", "utf-8")
    main(["dups", str(one), "--out", str(tmp_path / "d"), "--out-format", "parquet",
          "--workers", "1", "-q"])
    capsys.readouterr()
    pairs = pq.read_table(tmp_path / "d" / "pairs.parquet")
    assert pairs.num_rows == 0 and "a" in pairs.schema.names
