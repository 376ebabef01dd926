"""What duplicate detection hands to users and to later stages."""

from __future__ import annotations

from dataclasses import dataclass

from khabar.pickling import fast_pickle
from khabar.records import DocRef, Record


@fast_pickle
@dataclass(frozen=True, slots=True)
class DupPair(Record):
    """A verified duplicate pair (ids ordered a < b).

    Similarities are on the sets of shingles of the normalized tokens: `jaccard`
    = |A∩B| / |A∪B|, `containment_a_in_b` = |A∩B| / |A| (how much of a is in b)
    and `containment_b_in_a` = |A∩B| / |B|. `kind` is `exact` when the
    normalized token sequences are identical (each copy is paired with its
    group's representative), else `near` (Jaccard at the threshold, or one
    containment at the containment threshold).
    """

    a: DocRef
    b: DocRef
    jaccard: float
    containment_a_in_b: float
    containment_b_in_a: float
    kind: str


@fast_pickle
@dataclass(frozen=True, slots=True)
class DupCluster(Record):
    """Documents joined by verified pairs; `representative` is the one to keep."""

    cluster: int
    representative: DocRef
    members: tuple[str, ...]
    """All members, the representative included, sorted by id."""


@fast_pickle
@dataclass(frozen=True, slots=True)
class Short(Record):
    """A document with fewer tokens than `DupParams.min_tokens`: never called a duplicate."""

    id: DocRef


__all__ = ["DupCluster", "DupPair", "Short"]
