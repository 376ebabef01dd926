"""Shingles: hashed n-grams of a document's normalized tokens, for a whole batch at once.

Every hash here is a fixed function of the text (no process salt, no seed), so
sketches stored by one run compare with sketches made by any later run, on any
machine and any number of workers.

How it stays fast: the normalized texts of a batch are one array of code
points. A token's hash is a polynomial over its code points, read off a single
prefix sum of the whole batch (``(P[end] - P[start]) * B^-start``, all modulo
2^64, where uint64 arithmetic wraps for free) and then bit-mixed. Word n-gram
hashes combine n consecutive token hashes with n fixed odd multipliers, one
vectorized pass per position of the window. Nothing is done per token in
Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from khabar.errors import KhabarError
from khabar.text.normalize import _UNICODE, EXPAND, NormalizeOptions, get_normalizer
from khabar.text.tokenize import _SEP, DIGIT, IDEOGRAPH, OTHER, _classes, _split_ideographs

_U64 = np.uint64
_M1 = _U64(0xFF51AFD7ED558CCD)
_M2 = _U64(0xC4CEB9FE1A85EC53)
_S33 = _U64(33)
_BASE = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2^64
_LENGTH_MIX = _U64(0xD6E8FEB86659FD93)


def odd_constants(n: int, seed: int) -> np.ndarray:
    """`n` fixed pseudo-random odd 64-bit constants (SplitMix64 from `seed`).

    Plain integer arithmetic, so the constants are the same on every platform and
    NumPy version: stored sketches depend on them.
    """
    mask = (1 << 64) - 1
    out = []
    state = seed & mask
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append((z ^ (z >> 31)) | 1)
    return np.array(out, dtype=np.uint64)


# one multiplier per position inside a shingle window
_WINDOW = odd_constants(64, 0x6B686162)

SHINGLE_KINDS = ("word", "char")
DEFAULT_SIZES = {"word": 5, "char": 5}


def parse_shingle(spec: str) -> tuple[str, int]:
    """`word`, `word:5`, `char`, `char:7` -> (kind, size)."""
    kind, _, size = spec.strip().lower().partition(":")
    if kind not in SHINGLE_KINDS:
        raise KhabarError(f"shingle {spec!r}: use word:N or char:N (e.g. word:5)")
    if not size:
        return kind, DEFAULT_SIZES[kind]
    if not size.isdigit() or not 1 <= int(size) <= len(_WINDOW):
        raise KhabarError(f"shingle {spec!r}: N must be a whole number from 1 to {len(_WINDOW)}")
    return kind, int(size)


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, in place: every input bit affects every output bit."""
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


def _inverse(a: int) -> int:
    """Inverse of odd `a` modulo 2^64 (Newton's iteration doubles the correct bits)."""
    inv = a
    for _ in range(6):
        inv = (inv * (2 - a * inv)) % (1 << 64)
    return inv


@lru_cache(maxsize=1)
def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """B^j and B^-j modulo 2^64 for j < size (size a power of two).

    Built by doubling (the second half is the first times B^half), which is
    vectorized, unlike a running product.
    """
    out = []
    for base in (_BASE, _inverse(_BASE)):
        table = np.empty(size, dtype=np.uint64)
        table[0] = 1
        filled, step = 1, base
        while filled < size:
            np.multiply(table[:filled], _U64(step), out=table[filled : 2 * filled])
            filled *= 2
            step = step * step % (1 << 64)
        table.setflags(write=False)
        out.append(table)
    return out[0], out[1]


_MIN_TABLE = 1 << 16
_table_size = _MIN_TABLE


def _power_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tables covering `n` characters; they only ever grow, so one pair exists per process."""
    global _table_size
    while _table_size < n:
        _table_size *= 2
    return _powers(_table_size)


def token_hashes(cps: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """64-bit hash of each token ``cps[starts[i]:ends[i]]`` (a token's hash ignores where it is)."""
    n = len(cps)
    up, down = _power_tables(n)
    # prefix[i] = sum of cps[j] * B^j for j < i, built in place (this is the costly pass)
    prefix = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    np.multiply(cps, up[:n], out=prefix[1:])
    np.cumsum(prefix, out=prefix)
    raw = (prefix[ends] - prefix[starts]) * down[starts]
    # the length keeps the empty-sum case and strings differing by trailing zeros apart
    raw ^= (ends - starts).astype(np.uint64) * _LENGTH_MIX
    return fmix64(raw)


def window_hashes(units: np.ndarray, offsets: np.ndarray, size: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every run of `size` consecutive units inside each document.

    `units` are per-unit hashes (tokens or characters) of all documents back to
    back, document d owning ``units[offsets[d]:offsets[d+1]]``. A document shorter
    than `size` (but not empty) gets one shingle of all its units, so short texts
    still compare. Returns the shingle hashes and their per-document offsets.
    """
    counts = np.diff(offsets)
    total = len(units)
    windows = max(total - size + 1, 0)
    acc = np.zeros(windows, dtype=np.uint64)
    for k in range(size):
        acc += units[k : k + windows] * _WINDOW[k]
    per_doc = np.where(counts >= size, counts - size + 1, (counts > 0).astype(counts.dtype))
    out_off = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(per_doc, out=out_off[1:])
    # a window is kept when it starts and ends inside one document: drop the last
    # size-1 starting positions before each document's end (they run past it)
    keep = np.ones(windows, dtype=bool)
    if size > 1 and windows:
        tail = (offsets[1:, None] - np.arange(1, size)).ravel()
        keep[tail[(tail >= 0) & (tail < windows)]] = False
    shingles = np.empty(int(out_off[-1]), dtype=np.uint64)
    long_docs = counts >= size
    long_positions = np.repeat(long_docs, per_doc)
    shingles[long_positions] = acc[keep]
    for d in np.flatnonzero((counts > 0) & ~long_docs).tolist():
        part = units[offsets[d] : offsets[d + 1]]
        shingles[out_off[d]] = (part * _WINDOW[: len(part)]).sum(dtype=np.uint64)
    shingles ^= _U64((size * int(_LENGTH_MIX)) % (1 << 64))
    return fmix64(shingles), out_off


@dataclass(slots=True)
class BatchShingles:
    """Shingles of a batch of documents (document d owns ``hashes[offsets[d]:offsets[d+1]]``)."""

    hashes: np.ndarray
    """uint64 shingle hashes in text order, repeats included."""
    offsets: np.ndarray
    tokens: np.ndarray
    """int32 number of normalized tokens per document."""
    exact: np.ndarray
    """(n, 16) uint8 digest of each document's token sequence: equal iff the normalized
    tokens joined with single spaces are equal (up to hash collisions)."""


def token_bounds(cps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the tokens of code points `cps`, as `tokenize_many` finds them.

    The same classification table and boundary rules, minus the token strings,
    which duplicate detection never needs and which cost the tokenizer half its
    time. `tests/test_dups.py` checks that both agree.
    """
    padded = np.zeros(len(cps) + 2, dtype=np.uint8)
    np.take(_classes(), cps, out=padded[1:-1])
    seps = np.flatnonzero(padded == _SEP)
    if seps.size:
        inner = (padded[seps - 1] == DIGIT) & (padded[seps + 1] == DIGIT)
        padded[seps] = np.where(inner, DIGIT, OTHER)
    bounds = np.flatnonzero(padded[1:] != padded[:-1])
    after = padded[bounds + 1]
    is_start = after != OTHER
    starts = bounds[is_start]
    ends = bounds[padded[bounds] != OTHER]
    kinds = after[is_start]
    if (kinds == IDEOGRAPH).any():
        starts, ends, _ = _split_ideographs(starts, ends, kinds)
    return starts.astype(np.int64), ends.astype(np.int64)


def sequence_digests(units: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(n, 16) uint8: two 64-bit polynomial hashes of each document's unit sequence.

    The halves mix the units differently before summing, so unequal sequences
    collide in both only by a negligible chance; each half is one prefix sum,
    like `token_hashes`.
    """
    n = len(units)
    up, down = _power_tables(n + 1)
    starts, ends = offsets[:-1], offsets[1:]
    halves = []
    for salt in (_LENGTH_MIX, _M1):
        mixed = fmix64(units ^ salt)
        prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(mixed * up[:n], out=prefix[1:])
        raw = (prefix[ends] - prefix[starts]) * down[starts]
        raw ^= (ends - starts).astype(np.uint64) * salt
        halves.append(fmix64(raw))
    return np.stack(halves, axis=1).view(np.uint8).reshape(len(starts), 16)


def normalized_codepoints(texts: list[str], options: NormalizeOptions | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the normalized texts joined by "\\n", and where each text starts.

    Exactly what `Normalizer.normalize_many` produces, minus the offset maps
    and the round trip through Python strings: duplicate detection only needs
    the normalized characters. The same lookup table is applied; characters
    normalizing to several (ligatures) take the same expansions.
    `tests/test_dups.py` checks both paths agree.
    """
    normalizer = get_normalizer(options)
    lut, expansions = normalizer._lut, normalizer._expansions
    n = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    bases = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=bases[1:])
    cps = np.frombuffer("\n".join(texts).encode("utf-32-le", "surrogatepass"), np.uint32)
    mapped = lut.take(cps)
    kept = mapped < _UNICODE
    out = mapped[kept]
    # "\n" maps to itself, so each text keeps its separator; removed characters (rare)
    # are counted where they are
    removed = np.flatnonzero(~kept)
    per_text = np.diff(bases) - np.bincount(
        np.searchsorted(bases, removed, side="right") - 1, minlength=n)
    expand_at = removed[mapped[removed] == EXPAND]
    if expand_at.size:
        # ligatures: their expansions go where the character would have been
        reps = [expansions[c] for c in cps[expand_at].tolist()]
        sizes = np.fromiter(map(len, reps), dtype=np.int64, count=len(reps))
        where = expand_at - np.searchsorted(removed, expand_at)
        out = np.insert(out, np.repeat(where, sizes), np.concatenate(reps))
        per_text += np.bincount(np.searchsorted(bases, expand_at, side="right") - 1,
                                weights=sizes, minlength=n).astype(np.int64)
    new_bases = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_text, out=new_bases[1:])
    return out, new_bases


def batch_shingles(texts: list[str], kind: str, size: int,
                   options: NormalizeOptions | None = None) -> BatchShingles:
    """Normalize, tokenize and shingle a batch of texts."""
    cps, bases = normalized_codepoints(texts, options)
    starts, ends = token_bounds(cps)
    tok_off = np.searchsorted(starts, bases)
    tok_off[-1] = len(starts)
    counts = np.diff(tok_off)
    th = token_hashes(cps, starts, ends)
    exact = sequence_digests(th, tok_off)
    if kind == "word":
        hashes, offsets = window_hashes(th, tok_off, size)
    else:
        units, char_off = _spaced_characters(cps, starts, ends, tok_off)
        hashes, offsets = window_hashes(units, char_off, size)
    return BatchShingles(hashes, offsets, counts.astype(np.int32), exact)


def _spaced_characters(cps: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                       tok_off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the characters of each document's tokens joined by single spaces.

    Spacing and punctuation then never matter, exactly as for word shingles.
    """
    lengths = ends - starts
    last = np.zeros(len(starts), dtype=bool)
    nonempty = np.diff(tok_off) > 0
    last[tok_off[1:][nonempty] - 1] = True
    width = lengths + (~last)  # each token but a document's last is followed by a space
    total = int(width.sum())
    token_at = np.repeat(np.arange(len(starts)), width)
    first = np.cumsum(width) - width
    pos = np.arange(total) - first[token_at]
    inside = pos < lengths[token_at]
    chars = np.full(total, 0x20, dtype=np.uint64)
    chars[inside] = cps[starts[token_at[inside]] + pos[inside]]
    char_off = np.zeros(len(tok_off), dtype=np.int64)
    per_doc = np.add.reduceat(width, tok_off[:-1][nonempty]) if len(width) else width
    char_counts = np.zeros(len(tok_off) - 1, dtype=np.int64)
    char_counts[nonempty] = per_doc
    np.cumsum(char_counts, out=char_off[1:])
    return fmix64(chars * _LENGTH_MIX + _U64(1)), char_off
