"""Cutting a text into flat segments by overlapping labelled spans.

The report highlights sentences (new / repeated), quotations, speakers and
more, all given as half-open offsets into the ORIGINAL text, and these spans
may overlap or nest arbitrarily. HTML needs properly nested elements, so the
text is cut at every span boundary into flat segments, each carrying the set
of labels active over it; every segment becomes one element.

Offsets come from other stages and may land inside a user-perceived
character: between the two halves of a surrogate pair (a string decoded with
``surrogatepass``), between an Arabic letter and its harakat, inside an emoji
sequence. Cutting there would split the character over two elements (the
marks then render on a dotted circle, or the pair becomes two replacement
characters). So every span is widened to whole graphemes first: its start
moves back and its end moves forward to the nearest grapheme boundary. The
boundary rules are a practical subset of Unicode's extended grapheme
clusters (UAX #29) covering what news text contains; Hangul jamo sequences
are not handled.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from khabar.pickling import fast_pickle

_ZWJ = "\u200d"
# Characters that attach to the FOLLOWING character (UAX #29 "Prepend"): the Arabic
# number signs, e.g. U+0600 ARABIC NUMBER SIGN written before the digits it spans.
_PREPEND = frozenset(
    [chr(c) for c in range(0x0600, 0x0606)]
    + ["\u06dd", "\u070f", "\u0890", "\u0891", "\u08e2", "\U000110bd", "\U000110cd"]
)


def _extends(ch: str) -> bool:
    """True when `ch` belongs to the grapheme before it."""
    if unicodedata.category(ch) in ("Mn", "Me", "Mc"):
        return True  # harakat, shadda, variation selectors, combining accents
    cp = ord(ch)
    return (
        ch == _ZWJ
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences (subdivision flags)
    )


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def is_boundary(text: str, i: int) -> bool:
    """Whether a cut at `i` (between ``text[i-1]`` and ``text[i]``) keeps graphemes whole."""
    if i <= 0 or i >= len(text):
        return True
    before, after = text[i - 1], text[i]
    if "\ud800" <= before <= "\udbff" and "\udc00" <= after <= "\udfff":
        return False  # the two halves of one surrogate pair
    if before == "\r" and after == "\n":
        return False
    if before in "\r\n" or after in "\r\n":
        return True  # controls never extend a grapheme (GB4/GB5)
    if _extends(after) or before == _ZWJ or before in _PREPEND:
        return False
    if _is_regional(before) and _is_regional(after):
        # flags are pairs of regional indicators: cut only after an even run
        run = 0
        j = i - 1
        while j >= 0 and _is_regional(text[j]):
            run += 1
            j -= 1
        return run % 2 == 0
    return True


def floor_boundary(text: str, i: int) -> int:
    """The nearest grapheme boundary at or before `i` (clamped to the text)."""
    i = max(0, min(i, len(text)))
    while not is_boundary(text, i):
        i -= 1
    return i


def ceil_boundary(text: str, i: int) -> int:
    """The nearest grapheme boundary at or after `i` (clamped to the text)."""
    i = max(0, min(i, len(text)))
    while not is_boundary(text, i):
        i += 1
    return i


def snap(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` to whole graphemes; an inverted span becomes empty."""
    s = floor_boundary(text, start)
    e = ceil_boundary(text, max(start, end))
    return s, max(s, e)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Segment:
    start: int
    end: int
    labels: tuple[Hashable, ...]
    """Labels of the spans covering this segment, in the order the spans were given."""


def segment(
    text: str,
    spans: Iterable[tuple[int, int, Hashable]],
    breaks: Iterable[int] = (),
) -> list[Segment]:
    """Cut `text` into consecutive segments at every span boundary and at `breaks`.

    Segments cover the whole text in order (their texts concatenate to `text`),
    are never empty, never cut a grapheme, and each carries the labels of every
    span overlapping it. Empty spans (after snapping) are dropped. The same
    label may be given for several spans; it is listed once per segment.
    """
    n = len(text)
    snapped: list[tuple[int, int, Hashable]] = []
    for start, end, label in spans:
        s, e = snap(text, int(start), int(end))
        if e > s:
            snapped.append((s, e, label))
    cuts = {0, n}
    for s, e, _ in snapped:
        cuts.add(s)
        cuts.add(e)
    for b in breaks:
        cuts.add(floor_boundary(text, int(b)))
    points = sorted(cuts)

    # sweep: spans sorted by start enter as we pass their start, leave after their end
    order = sorted(range(len(snapped)), key=lambda k: (snapped[k][0], k))
    active: list[int] = []
    nxt = 0
    out: list[Segment] = []
    for a, b in itertools.pairwise(points):
        while nxt < len(order) and snapped[order[nxt]][0] <= a:
            active.append(order[nxt])
            nxt += 1
        active = [k for k in active if snapped[k][1] > a]
        labels: list[Hashable] = []
        for k in sorted(active):
            if snapped[k][1] >= b and snapped[k][2] not in labels:
                labels.append(snapped[k][2])
        out.append(Segment(a, b, tuple(labels)))
    return out


def line_breaks(text: str) -> list[int]:
    """Cut points around every line break, so no segment mixes text and newlines."""
    cuts: list[int] = []
    i = text.find("\n")
    while i >= 0:
        cuts.append(i)
        cuts.append(i + 1)
        i = text.find("\n", i + 1)
    return cuts


def paragraphs(text: str, segments: Sequence[Segment]) -> list[list[Segment]]:
    """Group segments (cut with `line_breaks`) into lines of text, dropping the newlines.

    Blank lines give no paragraph; segments that are whitespace only at the edge of a
    line are kept (they are part of the original).
    """
    out: list[list[Segment]] = []
    current: list[Segment] = []
    for seg in segments:
        if "\n" in text[seg.start : seg.end]:
            if any(text[x.start : x.end].strip() for x in current):
                out.append(current)
            current = []
        else:
            current.append(seg)
    if any(text[x.start : x.end].strip() for x in current):
        out.append(current)
    return out
