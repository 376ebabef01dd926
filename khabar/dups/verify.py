"""Verification of candidate pairs on their real shingle sets.

Sketches only propose pairs; every reported similarity is computed here from
the full sets of 64-bit shingle hashes: Jaccard |A∩B| / |A∪B| and both
containments |A∩B| / |A| and |A∩B| / |B|.
"""

from __future__ import annotations

import numpy as np


def intersections(sets: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray
                  ) -> np.ndarray:
    """|S_a ∩ S_b| for each pair, S_d = sets[offsets[d]:offsets[d+1]] sorted and distinct.

    Each hash of the smaller set is found in the larger one by binary search. One
    pair at a time: both sets then sit in the processor's cache, which beats one
    vectorized search over all pairs in a large array by a wide margin.
    """
    out = np.zeros(len(a), dtype=np.int64)
    bounds = offsets.tolist()
    for i, (x, y) in enumerate(zip(np.asarray(a).tolist(), np.asarray(b).tolist(),
                                   strict=True)):
        small = sets[bounds[x] : bounds[x + 1]]
        big = sets[bounds[y] : bounds[y + 1]]
        if len(small) > len(big):
            small, big = big, small
        if len(small):
            at = big.searchsorted(small)
            out[i] = np.count_nonzero(big.take(at, mode="clip") == small)
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
