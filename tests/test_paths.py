"""File names made from data: confined to the output folder, unique per id, readable when plain."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khabar.cli import main
from khabar.errors import KhabarError
from khabar.evaluation.pan import Case
from khabar.io.paths import assign_names, check_unique, encoded_stem, inside, is_plain
from khabar.reuse.pan import read_pan, write_cases, xml_names

HOSTILE = ["../../etc/passwd", "/abs/path", "a/b/c", "..", ".", "", "x", "x.txt", "x.json",
           "CON", "nul.txt", "com1.xml", "Report", "report", "قصة/١", "x" * 500, "\x00", "a\nb",
           "C:\\Windows\\x", "trailing.", ".hidden", "-rf", "doc-0123456789", "DOC-ABCDEF0123",
           "\u202eevil", "🙂", "a b"]


def test_plain_names_stay_readable() -> None:
    names = assign_names(["suspicious-document00042", "report_2015-07.v2", "AFP-123"], ".xml")
    assert names == {"suspicious-document00042": "suspicious-document00042.xml",
                     "report_2015-07.v2": "report_2015-07.v2.xml", "AFP-123": "AFP-123.xml"}


def test_hostile_ids_become_safe_distinct_names() -> None:
    names = assign_names(HOSTILE, ".xml")
    assert len(set(names.values())) == len(set(HOSTILE))
    assert len({n.casefold() for n in names.values()}) == len(set(HOSTILE))
    for doc_id, name in names.items():
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,110}\.xml", name), (doc_id, name)
        assert ".." not in name and len(name.encode()) < 255
        assert name.split(".")[0].lower() not in ("con", "nul", "com1", "prn", "aux")
    assert names["../../etc/passwd"].startswith("etc-passwd-")
    # case-only twins are both encoded, whichever comes first
    assert names["Report"] != "Report.xml" and names["report"] != "report.xml"
    assert assign_names(reversed(HOSTILE), ".xml") == names


def test_an_id_cannot_take_the_name_another_id_is_encoded_to() -> None:
    victim = "x.txt"
    forged = encoded_stem(victim)  # what "x.txt" becomes once encoded
    names = assign_names([victim, "x", forged, forged.upper()], ".xml")
    assert len({n.casefold() for n in names.values()}) == 4
    assert not is_plain(forged) and not is_plain(forged.upper())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=12))
def test_any_ids_get_distinct_names_inside_the_folder(ids: list[str]) -> None:
    names = assign_names(ids, ".xml")
    assert set(names) == set(ids)
    assert len({n.casefold() for n in names.values()}) == len(set(ids))
    for name in names.values():
        assert "/" not in name and "\\" not in name and name not in (".", "..")
        assert all(0x20 < ord(ch) < 0x7F for ch in name)


def test_a_collision_left_is_an_error_naming_both_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KhabarError, match=r"'a/b'.*'a:b'"):
        check_unique({"a/b": "a-b-0123456789.xml", "a:b": "A-B-0123456789.xml"})
    # a 40-bit hash collision between two encoded ids, forced: refused, not overwritten
    import khabar.io.paths as paths

    monkeypatch.setattr(paths, "short_hash", lambda value, chars=10: "0" * chars)
    with pytest.raises(KhabarError, match="would both be written"):
        assign_names(["a/b", "a:b"], ".xml")


def test_inside_refuses_escapes_and_links_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert inside(out, "a.xml") == out / "a.xml"
    for bad in ("../a.xml", "/etc/passwd", "..", "a/b.xml", "", "a\\b"):
        with pytest.raises(KhabarError):
            inside(out, bad)
    target = tmp_path / "elsewhere.xml"
    target.write_text("keep")
    (out / "link.xml").symlink_to(target)
    with pytest.raises(KhabarError, match="outside"):
        inside(out, "link.xml")


def test_pan_files_are_distinct_and_keep_the_id(tmp_path: Path) -> None:
    ids = ["x", "x.txt", "x.json", "../../up", "sub/d1.txt", "d2.txt"]
    cases = [Case(d, 0, 10, "src.txt", 5, 10) for d in ids]
    out = tmp_path / "d" / "out"
    files = write_cases(cases, out)
    assert len(files) == len(ids) and all(f.parent == out for f in files)
    assert {p.name for p in out.iterdir()} == {f.name for f in files}
    assert sorted(c.doc for c in read_pan(out)) == sorted(ids)
    assert xml_names(ids)["d2.txt"] == "d2.xml"
    assert not (tmp_path / "up.xml").exists()


def test_pan_refuses_ids_xml_cannot_carry(tmp_path: Path) -> None:
    with pytest.raises(KhabarError, match="XML"):
        write_cases([Case("a\x01b", 0, 1, "s", 0, 1)], tmp_path)


QUOTE = ('قال وزير الصحة في مؤتمر صحفي عقده مساء الثلاثاء إن "الوزارة ستفتتح خلال العام المقبل '
         'ثلاثة مستشفيات جديدة في المناطق الشمالية، وستضاعف عدد الأطباء المتخصصين في طب الطوارئ '
         'لتقليص مدة الانتظار".')
OTHERS = ['تعادل فريق النصر مع ضيفه الاتحاد بهدفين لكل منهما في مباراة مثيرة.',
          'توقعت هيئة الأرصاد هطول أمطار رعدية غزيرة على مرتفعات عسير والباحة.',
          'افتتح أمير المنطقة معرض الكتاب الدولي بمشاركة ثلاثمئة دار نشر.',
          'ارتفع مؤشر السوق الرئيسية في ختام تعاملات الأسبوع بدعم من قطاع المصارف.',
          'أعلنت الجامعة بدء التسجيل في برامج الدراسات العليا للعام الجديد.',
          'شهدت الطرق السريعة حركة كثيفة مع بداية الإجازة الصيفية للمدارس.',
          'وقعت الوزارة اتفاقية لتطوير المختبرات الطبية في المستشفيات الحكومية.']


def test_reuse_pan_never_writes_outside_the_folder(tmp_path: Path) -> None:
    """`khabar reuse --format pan` with ids that are paths: everything lands in --out."""
    victim = tmp_path / "abs" / "victim"
    ids = ["../../escaped", str(victim), "sub/dir/doc", "x", "x.txt", "x.json", "قصة"]
    feed = tmp_path / "in" / "feed.jsonl"
    feed.parent.mkdir()
    feed.write_text("".join(
        json.dumps({"id": i, "text": f"{OTHERS[k]}\n{QUOTE}"}, ensure_ascii=False) + "\n"
        for k, i in enumerate(ids)), encoding="utf-8")
    out = tmp_path / "work" / "deep" / "out"
    out.parent.mkdir(parents=True)
    before = {p for p in tmp_path.rglob("*")}
    main(["reuse", str(feed), "--format", "pan", "--out", str(out), "--quiet", "--workers", "1"])
    created = {p for p in tmp_path.rglob("*")} - before
    assert created, "nothing written"
    assert all(p == out or p.parent == out for p in created), sorted(map(str, created))
    assert not victim.with_suffix(".xml").exists()
    assert len(list(out.iterdir())) == len(ids)  # one file per document, none lost
    assert sorted({c.doc for c in read_pan(out)}) == sorted(ids)


def test_no_story_page_outside_the_report(tmp_path: Path) -> None:
    from khabar.report import ReportData, StoryPage, story_filename, write_report

    ids = ["../../../escaped", "/tmp/abs", "a/b", "..", "CON", "Story", "story"]
    data = ReportData(stories=[StoryPage(story=i, title=f"قصة {k}") for k, i in enumerate(ids)])
    out = tmp_path / "r" / "out"
    write_report(data, out)
    pages = sorted(os.listdir(out / "stories"))
    assert pages == sorted(story_filename(i) for i in ids)
    assert {p.name for p in tmp_path.rglob("*") if p.is_file()} <= {
        *pages, "index.html", ".khabar-report.json"}
    with pytest.raises(KhabarError, match="twice"):
        write_report(ReportData(stories=[StoryPage("s", "a"), StoryPage("s", "b")]), out)
