"""Array helpers shared by alignment and passage kinds: which stems match, and in what order."""

from __future__ import annotations

import numpy as np

from khabar.reuse.fingerprints import CHAIN_STEP

_SMALL = 4096


def member(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`np.isin(a, b)`; with a Python set below a few thousand elements, where NumPy's
    fixed cost per call (sorting both, many small steps) is the larger one."""
    if len(a) + len(b) > _SMALL:
        return np.isin(a, b)
    inside = set(b.tolist())
    return np.fromiter((x in inside for x in a.tolist()), dtype=bool, count=len(a))


def local_dots(a: np.ndarray, b: np.ndarray, max_per_stem: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with a[i] == b[j]; stems repeated beyond `max_per_stem` pairs are left out
    (a word that common in both spans locates nothing)."""
    if len(a) == 0 or len(b) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.argsort(b, kind="stable")
    sb = b[order]
    lo = np.searchsorted(sb, a, "left")
    cnt = np.searchsorted(sb, a, "right") - lo
    cnt[cnt > max_per_stem] = 0
    total = int(cnt.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    i = np.repeat(np.arange(len(a), dtype=np.int64), cnt)
    first = np.cumsum(cnt) - cnt
    k = np.arange(total, dtype=np.int64) - np.repeat(first, cnt) + np.repeat(lo, cnt)
    return i, order[k].astype(np.int64)


def has_core(i: np.ndarray, j: np.ndarray, ca: np.ndarray, cb: np.ndarray,
              need_words: int, need_matches: int) -> bool:
    """Is there a chain of matches in the same order on both sides, each within
    `CHAIN_STEP` content tokens of the last, with `need_matches` matches spanning at
    least `need_words` words on each side? That is a minimal passage copied in order.

    `i`, `j` are local content positions sorted by (i, j); `ca`, `cb` map them to token
    indices. This is what separates copying from sharing vocabulary: two articles
    sharing "سوق السيارات في المملكة العربية السعودية" and a few loose words have a
    six-word core, not a reused passage of eight words. Plain Python with an early exit:
    a real passage reaches the minimum within its first few matches.
    """
    best: dict[tuple[int, int], tuple[int, int, int]] = {}
    steps = [(di, dj) for di in range(1, CHAIN_STEP + 1) for dj in range(1, CHAIN_STEP + 1)]
    cal, cbl = ca.tolist(), cb.tolist()
    for x, y in zip(i.tolist(), j.tolist(), strict=True):
        # (matches, start i, start j) of the longest chain ending here
        here = (1, x, y)
        for di, dj in steps:
            p = best.get((x - di, y - dj))
            if p is not None and p[0] + 1 > here[0]:
                here = (p[0] + 1, p[1], p[2])
        best[(x, y)] = here
        if (here[0] >= need_matches and cal[x] - cal[here[1]] + 1 >= need_words
                and cbl[y] - cbl[here[2]] + 1 >= need_words):
            return True
    return False


def substitutions(i: np.ndarray, j: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of words replaced in place: between two matches on one diagonal
    (j - i equal), up to `gap` positions apart, the words in between on both sides.

    An editor who swaps a word for a synonym, a figure for a word or a spelling for
    another leaves the words around it standing and the count of words unchanged, so
    the matches on both sides of the swap lie on one diagonal; two unrelated texts
    almost never line up like that for long. A few array operations, however many
    matches there are."""
    empty = np.empty(0, np.int64)
    if len(i) < 2:
        return empty, empty
    d = j - i
    order = np.lexsort((i, d))
    si, sd = i[order], d[order]
    step = np.diff(si)
    ok = np.flatnonzero((sd[1:] == sd[:-1]) & (step >= 2) & (step <= gap + 1))
    if len(ok) == 0:
        return empty, empty
    size = step[ok] - 1
    offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    out_i = np.repeat(si[ok] + 1, size) + offset
    return out_i, out_i + np.repeat(sd[ok], size)
