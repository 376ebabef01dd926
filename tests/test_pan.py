"""PAN measures on toy cases computed by hand, PAN XML files, and the reuse/eval commands."""

from __future__ import annotations

import json
import math

import pytest

from khabar.cli import main
from khabar.evaluation.pan import (
    Case,
    granularity,
    macro_precision,
    macro_recall,
    plagdet,
    score,
)
from khabar.io.paths import encoded_stem
from khabar.reuse.pan import read_pan, write_cases, xml_name


def case(this: tuple[int, int], src: tuple[int, int], doc: str = "s.txt",
         source: str = "r.txt", obfuscation: str | None = None) -> Case:
    return Case(doc, this[0], this[1] - this[0], source, src[0], src[1] - src[0], obfuscation)


TRUTH = [case((0, 100), (0, 100))]  # |s| = 200 characters (100 on each side)


def test_perfect_detection() -> None:
    s = score(TRUTH, TRUTH)
    assert (s.precision, s.recall, s.granularity, s.plagdet) == (1.0, 1.0, 1.0, 1.0)


def test_half_found() -> None:
    det = [case((0, 50), (0, 50))]
    # recall: 100 of the case's 200 characters; precision: all 100 detected ones are right
    assert macro_recall(TRUTH, det) == 0.5
    assert macro_precision(TRUTH, det) == 1.0
    assert math.isclose(score(TRUTH, det).plagdet, 2 * 0.5 / 1.5)


def test_found_in_two_pieces_costs_granularity() -> None:
    det = [case((0, 50), (0, 50)), case((50, 100), (50, 100))]
    s = score(TRUTH, det)
    assert (s.precision, s.recall, s.granularity) == (1.0, 1.0, 2.0)
    assert math.isclose(s.plagdet, 1 / math.log2(3))


def test_detection_twice_too_long() -> None:
    det = [case((0, 200), (0, 200))]
    assert macro_precision(TRUTH, det) == 0.5  # 200 right of 400
    assert macro_recall(TRUTH, det) == 1.0


def test_a_false_detection_halves_macro_precision() -> None:
    det = [case((0, 100), (0, 100)), case((500, 600), (500, 600))]
    assert macro_precision(TRUTH, det) == 0.5
    assert math.isclose(score(TRUTH, det).plagdet, 2 * 0.5 / 1.5)


def test_overlap_on_one_side_only_or_wrong_source_detects_nothing() -> None:
    det = [case((0, 100), (300, 400)), case((0, 100), (0, 100), source="other.txt")]
    assert macro_recall(TRUTH, det) == 0.0
    assert macro_precision(TRUTH, det) == 0.0
    assert granularity(TRUTH, det) == 1.0
    assert score(TRUTH, det).plagdet == 0.0


def test_overlapping_detections_are_not_counted_twice() -> None:
    det = [case((0, 60), (0, 60)), case((40, 100), (40, 100))]
    assert macro_recall(TRUTH, det) == 1.0
    assert granularity(TRUTH, det) == 2.0


def test_partial_overlap_numbers() -> None:
    # case: this [100, 200), source [1000, 1100) -> 200 characters
    truth = [case((100, 200), (1000, 1100))]
    # detection: this [150, 250), source [1000, 1050) -> 150 characters;
    # overlap 50 + 50 = 100
    det = [case((150, 250), (1000, 1050))]
    assert macro_recall(truth, det) == 100 / 200
    assert math.isclose(macro_precision(truth, det), 100 / 150)
    p, r = 100 / 150, 0.5
    assert math.isclose(score(truth, det).plagdet, 2 * p * r / (p + r))


def test_empty_sets() -> None:
    assert macro_recall([], []) == 1.0 and macro_precision([], []) == 1.0
    assert macro_recall(TRUTH, []) == 0.0 and macro_precision(TRUTH, []) == 0.0
    assert macro_precision([], TRUTH) == 0.0
    assert plagdet(0.0, 0.0, 1.0) == 0.0


def test_recall_by_obfuscation() -> None:
    truth = [case((0, 100), (0, 100), obfuscation="none"),
             case((200, 300), (200, 300), obfuscation="word shuffling")]
    s = score(truth, [case((0, 100), (0, 100))])
    assert s.recall_by_obfuscation == {"none": 1.0, "word shuffling": 0.0}
    assert s.cases_by_obfuscation == {"none": 1, "word shuffling": 1}
    assert s.recall == 0.5


# -- files ----------------------------------------------------------------------------------


def test_xml_round_trip(tmp_path) -> None:
    cases = [case((5, 20), (7, 30), doc="sub/d1.txt", source='q"uote.txt'),
             case((0, 3), (1, 2), doc="d2.txt")]
    files = write_cases(cases, tmp_path)
    # an id with a separator is encoded: no sub-folder, the id kept in `reference`
    assert sorted(p.relative_to(tmp_path).as_posix() for p in files) == [
        "d2.xml", f"{encoded_stem('sub/d1.txt')}.xml"]
    assert encoded_stem("sub/d1.txt").startswith("sub-d1-txt-")
    assert sorted(read_pan(tmp_path), key=lambda c: c.doc) == sorted(cases, key=lambda c: c.doc)
    assert xml_name("suspicious-document0001.txt") == "suspicious-document0001.xml"


def test_reading_pan_annotations(tmp_path) -> None:
    (tmp_path / "susp.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<document reference="susp.txt">\n'
        '<feature name="about" authors="x"/>\n'
        '<feature name="plagiarism" this_offset="119" this_length="316" '
        'source_reference="src.txt" source_offset="19259" source_length="316" '
        'obfuscation="none" type="artificial"/>\n</document>\n', encoding="utf-8")
    assert read_pan(tmp_path) == [Case("susp.txt", 119, 316, "src.txt", 19259, 316, "none")]


# -- the commands -----------------------------------------------------------------------------

QUOTE = ('قال وزير الصحة في مؤتمر صحفي عقده مساء الثلاثاء إن "الوزارة ستفتتح خلال العام المقبل '
         'ثلاثة مستشفيات جديدة في المناطق الشمالية، وستضاعف عدد الأطباء المتخصصين في طب الطوارئ '
         'لتقليص مدة الانتظار".')
OTHER_A = ('تعادل فريق النصر مع ضيفه الاتحاد بهدفين لكل منهما في مباراة مثيرة أقيمت على ملعب '
           'الجوهرة.')
OTHER_B = ('توقعت هيئة الأرصاد هطول أمطار رعدية غزيرة على مرتفعات عسير والباحة مع رياح نشطة '
           'مثيرة للأتربة.')


@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "one.txt").write_text(OTHER_A + "\n" + QUOTE, encoding="utf-8")
    (d / "two.txt").write_text(QUOTE + "\n" + OTHER_B, encoding="utf-8")
    return d


def test_reuse_command_jsonl_and_pan_and_eval(corpus, tmp_path, capsys) -> None:
    out = tmp_path / "passages.jsonl"
    main(["reuse", str(corpus), "--out", str(out), "--quiet", "--workers", "1"])
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert list(row)[:8] == ["a", "a_start", "a_end", "b", "b_start", "b_end", "score", "source"]
    one = (corpus / "one.txt").read_text(encoding="utf-8")
    two = (corpus / "two.txt").read_text(encoding="utf-8")
    assert (row["a"], row["b"]) == ("one.txt", "two.txt")
    assert one[row["a_start"] : row["a_end"]] == QUOTE == two[row["b_start"] : row["b_end"]]

    pan_dir = tmp_path / "pan"
    main(["reuse", str(corpus), "--format", "pan", "--out", str(pan_dir), "--quiet"])
    assert sorted(p.name for p in pan_dir.iterdir()) == ["one.xml", "two.xml"]
    det = read_pan(pan_dir)
    assert {(c.doc, c.this_offset, c.source_doc) for c in det} == {
        ("one.txt", row["a_start"], "two.txt"), ("two.txt", row["b_start"], "one.txt")}

    truth = tmp_path / "truth"
    write_cases([Case("one.txt", row["a_start"], row["a_end"] - row["a_start"], "two.txt",
                      row["b_start"], row["b_end"] - row["b_start"], "none")], truth)
    capsys.readouterr()
    main(["eval", "pan", "--truth", str(truth), "--detections", str(pan_dir), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["plagdet"] == 1.0 and result["recall_by_obfuscation"] == {"none": 1.0}
    main(["eval", "pan", "--truth", str(truth), "--detections", str(pan_dir)])
    text = capsys.readouterr().out
    assert "plagdet     1.0000" in text and "none" in text


def test_reuse_command_mistakes_are_one_line(corpus, tmp_path, capsys) -> None:
    for argv in (["reuse", str(corpus), "--format", "pan"],
                 ["reuse", str(corpus), "--max-df", "1", "--out", str(tmp_path / "x.jsonl")],
                 ["eval", "pan", "--truth", str(tmp_path / "nope"), "--detections",
                  str(tmp_path)]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code != 0
        err = capsys.readouterr().err.strip()
        assert err and "Traceback" not in err and len(err.splitlines()) <= 3
