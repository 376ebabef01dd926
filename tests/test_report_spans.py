"""Cutting texts into highlight segments: whole graphemes, full coverage, right labels."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from khabar.report.spans import (
    ceil_boundary,
    floor_boundary,
    is_boundary,
    line_breaks,
    paragraphs,
    segment,
    snap,
)

PAIR = "\ud83d\ude00"  # 😀 as two surrogates, as a str decoded with surrogatepass holds it


def test_harakat_stay_with_their_letter() -> None:
    text = "بِسْمِ الله"
    # offset 1 falls between ب and its kasra; 2 between the kasra and س
    assert not is_boundary(text, 1)
    assert snap(text, 1, 3) == (0, 4)  # back to ب, forward past the sukun of س
    segs = segment(text, [(1, 3, "x")])
    assert [text[s.start:s.end] for s in segs] == ["بِسْ", "مِ الله"]
    assert segs[0].labels == ("x",) and segs[1].labels == ()


def test_surrogate_pair_is_never_split() -> None:
    text = "a" + PAIR + "b"
    assert not is_boundary(text, 2)
    assert snap(text, 2, 3) == (1, 3)
    segs = segment(text, [(2, 4, "x")])
    assert [text[s.start:s.end] for s in segs] == ["a", PAIR + "b"]


def test_emoji_sequences_and_flags() -> None:
    thumbs = "\U0001f44d\U0001f3fd"  # thumbs up + skin tone
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    flags = "\U0001f1f8\U0001f1e6\U0001f1ea\U0001f1ec"  # two flags, four indicators
    text = thumbs + family + flags
    assert not is_boundary(text, 1)
    assert ceil_boundary(text, 3) == len(thumbs + family)  # inside the ZWJ sequence
    start = len(thumbs + family)
    assert is_boundary(text, start + 2) and not is_boundary(text, start + 1)
    assert not is_boundary(text, start + 3)


def test_arabic_number_sign_attaches_forward_and_crlf_is_one() -> None:
    text = "\u0600١٢٣ x\r\ny"
    assert not is_boundary(text, 1)
    assert floor_boundary(text, 1) == 0
    assert not is_boundary(text, text.index("\n"))


def test_overlapping_and_nested_spans() -> None:
    text = "abcdefghij"
    segs = segment(text, [(0, 6, "s1"), (6, 10, "s2"), (2, 8, "q"), (3, 4, "spk")])
    got = [(text[s.start:s.end], s.labels) for s in segs]
    assert got == [
        ("ab", ("s1",)), ("c", ("s1", "q")), ("d", ("s1", "q", "spk")), ("ef", ("s1", "q")),
        ("gh", ("s2", "q")), ("ij", ("s2",)),
    ]


def test_bad_offsets_are_clamped_and_inverted_spans_dropped() -> None:
    text = "نص قصير"
    segs = segment(text, [(-5, 2, "a"), (5, 99, "b"), (4, 1, "c")])
    assert "".join(text[s.start:s.end] for s in segs) == text
    assert segs[0].labels == ("a",) and segs[-1].labels == ("b",)
    assert all("c" not in s.labels for s in segs)
    assert segment("", [(0, 3, "a")]) == []


def test_paragraphs_drop_newlines_and_blank_lines() -> None:
    text = "سطر أول\n\n  \nسطر ثان\r\nثالث"
    segs = segment(text, [(2, 12, "x")], line_breaks(text))
    paras = paragraphs(text, segs)
    lines = ["".join(text[s.start:s.end] for s in p) for p in paras]
    assert lines == ["سطر أول", "سطر ثان", "ثالث"]
    assert all("\n" not in text[s.start:s.end] for p in paras for s in p)


_ALPHABET = st.sampled_from(
    ["ب", "س", "م", "\u0650", "\u0651", "\u064e", " ", "a", "e\u0301", "\n", "\r\n", PAIR,
     "\ud83d", "\U0001f44d\U0001f3fd", "\u200d", "\U0001f1f8\U0001f1e6", "\u0600", "."]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join),
       st.lists(st.tuples(st.integers(-3, 90), st.integers(-3, 90), st.sampled_from("xyz")),
                max_size=6))
def test_segments_cover_text_on_grapheme_boundaries(text: str, spans: list) -> None:
    segs = segment(text, spans, line_breaks(text))
    assert "".join(text[s.start:s.end] for s in segs) == text
    assert all(s.end > s.start for s in segs)
    for s in segs:
        assert is_boundary(text, s.start) and is_boundary(text, s.end)
    snapped = [(*snap(text, a, b), lab) for a, b, lab in spans]
    for s in segs:
        want = []
        for a, b, lab in snapped:
            if a <= s.start and s.end <= b and b > a and lab not in want:
                want.append(lab)
        assert sorted(s.labels) == sorted(want)
        # a span either covers a segment or misses it: segments never straddle span edges
        for a, b, _ in snapped:
            if b > a:
                assert s.end <= a or s.start >= b or (a <= s.start and s.end <= b)
