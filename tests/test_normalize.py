"""Normalization: each fold, and the offset map's exactness (property-based)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from khabar.text.normalize import NormalizeOptions, Normalizer, normalize
from khabar.text.offsets import OffsetMap, apply_edits

ARABIC_SOUP = (
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي" "أإآٱىةؤئء" "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652"
    "\u0670\u0640\u06d6\u200b\u200c\u200d\u200f\u202b\u202c\u2067\u2069\ufeff"
    "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬" "،؛؟«»“”" "کیھ" "ﻻﷲﺃﺏﹰ" "AbCİ ß" " \n\t.,:!-0123"
)


def test_each_fold():
    text = "أَحْمَدُ إلى آمال ٱلقمر مستشفى الكـــتاب ٣٫٥ ۴ «قال» ؟ ، ؛ ک ی ﻻ Hello\u200f"
    norm, _ = normalize(text)
    assert norm == 'احمد الي امال القمر مستشفي الكتاب 3.5 4 "قال" ? , ; ك ي لا hello'


def test_optional_folds_are_off_by_default_and_can_be_turned_on():
    assert normalize("مدرسة مسؤول قائد")[0] == "مدرسة مسؤول قائد"
    opts = NormalizeOptions(teh_marbuta=True, hamza=True)
    assert normalize("مدرسة مسؤول قائد", opts)[0] == "مدرسه مسوول قايد"


def test_options_can_keep_distinctions():
    opts = NormalizeOptions(harakat=False, alef=False, digits=False, lowercase=False)
    assert normalize("أَحمد ٣ A", opts)[0] == "أَحمد ٣ A"


def test_words_map_back_with_their_diacritics():
    text = "قالَ الرئيــسُ"
    norm, m = normalize(text)
    assert norm == "قال الرئيس"
    s, e = m.span(4, 10)
    assert text[s:e] == "الرئيــسُ"
    assert text[slice(*m.span(0, 3))] == "قالَ"


def test_controls_are_not_swallowed_into_words():
    text = "\u200fكلمة\u200f"
    norm, m = normalize(text)
    assert norm == "كلمة"
    assert m.span(0, 4) == (1, 5)


def test_ligature_expansion_maps_to_the_whole_ligature():
    text = "ﻻ بأس"
    norm, m = normalize(text)
    assert norm == "لا باس"
    assert m.span(0, 1) == (0, 1) and m.span(1, 2) == (0, 1) and m.span(0, 2) == (0, 1)


def test_identity_when_nothing_changes():
    norm, m = normalize("كتب الولد")
    assert norm == "كتب الولد" and m.is_identity


def test_batch_equals_one_by_one():
    texts = ["أَهلاً", "", "ﷲ أكبر\u200f", "plain", "٣٫٥ مليون", "ـــ"]
    nz = Normalizer()
    assert nz.normalize_many(texts) == [nz.normalize(t) for t in texts]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ARABIC_SOUP, max_size=60), st.data())
def test_every_normalized_span_maps_back_exactly(text, data):
    norm, m = normalize(text)
    assert len(m) == len(norm) and m.source_length == len(text)
    if not norm:
        return
    s = data.draw(st.integers(0, len(norm) - 1))
    e = data.draw(st.integers(s + 1, len(norm)))
    os_, oe = m.span(s, e)
    assert 0 <= os_ < oe <= len(text)
    # the original range normalizes to exactly the normalized span, up to the whole
    # characters a multi-character expansion (a ligature) came from
    renorm = normalize(text[os_:oe])[0]
    s2 = s
    while s2 > 0 and m.starts[s2 - 1] == m.starts[s]:
        s2 -= 1
    e2 = e
    while e2 < len(norm) and m.starts[e2] == m.starts[e - 1]:
        e2 += 1
    assert renorm == norm[s2:e2]
    # and it is minimal: it starts and ends on characters that produced output
    assert os_ == m.starts[s2]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ARABIC_SOUP, max_size=40), st.data())
def test_composed_maps_point_into_the_original(text, data):
    # edits (like repair) then normalization: the composition must still be exact
    edits = []
    pos = 0
    while pos < len(text):
        start = data.draw(st.integers(pos, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 3)))
        new = data.draw(st.sampled_from(["", "\n", " ", "xy"]))
        if start == end and not new:
            break
        edits.append((start, end, new))
        pos = end + 1
    edited, em = apply_edits(text, edits)
    norm, nm = normalize(edited)
    composed = em.compose(nm)
    for i in range(len(norm)):
        a, b = composed.span(i, i + 1)
        ea, eb = nm.span(i, i + 1)
        oa, ob = em.span(ea, eb)
        assert (a, b) == (oa, ob)
        assert 0 <= a <= b <= len(text)


def test_offset_map_storage_round_trip():
    _norm, m = normalize("أَهلاً وسهلاً ﻻ\u200f")
    back = OffsetMap.from_bytes(m.to_bytes(), m.source_length)
    assert back == m
    ident = OffsetMap.identity(5)
    assert OffsetMap.from_bytes(ident.to_bytes(), 5).is_identity


def test_to_derived_inverts_span():
    text = "قالَ الرئيــسُ اليوم"
    norm, m = normalize(text)
    orig_start = text.index("الرئيــسُ")
    s, e = m.to_derived(orig_start, orig_start + len("الرئيــسُ"))
    assert norm[s:e] == "الرئيس"


def test_spans_vectorized_matches_span():
    _norm, m = normalize("أَهلاً وسهلاً بكم ﻻ")
    starts = np.array([0, 1, 6])
    ends = np.array([5, 3, 11])
    a, b = m.spans(starts, ends)
    assert [(int(x), int(y)) for x, y in zip(a, b, strict=True)] == [
        m.span(s, e) for s, e in zip(starts, ends, strict=True)
    ]
