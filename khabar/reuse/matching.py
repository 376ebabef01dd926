"""Array helpers shared by alignment and passage kinds: which stems match, and in what order."""

from __future__ import annotations

from bisect import bisect_left

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


def ordered_chain(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Indices of the longest chain of matches increasing on both sides (patience sorting,
    O(n log n)): the matches that keep the two texts' order."""
    if len(i) == 0:
        return np.empty(0, np.int64)
    # by i, and by decreasing j within one i, so a chain takes at most one match per i
    order = np.lexsort((-j, i))
    tails: list[int] = []       # smallest j ending a chain of each length
    tail_at: list[int] = []     # …and the match that ends it
    back = np.full(len(i), -1, np.int64)
    for k in order.tolist():
        y = int(j[k])
        pos = bisect_left(tails, y)
        if pos == len(tails):
            tails.append(y)
            tail_at.append(k)
        else:
            tails[pos] = y
            tail_at[pos] = k
        back[k] = tail_at[pos - 1] if pos else -1
    out = []
    k = tail_at[-1]
    while k >= 0:
        out.append(k)
        k = int(back[k])
    return np.asarray(out[::-1], np.int64)


def substitutions(i: np.ndarray, j: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of words replaced in place: between two consecutive matches of the
    ordered chain, the same number (1 to `gap`) of unmatched words on each side.

    An editor who swaps a word for a synonym, a figure for a word or a spelling for
    another leaves the words around it standing and the count of words unchanged;
    two unrelated texts almost never line up like that for long."""
    chain = ordered_chain(i, j)
    if len(chain) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    ci, cj = i[chain], j[chain]
    di, dj = np.diff(ci) - 1, np.diff(cj) - 1
    ok = np.flatnonzero((di == dj) & (di >= 1) & (di <= gap))
    if len(ok) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    size = di[ok]
    start_i = np.repeat(ci[ok] + 1, size)
    start_j = np.repeat(cj[ok] + 1, size)
    step = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    return start_i + step, start_j + step
