"""Outlet boilerplate: text one outlet repeats across many of its own documents.

Signatures, disclaimers, "follow us on…" lines and standing paragraphs are
shared between two articles of one outlet without anyone copying anyone.
Ingest already strips whole boilerplate *lines*; what is left (a signature
glued to the last paragraph, a standing sentence) is caught here, at the
level of passages: a passage is boilerplate when most of its content-stem
n-grams occur in at least `boilerplate_min_docs` documents of the outlet of
either side. Such passages are flagged and, by default, not reported.

Documents without an outlet (`source` is empty) have none: their shared
text is never taken for boilerplate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from khabar.reuse.features import DocFeatures
from khabar.reuse.hashing import unique


class OutletIndex:
    """For every (outlet, n-gram): in how many of that outlet's documents it occurs."""

    def __init__(self, feats: Sequence[DocFeatures]) -> None:
        outlets = sorted({f.source for f in feats if f.source})
        self._outlet = {name: k for k, name in enumerate(outlets)}
        parts_o: list[np.ndarray] = []
        parts_g: list[np.ndarray] = []
        for f in feats:
            o = self._outlet.get(f.source) if f.source else None
            if o is None or len(f.grams) == 0:
                continue
            g = unique(f.grams)
            parts_o.append(np.full(len(g), o, np.int64))
            parts_g.append(g)
        if parts_g:
            o = np.concatenate(parts_o)
            g = np.concatenate(parts_g)
            order = np.lexsort((g, o))
            o, g = o[order], g[order]
            first = np.concatenate([[True], (o[1:] != o[:-1]) | (g[1:] != g[:-1])])
            starts = np.flatnonzero(first)
            self._o = o[starts]
            self._g = g[starts]
            self._n = np.diff(np.append(starts, len(o)))
        else:
            self._o = np.empty(0, np.int64)
            self._g = np.empty(0, np.uint64)
            self._n = np.empty(0, np.int64)
        # where each outlet's block begins in the sorted arrays
        self._bounds = np.searchsorted(self._o, np.arange(len(outlets) + 1))

    def counts(self, outlet: str | None, grams: np.ndarray) -> np.ndarray:
        """Documents of `outlet` holding each of `grams` (0 for an unknown outlet)."""
        k = self._outlet.get(outlet) if outlet else None
        if k is None or len(grams) == 0:
            return np.zeros(len(grams), np.int64)
        lo, hi = int(self._bounds[k]), int(self._bounds[k + 1])
        block = self._g[lo:hi]
        if len(block) == 0:
            return np.zeros(len(grams), np.int64)
        pos = np.minimum(np.searchsorted(block, grams), len(block) - 1)
        return np.where(block[pos] == grams, self._n[lo:hi][pos], 0)

    def mark(self, f: DocFeatures, min_docs: int, n: int) -> None:
        """Set `f.boiler`: content tokens covered by an n-gram found in at least `min_docs`
        documents of the outlet of `f`."""
        mask = np.zeros(f.n_content, dtype=bool)
        hit = np.flatnonzero(self.counts(f.source, f.grams) >= min_docs)
        for k in range(n):
            mask[np.minimum(hit + k, f.n_content - 1)] = True
        f.boiler = mask
