"""Phrase statistics of a collection: which n-grams are formulas, which are an outlet's own.

Two articles that share "خادم الحرمين الشريفين الملك سلمان بن عبدالعزيز آل سعود"
or a standard closing have not copied each other: those phrases are carried by
many outlets in many unrelated stories. What tells a formula from copied text
is how widely it travels, so every content n-gram gets three counts over the
collection: the documents, the outlets and the days that carry it.

* A **formula** n-gram is carried by at least `formula_outlets` outlets on at
  least `formula_days` different days (a story's copies appear within two or
  three days of the event, crawl dates and republications included; a formula
  recurs for as long as the collection runs), or by more than `max_df`
  documents whatever their dates (the cap of the candidate index: anything that
  common locates nothing either).
* An **outlet's own** n-gram (signatures, disclaimers, standing paragraphs) is
  carried by at least `boilerplate_min_docs` documents of one outlet.

The counts are keyed counts, built per batch of documents (`PhraseCounts.of`,
a map step) and combined by summing equal keys (`PhraseCounts.merge`, a
grouping step), so that they can run as a grouping over any number of
machines; the only thing handed back to the per-document work is small: the
sorted formula n-grams and, for each outlet, its own n-grams.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from khabar.reuse.features import DocFeatures
from khabar.reuse.hashing import unique
from khabar.reuse.options import ReuseOptions

NO_OUTLET = np.uint64(0)
"""Outlet key of a document without a `source`: counted as a document, never as an outlet."""
NO_DAY = -1
"""Day of an undated document: counted as a document, never as a day."""
DAY = 86400.0


def outlet_key(source: str | None) -> np.uint64:
    """A stable 64-bit key of an outlet name (the same in every process), 0 for none."""
    if not source:
        return NO_OUTLET
    h = int.from_bytes(hashlib.blake2b(source.encode("utf-8"), digest_size=8).digest(), "little")
    return np.uint64(h or 1)


def day_of(ts: float | None) -> int:
    """The UTC day number of a timestamp, `NO_DAY` when undated."""
    return NO_DAY if ts is None else int(ts // DAY)


def _sum_by(k1: np.ndarray, k2: np.ndarray, n: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows with equal (k1, k2) summed: the reduce of a keyed count."""
    if len(k1) == 0:
        return k1, k2, n
    order = np.lexsort((k2, k1))
    k1, k2, n = k1[order], k2[order], n[order]
    first = np.flatnonzero(np.concatenate([[True], (k1[1:] != k1[:-1]) | (k2[1:] != k2[:-1])]))
    return k1[first], k2[first], np.add.reduceat(n, first)


@dataclass(slots=True)
class PhraseCounts:
    """Keyed counts: (n-gram, outlet) -> documents and (n-gram, day) -> documents.

    Each document counts once per distinct n-gram it holds. Rows are sorted by
    (n-gram, outlet) and (n-gram, day)."""

    og_gram: np.ndarray
    og_outlet: np.ndarray
    og_docs: np.ndarray
    dg_gram: np.ndarray
    dg_day: np.ndarray
    dg_docs: np.ndarray

    @classmethod
    def of(cls, feats: Iterable[DocFeatures]) -> PhraseCounts:
        """Map step: the counts of one batch of documents."""
        grams: list[np.ndarray] = []
        outlets: list[np.ndarray] = []
        days: list[np.ndarray] = []
        for f in feats:
            g = unique(f.grams)
            grams.append(g)
            outlets.append(np.full(len(g), outlet_key(f.source), np.uint64))
            days.append(np.full(len(g), day_of(f.ts), np.int64))
        if not grams:
            return cls.empty()
        g = np.concatenate(grams)
        ones = np.ones(len(g), np.int64)
        og = _sum_by(g, np.concatenate(outlets), ones)
        dg = _sum_by(g, np.concatenate(days), ones)
        return cls(*og, *dg)

    @classmethod
    def empty(cls) -> PhraseCounts:
        e64, eu = np.empty(0, np.int64), np.empty(0, np.uint64)
        return cls(eu, eu, e64, eu, e64, e64)

    @classmethod
    def merge(cls, parts: Iterable[PhraseCounts]) -> PhraseCounts:
        """Grouping step: the counts of several batches as one (equal keys summed)."""
        parts = list(parts)
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        og = _sum_by(np.concatenate([p.og_gram for p in parts]),
                     np.concatenate([p.og_outlet for p in parts]),
                     np.concatenate([p.og_docs for p in parts]))
        dg = _sum_by(np.concatenate([p.dg_gram for p in parts]),
                     np.concatenate([p.dg_day for p in parts]),
                     np.concatenate([p.dg_docs for p in parts]))
        return cls(*og, *dg)

    def formula_grams(self, min_outlets: int, min_days: int, max_docs: int) -> np.ndarray:
        """Sorted n-grams that are formulas (see the module docstring)."""
        if len(self.og_gram) == 0:
            return np.empty(0, np.uint64)
        # rows are sorted by n-gram: per n-gram, documents (all rows), outlets (rows with
        # an outlet) and days (rows with a day)
        g_first = np.flatnonzero(np.concatenate([[True], self.og_gram[1:] != self.og_gram[:-1]]))
        grams = self.og_gram[g_first]
        docs = np.add.reduceat(self.og_docs, g_first)
        outlets = np.add.reduceat((self.og_outlet != NO_OUTLET).astype(np.int64), g_first)
        d_first = np.flatnonzero(np.concatenate([[True], self.dg_gram[1:] != self.dg_gram[:-1]]))
        days_of = np.add.reduceat((self.dg_day != NO_DAY).astype(np.int64), d_first)
        # the two tables hold the same n-grams in the same order
        wide = (outlets >= min_outlets) & (days_of >= min_days)
        return grams[wide | (docs > max_docs)]

    def outlet_grams(self, min_docs: int) -> tuple[np.ndarray, np.ndarray]:
        """(outlet keys, n-grams) of the n-grams an outlet repeats in `min_docs` or more of
        its documents, sorted by (outlet, n-gram)."""
        keep = (self.og_docs >= min_docs) & (self.og_outlet != NO_OUTLET)
        o, g = self.og_outlet[keep], self.og_gram[keep]
        order = np.lexsort((g, o))
        return o[order], g[order]


@dataclass(slots=True)
class PhraseTables:
    """What the per-document work needs of the phrase statistics (small, broadcast)."""

    formula: np.ndarray
    """Sorted formula n-grams."""
    own_outlet: np.ndarray
    own_gram: np.ndarray
    """(outlet, n-gram) pairs of outlet's own n-grams, sorted."""

    @classmethod
    def build(cls, counts: PhraseCounts, options: ReuseOptions) -> PhraseTables:
        o, g = counts.outlet_grams(options.boilerplate_min_docs)
        return cls(counts.formula_grams(options.formula_outlets, options.formula_days,
                                        options.max_df), o, g)

    def own(self, source: str | None, grams: np.ndarray) -> np.ndarray:
        """Which of `grams` the outlet `source` repeats in many of its documents."""
        key = outlet_key(source)
        if key == NO_OUTLET or len(grams) == 0:
            return np.zeros(len(grams), bool)
        lo = int(np.searchsorted(self.own_outlet, key, "left"))
        hi = int(np.searchsorted(self.own_outlet, key, "right"))
        return _isin_sorted(grams, self.own_gram[lo:hi])

    def mark(self, f: DocFeatures, n: int) -> None:
        """Map step: set `f.formula` and `f.boiler` (content tokens inside a formula n-gram,
        or inside an n-gram its outlet repeats)."""
        f.formula = _cover(_isin_sorted(f.grams, self.formula), f.n_content, n)
        f.boiler = _cover(self.own(f.source, f.grams), f.n_content, n)


def _isin_sorted(x: np.ndarray, table: np.ndarray) -> np.ndarray:
    if len(table) == 0 or len(x) == 0:
        return np.zeros(len(x), bool)
    pos = np.minimum(np.searchsorted(table, x), len(table) - 1)
    return table[pos] == x


def _cover(starts: np.ndarray, length: int, n: int) -> np.ndarray:
    """Tokens covered by the n-grams starting where `starts` is True."""
    mask = np.zeros(length, bool)
    hit = np.flatnonzero(starts)
    for k in range(n):
        mask[np.minimum(hit + k, max(length - 1, 0))] = True
    return mask


def mark_phrases(feats: Sequence[DocFeatures], options: ReuseOptions,
                 batch: int = 2000) -> PhraseTables:
    """Count the phrases of `feats` and mark formulas and outlet boilerplate on each."""
    counts = PhraseCounts.merge(PhraseCounts.of(feats[s : s + batch])
                                for s in range(0, len(feats), batch))
    tables = PhraseTables.build(counts, options)
    for f in feats:
        tables.mark(f, options.ngram)
    return tables
