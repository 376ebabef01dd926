"""Who copied whom: the likely source of the passages two documents share.

Decided per document pair (every passage of a pair gets the same answer),
by the first rule that applies; the passage records which one in `rule`:

``date``
    Both documents are dated and the dates differ: the earlier one is the
    source. Publication order is the strongest evidence there is.
``wire-outlet``
    One document comes from a wire agency (its outlet, the `source` field,
    is SPA/واس, Reuters, AFP…) and the other does not: the agency is the source.
``wire``
    A document credits a wire agency ("(واس)", "(أ ف ب)", "رويترز", "وكالة
    الأنباء …") that is not the other document's outlet: both most likely
    carry that agency's copy, so neither is the source (`source` is null).
``containment``
    Nearly all of one document (at least `CONTAINED`) lies in passages shared
    with the other, while much of the other does not: the contained one is the
    copy and the fuller one the source. Editors cut and excerpt wire copy far
    more often than they pad a story with the exact text of its own source
    (the finding of the METER corpus of press-agency reuse, Clough et al. 2002).
``phrasing``
    The passages read more like the rest of the collection on one side: a
    significantly larger share of its phrases (n-grams of content stems) also
    occur in other documents (two-proportion z-test, |z| >= `PHRASING_Z`). An
    editor who shuffles words, swaps them for rarer synonyms or rewrites breaks
    the common phrases of the original; the side that keeps them is the source.
    A verbatim copy keeps every phrase on both sides and stays undecided.
``undecided``
    None of the above: `source` is null.

Only copied passages decide, and only they get a direction: templates and
formulas (see `khabar.reuse.kinds`) and outlet boilerplate are shared text
nobody copied, so their `source` is null and their `rule` is ``formulaic``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from khabar.reuse.features import DocFeatures, outlet_agency

FORMULAIC = "formulaic"
"""The `rule` of passages that are not copies: no direction to decide."""
RULES = ("date", "wire-outlet", "wire", "containment", "phrasing", "undecided", FORMULAIC)
"""Every value `Passage.rule` can take."""

PHRASING_Z = 2.0
"""How many standard errors apart the two sides' shares of common phrases must be (about
95 % confidence that the difference is not chance)."""

CONTAINED = 0.8
"""Share of a document's content tokens inside shared passages for it to count as contained."""
NOT_CONTAINED = 0.5
"""…and the most the other document may have shared for containment to decide."""


def coverage(f: DocFeatures, spans: Sequence[tuple[int, int]]) -> float:
    """Share of the content tokens of `f` inside the union of content-token `spans`."""
    if f.n_content == 0:
        return 0.0
    covered = np.zeros(f.n_content, dtype=bool)
    for lo, hi in spans:
        covered[lo:hi] = True
    return float(covered.mean())


def decide(fa: DocFeatures, fb: DocFeatures, a_spans: Sequence[tuple[int, int]],
           b_spans: Sequence[tuple[int, int]]) -> tuple[str | None, str]:
    """(id of the likely source or None, the rule that decided)."""
    if fa.ts is not None and fb.ts is not None and fa.ts != fb.ts:
        return (fa.id if fa.ts < fb.ts else fb.id), "date"
    wa, wb = outlet_agency(fa.source), outlet_agency(fb.source)
    if (wa is None) != (wb is None):
        return (fa.id if wa is not None else fb.id), "wire-outlet"
    # an agency credited by either side that is neither side's own outlet
    foreign = (fa.credits | fb.credits) - {wa, wb}
    if foreign:
        return None, "wire"
    ca, cb = coverage(fa, a_spans), coverage(fb, b_spans)
    if ca >= CONTAINED and cb <= NOT_CONTAINED:
        return fb.id, "containment"
    if cb >= CONTAINED and ca <= NOT_CONTAINED:
        return fa.id, "containment"
    z = phrasing_z(fa, a_spans, fb, b_spans)
    if z >= PHRASING_Z:
        return fa.id, "phrasing"
    if z <= -PHRASING_Z:
        return fb.id, "phrasing"
    return None, "undecided"


def _common_phrases(f: DocFeatures, spans: Sequence[tuple[int, int]], other: DocFeatures
                    ) -> tuple[int, int]:
    """(phrases also found in a document other than these two, phrases) in `spans` of `f`."""
    if f.gram_df is None or len(f.grams) == 0:
        return 0, 0
    n = len(f.content) - len(f.grams) + 1  # the n-gram length
    keep = np.zeros(len(f.grams), bool)
    for lo, hi in spans:
        keep[lo : max(lo, hi - n + 1)] = True
    grams, df = f.grams[keep], f.gram_df[keep]
    elsewhere = df - 1 - np.isin(grams, other.grams)
    return int((elsewhere >= 1).sum()), len(grams)


def phrasing_z(fa: DocFeatures, a_spans: Sequence[tuple[int, int]], fb: DocFeatures,
               b_spans: Sequence[tuple[int, int]]) -> float:
    """z of (A's share of common phrases - B's) in the shared passages; 0 when unknown."""
    ka, na = _common_phrases(fa, a_spans, fb)
    kb, nb = _common_phrases(fb, b_spans, fa)
    if na == 0 or nb == 0:
        return 0.0
    pa, pb = ka / na, kb / nb
    pool = (ka + kb) / (na + nb)
    var = pool * (1 - pool) * (1 / na + 1 / nb)
    return 0.0 if var <= 0 else (pa - pb) / math.sqrt(var)
