"""Unicode-aware tokenization with offsets.

A token is a maximal run of letters (any script, with their combining marks)
or of digits (with `.` or `,` between digits kept inside, so 3.5 and 1,200
stay whole). Ideographs (CJK, kana) are one token each because those scripts
do not separate words with spaces. Everything else separates tokens.

Like normalization, classification is one table lookup per character over a
NumPy array, so tokenizing costs little more than creating the token strings.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

OTHER, LETTER, DIGIT, IDEOGRAPH = 0, 1, 2, 3
_SEP = 4  # `.` and `,`: part of a number only between two digits


@lru_cache(maxsize=1)
def _classes() -> np.ndarray:
    """Token class of every code point, built once per process (~0.1 s)."""
    table = np.zeros(0x110000, dtype=np.uint8)
    for cp in range(0x20000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        if ch.isdigit():
            table[cp] = DIGIT
        elif ch.isalpha() or unicodedata.category(ch) in ("Mn", "Mc"):
            table[cp] = LETTER
    for lo, hi in ((0x3040, 0x3100), (0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00)):
        table[lo:hi][table[lo:hi] == LETTER] = IDEOGRAPH
    table[0x20000:0x40000] = IDEOGRAPH  # CJK extension planes
    table[ord("_")] = OTHER
    table[ord(".")] = table[ord(",")] = _SEP
    table.setflags(write=False)
    return table


@lru_cache(maxsize=1)
def _blanks() -> np.ndarray:
    """Code point table that turns every non-token character into a space."""
    table = np.arange(0x110000, dtype=np.uint32)
    table[_classes() == OTHER] = 0x20
    table[[ord("."), ord(",")]] = 0x20
    table.setflags(write=False)
    return table


@dataclass(slots=True)
class Tokens:
    """Tokens of one text: strings and half-open offsets into that text."""

    strings: list[str]
    starts: np.ndarray
    ends: np.ndarray
    kinds: np.ndarray
    """LETTER, DIGIT or IDEOGRAPH per token."""

    def __reduce__(self) -> tuple:
        # positional rebuild: much faster than the slots dataclass default (fields() per call)
        return (Tokens, (self.strings, self.starts, self.ends, self.kinds))

    def __len__(self) -> int:
        return len(self.strings)

    def __iter__(self):
        return iter(self.strings)

    def __getitem__(self, i: int) -> str:
        return self.strings[i]


def tokenize(text: str) -> Tokens:
    """Split `text` into tokens with offsets into `text` itself.

    Run it on normalized text and map offsets through the normalization's
    `OffsetMap` to reach the original characters (`TextView` does both).
    """
    return tokenize_many([text])[0]


def tokenize_many(texts: list[str]) -> list[Tokens]:
    """Tokenize a batch of texts in one vectorized pass (much faster than one by one)."""
    if not texts:
        return []
    joined = "\n".join(texts)  # a separator that is never part of a token
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    doc_starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=doc_starts[1:])
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    n = len(cps)
    padded = np.zeros(n + 2, dtype=np.uint8)
    padded[1:-1] = _classes().take(cps)
    blank = _blanks().take(cps)
    seps = np.flatnonzero(padded == _SEP)
    if seps.size:
        # a separator joins the number around it only between two digits
        inner = (padded[seps - 1] == DIGIT) & (padded[seps + 1] == DIGIT)
        padded[seps] = np.where(inner, DIGIT, OTHER)
        kept = seps[inner] - 1
        blank[kept] = cps[kept]
    # boundaries: positions between characters where the class changes
    bounds = np.flatnonzero(padded[1:] != padded[:-1])
    after = padded[bounds + 1]
    before = padded[bounds]
    is_start = after != OTHER
    starts = bounds[is_start]
    ends = bounds[before != OTHER]
    kinds = after[is_start]
    if (kinds == IDEOGRAPH).any():
        starts, ends, kinds = _split_ideographs(starts, ends, kinds)
    # str.split on a copy with separators blanked gives the token strings at C speed;
    # where two tokens touch (2020م, ideographs) a blank is inserted between them.
    touching = np.flatnonzero(starts[1:] == ends[:-1]) + 1
    if touching.size:
        blank = np.insert(blank, starts[touching], 0x20)
    strings = blank.tobytes().decode("utf-32-le", "surrogatepass").split()
    if len(strings) != len(starts):  # defensive: fall back to exact slicing
        strings = [joined[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    per_doc = np.searchsorted(starts, doc_starts).tolist()
    starts = starts.astype(np.int32)
    ends = ends.astype(np.int32)
    out: list[Tokens] = []
    for i, base in enumerate(doc_starts[:-1].tolist()):
        lo, hi = per_doc[i], per_doc[i + 1]
        out.append(Tokens(strings[lo:hi], starts[lo:hi] - base, ends[lo:hi] - base,
                          kinds[lo:hi]))
    return out


def _split_ideographs(
    starts: np.ndarray, ends: np.ndarray, kinds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ideograph runs become one token per character."""
    lengths = np.where(kinds == IDEOGRAPH, ends - starts, 1)
    rep_starts = np.repeat(starts, lengths)
    offs = np.arange(len(rep_starts)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    is_ideo = np.repeat(kinds == IDEOGRAPH, lengths)
    new_starts = rep_starts + np.where(is_ideo, offs, 0)
    new_ends = np.where(is_ideo, new_starts + 1, np.repeat(ends, lengths))
    return new_starts, new_ends, np.repeat(kinds, lengths)
