"""Stable 64-bit hashing of stems and of n-grams of stems (the same in every process)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)

# blake2b, unlike `hash()`, is the same in every process and every run.
_STEM_HASHES: dict[str, int] = {}
_CACHE_LIMIT = 2_000_000


def stem_hashes(stems: Sequence[str]) -> np.ndarray:
    """64-bit hashes of `stems` (a pure function; the dict is only a cache)."""
    cache = _STEM_HASHES
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    out = np.empty(len(stems), dtype=np.uint64)
    for k, s in enumerate(stems):
        h = cache.get(s)
        if h is None:
            h = int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(),
                               "little")
            cache[s] = h
        out[k] = h
    return out


def _mix(h: np.ndarray) -> np.ndarray:
    # splitmix64 finalizer: spreads every input bit over the output
    h = h ^ (h >> np.uint64(30))
    h = h * _M2
    h = h ^ (h >> np.uint64(27))
    h = h * _M3
    return h ^ (h >> np.uint64(31))


def ngram_hashes(stems: np.ndarray, n: int) -> np.ndarray:
    """Hash of each run of `n` consecutive stem hashes (order matters); len - n + 1 values."""
    k = len(stems) - n + 1
    if k <= 0:
        return np.empty(0, np.uint64)
    h = np.zeros(k, np.uint64)
    for t in range(n):
        h = _mix(h * _M1 + stems[t : t + k])
    return h


def unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values of `a`, by sorting (NumPy 2's default hash-based `np.unique`
    is several times slower on the million-element integer arrays of a collection)."""
    s = np.sort(a, kind="stable")
    if len(s) < 2:
        return s
    return s[np.concatenate([[True], s[1:] != s[:-1]])]
