"""What a shared passage is: copied text, a template filled anew, or a formula.

Two articles share text for three reasons, and only the first is copying:

``copy``
    The same text, edited or not: one outlet took the other's sentences (or
    both took a wire's). Its evidence is text that belongs to this story: an
    ordered run of at least `min_content` matched content words that are not
    formula (see `khabar.reuse.phrases`) and not the outlet's own standing text,
    or, for a passage whose words were reordered, `bag_min` such words. A rewording
    that keeps no ordered run of the story's own words is not counted: in news,
    two outlets reporting one event share its names and facts without copying.
``template``
    The same sentence frame with other slot fillers: a market report with
    today's figures, a forecast for another day, a cable to another head of
    state. Told from what differs inside the alignment: the numbers of the two
    sides disagree (at least one differing value per `template_span` content
    words, and more values differ than agree), or, when nothing but the frame
    is shared, both sides have words of their own inside it.
``formula``
    A phrase many outlets use in unrelated stories (titles, honorifics, standard
    openings and closings): nothing but formula text is shared, and nothing
    differs inside it.

Templates and formulas are shared text, not evidence of copying: they take
no part in who copied whom, in story evidence or in calling a sentence
repeated. Everything here is a pure function of the two documents' features
(with their `formula` and `boiler` marks, set from the collection's phrase
statistics) and a passage's content-token ranges.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from khabar.reuse.features import DocFeatures
from khabar.reuse.matching import has_core, local_dots
from khabar.reuse.options import ReuseOptions

COPY = "copy"
TEMPLATE = "template"
FORMULA = "formula"
KINDS = (COPY, TEMPLATE, FORMULA)

# stand-ins that never match anything: a formula word of A must not meet one of B
_NO_A = np.uint64(1)
_NO_B = np.uint64(2)


def common_words(f: DocFeatures, r: tuple[int, int]) -> np.ndarray:
    """Which content tokens of range `r` are formula or the outlet's own standing text."""
    n = r[1] - r[0]
    mask = np.zeros(n, bool)
    if f.formula is not None:
        mask |= f.formula[r[0] : r[1]]
    if f.boiler is not None:
        mask |= f.boiler[r[0] : r[1]]
    return mask


def specific_chain(fa: DocFeatures, fb: DocFeatures, ra: tuple[int, int], rb: tuple[int, int],
                   need: int, max_per_stem: int) -> bool:
    """Is there an ordered run of `need` matched content words, none of them formula?"""
    sa = fa.stems[ra[0] : ra[1]].copy()
    sb = fb.stems[rb[0] : rb[1]].copy()
    sa[common_words(fa, ra)] = _NO_A
    sb[common_words(fb, rb)] = _NO_B
    i, j = local_dots(sa, sb, max_per_stem)
    if len(i) < need:
        return False
    return has_core(i, j, fa.content[ra[0] : ra[1]], fb.content[rb[0] : rb[1]], need, need)


def specific_bag(fa: DocFeatures, fb: DocFeatures, ra: tuple[int, int], rb: tuple[int, int],
                 need: int) -> bool:
    """Do the two sides share `need` distinct content stems, none of them formula?"""
    sa = fa.stems[ra[0] : ra[1]][~common_words(fa, ra)]
    sb = fb.stems[rb[0] : rb[1]][~common_words(fb, rb)]
    return len(np.intersect1d(sa, sb)) >= need


def _values(f: DocFeatures, r: tuple[int, int]) -> Counter[int]:
    if f.num_at is None or f.num_val is None or len(f.num_at) == 0:
        return Counter()
    inside = (f.num_at >= r[0]) & (f.num_at < r[1])
    return Counter(f.num_val[inside].tolist())


def _compare_figures(fa: DocFeatures, fb: DocFeatures, ra: tuple[int, int],
                     rb: tuple[int, int]) -> tuple[int, int, bool]:
    """(distinct figures that agree, that differ, whether both sides have a figure of their
    own written the same way).

    A figure written in digits on one side and in words on the other ("7", "السابعة")
    agrees. What is left differs only if both sides have a figure of their own written
    the same way (digits against digits, words against words: "سبع مئة" against "700" is
    an editor's spelling, not a new figure)."""
    va, vb = set(_values(fa, ra)), set(_values(fb, rb))
    agree = va & vb
    only_a, only_b = va - vb, vb - va
    crossed = {v for v in only_a if -v in only_b}
    agree |= crossed
    only_a -= crossed
    only_b -= {-v for v in crossed}
    same_way = (any(v >= 0 for v in only_a) and any(v >= 0 for v in only_b)) or (
        any(v < 0 for v in only_a) and any(v < 0 for v in only_b))
    return len(agree), len(only_a) + len(only_b), same_way


def numbers_differ(fa: DocFeatures, fb: DocFeatures, ra: tuple[int, int], rb: tuple[int, int],
                   span: int) -> bool:
    """Do the figures of the two sides disagree, as a template's do? Both sides have a
    figure of their own (see `_compare_figures`), more distinct figures differ than agree,
    and at least one differs per `span` content words (a long copy with one changed figure
    is still a copy)."""
    agree, differ, same_way = _compare_figures(fa, fb, ra, rb)
    length = min(ra[1] - ra[0], rb[1] - rb[0])
    return same_way and differ > agree and differ * span >= length


def _own_words(f: DocFeatures, r: tuple[int, int], other: np.ndarray) -> bool:
    """Does side `f` have, inside the passage, a content word that is neither formula nor
    found on the other side (a slot filled differently)?"""
    s = f.stems[r[0] : r[1]]
    free = ~common_words(f, r)
    return bool(np.any(free & ~np.isin(s, other)))


def passage_kind(fa: DocFeatures, fb: DocFeatures, ra: tuple[int, int], rb: tuple[int, int],
                 options: ReuseOptions, reordered: bool = False,
                 ordered_core: bool | None = None) -> str:
    """`copy`, `template` or `formula` for the passage of content ranges `ra`, `rb`
    (`reordered`: a passage found without word order, whose evidence is its words;
    `ordered_core`: whether the passage has an ordered core of `core_words` words, when
    the caller knows: with no formula in it, that core is its specific chain)."""
    plain = not (common_words(fa, ra).any() or common_words(fb, rb).any())
    if ordered_core and plain:
        chain = True
    else:
        chain = specific_chain(fa, fb, ra, rb, options.min_content, options.max_dots_per_stem)
    # the evidence of copying: text of this story (an ordered run of its own words, or
    # enough of them in a passage whose words were reordered)
    if chain or (reordered and specific_bag(fa, fb, ra, rb, options.bag_min)):
        if numbers_differ(fa, fb, ra, rb, options.template_span):
            return TEMPLATE
        return COPY
    sa, sb = fa.stems[ra[0] : ra[1]], fb.stems[rb[0] : rb[1]]
    if numbers_differ(fa, fb, ra, rb, options.template_span) or (
            _own_words(fa, ra, sb) and _own_words(fb, rb, sa)):
        return TEMPLATE
    return FORMULA
