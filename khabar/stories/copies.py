"""Copies always share a story: must-links from the duplicate stage.

A story is decided by average agreement, and copies can lose that vote for
reasons that have nothing to do with the event: 150 identical copies make
every word of their text a corpus stopword (document frequency above the cut),
so no pair of them is even compared; a republication two days later loses on
time proximity. A verified copy is the same report, so the story stage takes
it as a must-link rather than as a score:

* `Copies.from_duplicates` asks the duplicate stage
  (`khabar.dups.find_duplicates`) and keeps its symmetric copies: exact copies
  and near copies at its Jaccard threshold. A containment pair (a short
  article found inside a long one) is not a must-link: a digest that carries
  a complete news item at its end is about something else (the stories stage
  still sees it as strong evidence through the pair score);
* `copy_groups` turns links into groups (connected components, the group key
  being its smallest id): the one grouping step, keyed by id, that a cluster
  engine runs as a join;
* the clustering honours them: every copy group starts as one cluster of the
  average linkage (`linkage.average_linkage(must=…)`), whatever the dates of
  its members; EXACT copies (the same normalized text) are moreover folded
  into one row standing for all of them (`CopyUnits`), so that a thousand
  copies cost what one article costs, and a text republished verbatim counts
  once in the word statistics (the words of an event copied everywhere stay
  its own words, not stopwords).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


def copy_groups(links: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Article id -> the smallest id of its group, for every article with a copy.

    Groups are the connected components of the links: A copied by B and B by C puts
    the three together, as the duplicate stage's clusters do.
    """
    names: dict[str, int] = {}
    left: list[int] = []
    right: list[int] = []
    for a, b in links:
        if a == b:
            continue
        left.append(names.setdefault(a, len(names)))
        right.append(names.setdefault(b, len(names)))
    if not left:
        return {}
    n = len(names)
    graph = sp.coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    ids = list(names)
    key: dict[int, str] = {}
    for i, c in zip(range(n), comp.tolist(), strict=True):
        if c not in key or ids[i] < key[c]:
            key[c] = ids[i]
    return {i: key[c] for i, c in zip(ids, comp.tolist(), strict=True)}


@dataclass(slots=True)
class Copies:
    """Which articles are copies of which: the must-links of the story stage."""

    groups: dict[str, str] = field(default_factory=dict)
    """Article id -> its copy group (exact and near copies), for articles with a copy."""
    exact: dict[str, str] = field(default_factory=dict)
    """Article id -> its group of EXACT copies (a subset of one copy group)."""

    def __bool__(self) -> bool:
        return bool(self.groups)

    @classmethod
    def from_links(cls, links: Iterable[tuple[str, str]],
                   exact: Iterable[tuple[str, str]] = ()) -> Copies:
        """From (a, b) copy links, and the subset of them that are exact copies."""
        exact = list(exact)
        return cls(copy_groups([*links, *exact]), copy_groups(exact))

    @classmethod
    def from_pairs(cls, pairs: Iterable[Any], threshold: float) -> Copies:
        """From the duplicate stage's `DupPair`s (anything with `a`, `b`, `kind`, `jaccard`):
        exact copies, and near copies whose Jaccard reaches `threshold` (symmetric copies;
        a pair found by containment alone is left out)."""
        pairs = list(pairs)
        return cls.from_links(
            [(p.a, p.b) for p in pairs if p.kind != "exact" and p.jaccard >= threshold],
            [(p.a, p.b) for p in pairs if p.kind == "exact"])

    @classmethod
    def from_duplicates(cls, corpus: Any, workers: int = 1) -> Copies:
        """Copies among documents in memory, or of a store's documents (the duplicate
        stage brought up to date first: cheap when nothing changed), found by the
        duplicate stage itself."""
        from khabar.dups import DupParams, find_duplicates

        params = DupParams()
        return cls.from_pairs(find_duplicates(corpus, params, workers=workers).pairs,
                              params.threshold)


@dataclass(slots=True)
class CopyUnits:
    """Rows of a batch of articles grouped into units (a copy group, or one article)."""

    unit: np.ndarray
    """Unit of each row."""
    reps: np.ndarray
    """The row that stands for each unit: its earliest member (undated last, then by id)."""
    weight: np.ndarray
    """How many rows each unit holds."""

    def __len__(self) -> int:
        return len(self.reps)

    @property
    def trivial(self) -> bool:
        return len(self.reps) == len(self.unit)


def copy_units(ids: Sequence[str], ts: np.ndarray, groups: Mapping[str, str]) -> CopyUnits:
    """Units of the rows `ids` (times `ts`, NaN when undated) under copy `groups`."""
    n = len(ids)
    order = sorted(range(n), key=lambda r: (bool(np.isnan(ts[r])),
                                             0.0 if np.isnan(ts[r]) else float(ts[r]), ids[r]))
    unit = np.empty(n, dtype=np.int64)
    reps: list[int] = []
    first: dict[str, int] = {}
    for r in order:  # time order: the first member met is the unit's representative
        g = groups.get(ids[r])
        if g is not None and g in first:
            unit[r] = first[g]
            continue
        u = len(reps)
        reps.append(r)
        unit[r] = u
        if g is not None:
            first[g] = u
    # number units by their representative's row so that unit order follows row order
    reps_arr = np.array(reps, dtype=np.int64)
    by_row = np.argsort(reps_arr, kind="stable")
    renumber = np.empty(len(reps), dtype=np.int64)
    renumber[by_row] = np.arange(len(reps))
    unit = renumber[unit] if n else unit
    reps_arr = reps_arr[by_row]
    weight = np.bincount(unit, minlength=len(reps_arr)).astype(np.float64)
    return CopyUnits(unit, reps_arr, weight)


def must_labels(units: CopyUnits, ids: Sequence[str], groups: Mapping[str, str]
                ) -> np.ndarray | None:
    """For each unit, the smallest unit of its copy group (`linkage.average_linkage`'s
    `must`); None when no two units are copies."""
    first: dict[str, int] = {}
    out = np.arange(len(units), dtype=np.int64)
    for u, r in enumerate(units.reps.tolist()):  # units are numbered in row order
        g = groups.get(ids[r])
        if g is not None:
            out[u] = first.setdefault(g, u)
    return None if (out == np.arange(len(units))).all() else out


def unit_evidence(evidence: Any, ids: Sequence[str], units: CopyUnits) -> Any:
    """Evidence between articles (a mapping or a `similarity.Evidence`), carried to the
    units' representatives (strongest kept, certainty kept); links inside one unit are
    dropped (the unit already holds them together)."""
    from khabar.stories.similarity import Evidence, as_evidence

    ev = as_evidence(evidence)
    if ev is None:
        return evidence
    if units.trivial:
        return ev
    rep_of = {ids[r]: ids[int(units.reps[units.unit[r]])] for r in range(len(ids))}
    plain: dict[tuple[str, str], float] = {}
    sure: dict[tuple[str, str], float] = {}
    for (a, b), s, certain in ev.items():
        ra, rb = rep_of.get(a), rep_of.get(b)
        if ra is None or rb is None or ra == rb:
            continue
        key = (ra, rb) if ra < rb else (rb, ra)
        target = sure if certain else plain
        target[key] = max(target.get(key, 0.0), float(s))
    return Evidence(plain, sure)


def unit_member_scores(units: CopyUnits, labels: np.ndarray, left: np.ndarray,
                       right: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Each unit's average probability with the other ARTICLES of its story (a copy in
    its own unit counting as certain), as `result.member_scores` does for articles."""
    n = len(units)
    w = units.weight
    same = labels[left] == labels[right]
    sums = w - 1.0  # the unit's own copies
    sums += np.bincount(left[same], weights=(prob * w[right])[same], minlength=n)
    sums += np.bincount(right[same], weights=(prob * w[left])[same], minlength=n)
    totals = np.bincount(labels, weights=w, minlength=int(labels.max()) + 1 if n else 0)[labels]
    out = np.ones(n)
    many = totals > 1
    out[many] = sums[many] / (totals[many] - 1.0)
    return np.minimum(out, 1.0)
