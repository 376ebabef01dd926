"""Stories as users see them: title, first and last seen, members in time order, outlets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from khabar.stories.features import Articles


@dataclass(slots=True)
class Story:
    """One story: articles reporting the same event."""

    story: int
    """Stable id (kept in the database across runs)."""
    title: str
    """The most representative headline of the members."""
    first_seen: datetime | None
    last_seen: datetime | None
    members: list[str]
    """Article ids in time order (undated articles last, by id)."""
    scores: list[float]
    """Confidence of each member (aligned with `members`): its average same-event
    probability with the other members (batch) or with the story when it joined (stream);
    1.0 for an article alone."""
    sources: list[str]
    """Outlets, most articles first."""

    def to_dict(self) -> dict[str, Any]:
        from khabar.io.writers import format_date

        return {
            "story": self.story,
            "title": self.title,
            "first_seen": format_date(self.first_seen) if self.first_seen else None,
            "last_seen": format_date(self.last_seen) if self.last_seen else None,
            "members": self.members,
            "sources": self.sources,
            "size": len(self.members),
            "scores": [round(s, 4) for s in self.scores],
        }


@dataclass(slots=True)
class StoryResult:
    """Stories of a collection, and where each article went."""

    stories: list[Story]
    assignment: dict[str, tuple[int, float]] = field(default_factory=dict)
    """Article id -> (story id, confidence)."""
    mode: str = "batch"
    threads: Any = None
    """The stories' threads (`threads.ThreadResult`), when they were linked."""

    def __len__(self) -> int:
        return len(self.stories)

    def __iter__(self):
        return iter(self.stories)

    def story_of(self, doc_id: str) -> Story | None:
        found = self.assignment.get(doc_id)
        if found is None:
            return None
        return self._by_id().get(found[0])

    def _by_id(self) -> dict[int, Story]:
        return {s.story: s for s in self.stories}

    def assignments(self) -> list[dict[str, Any]]:
        """Rows of assignments.jsonl: `id, story, score`, sorted by story then time order."""
        rows = []
        for s in self.stories:
            for m, score in zip(s.members, s.scores, strict=True):
                rows.append({"id": m, "story": s.story, "score": round(score, 4)})
        return rows

    def labels(self) -> dict[str, int]:
        return {doc: st for doc, (st, _) in self.assignment.items()}

    def thread_of(self, doc_id: str) -> Any:
        """The thread holding an article's story (None without threads)."""
        found = self.assignment.get(doc_id)
        if found is None or self.threads is None:
            return None
        return self.threads.thread_of(found[0])


def _when(ts: float) -> datetime | None:
    return None if np.isnan(ts) else datetime.fromtimestamp(ts, UTC)


def representative_title(arts: Articles, rows: Sequence[int], title_vectors: Any) -> str:
    """The member title closest to all the others (centroid of weighted title vectors);
    ties go to the earliest member."""
    if len(rows) == 1:
        return arts.titles[rows[0]]
    idx = np.asarray(rows)
    m = title_vectors[idx]
    centroid = np.asarray(m.sum(axis=0)).ravel()
    scores = np.asarray(m @ centroid).ravel()
    best = int(np.argmax(np.round(scores, 9)))  # first maximum = earliest member
    return arts.titles[rows[best]]


def time_order(arts: Articles, rows: Sequence[int]) -> list[int]:
    """`rows` by publication time, undated ones last, ties by id (deterministic)."""
    return sorted(rows, key=lambda r: (np.isnan(arts.ts[r]), 0.0 if np.isnan(arts.ts[r])
                                       else arts.ts[r], arts.ids[r]))


def build_stories(
    arts: Articles, labels: np.ndarray, scores: np.ndarray, title_vectors: Any,
    ids: dict[int, int] | None = None,
) -> StoryResult:
    """Stories from per-row labels and member scores; `ids` maps labels to story ids
    (default: numbered from 1 by first appearance)."""
    groups: dict[int, list[int]] = {}
    for row, lab in enumerate(labels.tolist()):
        groups.setdefault(lab, []).append(row)
    ordered = [time_order(arts, rows) for rows in groups.values()]
    ordered.sort(key=lambda rows: (np.isnan(arts.ts[rows[0]]),
                                   0.0 if np.isnan(arts.ts[rows[0]]) else arts.ts[rows[0]],
                                   arts.ids[rows[0]]))
    if ids is None:
        ids = {int(labels[rows[0]]): k + 1 for k, rows in enumerate(ordered)}
    stories: list[Story] = []
    assignment: dict[str, tuple[int, float]] = {}
    for rows in ordered:
        sid = ids[int(labels[rows[0]])]
        dated = [arts.ts[r] for r in rows if not np.isnan(arts.ts[r])]
        outlets = Counter(arts.sources[r] for r in rows if arts.sources[r])
        story = Story(
            story=sid,
            title=representative_title(arts, rows, title_vectors),
            first_seen=_when(min(dated)) if dated else None,
            last_seen=_when(max(dated)) if dated else None,
            members=[arts.ids[r] for r in rows],
            scores=[float(scores[r]) for r in rows],
            sources=[s for s, _ in sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0]))],
        )
        stories.append(story)
        for r in rows:
            assignment[arts.ids[r]] = (sid, float(scores[r]))
    stories.sort(key=lambda s: s.story)
    return StoryResult(stories, assignment)


def member_scores(n: int, labels: np.ndarray, left: np.ndarray, right: np.ndarray,
                  prob: np.ndarray) -> np.ndarray:
    """Each article's average probability with the other members of its story."""
    same = labels[left] == labels[right]
    sums = np.bincount(left[same], weights=prob[same], minlength=n)
    sums += np.bincount(right[same], weights=prob[same], minlength=n)
    sizes = np.bincount(labels, minlength=int(labels.max()) + 1 if n else 0)[labels]
    out = np.ones(n)
    many = sizes > 1
    out[many] = sums[many] / (sizes[many] - 1)
    return np.minimum(out, 1.0)
