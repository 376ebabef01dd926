"""Offset maps: the way back from any derived text to the original characters.

Every derived form of a document (repaired, normalized) carries an `OffsetMap`
that records, for each of its characters, the half-open range of original
characters it came from. A span of the derived text then maps to the smallest
original range that produced it. The map is dense (two int32 arrays, 8 bytes
per derived character) because composition and vectorized lookups become
plain array indexing; an identity map allocates nothing.

Conventions, relied on by every later stage:

* a derived span ``[s, e)`` maps to ``[starts[s], ends[e - 1])``;
* an empty derived span ``[s, s)`` maps to the empty original span just before
  the source of character ``s`` (or the end of the original text);
* characters deleted by a transformation belong to no derived character,
  except combining marks (harakat, tatweel), which are folded into the
  character before them so that a word maps back with its diacritics.
"""

from __future__ import annotations

import zlib

import numpy as np

_I32 = np.int32


class OffsetMap:
    """Maps positions of a derived text to ranges of its source text."""

    __slots__ = ("_ends", "_starts", "derived_length", "source_length")

    def __init__(
        self,
        starts: np.ndarray | None,
        ends: np.ndarray | None,
        source_length: int,
        derived_length: int | None = None,
    ) -> None:
        if starts is None:
            # identity: derived text has the same length as the source
            self._starts = self._ends = None
            self.derived_length = source_length
        else:
            self._starts = np.ascontiguousarray(starts, dtype=_I32)
            self._ends = np.ascontiguousarray(ends, dtype=_I32)
            self.derived_length = len(self._starts)
            if derived_length is not None and derived_length != self.derived_length:
                raise ValueError("derived_length does not match the map arrays")
        self.source_length = source_length

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def identity(cls, length: int) -> OffsetMap:
        return cls(None, None, length)

    @property
    def is_identity(self) -> bool:
        return self._starts is None

    @property
    def starts(self) -> np.ndarray:
        if self._starts is None:
            return np.arange(self.source_length, dtype=_I32)
        return self._starts

    @property
    def ends(self) -> np.ndarray:
        if self._ends is None:
            return np.arange(1, self.source_length + 1, dtype=_I32)
        return self._ends

    def __len__(self) -> int:
        return self.derived_length

    def __repr__(self) -> str:
        kind = "identity" if self.is_identity else "dense"
        return f"OffsetMap({kind}, derived={self.derived_length}, source={self.source_length})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OffsetMap):
            return NotImplemented
        return (
            self.source_length == other.source_length
            and self.derived_length == other.derived_length
            and np.array_equal(self.starts, other.starts)
            and np.array_equal(self.ends, other.ends)
        )

    # -- lookups --------------------------------------------------------------------------------

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original half-open range of the derived span ``[start, end)``."""
        n = self.derived_length
        if not 0 <= start <= end <= n:
            raise IndexError(f"span [{start}, {end}) outside derived text of length {n}")
        if self._starts is None:
            return start, end
        if start == end:
            pos = self._point(start)
            return pos, pos
        return int(self._starts[start]), int(self._ends[end - 1])

    def _point(self, pos: int) -> int:
        if pos < self.derived_length:
            return int(self._starts[pos])
        return int(self._ends[-1]) if self.derived_length else self.source_length

    def spans(self, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorized `span` for arrays of non-empty derived spans."""
        starts = np.asarray(starts)
        ends = np.asarray(ends)
        if self._starts is None:
            return starts.astype(_I32, copy=False), ends.astype(_I32, copy=False)
        if starts.size == 0:
            return np.empty(0, _I32), np.empty(0, _I32)
        return self._starts[starts], self._ends[ends - 1]

    def to_derived(self, orig_start: int, orig_end: int) -> tuple[int, int]:
        """Smallest derived span whose characters come from inside ``[orig_start, orig_end)``.

        The inverse direction, used when a user or an earlier stage names a
        range of the original text (a sentence, a quotation) and a later stage
        needs it in derived coordinates.
        """
        if self._starts is None:
            return orig_start, orig_end
        s = int(np.searchsorted(self._starts, orig_start, side="left"))
        e = int(np.searchsorted(self._ends, orig_end, side="right"))
        return s, max(s, e)

    # -- algebra --------------------------------------------------------------------------------

    def compose(self, inner: OffsetMap) -> OffsetMap:
        """Chain maps: `self` maps Y -> X, `inner` maps Z -> Y; the result maps Z -> X."""
        if inner.source_length != self.derived_length:
            raise ValueError("maps do not chain: inner source length differs from outer derived")
        if inner._starts is None:
            return self
        if self._starts is None:
            return OffsetMap(inner._starts, inner._ends, self.source_length)
        if inner.derived_length == 0:
            return OffsetMap(np.empty(0, _I32), np.empty(0, _I32), self.source_length)
        ys, ye = inner._starts, inner._ends
        # characters inserted by the inner step have an empty source range; pin them to
        # the point where they were inserted
        ext_starts = np.append(self._starts, self._ends[-1] if len(self._starts) else 0)
        starts = ext_starts[ys]
        last = np.maximum(ye - 1, ys)
        ends = np.where(ye > ys, self._ends[np.minimum(last, len(self._ends) - 1)], starts)
        return OffsetMap(starts, np.maximum(ends, starts), self.source_length)

    # -- storage --------------------------------------------------------------------------------

    def __reduce__(self) -> tuple:
        # As runs: a map differs from the identity only around edits, so (start - position,
        # end - start) changes a few dozen times in an article of thousands of characters.
        # Runners move prepared articles between processes many times; dense arrays made a
        # map most of an article's bytes.
        if self._starts is None:
            return (OffsetMap.identity, (self.source_length,))
        n = self.derived_length
        if n == 0:
            return (OffsetMap, (self._starts, self._ends, self.source_length))
        shift = self._starts - np.arange(n, dtype=_I32)
        width = self._ends - self._starts
        cut = np.flatnonzero((shift[1:] != shift[:-1]) | (width[1:] != width[:-1])) + 1
        first = np.concatenate([[0], cut]).astype(_I32)
        return (_from_runs, (first, shift[first], width[first], n, self.source_length))

    def to_bytes(self) -> bytes:
        """Compact serialization: deltas from identity compress to almost nothing."""
        if self._starts is None:
            return b""
        idx = np.arange(self.derived_length, dtype=_I32)
        payload = np.concatenate(
            [np.array([self.source_length, self.derived_length], _I32),
             self._starts - idx, self._ends - self._starts]
        )
        return zlib.compress(payload.astype("<i4").tobytes(), 6)

    @classmethod
    def from_bytes(cls, data: bytes | None, source_length: int) -> OffsetMap:
        if not data:
            return cls.identity(source_length)
        arr = np.frombuffer(zlib.decompress(data), dtype="<i4").astype(_I32)
        src, n = int(arr[0]), int(arr[1])
        starts = arr[2 : 2 + n] + np.arange(n, dtype=_I32)
        ends = starts + arr[2 + n : 2 + 2 * n]
        return cls(starts, ends, src)


def _from_runs(first: np.ndarray, shift: np.ndarray, width: np.ndarray, n: int,
               source_length: int) -> OffsetMap:
    lengths = np.diff(np.append(first, n))
    starts = np.repeat(shift, lengths) + np.arange(n, dtype=_I32)
    return OffsetMap(starts, starts + np.repeat(width, lengths), source_length)


def apply_edits(text: str, edits: list[tuple[int, int, str]]) -> tuple[str, OffsetMap]:
    """Apply non-overlapping replacements ``(start, end, new)`` to `text`.

    Returns the edited text and its map back to `text`: untouched characters
    map one to one, every character of a replacement maps to the whole range
    it replaced, and deleted characters map to nothing.
    """
    if not edits:
        return text, OffsetMap.identity(len(text))
    edits = sorted(edits)
    n = len(text)
    pieces: list[str] = []
    # the edited text as segments: kept stretches of the original alternate with replacements
    seg_src: list[int] = []  # where each segment's characters come from in the original
    seg_end: list[int] = []  # end of the original range a replacement stands for (-1: kept)
    seg_len: list[int] = []
    pos = 0
    for start, end, new in edits:
        if start < pos or end < start or end > n:
            raise ValueError(f"edit ({start}, {end}) overlaps another or leaves the text")
        if start > pos:
            pieces.append(text[pos:start])
            seg_src.append(pos)
            seg_end.append(-1)
            seg_len.append(start - pos)
        if new:
            pieces.append(new)
            seg_src.append(start)
            seg_end.append(end)
            seg_len.append(len(new))
        pos = end
    if pos < n:
        pieces.append(text[pos:])
        seg_src.append(pos)
        seg_end.append(-1)
        seg_len.append(n - pos)
    out = "".join(pieces)
    lengths = np.asarray(seg_len, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return out, OffsetMap(np.empty(0, _I32), np.empty(0, _I32), n)
    src = np.asarray(seg_src, dtype=np.int64)
    rep_end = np.asarray(seg_end, dtype=np.int64)
    kept = rep_end < 0
    # position of each derived character inside its segment
    first = np.cumsum(lengths) - lengths
    within = np.arange(total, dtype=np.int64) - np.repeat(first, lengths)
    starts = np.repeat(src, lengths) + np.where(np.repeat(kept, lengths), within, 0)
    ends = np.where(np.repeat(kept, lengths), starts + 1, np.repeat(rep_end, lengths))
    return out, OffsetMap(starts.astype(_I32), ends.astype(_I32), n)
