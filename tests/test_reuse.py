"""Reuse detection: made-up article pairs with the edits real reuse makes, the seeds, the store.

Every text here was written for these tests. The sentences of different
topics share no wording, so any passage found between them would be a bug.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from khabar.document import Document
from khabar.ingest import ingest
from khabar.reuse import ReuseOptions, find_reuse, load_passages, reuse_store
from khabar.reuse.features import credited_agencies, outlet_agency
from khabar.store import Store
from khabar.text.normalize import normalize

# -- material -------------------------------------------------------------------------------

QUOTE = ('قال وزير الصحة في مؤتمر صحفي عقده مساء الثلاثاء إن "الوزارة ستفتتح خلال العام المقبل '
         'ثلاثة مستشفيات جديدة في المناطق الشمالية، وستضاعف عدد الأطباء المتخصصين في طب الطوارئ '
         'لتقليص مدة الانتظار".')
# the same quotation as another outlet ran it: words swapped for synonyms, one dropped,
# one added, diacritics, other quotation marks and punctuation
QUOTE_EDITED = ('وقال وزيرُ الصحة خلال مؤتمر صحفي مساء الثلاثاء إنّ «الوزارةَ سوف تفتتح خلال العام '
                'القادم ثلاثة مستشفيات جديدة في المناطق الشمالية وستضاعف أعداد الأطباء '
                'المتخصصين في طب الطوارئ بهدف تقليص مدة الانتظار».')

SPORT = ('تعادل فريق النصر مع ضيفه الاتحاد بهدفين لكل منهما في مباراة مثيرة أقيمت على ملعب '
         'الجوهرة، وسجل المهاجم البرازيلي هدف التعادل في الدقيقة الأخيرة من الوقت بدل الضائع.')
WEATHER = ('توقعت هيئة الأرصاد هطول أمطار رعدية غزيرة على مرتفعات عسير والباحة مع رياح نشطة '
           'مثيرة للأتربة تحد من مدى الرؤية الأفقية على الطرق السريعة حتى نهاية الأسبوع.')
MARKET = ('أغلق مؤشر السوق المالية على ارتفاع طفيف بدعم من أسهم قطاع المصارف والبتروكيماويات، '
          'وبلغت قيمة التداولات نحو خمسة مليارات ريال وسط تفاؤل المستثمرين بنتائج الربع الثاني.')
CULTURE = ('افتتح معرض الكتاب الدولي أبوابه للزوار بمشاركة أكثر من خمسمئة دار نشر عربية وأجنبية، '
           'ويتضمن برنامجه الثقافي ندوات شعرية وأمسيات قصصية وورش عمل لتعليم الخط العربي.')
TRAFFIC = ('أعلنت إدارة المرور عن تحويلات مؤقتة في حركة السير على الطريق الدائري الشرقي لإتاحة '
           'المجال أمام أعمال صيانة الجسور التي تستمر ثلاثة أسابيع خلال ساعات الليل.')
SCIENCE = ('نجح فريق من الباحثين في جامعة الملك عبدالله في تطوير غشاء نانوي قادر على تحلية مياه '
           'البحر باستهلاك أقل للطاقة، ونشرت نتائج الدراسة في مجلة علمية محكمة.')
NEW_LEAD = ('في خطوة طال انتظارها من سكان القرى النائية، جاء الإعلان الرسمي بعد جولة ميدانية '
            'قام بها المسؤولون.')

PARAGRAPH = [
    ('وأوضح مدير الدفاع المدني أن فرق الإنقاذ تمكنت من إخلاء أربعين أسرة من الحي المتضرر '
     'بعد ارتفاع منسوب مياه السيول.'),
    ('وأضاف أن مراكز الإيواء المؤقتة جهزت بالأغطية والوجبات الساخنة والأدوية اللازمة لكبار '
     'السن والأطفال.'),
    ('وحذر المواطنين من الاقتراب من مجاري الأودية أو محاولة عبورها بالسيارات طوال فترة '
     'التقلبات الجوية.'),
]

SIGNATURE = ('جميع الحقوق محفوظة لصحيفة الصدى الإلكترونية ويمنع نقل المحتوى أو نسخه أو '
             'إعادة نشره دون إذن مكتوب من إدارة التحرير.')


def doc(doc_id: str, *parts: str, source: str | None = None, date: str | None = None,
        sep: str = "\n") -> Document:
    when = datetime.fromisoformat(date).replace(tzinfo=UTC) if date else None
    return Document(id=doc_id, text=sep.join(parts), source=source, date=when)


def words(text: str) -> set[str]:
    norm, _ = normalize(text)
    return set(re.findall(r"\w+", norm))


def assert_word_boundaries(text: str, start: int, end: int) -> None:
    """A passage starts and ends on word (or punctuation) boundaries of the original."""
    assert 0 <= start < end <= len(text)
    assert start == 0 or not (text[start - 1].isalnum() and text[start].isalnum())
    assert end == len(text) or not (text[end - 1].isalnum() and text[end].isalnum())


def by_pair(passages, a: str, b: str):
    return [p for p in passages if (p.a, p.b) == tuple(sorted((a, b)))]


# -- pairs with the edits real reuse makes ---------------------------------------------------


def test_edited_quotation_inside_other_text_is_found_with_exact_offsets() -> None:
    a = doc("a", SPORT, QUOTE, WEATHER)
    b = doc("b", MARKET, CULTURE, QUOTE_EDITED, TRAFFIC)
    found = find_reuse([a, b])
    assert len(found) == 1
    p = found[0]
    assert (p.a, p.b) == ("a", "b")
    # the quotation is a whole sentence on both sides: shown whole, nothing around it
    assert a.text[p.a_start : p.a_end] == QUOTE
    assert b.text[p.b_start : p.b_end] == QUOTE_EDITED
    assert 0.6 < p.score < 1.0
    assert p.a_sentences == (1,) and p.b_sentences == (2,)


def test_reordered_sentences_are_covered_on_both_sides() -> None:
    a = doc("a", SPORT, *PARAGRAPH, MARKET)
    b = doc("b", CULTURE, PARAGRAPH[1], PARAGRAPH[0], PARAGRAPH[2], SCIENCE)
    found = find_reuse([a, b])
    assert found
    for side, d in (("a", a), ("b", b)):
        covered = "".join(d.text[getattr(p, f"{side}_start") : getattr(p, f"{side}_end")]
                          for p in found)
        for sentence in PARAGRAPH:
            assert sentence in covered
        for other in (SPORT, MARKET, CULTURE, SCIENCE):
            assert other not in covered


def test_new_first_sentence_is_left_out_and_paragraph_is_one_passage() -> None:
    a = doc("a", WEATHER, " ".join(PARAGRAPH), SPORT)
    b = doc("b", NEW_LEAD + " " + " ".join(PARAGRAPH), TRAFFIC)
    found = find_reuse([a, b])
    assert len(found) == 1  # one reused paragraph, one passage
    p = found[0]
    assert a.text[p.a_start : p.a_end] == " ".join(PARAGRAPH)
    assert b.text[p.b_start : p.b_end] == " ".join(PARAGRAPH)
    assert p.score == 1.0


def test_offsets_slice_the_original_exactly_through_diacritics_and_odd_spacing() -> None:
    voweled = ('وَأَوْضَحَ مُدِيرُ الدِّفَاعِ المَدَنِيِّ أَنَّ فِرَقَ الإِنْقَاذِ تَمَكَّنَتْ مِنْ '
               'إِخْلَاءِ أَرْبَعِينَ أُسْرَةً مِنَ الحَيِّ المُتَضَرِّرِ بَعْدَ ارْتِفَاعِ '
               'مَنْسُوبِ مِيَاهِ السُّيُولِ.')
    a = doc("a", SPORT, PARAGRAPH[0], MARKET, sep="\r\n\r\n")
    b = doc("b", CULTURE + "\u200f", "  " + voweled + "  ", WEATHER)
    found = find_reuse([a, b])
    assert len(found) == 1
    p = found[0]
    assert a.text[p.a_start : p.a_end] == PARAGRAPH[0]
    assert b.text[p.b_start : p.b_end] == voweled
    for d, (s, e) in ((a, (p.a_start, p.a_end)), (b, (p.b_start, p.b_end))):
        assert_word_boundaries(d.text, s, e)


def test_unrelated_articles_and_shared_names_give_nothing() -> None:
    title = "خادم الحرمين الشريفين الملك سلمان بن عبدالعزيز"
    a = doc("a", title + " " + SPORT, WEATHER)
    b = doc("b", title + " " + MARKET, CULTURE)
    c = doc("c", SCIENCE, TRAFFIC)
    assert find_reuse([a, b, c]) == []


def test_min_words_is_respected() -> None:
    short = "أعلنت الهيئة العامة للإحصاء ارتفاع معدل التضخم السنوي"  # eight words
    a = doc("a", SPORT, short + " في شهر يونيو.", WEATHER)
    b = doc("b", MARKET, "وفي سياق آخر " + short + " بحسب البيان.", CULTURE)
    assert len(find_reuse([a, b], ReuseOptions(min_words=8))) == 1
    assert find_reuse([a, b], ReuseOptions(min_words=12)) == []


# -- direction ---------------------------------------------------------------------------------


def test_earlier_document_is_the_source() -> None:
    a = doc("a", SPORT, QUOTE, source="okaz", date="2015-07-22T10:00:00")
    b = doc("b", QUOTE_EDITED, WEATHER, source="alyaum", date="2015-07-21T08:00:00")
    (p,) = find_reuse([a, b])
    assert (p.source, p.rule) == ("b", "date")


def test_wire_outlet_then_wire_credit_then_containment() -> None:
    a = doc("a", SPORT, QUOTE, source="spa")
    b = doc("b", QUOTE_EDITED, WEATHER, source="alyaum")
    (p,) = find_reuse([a, b])
    assert (p.source, p.rule) == ("a", "wire-outlet")

    a = doc("a", "الرياض (واس)", QUOTE, SPORT, source="okaz")
    b = doc("b", QUOTE_EDITED, WEATHER, source="alyaum")
    (p,) = find_reuse([a, b])
    assert (p.source, p.rule) == (None, "wire")

    full = doc("full", CULTURE, QUOTE, MARKET, TRAFFIC, SCIENCE)
    part = doc("part", QUOTE_EDITED)
    (p,) = find_reuse([full, part])
    assert (p.source, p.rule) == ("full", "containment")

    a = doc("a", SPORT, QUOTE)
    b = doc("b", QUOTE_EDITED, WEATHER)
    (p,) = find_reuse([a, b])
    assert (p.source, p.rule) == (None, "undecided")


def test_wire_credits_and_agency_outlets() -> None:
    norm = normalize("جدة (واس) - قال مصدر، حسب وكالة رويترز، وفق (أ ف ب) ووكالة الأنباء "
                     "الكويتية، إن الوضع واسع")[0]
    assert {"spa", "reuters", "afp", "agency:الكويتية"} <= credited_agencies(norm)
    assert credited_agencies(normalize("إن الوضع واسع النطاق والواسطة")[0]) == frozenset()
    assert outlet_agency("SPA") == "spa" and outlet_agency("www.spa.gov.sa") == "spa"
    assert outlet_agency("okaz") is None and outlet_agency(None) is None


# -- boilerplate -------------------------------------------------------------------------------


def _outlet_corpus() -> list[Document]:
    # the signature is glued to the last paragraph (a line of its own would already be
    # removed by ingest's repair step)
    bodies = [SPORT, WEATHER, MARKET, CULTURE, TRAFFIC, SCIENCE]
    docs = [doc(f"sada-{k}", body + " " + SIGNATURE, source="sada")
            for k, body in enumerate(bodies)]
    # one real reuse between two of them, right before the signature
    docs[0] = doc("sada-0", SPORT, QUOTE + " " + SIGNATURE, source="sada")
    docs[1] = doc("sada-1", WEATHER, QUOTE_EDITED + " " + SIGNATURE, source="sada")
    docs.append(doc("other-0", NEW_LEAD, " ".join(PARAGRAPH), source="other"))
    return docs


def test_outlet_boilerplate_is_flagged_and_not_reported_by_default() -> None:
    docs = _outlet_corpus()
    texts = {d.id: d.text for d in docs}
    shown = find_reuse(docs)
    assert [(p.a, p.b) for p in shown] == [("sada-0", "sada-1")]
    assert texts["sada-0"][shown[0].a_start : shown[0].a_end] == QUOTE
    everything = find_reuse(docs, ReuseOptions(include_boilerplate=True))
    flagged = [p for p in everything if p.boilerplate]
    assert len(flagged) == 15  # the signature between every two of the six
    for p in flagged:
        assert texts[p.a][p.a_start : p.a_end] == SIGNATURE
        assert texts[p.b][p.b_start : p.b_end] == SIGNATURE
    assert not any(p.boilerplate for p in everything if p not in flagged)


def test_text_shared_by_a_few_documents_is_not_boilerplate() -> None:
    docs = [doc(f"x-{k}", body + " " + SIGNATURE, source="x")
            for k, body in enumerate([SPORT, WEATHER, MARKET])]
    found = find_reuse(docs)
    assert len(found) == 3 and not any(p.boilerplate for p in found)


# -- the whole run -----------------------------------------------------------------------------


def test_same_rows_whatever_the_workers_and_on_every_run(tmp_path) -> None:
    docs = [*_outlet_corpus(), doc("z", CULTURE, *PARAGRAPH)]
    one = find_reuse(docs, ReuseOptions(include_boilerplate=True), workers=1)
    two = find_reuse(docs, ReuseOptions(include_boilerplate=True), workers=2)
    assert one == two and one
    with Store(tmp_path / "k.db") as store:
        ingest(docs, store)
        first = reuse_store(store, ReuseOptions())
        rows = store.db.execute("SELECT * FROM out_passages ORDER BY 1, 2, 3, 4").fetchall()
        again = reuse_store(store, ReuseOptions())
        assert rows == store.db.execute(
            "SELECT * FROM out_passages ORDER BY 1, 2, 3, 4").fetchall()
        assert first == again == load_passages(store)
        assert len(load_passages(store, include_boilerplate=True)) > len(first)
    assert [p for p in one if not p.boilerplate] == first


def test_passage_dict_has_the_contract_keys_in_order() -> None:
    (p,) = find_reuse([doc("a", SPORT, QUOTE), doc("b", QUOTE_EDITED, WEATHER)])
    d = p.to_dict()
    assert list(d)[:8] == ["a", "a_start", "a_end", "b", "b_start", "b_end", "score", "source"]
    assert {"rule", "a_sentences", "b_sentences", "boilerplate"} <= set(d)


def test_duplicate_ids_are_refused() -> None:
    from khabar.errors import KhabarError

    with pytest.raises(KhabarError, match="unique"):
        find_reuse([doc("a", SPORT), doc("a", WEATHER)])


# -- the seeds ---------------------------------------------------------------------------------

SEED_QUOTE = ("بالنظر إلى أن وجود داعش كان تحت إدارة الولايات المتحدة والنظام الصهيوني، يجب أن "
              "نتأكد من أن مؤامرات هذين النظامين الإجراميين لم تنته")
SEED_MILITIA = [
    "الميليشيات الإيرانية كانت قد استبقت الزيارة بإغلاق مدينة البوكمال بشكل كامل",
    "الميليشيات طردت جميع عناصر قوات الأسد من المدينة، وأجبرتها على ترك حواجزها بشكل كامل",
]


def test_seeds_share_the_quotation_and_the_militia_sentences(seeds_dir) -> None:
    from khabar.io.readers import read

    docs = list(read([seeds_dir]))
    assert len(docs) == 2
    texts = {d.id: d.text for d in docs}
    found = find_reuse(docs)
    for needle in [SEED_QUOTE, *SEED_MILITIA]:
        hits = [p for p in found
                if needle in texts[p.a][p.a_start : p.a_end]
                and needle in texts[p.b][p.b_start : p.b_end]]
        assert len(hits) == 1, needle
    for p in found:
        for d, s, e in ((p.a, p.a_start, p.a_end), (p.b, p.b_start, p.b_end)):
            assert_word_boundaries(texts[d], s, e)
            # no passage swallows the articles: at most a paragraph of each
            assert e - s < 700 and e - s < len(texts[d]) / 2
    # the quotation passage takes in the sentences both outlets reworded around it (the
    # Tasnim report, قاآني urging his fighters to stay in the border areas), not the
    # militia paragraph, which is a passage of its own
    (q,) = [p for p in found if SEED_QUOTE in texts[p.a][p.a_start : p.a_end]]
    for d, s, e in ((q.a, q.a_start, q.a_end), (q.b, q.b_start, q.b_end)):
        shown = texts[d][s:e]
        assert "الميليشيات" not in shown
        assert "المناطق الحدودية بين" in shown


def test_two_alignments_of_the_same_characters_make_one_passage():
    # In a corpus, two token-level alignments of one pair can widen to the same sentence
    # edges; the stored table has one row per character range, so they must come out as one.
    from khabar.reuse.align import Alignment
    from khabar.reuse.features import extract_features
    from khabar.reuse.stage import passages_of as _passages

    fa, fb = extract_features([doc("a", "نص أول طويل بما يكفي لاختبار المقاطع"),
                               doc("b", "نص ثان طويل بما يكفي لاختبار المقاطع")])
    weak = Alignment(0, 20, 0, 20, 0.7, (0,), (0,), (0, 3), (0, 3), boilerplate=True)
    strong = Alignment(0, 20, 0, 20, 0.9, (0,), (0,), (1, 4), (1, 4), boilerplate=False)
    other = Alignment(21, 30, 21, 30, 0.8, (0,), (0,), (4, 5), (4, 5))
    out = _passages(fa, fb, [weak, other, strong])
    assert [(p.a_start, p.a_end, p.score, p.boilerplate) for p in out] == [
        (0, 20, 0.9, False), (21, 30, 0.8, False)]
