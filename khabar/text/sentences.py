"""Sentence splitting tuned for Arabic news.

Rules, in order of strength:

* a line break always ends a sentence (scraped paragraphs are lines);
* `. ! ? ؟ ؛ …` end a sentence when followed by a space, the end of the text,
  a line break or an Arabic letter (scrapers glue sentences together);
  closing quotes and brackets right after the mark stay with the sentence;
* a `.` inside a number (3.5, 1.200.000) or after a single letter (the Arabic
  abbreviations د. for doctor, م. for engineer, and initials such as J. Smith)
  does not end one, nor do common Latin abbreviations (Mr., Dr., U.S.).

Spans are half-open offsets into the text given; pass the normalized text and
map through its `OffsetMap`, or pass the original (the rules see both
Arabic and ASCII punctuation).
"""

from __future__ import annotations

import re

import numpy as np

_TERMINATORS = ".!?;؟؛…"
_CLOSERS = "\"'»”’)]}"
_BOUNDARY = re.compile(
    r"(?P<mark>[.!?;؟؛…]+(?:[,،](?=\s|$))?)"
    r"(?P<close>[\"'»”’)\]}]*)"
    r"(?=\s|$|[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF])"
    r"|\n"
)
_LATIN_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr vs etc inc ltd co corp gen col lt sgt rep sen gov no fig "
    "jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e".split()
)
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_WORD_AFTER = re.compile(r"(\w+)")
# site names written in Arabic letters end with these (السورية.نت, الجزيرة.نت)
_ARABIC_DOMAIN_SUFFIXES = frozenset("نت كوم كم اورج أورج اورغ أورغ إنفو انفو نيوز".split())


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Half-open spans of the sentences of `text`, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group(0) != "\n" and _is_abbreviation(text, m.start(), m.group("mark")):
            continue
        end = m.end()
        _append(text, start, end, spans)
        start = end
    _append(text, start, len(text), spans)
    return spans


def sentence_arrays(text: str) -> tuple[np.ndarray, np.ndarray]:
    """`split_sentences` as two int32 arrays (starts, ends)."""
    spans = split_sentences(text)
    if not spans:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    arr = np.asarray(spans, dtype=np.int32)
    return arr[:, 0].copy(), arr[:, 1].copy()


def _is_abbreviation(text: str, pos: int, mark: str) -> bool:
    if mark != ".":
        return False
    after = _WORD_AFTER.match(text, pos + 1)
    if after and after.group(1) in _ARABIC_DOMAIN_SUFFIXES:
        return True  # السورية.نت, a site name, not two sentences
    m = _WORD_BEFORE.search(text, max(0, pos - 12), pos)
    if m is None:
        return False
    word = m.group(1)
    if word[-1:].isdigit():
        # "in 2020." ends a sentence; a decimal never reaches here (no space after it)
        return False
    if len(word) == 1 and word.isalpha():
        return True  # د. محمد ، J. Smith
    return word.lower().rstrip(".") in _LATIN_ABBREVIATIONS


def _append(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
