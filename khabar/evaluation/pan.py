"""The PAN measures of text-reuse detection (Potthast, Stein, Barrón-Cedeño and Rosso, 2010).

A case (true or detected) is a pair of character ranges: one in the
suspicious document ("this") and one in its source. Treating each as the
set of characters it covers on both sides:

* a detection r *detects* a case s when they name the same two documents and
  overlap on both sides;
* s ⊓ r is s ∩ r (characters of both sides) when r detects s, else nothing;
* macro recall    = mean over cases s of |∪_r (s ⊓ r)| / |s|;
* macro precision = mean over detections r of |∪_s (s ⊓ r)| / |r|;
* granularity     = mean, over the cases detected at least once, of the number
  of detections that detect them (1 is perfect; a case found in three pieces
  counts 3);
* plagdet         = F1(precision, recall) / log2(1 + granularity).

Conventions for empty sets (as in the PAN evaluation): with no cases and no
detections recall and precision are 1; with one side empty they are 0;
granularity with no detected case is 1.

Everything is interval arithmetic per document pair (no per-character sets),
so scoring thousands of cases is instant.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from khabar.pickling import fast_pickle


@fast_pickle
@dataclass(frozen=True, slots=True)
class Case:
    """One reuse case or detection: `this` range in `doc`, `source` range in `source_doc`."""

    doc: str
    this_offset: int
    this_length: int
    source_doc: str
    source_offset: int
    source_length: int
    obfuscation: str | None = None

    @property
    def this_end(self) -> int:
        return self.this_offset + self.this_length

    @property
    def source_end(self) -> int:
        return self.source_offset + self.source_length

    @property
    def size(self) -> int:
        return self.this_length + self.source_length


@dataclass(slots=True)
class PanScores:
    precision: float
    recall: float
    granularity: float
    plagdet: float
    cases: int
    detections: int
    recall_by_obfuscation: dict[str, float] = field(default_factory=dict)
    cases_by_obfuscation: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "precision": self.precision, "recall": self.recall,
            "granularity": self.granularity, "plagdet": self.plagdet,
            "cases": self.cases, "detections": self.detections,
            "recall_by_obfuscation": dict(self.recall_by_obfuscation),
            "cases_by_obfuscation": dict(self.cases_by_obfuscation),
        }


def _overlap(a0: int, a1: int, b0: int, b1: int) -> tuple[int, int] | None:
    lo, hi = max(a0, b0), min(a1, b1)
    return (lo, hi) if hi > lo else None


def _union_length(ranges: Iterable[tuple[int, int]]) -> int:
    total = 0
    cur_lo = cur_hi = None
    for lo, hi in sorted(ranges):
        if cur_hi is None or lo > cur_hi:
            if cur_hi is not None:
                total += cur_hi - cur_lo
            cur_lo, cur_hi = lo, hi
        else:
            cur_hi = max(cur_hi, hi)
    if cur_hi is not None:
        total += cur_hi - cur_lo
    return total


def _detects(s: Case, r: Case) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """(this overlap, source overlap) when r detects s, else None."""
    t = _overlap(s.this_offset, s.this_end, r.this_offset, r.this_end)
    if t is None:
        return None
    o = _overlap(s.source_offset, s.source_end, r.source_offset, r.source_end)
    if o is None:
        return None
    return t, o


def _covered(targets: Sequence[Case], others: Sequence[Case]) -> tuple[list[float], list[int]]:
    """For each target: share of its characters covered by the others that detect it (or that
    it detects: the relation is symmetric), and how many of them do."""
    by_pair: dict[tuple[str, str], list[Case]] = defaultdict(list)
    for o in others:
        by_pair[(o.doc, o.source_doc)].append(o)
    shares: list[float] = []
    counts: list[int] = []
    for s in targets:
        this_parts: list[tuple[int, int]] = []
        src_parts: list[tuple[int, int]] = []
        n = 0
        for r in by_pair.get((s.doc, s.source_doc), ()):
            hit = _detects(s, r)
            if hit is None:
                continue
            n += 1
            this_parts.append(hit[0])
            src_parts.append(hit[1])
        covered = _union_length(this_parts) + _union_length(src_parts)
        shares.append(covered / s.size if s.size else 0.0)
        counts.append(n)
    return shares, counts


def macro_recall(cases: Sequence[Case], detections: Sequence[Case]) -> float:
    if not cases and not detections:
        return 1.0
    if not cases or not detections:
        return 0.0
    shares, _ = _covered(cases, detections)
    return sum(shares) / len(shares)


def macro_precision(cases: Sequence[Case], detections: Sequence[Case]) -> float:
    # precision is recall with the roles swapped
    return macro_recall(detections, cases)


def granularity(cases: Sequence[Case], detections: Sequence[Case]) -> float:
    _, counts = _covered(cases, detections)
    found = [c for c in counts if c > 0]
    return sum(found) / len(found) if found else 1.0


def plagdet(precision: float, recall: float, gran: float) -> float:
    if precision + recall == 0:
        return 0.0
    f1 = 2 * precision * recall / (precision + recall)
    return f1 / math.log2(1 + gran)


def score(cases: Sequence[Case], detections: Sequence[Case]) -> PanScores:
    """All PAN measures, plus macro recall per obfuscation type when cases carry one."""
    p = macro_precision(cases, detections)
    r = macro_recall(cases, detections)
    g = granularity(cases, detections)
    out = PanScores(p, r, g, plagdet(p, r, g), len(cases), len(detections))
    kinds = sorted({c.obfuscation for c in cases if c.obfuscation})
    for kind in kinds:
        subset = [c for c in cases if c.obfuscation == kind]
        out.recall_by_obfuscation[kind] = macro_recall(subset, detections)
        out.cases_by_obfuscation[kind] = len(subset)
    return out
