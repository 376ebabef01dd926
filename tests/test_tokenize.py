from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from khabar.text.sentences import split_sentences
from khabar.text.stem import stem, stopwords
from khabar.text.tokenize import DIGIT, IDEOGRAPH, LETTER, tokenize, tokenize_many
from khabar.text.view import view


def test_arabic_latin_numbers():
    t = tokenize("قال 3.5 مليون و1,200 في عام2020م Apple's iPhone_15 北京")
    assert t.strings == ["قال", "3.5", "مليون", "و", "1,200", "في", "عام", "2020", "م",
                         "Apple", "s", "iPhone", "15", "北", "京"]
    assert t.kinds.tolist()[:3] == [LETTER, DIGIT, LETTER]
    assert t.kinds.tolist()[-1] == IDEOGRAPH


def test_trailing_period_is_not_part_of_a_number():
    assert tokenize("بلغ 15.").strings == ["بلغ", "15"]
    assert tokenize("بين 1، 2").strings == ["بين", "1", "2"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="اب تث 12.,٣ xY_-\n北", max_size=30), max_size=6))
def test_batch_equals_single_and_offsets_slice(texts):
    many = tokenize_many(texts)
    for text, toks in zip(texts, many, strict=True):
        single = tokenize(text)
        assert toks.strings == single.strings
        assert [text[a:b] for a, b in zip(toks.starts, toks.ends, strict=True)] == toks.strings


def test_tokens_map_to_original_offsets():
    text = "وقالَ الرئيــسُ «نعم»"
    v = view(text)
    starts, ends = v.token_spans_original()
    assert [text[a:b] for a, b in zip(starts, ends, strict=True)] == ["وقالَ", "الرئيــسُ", "نعم"]


def test_sentences_arabic_news():
    text = ("قال د. محمد إن النمو بلغ 3.5 في المئة. وأضاف: «هذا جيد».وتابع أن Mr. Smith وصل؟ "
            "نعم؛ ثم\nسطر جديد")
    got = [text[a:b] for a, b in split_sentences(text)]
    assert got == ["قال د. محمد إن النمو بلغ 3.5 في المئة.", "وأضاف: «هذا جيد».",
                   "وتابع أن Mr. Smith وصل؟", "نعم؛", "ثم", "سطر جديد"]


def test_sentences_not_split_inside_numbers():
    text = "ارتفع المؤشر 1.200.000 نقطة و3.5 بالمئة اليوم."
    assert len(split_sentences(text)) == 1


def test_sentence_offsets_in_view_point_to_original():
    text = "أَهلاً بكم.   وداعاً!"
    v = view(text)
    assert [text[a:b] for a, b in v.sentence_spans_original()] == ["أَهلاً بكم.", "وداعاً!"]


def test_stemming_and_stopwords():
    assert stem(["المدينة", "مدينة"])[0] == stem(["مدينة"])[0]
    assert "في" in stopwords() and "الذي" in stopwords()
    v = view("ذهب الولد في الصباح")
    assert v.content_mask().tolist() == [True, True, False, True]


def test_arabic_site_names_are_not_sentence_ends():
    text = "قالت مصادر لـ”السورية.نت” إن الزيارة تمت. وانتهى.ثم غادر"
    got = [text[a:b] for a, b in split_sentences(text)]
    assert got == ["قالت مصادر لـ”السورية.نت” إن الزيارة تمت.", "وانتهى.", "ثم غادر"]
