"""Passage kinds: copies, templates and formulas, on made-up articles written for these tests."""

from __future__ import annotations

import numpy as np

from khabar.reuse import ReuseOptions, find_reuse
from khabar.reuse.features import extract_features
from khabar.reuse.numbers import number_values
from khabar.reuse.phrases import PhraseCounts
from tests.test_reuse import CULTURE, MARKET, SCIENCE, SPORT, TRAFFIC, WEATHER, by_pair, doc

# A daily report: the same frame, new figures every day.
REPORT = ("أغلق مؤشر سوق الأسهم اليوم مرتفعا {0} نقطة بنسبة {1} بالمئة عند مستوى {2} نقطة "
          "بتداولات بلغت قيمتها {3} مليار ريال توزعت على أكثر من {4} ألف صفقة، وارتفعت أسهم {5} "
          "شركة وتراجعت أسهم {6} شركة أخرى في ختام تعاملات الجلسة.")
MONDAY = REPORT.format("16.72", "0.18", "9269", "3.5", "73", "81", "58")
TUESDAY = REPORT.format("71.08", "0.76", "9301", "5.2", "85", "35", "111")

# A protocol title many outlets write in unrelated stories, and stories around it.
TITLE = ("صاحب السمو الملكي الأمير فيصل بن خالد بن سلطان أمير المنطقة الشمالية رئيس مجلس "
         "المنطقة ورئيس اللجنة العليا للتنمية")
STORIES = [
    "افتتح {t} مشروع توسعة المستشفى العام في عرعر بطاقة ثلاثمئة سرير.",
    "استقبل {t} وفدا من رجال الأعمال لبحث فرص الاستثمار الزراعي في المحافظات.",
    "دشن {t} حملة للتشجير تشمل غرس عشرة آلاف شجرة على الطرق الرئيسة.",
    "رعى {t} حفل تخريج الدفعة الخامسة من طلاب الكلية التقنية بالمدينة.",
    "كرم {t} الفائزين بجائزة التميز في الخدمات البلدية لهذا العام.",
    "تفقد {t} سير العمل في مشروع الطريق الدولي الذي يربط المنطقة بالحدود.",
]


def test_number_values_read_figures_as_a_reader_does() -> None:
    assert number_values("1,200") == (1200,)
    assert number_values("15.8") == (15, 8)
    assert number_values("45.999.540") == (45999540,)
    # words are compared with words only: their values come out negative
    assert number_values("ثلاثة") == (-3,) and number_values("والثالث") == (-3,)
    assert number_values("اول") == (-1,) and number_values("والعشرين") == (-20,)
    # "one" is too often not a figure (واحدة من: one of)
    assert number_values("واحدة") == ()
    assert number_values("الوزارة") == () and number_values("") == ()


def test_same_frame_with_other_figures_is_a_template_and_not_reported_by_default() -> None:
    a = doc("mon", MONDAY, SPORT, source="okaz", date="2015-07-20T10:00:00")
    b = doc("tue", TUESDAY, WEATHER, source="madina", date="2015-07-21T10:00:00")
    assert find_reuse([a, b]) == []
    (p,) = find_reuse([a, b], ReuseOptions(include_formulaic=True))
    assert p.kind == "template" and not p.is_copy
    assert p.source is None and p.rule == "formulaic"
    assert p.to_dict()["kind"] == "template"


def test_the_same_report_with_the_same_figures_is_a_copy() -> None:
    a = doc("mon", MONDAY, SPORT, source="okaz", date="2015-07-20T10:00:00")
    b = doc("mon2", MONDAY, WEATHER, source="madina", date="2015-07-20T12:00:00")
    (p,) = find_reuse([a, b])
    assert p.kind == "copy" and p.is_copy
    assert p.source == "mon" and p.rule == "date"


def _title_corpus() -> list:
    # the title travels: six stories, three outlets, six different days
    outlets = ["okaz", "madina", "riyadh"]
    return [doc(f"s{k}", story.format(t=TITLE), body, source=outlets[k % 3],
                date=f"2015-07-{20 + k:02d}T09:00:00")
            for k, (story, body) in enumerate(zip(STORIES, [SPORT, WEATHER, MARKET, CULTURE,
                                                            TRAFFIC, SCIENCE], strict=True))]


def test_a_title_carried_by_many_outlets_on_many_days_is_a_formula() -> None:
    docs = _title_corpus()
    assert find_reuse(docs) == []
    everything = find_reuse(docs, ReuseOptions(include_formulaic=True))
    assert everything and {p.kind for p in everything} == {"formula"}
    assert all(p.source is None for p in everything)
    # the same title on fewer days is not (yet) a formula: with two days only, the
    # stories could be one story's copies
    two_days = [d for d in docs if d.id in ("s0", "s1", "s2")]
    few = ReuseOptions(include_formulaic=True)
    assert {p.kind for p in find_reuse(two_days, few)} <= {"copy", "template"}


def test_a_copied_story_around_a_formula_is_still_a_copy() -> None:
    docs = _title_corpus()
    # another outlet republishes story 3 with its own first paragraph
    docs.append(doc("copy3", "وفي خبر آخر من المنطقة.", STORIES[3].format(t=TITLE),
                    source="sabq", date="2015-07-23T15:00:00"))
    found = by_pair(find_reuse(docs), "s3", "copy3")
    assert [p.kind for p in found] == ["copy"]
    assert found[0].source == "s3"


def test_phrase_counts_merge_like_one_batch() -> None:
    feats = extract_features(_title_corpus(), ReuseOptions().ngram)
    whole = PhraseCounts.of(feats)
    parts = PhraseCounts.merge([PhraseCounts.of(feats[:2]), PhraseCounts.of(feats[2:5]),
                                PhraseCounts.of(feats[5:])])
    for name in ("og_gram", "og_outlet", "og_docs", "dg_gram", "dg_day", "dg_docs"):
        assert np.array_equal(getattr(whole, name), getattr(parts, name)), name
    formula = whole.formula_grams(3, 5, 50)
    assert 0 < len(formula) < sum(len(f.grams) for f in feats)
    assert len(whole.formula_grams(4, 5, 50)) == 0  # only three outlets carry it


def test_kinds_do_not_depend_on_the_workers() -> None:
    docs = _title_corpus()
    opt = ReuseOptions(include_formulaic=True)
    one = find_reuse(docs, opt, workers=1)
    two = find_reuse(docs, opt, workers=2)
    assert one == two and one


def test_report_shows_templates_apart_and_never_as_who_copied_whom() -> None:
    from types import SimpleNamespace

    from khabar.report.model import ReportData, assemble_story
    from khabar.report.render import render_story

    a = doc("mon", MONDAY, SPORT, source="okaz", date="2015-07-20T10:00:00")
    b = doc("tue", TUESDAY, WEATHER, source="madina", date="2015-07-21T10:00:00")
    c = doc("mon2", MONDAY, CULTURE, source="riyadh", date="2015-07-20T12:00:00")
    found = find_reuse([a, b, c], ReuseOptions(include_formulaic=True))
    assert {p.kind for p in found} == {"copy", "template"}
    story = SimpleNamespace(story="s1", title="السوق", first_seen=None, last_seen=None,
                            members=["mon", "tue", "mon2"], sources=[])
    page = assemble_story(story, {d.id: (d, None) for d in (a, b, c)}, passages=found)
    assert [p.kind for p in page.passages] == ["copy"] and page.passages[0].directed
    assert page.passages[0].rule == "date" and page.passages[0].origin.doc == "mon"
    assert page.shared and all(p.kind == "template" and not p.directed for p in page.shared)
    html = render_story(ReportData([page]), page)
    shared_part = html[html.index("نصوص مشتركة ليست نقلاً"):]
    assert "قالب متكرر بمعطيات مختلفة" in shared_part
    assert "الأقدم تاريخاً هو المصدر" in html[: html.index("نصوص مشتركة ليست نقلاً")]


def test_direction_by_phrasing_without_dates() -> None:
    from tests.test_reuse import PARAGRAPH

    # the original paragraph; each of its sentences is also quoted verbatim elsewhere, so
    # its phrases are the collection's phrases
    original = doc("orig", " ".join(PARAGRAPH), SPORT)
    quoting = [doc(f"q{k}", s, body) for k, (s, body) in
               enumerate(zip(PARAGRAPH, [WEATHER, MARKET, CULTURE], strict=True))]
    # a rewrite that swaps words for synonyms in place: its phrases are its own
    rewrite = doc("rewrite", (
        "وبين قائد الدفاع المدني أن طواقم الإنقاذ استطاعت إخلاء أربعين عائلة من الحي المنكوب "
        "إثر صعود منسوب مياه السيول. وأردف أن مراكز الإيواء العاجلة زودت بالبطانيات والوجبات "
        "الدافئة والعقاقير الضرورية لكبار السن والصغار. ونبه السكان من الدنو من مجاري الأودية "
        "أو محاولة اجتيازها بالمركبات طيلة مدة التقلبات الجوية."), TRAFFIC)
    found = by_pair(find_reuse([original, *quoting, rewrite]), "orig", "rewrite")
    assert found and all(p.kind == "copy" for p in found)
    assert {(p.source, p.rule) for p in found} == {("orig", "phrasing")}
    # a verbatim copy keeps every phrase: nothing to tell, so undecided
    same = doc("same", " ".join(PARAGRAPH), SCIENCE)
    (p,) = by_pair(find_reuse([original, *quoting, same]), "orig", "same")
    assert p.source is None and p.rule == "undecided"
