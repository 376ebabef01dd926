"""Average-linkage clustering of a sparse graph of same-story probabilities.

Two groups of articles merge when the AVERAGE probability over all their
cross pairs reaches the threshold, pairs never scored counting as 0. This is
what keeps two events of one topic apart: a chain of pairwise links (the
flood on Sunday resembles a background paragraph of the flood on Thursday)
does not merge groups; most of their members must agree.

Average linkage is monotone (a merge never raises the best average left), so
stopping at a threshold gives the same clusters as cutting the full
dendrogram there, and `merge_heights` lets one run serve many thresholds.
"""

from __future__ import annotations

import heapq

import numpy as np


def average_linkage(
    n: int, left: np.ndarray, right: np.ndarray, prob: np.ndarray, threshold: float,
    weights: np.ndarray | None = None, must: np.ndarray | None = None,
) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Cluster `n` items; returns (labels, merges as (kept, absorbed, average)).

    Labels are the smallest item index in each cluster, so they do not depend on
    the order of the pairs given. Ties between equal averages are broken by the
    smaller indices, which makes the result deterministic. `weights` (default 1)
    let one item stand for several identical ones (a group of copies): the
    average is then the one over all the articles the items stand for. `must`
    (an item index per item, the smallest of its group) puts groups together
    before anything else: must-links (copies), recorded as merges at height
    infinity, so that `cut` keeps them at every threshold.
    """
    w = [1.0] * n if weights is None else [float(x) for x in weights]
    root = list(range(n)) if must is None else [int(x) for x in must]
    merges: list[tuple[int, int, float]] = []
    size = list(w)
    alive = [True] * n
    for i in range(n):
        r = root[i]
        if r != i:
            merges.append((r, i, float("inf")))
            size[r] += size[i]
            alive[i] = False
    sums: list[dict[int, float]] = [{} for _ in range(n)]
    for i, j, p in zip(left.tolist(), right.tolist(), prob.tolist(), strict=True):
        if i == j or p <= 0.0:
            continue
        p = p * w[i] * w[j]
        i, j = root[i], root[j]
        if i == j:
            continue  # inside one must-linked group
        sums[i][j] = sums[i].get(j, 0.0) + p
        sums[j][i] = sums[j].get(i, 0.0) + p
    heap: list[tuple[float, int, int]] = []
    for a in range(n):
        for b, s in sums[a].items():
            avg = s / (size[a] * size[b])
            if a < b and avg >= threshold:
                heap.append((-avg, a, b))
    heapq.heapify(heap)
    while heap:
        neg, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]):
            continue
        avg = sums[a].get(b, 0.0) / (size[a] * size[b])
        if abs(avg + neg) > 1e-12:
            continue  # stale: the current average was pushed when it changed
        if avg < threshold:
            break
        # keep the smaller index as the cluster's name; absorb the other
        merges.append((a, b, avg))
        alive[b] = False
        size[a] += size[b]
        for x, s in sums[b].items():
            if x == a:
                continue
            sums[x].pop(b, None)
            total = sums[a].get(x, 0.0) + s
            sums[a][x] = total
            sums[x][a] = total
        sums[a].pop(b, None)
        sums[b] = {}
        for x, s in sums[a].items():
            if not alive[x]:
                continue
            new = s / (size[a] * size[x])
            if new >= threshold:
                lo, hi = (a, x) if a < x else (x, a)
                heapq.heappush(heap, (-new, lo, hi))
    return _labels(n, merges), merges


def _labels(n: int, merges: list[tuple[int, int, float]]) -> np.ndarray:
    parent = np.arange(n)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for a, b, _ in merges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def cut(n: int, merges: list[tuple[int, int, float]], threshold: float) -> np.ndarray:
    """Labels at a higher `threshold` from the merges of a run at a lower one."""
    return _labels(n, [m for m in merges if m[2] >= threshold])
