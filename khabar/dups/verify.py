"""Verification of candidate pairs on their real shingle sets.

Sketches only propose pairs; every reported similarity is computed here from
the full sets of 64-bit shingle hashes: Jaccard |A∩B| / |A∪B| and both
containments |A∩B| / |A| and |A∩B| / |B|.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def distinct(hashes: np.ndarray) -> np.ndarray:
    """Sorted distinct values (plain sort and mask: cheaper than np.unique on small arrays)."""
    s = np.sort(hashes)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def intersections(a: np.ndarray, b: np.ndarray, sets: Mapping[int, np.ndarray]) -> np.ndarray:
    """|sets[a[i]] ∩ sets[b[i]]| for each pair (each set sorted and distinct)."""
    out = np.zeros(len(a), dtype=np.int64)
    for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        small, big = sets[x], sets[y]
        if len(small) > len(big):
            small, big = big, small
        if not len(small):
            continue
        # binary search of the smaller set in the larger: fewer steps than a merge
        at = np.searchsorted(big, small)
        at[at == len(big)] = 0
        out[i] = np.count_nonzero(big[at] == small)
    return out


def similarities(inter: np.ndarray, size_a: np.ndarray, size_b: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(jaccard, containment of a in b, containment of b in a) from set sizes."""
    inter = inter.astype(np.float64)
    union = size_a + size_b - inter
    jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    a_in_b = np.divide(inter, size_a, out=np.zeros_like(inter), where=size_a > 0)
    b_in_a = np.divide(inter, size_b, out=np.zeros_like(inter), where=size_b > 0)
    return jac, a_in_b, b_in_a


def accept(jac: np.ndarray, a_in_b: np.ndarray, b_in_a: np.ndarray, threshold: float,
           containment: float) -> np.ndarray:
    """Pairs that are duplicates: Jaccard at threshold, or (when on) containment at its bar."""
    ok = jac >= threshold
    if containment > 0:
        ok |= np.maximum(a_in_b, b_in_a) >= containment
    return ok
