"""Connected components of an integer graph: the linkage behind duplicate clusters and stories.

Edges are ``(a, b)`` pairs of non-negative integers (document numbers); every
node of an edge gets the smallest node of its component as its label, so the
result is the same whatever the order of the edges and whoever computes it.

Locally the edges are streamed into one SciPy sparse graph (16 bytes an edge,
nothing per document that has no edge). Spark computes the same labels with
the large-star / small-star iterations of Kiveris et al. (2014), "Connected
Components in MapReduce and Beyond", on the executors (see `khabar.engine.spark`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

BATCH = 4096


def edge_arrays(batches: Iterable[list[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray]:
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    for batch in batches:
        if not batch:
            continue
        arr = np.asarray(batch, dtype=np.int64).reshape(-1, 2)
        left.append(arr[:, 0])
        right.append(arr[:, 1])
    if not left:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(left), np.concatenate(right)


def label_components(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, labels): every node of an edge and the smallest node of its component."""
    if len(a) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    n = len(nodes)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (inverse[: len(a)], inverse[len(a):])),
                       shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    smallest = np.full(comp.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, comp, nodes)
    return nodes, smallest[comp]


def local_components(batches: Iterable[list[tuple[int, int]]]) -> Iterator[list[tuple[int, int]]]:
    """Batches of (node, label) records for the edges streamed in."""
    nodes, labels = label_components(*edge_arrays(batches))
    for start in range(0, len(nodes), BATCH):
        yield list(zip(nodes[start:start + BATCH].tolist(), labels[start:start + BATCH].tolist(),
                       strict=True))
