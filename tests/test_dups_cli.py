"""`khabar dups`: output files, deduplicated corpus, incremental database, option errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from khabar.cli import main
from tests.test_dups import text, words


def write_input(path: Path) -> Path:
    base = words(90, 11)
    rows = [
        {"id": "a1", "source": "wire", "date": "2015-07-21 09:00:00", "title": "أ",
         "text": text(base)},
        {"id": "a2", "source": "paper", "date": "2015-07-21 08:00:00", "title": "ب",
         "text": text(base).replace("ا", "أ")},
        {"id": "a3", "source": "site", "date": "2015-07-22 10:00:00", "title": "ج",
         "text": text([*base[:45], "جديد", *base[46:]])},
        {"id": "b1", "source": "site", "date": "2015-07-22 10:00:00", "title": "د",
         "text": text(words(90, 12))},
        {"id": "s1", "source": "site", "title": "هـ", "text": "خبر قصير"},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def run(*args: str) -> None:
    main([str(a) for a in args])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_input(tmp_path / "in.jsonl")
    run("dups", src, "--out", tmp_path / "out", "-q")
    assert "1 exact and 1 near pairs, 1 clusters" in capsys.readouterr().out
    pairs = read_jsonl(tmp_path / "out" / "pairs.jsonl")
    assert list(pairs[0]) == ["a", "b", "jaccard", "containment_a_in_b", "containment_b_in_a",
                              "kind"]
    # a1 is an exact copy of a2 (the earlier): paired with it alone; the near copy a3 is
    # paired with the group's representative a2 only (a1 has the same similarities)
    assert [(p["a"], p["b"], p["kind"]) for p in pairs] == [
        ("a1", "a2", "exact"), ("a2", "a3", "near")]
    assert all(isinstance(p["jaccard"], float) and len(repr(p["jaccard"])) <= 6 for p in pairs)
    clusters = read_jsonl(tmp_path / "out" / "clusters.jsonl")
    assert clusters == [{"cluster": 0, "representative": "a2", "members": ["a1", "a2", "a3"]}]
    assert read_jsonl(tmp_path / "out" / "short.jsonl") == [{"id": "s1"}]


@pytest.mark.parametrize("name", ["dedup.jsonl", "dedup.parquet"])
def test_dedup_out(tmp_path: Path, name: str) -> None:
    from khabar.io.readers import read

    src = write_input(tmp_path / "in.jsonl")
    run("dups", src, "--dedup-out", tmp_path / name, "-q")
    docs = list(read([tmp_path / name]))
    assert [d.id for d in docs] == ["a2", "b1", "s1"]
    assert docs[0].title == "ب" and docs[0].source == "paper"
    original = {json.loads(line)["id"]: json.loads(line)["text"]
                for line in src.read_text(encoding="utf-8").splitlines()}
    assert all(d.text == original[d.id] for d in docs)


def test_workers_give_identical_files(tmp_path: Path) -> None:
    src = write_input(tmp_path / "in.jsonl")
    run("dups", src, "--out", tmp_path / "w1", "--workers", "1", "-q")
    run("dups", src, "--out", tmp_path / "w2", "--workers", "2", "-q")
    for name in ("pairs.jsonl", "clusters.jsonl", "short.jsonl"):
        assert (tmp_path / "w1" / name).read_bytes() == (tmp_path / "w2" / name).read_bytes()


def test_database_is_incremental(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_input(tmp_path / "in.jsonl")
    db = tmp_path / "k.db"
    run("dups", src, "--db", db, "-q")
    capsys.readouterr()
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps({"id": "a4", "text": text(words(90, 11))}) + "\n",
                    encoding="utf-8")
    run("dups", more, "--db", db, "--out", tmp_path / "out", "-q")
    out = capsys.readouterr().out
    # a4, an exact copy of a1 and a2, joins their group
    assert "2 exact and 1 near pairs" in out
    assert [(p["a"], p["b"], p["kind"]) for p in read_jsonl(tmp_path / "out" / "pairs.jsonl")
            ] == [("a1", "a2", "exact"), ("a2", "a3", "near"), ("a2", "a4", "exact")]
    run("dups", "--db", db, "--out", tmp_path / "again", "-q")
    assert ((tmp_path / "out" / "pairs.jsonl").read_bytes()
            == (tmp_path / "again" / "pairs.jsonl").read_bytes())


@pytest.mark.parametrize(("args", "message"), [
    (["--threshold", "1.5"], "threshold 1.5: must be in (0, 1]"),
    (["--bands", "4"], "give both bands and rows, or neither"),
    (["--bands", "40", "--rows", "4"], "bands × rows = 160 exceeds num_perm 128"),
    (["--shingle", "lines"], "shingle 'lines': use word:N or char:N"),
    (["--dedup-out", "x.txt"], "the format follows the extension"),
    (["--workers", "-1"], "--workers -1"),
])
def test_bad_options_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  args: list[str], message: str) -> None:
    src = write_input(tmp_path / "in.jsonl")
    with pytest.raises(SystemExit) as exc:
        run("dups", src, "--out", tmp_path / "out", *args)
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("khabar: error:") and message in err
    assert not (tmp_path / "out").exists()


def test_nothing_to_keep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_input(tmp_path / "in.jsonl")
    with pytest.raises(SystemExit):
        run("dups", src)
    assert "give --out DIR, --dedup-out FILE or --db" in capsys.readouterr().err
