"""Repair of scraping artifacts, on made-up text that reproduces the seeds' artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from khabar.repair import RepairContext, repair

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEEDS = SHARED / "seeds"

BODY = ("أعلنت وزارة الزراعة اليوم افتتاح موسم الحصاد في السهول الشرقية. "
        "وقال الوزير إن الإنتاج سيبلغ مليون طن هذا العام.")
HEADLINE = "انقطاع الكهرباء عن ثلاث مدن ساحلية بسبب العاصفة"
NEXT_BODY = "انقطعت الكهرباء مساء الأحد عن ثلاث مدن ساحلية بعد أن ضربت عاصفة قوية المنطقة."


def kinds(rep):
    return [a.kind for a in rep.actions]


def test_dot_comma_paragraphs_become_lines_and_offsets_hold():
    text = "الفقرة الأولى انتهت هنا., الفقرة الثانية تبدأ هنا.، والثالثة،, والرابعة."
    rep = repair(text)
    assert rep.text.split("\n") == ["الفقرة الأولى انتهت هنا.", "الفقرة الثانية تبدأ هنا.",
                                    "والثالثة،", "والرابعة."]
    assert kinds(rep).count("dot_comma") == 3
    for a in rep.actions:
        if a.kind == "dot_comma":
            assert text[a.start] in ",،"
    # every repaired character maps back to an original character range
    for i in range(len(rep.text)):
        s, e = rep.map.span(i, i + 1)
        if rep.text[i] != "\n":
            assert text[s:e] == rep.text[i]


def test_arabic_comma_join():
    rep = repair("قال الوزير ذلك؟، ثم غادر.")
    assert "dot_comma" in kinds(rep)
    assert rep.text == "قال الوزير ذلك؟\nثم غادر."


def test_glued_headline_linked_to_the_document_it_belongs_to():
    glued = BODY + HEADLINE  # no separator at all, as scrapers leave it
    ctx = RepairContext.build([("a", glued, None, "x"), ("b", NEXT_BODY, HEADLINE, "y")])
    rep = repair(glued, "a", "x", ctx)
    act = next(a for a in rep.actions if a.kind == "glued_headline")
    assert act.link == "b"
    assert glued[act.start:act.end] == HEADLINE
    assert rep.text == BODY


def test_glued_headline_found_as_start_of_another_text():
    glued = BODY + HEADLINE
    other = HEADLINE + "\n\n" + NEXT_BODY  # the other scrape kept its headline as first line
    ctx = RepairContext.build([("a", glued, None, None), ("b", other, None, None)])
    rep = repair(glued, "a", None, ctx)
    assert [a.link for a in rep.actions if a.kind == "glued_headline"] == ["b"]


def test_glued_headline_without_confirmation_is_only_suspected():
    glued = BODY + HEADLINE
    rep = repair(glued)
    assert "suspected_glued_headline" in kinds(rep)
    assert rep.text.endswith("\n" + HEADLINE)  # moved to its own line, nothing lost


def test_a_number_at_the_end_is_not_a_glued_headline():
    rep = repair("ارتفع المؤشر بنسبة 3.5 بالمئة خلال اليوم الأول من التداول")
    assert "suspected_glued_headline" not in kinds(rep)


def test_leading_headline_and_truncated_lead():
    text = HEADLINE + " \n\n" + "أن " + NEXT_BODY
    rep = repair(text)
    assert rep.title == HEADLINE
    assert "truncated_lead" in kinds(rep)
    assert "truncated_lead" not in kinds(repair("إن الوضع صعب. " + NEXT_BODY))


def test_boilerplate_lines_of_one_outlet():
    sig = "تابعونا على منصات التواصل الاجتماعي لمزيد من الأخبار"
    docs = [(f"d{i}", f"خبر رقم {i} عن موضوع مختلف تماما.\n{sig}", None, "alpha")
            for i in range(5)]
    docs.append(("e", f"خبر آخر.\n{sig}", None, "beta"))  # another outlet quoting it once
    ctx = RepairContext.build(docs)
    rep = repair(docs[0][1], "d0", "alpha", ctx)
    assert "boilerplate" in kinds(rep)
    assert sig not in rep.text and rep.text.startswith("خبر رقم 0")
    assert "boilerplate" not in kinds(repair(docs[-1][1], "e", "beta", ctx))


def test_whitespace_is_folded():
    rep = repair("سطر  أول   \r\nسطر ثان\n\n\n\nسطر ثالث")
    assert rep.text == "سطر أول\nسطر ثان\n\nسطر ثالث"
    assert "whitespace" in kinds(rep)


def test_clean_text_is_untouched():
    rep = repair(BODY)
    assert rep.text == BODY and rep.map.is_identity and not rep.actions


@pytest.mark.skipif(not SEEDS.exists(), reason="../shared/seeds is absent")
def test_seed_glued_headline_is_recognised_as_title_of_the_second():
    first = (SEEDS / "000_8048bc8425395e6d.txt").read_text("utf-8")
    second = (SEEDS / "001_db7017d31f08142d.txt").read_text("utf-8")
    headline = second.split("\n", 1)[0].strip()
    # as scraped in one stream: the second article's headline glued to the first's body
    glued = first + headline
    ctx = RepairContext.build([("000", glued, None, None), ("001", second, None, None)])
    rep = repair(glued, "000", None, ctx)
    act = next(a for a in rep.actions if a.kind == "glued_headline")
    assert act.link == "001" and glued[act.start:act.end] == headline
    assert rep.text == first
    # the second scrape: its leading line is its title, its lead is truncated,
    # its paragraphs were joined with ".,"
    rep2 = repair(second, "001", None, ctx)
    assert rep2.title == headline
    assert "truncated_lead" in kinds(rep2)
    assert kinds(rep2).count("dot_comma") >= 10
    assert ".," not in rep2.text


def test_glued_headline_with_a_decimal_number_in_it():
    headline = "البنك المركزي يثبت سعر الفائدة عند 3.5% للمرة الثالثة"
    glued = BODY + headline
    ctx = RepairContext.build([("a", glued, None, None), ("b", NEXT_BODY, headline, None)])
    rep = repair(glued, "a", None, ctx)
    assert [(a.link, a.detail) for a in rep.actions if a.kind == "glued_headline"] == [
        ("b", headline)]
