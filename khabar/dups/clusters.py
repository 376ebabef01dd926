"""Duplicate clusters: connected components of the verified pairs, each with a representative.

Components are unions of pairs, so a cluster can chain (A copies B, B copies
C, A and C share less): that is what "the same story in several copies" looks
like when each copy was edited a little. The representative is the copy a
reader should keep: the earliest dated, then the longest text, then the
smallest id.
"""

from __future__ import annotations

import numpy as np


def union_find(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (its smallest member) of each of `n` nodes joined by edges (a, b).

    Union-find done in vectorized rounds: every edge pulls both its ends' roots
    down to the smaller one, then pointer jumping flattens the trees; the
    number of rounds grows with the logarithm of the longest chain.
    """
    parent = np.arange(n, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    while True:
        ra, rb = parent[a], parent[b]
        low = np.minimum(ra, rb)
        before = parent.copy()
        np.minimum.at(parent, ra, low)
        np.minimum.at(parent, rb, low)
        while True:  # pointer jumping until every node points at a root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        if np.array_equal(parent, before):
            return parent


def components(n: int, a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Member indices (ascending) of every component with at least two members."""
    if len(a) == 0:
        return []
    labels = union_find(n, a, b)
    nodes = np.unique(np.concatenate((a, b)))  # only these are in components of two or more
    order = nodes[np.argsort(labels[nodes], kind="stable")]
    sorted_labels = labels[order]
    cuts = np.flatnonzero(sorted_labels[1:] != sorted_labels[:-1]) + 1
    return np.split(order, cuts)


def representative(members: np.ndarray, ids: list[str], timestamps: list[float | None],
                   lengths: list[int]) -> int:
    """Earliest date (undated last), then longest text, then smallest id."""
    def rank(i: int) -> tuple[float, int, str]:
        ts = timestamps[i]
        return (ts if ts is not None else float("inf"), -lengths[i], ids[i])

    return min(members.tolist(), key=rank)
