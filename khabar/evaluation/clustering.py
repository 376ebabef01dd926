"""Clustering measures: pairwise precision/recall/F1, B-cubed, and scores on labelled pairs.

Against labelled CLUSTERS (every item's true group):

* pairwise — over all pairs of items present in both: precision = pairs put
  together that belong together / pairs put together; recall = pairs put
  together that belong together / pairs that belong together (computed from
  the contingency table, never by enumerating pairs);
* B-cubed (Bagga and Baldwin, 1998) — for each item, the share of its
  predicted cluster that shares its true cluster (precision) and the share of
  its true cluster found in its predicted cluster (recall), averaged over
  items.

Against labelled PAIRS (a sample judged by readers, as `dev-pairs.jsonl`:
``a, b, event`` same/related/different, ``ambiguous`` left out): recall = same
pairs put together / same pairs; precision = same pairs put together / all
labelled pairs put together; plus the share of "related" and of "different"
pairs put together.

Conventions: with nothing put together (or nothing belonging together)
precision (recall) is 1.0, as with an empty set of claims.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khabar.errors import KhabarError
from khabar.pickling import fast_pickle


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


@fast_pickle
@dataclass(frozen=True, slots=True)
class PRF:
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4)}


@dataclass(slots=True)
class ClusterScores:
    items: int
    """Items scored (present in both the prediction and the gold)."""
    pairwise: PRF
    bcubed: PRF
    missing: int = 0
    """Gold items absent from the prediction (not scored)."""

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "missing": self.missing,
                "pairwise": self.pairwise.to_dict(), "bcubed": self.bcubed.to_dict()}


def cluster_scores(pred: Mapping[str, Hashable], gold: Mapping[str, Hashable]) -> ClusterScores:
    """Pairwise and B-cubed scores of `pred` (item -> cluster) against `gold` (item -> class)."""
    items = [i for i in gold if i in pred]
    joint = Counter((pred[i], gold[i]) for i in items)
    p_size = Counter(pred[i] for i in items)
    g_size = Counter(gold[i] for i in items)
    together_both = sum(_pairs(c) for c in joint.values())
    together_pred = sum(_pairs(c) for c in p_size.values())
    together_gold = sum(_pairs(c) for c in g_size.values())
    pp = together_both / together_pred if together_pred else 1.0
    pr = together_both / together_gold if together_gold else 1.0
    # B-cubed: an item in cell (c, k) sees joint[c,k] correct among p_size[c] and g_size[k]
    if items:
        bp = sum(n * n / p_size[c] for (c, _k), n in joint.items()) / len(items)
        br = sum(n * n / g_size[k] for (_c, k), n in joint.items()) / len(items)
    else:
        bp = br = 1.0
    return ClusterScores(len(items), PRF(pp, pr, _f1(pp, pr)), PRF(bp, br, _f1(bp, br)),
                         missing=sum(1 for i in gold if i not in pred))


@dataclass(slots=True)
class PairScores:
    same: PRF
    """Precision/recall/F1 of putting "same event" pairs together."""
    merged: dict[str, float] = field(default_factory=dict)
    """Share of the pairs of each label that were put together."""
    counts: dict[str, int] = field(default_factory=dict)
    """Labelled pairs scored, by label (ambiguous ones and unknown ids left out)."""
    missing: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"same": self.same.to_dict(),
                "merged": {k: round(v, 4) for k, v in self.merged.items()},
                "counts": self.counts, "missing": self.missing}


@fast_pickle
@dataclass(frozen=True, slots=True)
class LabelledPair:
    a: str
    b: str
    event: str
    ambiguous: bool = False


def pair_scores(pred: Mapping[str, Hashable], pairs: Iterable[LabelledPair],
                positive: str = "same") -> PairScores:
    """Scores of `pred` on labelled pairs (see the module docstring)."""
    merged: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    missing = 0
    for p in pairs:
        if p.ambiguous:
            continue
        if p.a not in pred or p.b not in pred:
            missing += 1
            continue
        counts[p.event] += 1
        if pred[p.a] == pred[p.b]:
            merged[p.event] += 1
    together = sum(merged.values())
    tp = merged[positive]
    precision = tp / together if together else 1.0
    recall = tp / counts[positive] if counts[positive] else 1.0
    shares = {k: merged[k] / counts[k] for k in sorted(counts)}
    return PairScores(PRF(precision, recall, _f1(precision, recall)), shares,
                      dict(sorted(counts.items())), missing)


# -- files ----------------------------------------------------------------------------------------


def _jsonl(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise KhabarError(f"{path}: {exc.strerror or exc}") from None
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("{") and "\n{" not in stripped:
        try:
            return [json.loads(stripped)]
        except json.JSONDecodeError:
            pass
    out = []
    for k, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise KhabarError(f"{path}:{k}: not JSON ({exc.msg})") from None
    return out


def read_clusters(path: str | Path) -> dict[str, Hashable]:
    """Item -> cluster from any of: assignments (`id, story`), stories (`story, members`),
    gold clusters (`members` with any name key), or a key file with `stories` (name ->
    ids) and optional `singletons`."""
    path = Path(path)
    records = _jsonl(path)
    out: dict[str, Hashable] = {}
    for k, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise KhabarError(f"{path}: expected JSON objects")
        if "stories" in rec and isinstance(rec["stories"], dict):
            for name, ids in rec["stories"].items():
                for i in ids:
                    out[str(i)] = ("story", name)
            for i in rec.get("singletons", []):
                out[str(i)] = ("single", i)
        elif "members" in rec:
            name = rec.get("story", rec.get("cluster", rec.get("id", k)))
            for i in rec["members"]:
                out[str(i)] = ("story", name)
        elif "id" in rec and ("story" in rec or "cluster" in rec):
            out[str(rec["id"])] = ("story", rec.get("story", rec.get("cluster")))
        else:
            raise KhabarError(f"{path}: record {k + 1} has neither id+story nor members")
    return out


def read_pairs(path: str | Path) -> list[LabelledPair]:
    """Labelled pairs: JSONL with `a, b, event` (and optional `ambiguous`)."""
    path = Path(path)
    out = []
    for k, rec in enumerate(_jsonl(path)):
        try:
            out.append(LabelledPair(str(rec["a"]), str(rec["b"]), str(rec["event"]),
                                    bool(rec.get("ambiguous", False))))
        except (KeyError, TypeError):
            raise KhabarError(f"{path}: record {k + 1} lacks a, b or event") from None
    return out


def is_pairs_file(path: str | Path) -> bool:
    records = _jsonl(Path(path))
    return bool(records) and isinstance(records[0], dict) and {"a", "b", "event"} <= set(
        records[0])


def evaluate_files(gold: str | Path, pred: str | Path) -> dict[str, Any]:
    """Scores of a prediction file against a gold file of either kind, as a dict."""
    predicted = read_clusters(pred)
    if is_pairs_file(gold):
        return {"gold": "pairs", **pair_scores(predicted, read_pairs(gold)).to_dict()}
    return {"gold": "clusters", **cluster_scores(predicted, read_clusters(gold)).to_dict()}


def groups(labels: Mapping[str, Hashable]) -> dict[Hashable, list[str]]:
    out: dict[Hashable, list[str]] = defaultdict(list)
    for item, lab in labels.items():
        out[lab].append(item)
    return dict(out)
