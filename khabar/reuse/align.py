"""Alignment of one candidate pair into reused passages, in ORIGINAL character offsets.

Seed, cluster, extend — on content tokens (stopwords skipped), with stems:

1. **Seeds.** Ordered seeds are the rare n-grams of content stems the two
   sides share (a verbatim or lightly edited copy leaves many; reordered
   phrases keep theirs). Bag seeds, for pairs the bag index proposed, are
   pairs of windows sharing enough distinct rare stems: what remains of a
   passage whose words were reordered.
2. **Clusters.** Seeds are grouped by splitting wherever two consecutive
   seeds are more than `max_gap` content tokens apart, on A, then on B, until
   nothing splits: one paragraph with a few changed words stays one passage;
   two paragraphs far apart on either side do not merge.
3. **Matches near the seeds.** A content token of A counts as matched when
   its stem occurs in B *near where the seeds put it*: within `max_gap` of
   the B-extent of the seeds around it. So an edited sentence is matched word
   by word between its surviving n-grams, a new first sentence is not, and
   the topical words two articles about one event share everywhere are not
   mistaken for copy. A cluster whose ordered seeds span fewer than
   `core_words` words is a *bag* cluster (reordered text): there the window
   seeds set the neighbourhood, and word order inside it does not matter.
4. **Boundaries.** Each side's extent is its best-scoring segment (maximum
   sum, Kadane) of +(1 - c) per matched and -c per unmatched content token
   (c = `min_coverage`): an unmatched run shorter than the matched text
   around it is bridged, an unmatched edge is cut. Computed on A, then on B
   with the matches of that A segment, then on A again. Seeds outside the
   result are clustered again (one cluster may hold two passages).
5. **Checks.** At least `min_content` matched content tokens and `min_words`
   words on each side, `min_coverage` of each side matched (`bag_coverage`
   for a bag cluster, whose only evidence is its words), and evidence that is
   not chance: an ordered core of `core_words` words, or `bag_min` rare stems.
6. **Offsets.** Token spans map to ORIGINAL characters; a passage that reaches
   the first (last) word of a sentence takes the sentence's first (last)
   character, so a reused sentence is shown whole, with its quotation marks
   and final stop.

Everything per pair is NumPy on arrays of a few thousand elements.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from khabar.reuse.features import DocFeatures
from khabar.reuse.fingerprints import CHAIN_STEP, bag_scales, window_starts
from khabar.reuse.kinds import COPY, common_words, passage_kind
from khabar.reuse.matching import has_core as _has_core
from khabar.reuse.matching import local_dots as _local_dots
from khabar.reuse.matching import member as _member
from khabar.reuse.matching import substitutions
from khabar.reuse.options import ReuseOptions


@dataclass(frozen=True, slots=True)
class Alignment:
    """One reused passage of a pair, before direction and boilerplate are decided."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    score: float
    a_sentences: tuple[int, ...]
    b_sentences: tuple[int, ...]
    a_content: tuple[int, int]
    """Half-open range of content-token indices on A (for direction by containment)."""
    b_content: tuple[int, int]
    boilerplate: bool = False
    """Most of it is text the outlet of one side repeats in many of its documents, and it
    is not a copy (see `khabar.reuse.kinds`)."""
    kind: str = "copy"
    """`copy`, `template` or `formula` (see `khabar.reuse.kinds`)."""


def ordered_seeds(fa: DocFeatures, fb: DocFeatures, max_per_key: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Start positions (i, j) of the rare content n-grams both sides share.

    Only rare n-grams (`gram_rare`, document frequency <= max_df) seed: common
    ones (formulas, titles, "المملكة العربية السعودية") may lie inside a passage
    but are no evidence that one text was copied from the other."""
    ka, pa, (ua, ua_first, ua_cnt) = fa.seeds()
    kb, pb, _ = fb.seeds()
    if len(ka) == 0 or len(kb) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # B is sorted: look up A's distinct keys in it
    lo = np.searchsorted(kb, ua, "left")
    cnt_b = np.searchsorted(kb, ua, "right") - lo
    # an n-gram repeated all over both texts (a refrain, a list marker) locates nothing
    hit = (cnt_b > 0) & (cnt_b * ua_cnt <= max_per_key)
    if not hit.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    ua_first, ua_cnt, lo, cnt_b = ua_first[hit], ua_cnt[hit], lo[hit], cnt_b[hit]
    # every (occurrence in A) x (occurrence in B) of each shared key
    per = ua_cnt * cnt_b
    total = int(per.sum())
    grp = np.repeat(np.arange(len(per)), per)
    k = np.arange(total) - np.repeat(np.cumsum(per) - per, per)
    ia = ua_first[grp] + k // cnt_b[grp]
    ib = lo[grp] + k % cnt_b[grp]
    return pa[ia], pb[ib]


def bag_seeds(fa: DocFeatures, fb: DocFeatures, window: int, min_shared: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Start positions of the window pairs sharing at least `min_shared` distinct rare stems."""
    wa, ka, sa = _window_entries(fa, window)
    wb, kb, sb = _window_entries(fb, window)
    if len(ka) == 0 or len(kb) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # join the (window, stem) entries of both sides on the stem, count per window pair
    order = np.argsort(kb, kind="stable")
    kb_sorted, wb_sorted = kb[order], wb[order]
    lo = np.searchsorted(kb_sorted, ka, "left")
    cnt = np.searchsorted(kb_sorted, ka, "right") - lo
    total = int(cnt.sum())
    if total < min_shared:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    left = np.repeat(wa, cnt)
    k = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(lo, cnt)
    pair = left * len(sb) + wb_sorted[k]
    counts = np.bincount(pair, minlength=len(sa) * len(sb))
    hit = np.flatnonzero(counts >= min_shared)
    return sa[hit // len(sb)], sb[hit % len(sb)]


def _window_entries(f: DocFeatures, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window number, stem) of every rare content token in every window; window starts."""
    starts = window_starts(f.n_content, window)
    pos = np.flatnonzero(f.rare) if f.rare is not None else np.arange(f.n_content)
    step = max(window // 2, 1)
    win = pos // step
    w = np.concatenate([win, win - 1])
    p = np.concatenate([pos, pos])
    ok = (w >= 0) & (w < len(starts))
    w, keys = w[ok], f.stems[p[ok]]
    # distinct stems per window: a word repeated inside one window counts once
    order = np.lexsort((keys, w))
    w, keys = w[order], keys[order]
    if len(w) == 0:
        return w, keys, starts
    first = np.concatenate([[True], (w[1:] != w[:-1]) | (keys[1:] != keys[:-1])])
    return w[first], keys[first], starts


def _gap_groups(lo: np.ndarray, hi: np.ndarray, gap: int) -> list[np.ndarray]:
    """Group intervals [lo, hi) so that a group's next interval starts at most `gap` after
    the furthest end so far."""
    idx = np.argsort(lo, kind="stable")
    slo, shi = lo[idx], hi[idx]
    reach = np.maximum.accumulate(shi)
    cuts = np.flatnonzero(slo[1:] > reach[:-1] + gap) + 1
    return np.split(idx, cuts)


def clusters(a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray, b_hi: np.ndarray,
             gap: int) -> list[np.ndarray]:
    """Seed boxes grouped by alternating gap splits on A and B until stable."""
    work = [np.arange(len(a_lo))]
    axis = 0
    quiet = 0
    while quiet < 2:
        nxt: list[np.ndarray] = []
        changed = False
        for grp in work:
            if len(grp) == 1:
                nxt.append(grp)
                continue
            lo, hi = (a_lo, a_hi) if axis == 0 else (b_lo, b_hi)
            parts = _gap_groups(lo[grp], hi[grp], gap)
            changed |= len(parts) > 1
            nxt.extend(grp[p] for p in parts)
        work = nxt
        axis ^= 1
        quiet = 0 if changed else quiet + 1
    return work


def _best_segment(matched: np.ndarray, penalty: float) -> tuple[int, int, float]:
    """Maximum-sum segment of (matched ? 1 - penalty : -penalty); (start, end, sum)."""
    vals = np.where(matched, 1.0 - penalty, -penalty)
    cum = np.concatenate([[0.0], np.cumsum(vals)])
    run_min = np.minimum.accumulate(cum)
    # position of the running minimum, its LAST occurrence, so that of equally good
    # segments the shortest is taken (no loose matched word dragged in at the edge;
    # `_token_span` completes sentences)
    is_new_min = np.concatenate([[True], cum[1:] <= run_min[:-1]])
    arg_min = np.maximum.accumulate(np.where(is_new_min, np.arange(len(cum)), 0))
    gain = cum - run_min
    end = int(np.argmax(gain))
    return int(arg_min[end]), end, float(gain[end])


_QUICK = 96


def _may_hold_passage(fa: DocFeatures, fb: DocFeatures, ra: tuple[int, int],
                      rb: tuple[int, int], opt: ReuseOptions) -> bool:
    """Cheap test for the common case of a lone shared n-gram: is there an ordered core of
    `core_words` words within reach at all? (Plain Python: NumPy's per-call cost dwarfs
    the work on a few dozen tokens.)"""
    m = opt.max_gap
    a0, b0 = max(0, ra[0] - m), max(0, rb[0] - m)
    wa = fa.stems[a0 : ra[1] + m].tolist()
    wb = fb.stems[b0 : rb[1] + m].tolist()
    if len(wa) > _QUICK or len(wb) > _QUICK:
        return True
    pos: dict[int, list[int]] = {}
    for y, h in enumerate(wb):
        pos.setdefault(h, []).append(y)
    ii: list[int] = []
    jj: list[int] = []
    for x, h in enumerate(wa):
        for y in pos.get(h, ()):
            ii.append(x)
            jj.append(y)
    if len(ii) < opt.min_content:
        return False
    return _has_core(np.asarray(ii), np.asarray(jj), fa.content[a0 : ra[1] + m],
                     fb.content[b0 : rb[1] + m], opt.core_words, opt.min_content)


def _near(i: np.ndarray, j: np.ndarray, alo: np.ndarray, ahi: np.ndarray, blo: np.ndarray,
          bhi: np.ndarray, a0: int, b0: int, na: int, nb: int, w: int) -> np.ndarray:
    """Which dots (local i, j) lie within `w` of some seed box on both sides.

    Computed on a grid of `w`-sized cells (so "within w" is rounded up to the next cell)
    with a 2-D difference array: a few array operations however many seeds there are.
    """
    c = max(w, 1)
    nra, nrb = (na - 1) // c + 1, (nb - 1) // c + 1
    r0 = np.minimum(np.maximum((alo - w - a0) // c, 0), nra - 1)
    r1 = np.minimum(np.maximum((ahi + w - 1 - a0) // c, 0), nra - 1) + 1
    c0 = np.minimum(np.maximum((blo - w - b0) // c, 0), nrb - 1)
    c1 = np.minimum(np.maximum((bhi + w - 1 - b0) // c, 0), nrb - 1) + 1
    width = nrb + 1
    corners = np.concatenate([r0 * width + c0, r0 * width + c1, r1 * width + c0,
                              r1 * width + c1])
    signs = np.repeat(np.array([1.0, -1.0, -1.0, 1.0]), len(r0))
    diff = np.bincount(corners, weights=signs, minlength=(nra + 1) * width)
    cover = diff.reshape(nra + 1, width).cumsum(axis=0).cumsum(axis=1)[:nra, :nrb] > 0.5
    return cover[i // c, j // c]


def _extent_words(f: DocFeatures, lo: np.ndarray, hi: np.ndarray, gap: int) -> int:
    """Words spanned by the longest run of intervals chained with gaps <= `gap`."""
    best = 0
    for grp in _gap_groups(lo, hi, gap):
        c0, c1 = int(lo[grp].min()), int(hi[grp].max())
        best = max(best, int(f.content[c1 - 1]) + 1 - int(f.content[c0]))
    return best


def _region(fa: DocFeatures, fb: DocFeatures, alo: np.ndarray, ahi: np.ndarray,
            blo: np.ndarray, bhi: np.ndarray, ordered: np.ndarray, opt: ReuseOptions
            ) -> tuple[tuple[int, int], tuple[int, int], bool] | None:
    """Steps 3 and 4 for one cluster: (A range, B range, is_bag) or None."""
    w = opt.max_gap
    a0, a1 = max(0, int(alo.min()) - w), min(fa.n_content, int(ahi.max()) + w)
    b0, b1 = max(0, int(blo.min()) - w), min(fb.n_content, int(bhi.max()) + w)
    i, j = _local_dots(fa.stems[a0:a1], fb.stems[b0:b1], opt.max_dots_per_stem)
    if len(i) < opt.min_content:
        return None
    na, nb = a1 - a0, b1 - b0
    is_bag = True
    if ordered.any():
        # near the ordered seeds only: is there an ordered core? then they set the bands
        near = _near(i, j, alo[ordered], ahi[ordered], blo[ordered], bhi[ordered], a0, b0,
                     na, nb, w)
        if _has_core(i[near], j[near], fa.content[a0:a1], fb.content[b0:b1], opt.core_words,
                     opt.min_content):
            is_bag = False
        elif ordered.all():
            return None  # no order and no bag evidence: shared words, not a passage
    if is_bag:
        near = _near(i, j, alo, ahi, blo, bhi, a0, b0, na, nb, w)
    if opt.max_substituted > 0 and not is_bag:
        # words replaced in place, between matches that keep the order, count as matched
        si, sj = substitutions(i[near], j[near], opt.max_substituted)
        i, j = np.concatenate([i, si]), np.concatenate([j, sj])
        near = np.concatenate([near, np.ones(len(si), bool)])
    row_ok = col_ok = near
    c = opt.min_coverage
    # A, then B restricted to what that A segment matched, then A again
    ma = np.zeros(na, bool)
    ma[i[row_ok]] = True
    s, e, _ = _best_segment(ma, c)
    mb = np.zeros(nb, bool)
    sb_ = eb_ = 0
    for _ in range(2):
        in_a = (i >= s) & (i < e)
        mb = np.zeros(nb, bool)
        mb[j[col_ok & in_a]] = True
        sb_, eb_, _ = _best_segment(mb, c)
        in_b = (j >= sb_) & (j < eb_)
        ma = np.zeros(na, bool)
        ma[i[row_ok & in_b]] = True
        s, e, _ = _best_segment(ma, c)
    if ma[s:e].sum() < opt.min_content or mb[sb_:eb_].sum() < opt.min_content:
        return None
    return (a0 + s, a0 + e), (b0 + sb_, b0 + eb_), is_bag


def align_pair(fa: DocFeatures, fb: DocFeatures, options: ReuseOptions | None = None,
               bag: bool = True) -> list[Alignment]:
    """Reused passages between two documents, in ORIGINAL offsets of each.

    `bag=False` skips the bag seeds (for pairs the bag index did not propose:
    they cannot hold a reordered passage of `bag_min` rare words)."""
    opt = options or ReuseOptions()
    na, nb = fa.n_content, fb.n_content
    if na < opt.min_content or nb < opt.min_content:
        return []
    n = opt.ngram
    si, sj = ordered_seeds(fa, fb, opt.max_dots_per_stem)
    a_lo, b_lo, a_hi, b_hi = [si], [sj], [si + n], [sj + n]
    kind = [np.ones(len(si), bool)]
    if bag:
        for window, need in bag_scales(opt):
            if window > 2 * max(na, nb):
                break
            wi, wj = bag_seeds(fa, fb, window, need)
            a_lo.append(wi)
            b_lo.append(wj)
            a_hi.append(np.minimum(wi + window, na))
            b_hi.append(np.minimum(wj + window, nb))
            kind.append(np.zeros(len(wi), bool))
    alo, ahi = np.concatenate(a_lo), np.concatenate(a_hi)
    blo, bhi = np.concatenate(b_lo), np.concatenate(b_hi)
    ordered = np.concatenate(kind)
    if len(alo) == 0:
        return []
    regions: list[tuple[tuple[int, int], tuple[int, int], bool]] = []
    # seeds up to two gaps apart share a neighbourhood: the matches each reaches (one gap
    # around it) then meet, and the best segment decides whether to bridge
    reach = 2 * opt.max_gap
    work = clusters(alo, ahi, blo, bhi, reach)
    while work:
        grp = work.pop()
        if len(grp) == 1 and ordered[grp[0]] and not _may_hold_passage(
                fa, fb, (int(alo[grp[0]]), int(ahi[grp[0]])),
                (int(blo[grp[0]]), int(bhi[grp[0]])), opt):
            continue
        found = _region(fa, fb, alo[grp], ahi[grp], blo[grp], bhi[grp], ordered[grp], opt)
        if found is None:
            continue
        regions.append(found)
        # a cluster may hold several passages (large windows can span two); the best
        # segment is only one of them, so the seeds it leaves out are clustered again
        (a0, a1), (b0, b1), _ = found
        rest = grp[~((alo[grp] < a1) & (ahi[grp] > a0) & (blo[grp] < b1) & (bhi[grp] > b0))]
        if len(rest) and len(rest) < len(grp):
            work.extend(rest[g] for g in clusters(alo[rest], ahi[rest], blo[rest], bhi[rest],
                                                  reach))
    out: list[Alignment] = []
    for ra, rb, is_bag in _merge_near(regions, fa, fb, opt):
        for pa, pb, boiler in _split_boilerplate(fa, fb, ra, rb, opt.min_content):
            al = _check(fa, fb, pa, pb, is_bag, opt, boiler)
            if al is not None:
                out.append(_extend(fa, fb, al, opt))
    out.sort(key=lambda x: (x.a_start, x.b_start))
    return out


EXTEND_REACH = 2
"""Sentences a passage may skip over when it takes in a reworded neighbour (one: a sentence
added or dropped by the editor)."""


def _sentence_content_range(f: DocFeatures, s: int) -> tuple[int, int]:
    t0 = int(np.searchsorted(f.tok_sent, s, "left"))
    t1 = int(np.searchsorted(f.tok_sent, s, "right"))
    return (int(np.searchsorted(f.content, t0, "left")),
            int(np.searchsorted(f.content, t1, "left")))


def _sentence_overlap(fa: DocFeatures, sa: int, fb: DocFeatures, sb: int) -> float:
    """Dice overlap of the distinct content stems (formula words aside) of sentence `sa` of
    A and `sb` of B."""
    a0, a1 = _sentence_content_range(fa, sa)
    b0, b1 = _sentence_content_range(fb, sb)
    # formulas and the outlet's standing text are no sign that a sentence was reworded
    x = np.unique(fa.stems[a0:a1][~common_words(fa, (a0, a1))])
    y = np.unique(fb.stems[b0:b1][~common_words(fb, (b0, b1))])
    if len(x) < 3 or len(y) < 3:  # too short to tell a rewording from a shared word
        return 0.0
    return 2 * len(np.intersect1d(x, y, assume_unique=True)) / (len(x) + len(y))


def _extend(fa: DocFeatures, fb: DocFeatures, al: Alignment, opt: ReuseOptions) -> Alignment:
    """Take in the neighbouring sentences both sides reworded (see `extend_similarity`).
    Only copies grow: a template or formula is shared text, not a rewritten story."""
    if (opt.extend_similarity <= 0 or al.kind != COPY or al.boilerplate
            or not al.a_sentences or not al.b_sentences):
        return al
    na, nb = len(fa.sent_start), len(fb.sent_start)
    lo_a, hi_a = al.a_sentences[0], al.a_sentences[-1]
    lo_b, hi_b = al.b_sentences[0], al.b_sentences[-1]
    grown = True
    while grown:
        grown = False
        for step in (1, -1):
            edge_a, edge_b = (hi_a, hi_b) if step == 1 else (lo_a, lo_b)
            best = (opt.extend_similarity, None, None)
            for da in range(1, EXTEND_REACH + 1):
                for db in range(1, EXTEND_REACH + 1):
                    xa, xb = edge_a + step * da, edge_b + step * db
                    if 0 <= xa < na and 0 <= xb < nb:
                        sim = _sentence_overlap(fa, xa, fb, xb)
                        if sim >= best[0]:
                            best = (sim, xa, xb)
            if best[1] is not None:
                if step == 1:
                    hi_a, hi_b = best[1], best[2]
                else:
                    lo_a, lo_b = best[1], best[2]
                grown = True
    if (lo_a, hi_a, lo_b, hi_b) == (al.a_sentences[0], al.a_sentences[-1], al.b_sentences[0],
                                    al.b_sentences[-1]):
        return al
    a_start = int(fa.sent_start[lo_a]) if lo_a < al.a_sentences[0] else al.a_start
    a_end = int(fa.sent_end[hi_a]) if hi_a > al.a_sentences[-1] else al.a_end
    b_start = int(fb.sent_start[lo_b]) if lo_b < al.b_sentences[0] else al.b_start
    b_end = int(fb.sent_end[hi_b]) if hi_b > al.b_sentences[-1] else al.b_end
    a_content = (min(al.a_content[0], _sentence_content_range(fa, lo_a)[0]),
                 max(al.a_content[1], _sentence_content_range(fa, hi_a)[1]))
    b_content = (min(al.b_content[0], _sentence_content_range(fb, lo_b)[0]),
                 max(al.b_content[1], _sentence_content_range(fb, hi_b)[1]))
    return replace(al, a_start=a_start, a_end=a_end, b_start=b_start, b_end=b_end,
                   a_sentences=tuple(range(lo_a, hi_a + 1)),
                   b_sentences=tuple(range(lo_b, hi_b + 1)),
                   a_content=a_content, b_content=b_content)


def _merge_near(regions: list[tuple[tuple[int, int], tuple[int, int], bool]],
                fa: DocFeatures, fb: DocFeatures, opt: ReuseOptions
                ) -> list[tuple[tuple[int, int], tuple[int, int], bool]]:
    """Join passages of one pair that are one reused stretch of text.

    Two regions merge when, on each side, the text between them is no longer than
    the shorter of the two (so most of the joined span is reused text), and the joined
    spans still have `min_coverage` of their content words on the other side: a heavily
    edited paragraph whose surviving phrases were found as separate pieces becomes one
    passage again, while two paragraphs with an original section between them stay two.
    The result is a bag passage only if all its parts were.
    """
    regions = sorted(set(regions))
    merged = True
    while merged and len(regions) > 1:
        merged = False
        for x in range(len(regions)):
            for y in range(x + 1, len(regions)):
                (pa, pb, pbag), (qa, qb, qbag) = regions[x], regions[y]
                if _joinable(pa, qa, opt.max_gap) and _joinable(pb, qb, opt.max_gap):
                    ja = (min(pa[0], qa[0]), max(pa[1], qa[1]))
                    jb = (min(pb[0], qb[0]), max(pb[1], qb[1]))
                    sa, sb = fa.stems[ja[0] : ja[1]], fb.stems[jb[0] : jb[1]]
                    if (_member(sa, sb).mean() >= opt.min_coverage
                            and _member(sb, sa).mean() >= opt.min_coverage):
                        regions[x] = (ja, jb, pbag and qbag)
                        del regions[y]
                        merged = True
                        break
            if merged:
                break
    return sorted(regions)


def _joinable(p: tuple[int, int], q: tuple[int, int], gap: int) -> bool:
    between = max(p[0], q[0]) - min(p[1], q[1])
    return between <= max(gap, min(p[1] - p[0], q[1] - q[0]))


def _sentence_content(f: DocFeatures, r: tuple[int, int]) -> tuple[int, int]:
    """Content-token range of the whole sentences that content range `r` touches."""
    if len(f.sent_start) == 0:
        return r
    s0 = int(f.tok_sent[f.content[r[0]]])
    s1 = int(f.tok_sent[f.content[r[1] - 1]])
    first = int(np.searchsorted(f.tok_sent, s0, "left"))
    last = int(np.searchsorted(f.tok_sent, s1, "right"))
    return (int(np.searchsorted(f.content, first, "left")),
            int(np.searchsorted(f.content, last, "left")))


def _token_span(f: DocFeatures, c0: int, c1: int, other: np.ndarray, coverage: float
                ) -> tuple[int, int, int, int]:
    """Token range and ORIGINAL character range of content tokens [c0, c1).

    A passage takes in the rest of its first (last) sentence, up to the sentence's own
    first (last) character, when that rest is short (at most `CHAIN_STEP` content words:
    an edit at the edge) or matched as well as a passage must be (`coverage` of its
    content words found in `other`, the other side's stems). So a copied sentence whose
    first or last words were edited is shown whole, with its quotation marks and final
    stop, and the function words before it.
    """
    t0 = int(f.content[c0])
    t1 = int(f.content[c1 - 1]) + 1
    start = int(f.tok_start[t0])
    end = int(f.tok_end[t1 - 1])
    if len(f.sent_start) == 0:
        return t0, t1, start, end
    s0 = int(f.tok_sent[t0])
    s1 = int(f.tok_sent[t1 - 1])
    first_of_sent = int(np.searchsorted(f.tok_sent, s0, "left"))
    last_of_sent = int(np.searchsorted(f.tok_sent, s1, "right"))
    # content words of the sentence left out before and after the passage
    first_c = int(np.searchsorted(f.content, first_of_sent, "left"))
    last_c = int(np.searchsorted(f.content, last_of_sent, "left"))

    def belongs(lo: int, hi: int) -> bool:
        return hi - lo <= CHAIN_STEP or bool(_member(f.stems[lo:hi], other).mean() >= coverage)

    if belongs(first_c, c0):
        t0 = first_of_sent
        start = min(int(f.tok_start[t0]), int(f.sent_start[s0]))
    if belongs(c1, last_c):
        t1 = last_of_sent
        end = max(int(f.tok_end[t1 - 1]), int(f.sent_end[s1]))
    return t0, t1, start, end


def _ordered_core_words(fa: DocFeatures, fb: DocFeatures, ra: tuple[int, int],
                        rb: tuple[int, int], opt: ReuseOptions) -> bool:
    """Does the passage hold an ordered core of `core_words` words (see `_has_core`)?"""
    i, j = _local_dots(fa.stems[ra[0] : ra[1]], fb.stems[rb[0] : rb[1]],
                       opt.max_dots_per_stem)
    return _has_core(i, j, fa.content[ra[0] : ra[1]], fb.content[rb[0] : rb[1]],
                     opt.core_words, opt.min_content)


def _shared_rare_stems(fa: DocFeatures, fb: DocFeatures, ra: tuple[int, int],
                       rb: tuple[int, int]) -> int:
    """Distinct rare stems found in both spans: the evidence left when order is not."""
    sa = fa.stems[ra[0] : ra[1]]
    sb = fb.stems[rb[0] : rb[1]]
    if fa.rare is not None:
        sa = sa[fa.rare[ra[0] : ra[1]]]
    if fb.rare is not None:
        sb = sb[fb.rare[rb[0] : rb[1]]]
    return len(set(sa.tolist()) & set(sb.tolist()))


def _split_boilerplate(fa: DocFeatures, fb: DocFeatures, ra: tuple[int, int],
                       rb: tuple[int, int], least: int
                       ) -> list[tuple[tuple[int, int], tuple[int, int], bool]]:
    """Cut outlet boilerplate off the ends of a passage: (A range, B range, is boilerplate).

    Two articles of one outlet that share a paragraph usually share its signature right
    after it; the paragraph is reuse, the signature is not. An end is cut when on both
    sides it is a run of at least `least` boilerplate content words (`DocFeatures.boiler`)
    and at least `least` content words remain."""
    ma = fa.boiler[ra[0] : ra[1]] if fa.boiler is not None else None
    mb = fb.boiler[rb[0] : rb[1]] if fb.boiler is not None else None
    if ma is None or mb is None or not (ma.any() and mb.any()):
        return [(ra, rb, False)]

    def run(mask: np.ndarray, from_end: bool) -> int:
        m = mask[::-1] if from_end else mask
        return int(np.argmin(m)) if not m.all() else len(m)

    parts: list[tuple[tuple[int, int], tuple[int, int], bool]] = []
    (a0, a1), (b0, b1) = ra, rb
    head_a, head_b = run(ma, False), run(mb, False)
    if min(head_a, head_b) >= least and min(a1 - a0 - head_a, b1 - b0 - head_b) >= least:
        parts.append(((a0, a0 + head_a), (b0, b0 + head_b), True))
        a0, b0 = a0 + head_a, b0 + head_b
    tail_a = run(fa.boiler[a0:a1], True)
    tail_b = run(fb.boiler[b0:b1], True)
    tail = None
    if min(tail_a, tail_b) >= least and min(a1 - a0 - tail_a, b1 - b0 - tail_b) >= least:
        tail = ((a1 - tail_a, a1), (b1 - tail_b, b1), True)
        a1, b1 = a1 - tail_a, b1 - tail_b
    middle = bool(fa.boiler[a0:a1].mean() > 0.5 or fb.boiler[b0:b1].mean() > 0.5)
    parts.append(((a0, a1), (b0, b1), middle))
    if tail is not None:
        parts.append(tail)
    return parts


def _check(fa: DocFeatures, fb: DocFeatures, ra: tuple[int, int], rb: tuple[int, int],
           is_bag: bool, opt: ReuseOptions, boilerplate: bool = False) -> Alignment | None:
    """Steps 5 and 6: keep passages long and matched enough, then map to original offsets."""
    sa = fa.stems[ra[0] : ra[1]]
    sb = fb.stems[rb[0] : rb[1]]
    in_a, in_b = _member(sa, sb), _member(sb, sa)
    if opt.max_substituted > 0 and not is_bag:
        si, sj = substitutions(*_local_dots(sa, sb, opt.max_dots_per_stem),
                               opt.max_substituted)
        in_a[si] = True
        in_b[sj] = True
    ma, mb = int(in_a.sum()), int(in_b.sum())
    if ma < opt.min_content or mb < opt.min_content:
        return None
    need = opt.bag_coverage if is_bag else opt.min_coverage
    if ma / len(sa) < need or mb / len(sb) < need:
        return None
    # the rest of a sentence is judged against the other side's whole sentences
    ta0, ta1, a_start, a_end = _token_span(fa, *ra, fb.stems[slice(*_sentence_content(fb, rb))],
                                           opt.min_coverage)
    tb0, tb1, b_start, b_end = _token_span(fb, *rb, fa.stems[slice(*_sentence_content(fa, ra))],
                                           opt.min_coverage)
    if ta1 - ta0 < opt.min_words or tb1 - tb0 < opt.min_words:
        return None
    core = _ordered_core_words(fa, fb, ra, rb, opt)
    if not core and _shared_rare_stems(fa, fb, ra, rb) < opt.bag_min:
        return None
    score = (ma + mb) / (len(sa) + len(sb))
    kind = passage_kind(fa, fb, ra, rb, opt, reordered=is_bag, ordered_core=core)
    return Alignment(
        a_start, a_end, b_start, b_end, round(score, 4),
        tuple(range(int(fa.tok_sent[ta0]), int(fa.tok_sent[ta1 - 1]) + 1)),
        tuple(range(int(fb.tok_sent[tb0]), int(fb.tok_sent[tb1 - 1]) + 1)),
        ra, rb, boilerplate and kind != COPY, kind,
    )
