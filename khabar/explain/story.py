"""Everything the explanation layer says about one story, in one call.

`explain_story` prepares the views once and runs novelty, summary, attributions,
mentions and sources over them. `explain_batch` is the stage function for an
engine (a picklable top-level function over a list of stories).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from khabar.document import Document
from khabar.explain.attribution import Attribution, Source, analyze, story_sources
from khabar.explain.entities import Mention
from khabar.explain.novelty import NoveltyParams, SentenceNovelty, build_units, novelty, order
from khabar.explain.summary import SummaryParams, SummarySentence, summarize
from khabar.pickling import fast_pickle
from khabar.repair import Repair
from khabar.text.view import TextView, prepare


@fast_pickle
@dataclass(frozen=True, slots=True)
class ExplainParams:
    """Parameters of the whole explanation step."""

    summary_sentences: int = 5
    """At most this many sentences in a story summary."""
    novelty: NoveltyParams = field(default_factory=NoveltyParams)
    summary: SummaryParams = field(default_factory=SummaryParams)


@fast_pickle
@dataclass(frozen=True, slots=True)
class StoryExplanation:
    story: str
    docs: tuple[str, ...]
    """Member ids in story order (date, then id; undated last)."""
    novelty: dict[str, list[SentenceNovelty]]
    summary: list[SummarySentence]
    attributions: dict[str, list[Attribution]]
    mentions: dict[str, list[Mention]]
    sources: list[Source]

    def to_dict(self) -> dict[str, Any]:
        return {
            "story": self.story,
            "docs": list(self.docs),
            "summary": [s.to_dict() for s in self.summary],
            "sources": [s.to_dict() for s in self.sources],
            "novelty": {d: [s.to_dict() for s in self.novelty.get(d, [])] for d in self.docs},
            "attributions": {d: [a.to_dict() for a in self.attributions.get(d, [])]
                             for d in self.docs},
            "mentions": {d: [m.to_dict() for m in self.mentions.get(d, [])] for d in self.docs},
        }


def explain_story(
    docs: Sequence[Document],
    *,
    story: str = "",
    repairs: Sequence[Repair | None] | None = None,
    views: Sequence[TextView] | None = None,
    passages: Iterable[Any] | None = None,
    params: ExplainParams | None = None,
) -> StoryExplanation:
    """Novelty, summary, attributions, mentions and sources of one story.

    `repairs` (stored repairs, e.g. from `Store.documents`) avoid repairing again;
    `views` may be given instead when already prepared. `passages` are reuse
    passages (any objects with a, a_start, a_end, b, b_start, b_end in ORIGINAL
    offsets); only those between members of the story are used.
    """
    prm = params or ExplainParams()
    if views is None:
        views = prepare(docs, repairs)
    views, docs = order(views, docs)
    passages = list(passages) if passages is not None else None
    units = build_units(views)
    nov = novelty(views, docs, passages, prm.novelty, units=units)
    summary = summarize(views, docs, prm.summary_sentences, nov, prm.summary, passages,
                        units=units)
    atts: dict[str, list[Attribution]] = {}
    ments: dict[str, list[Mention]] = {}
    for v, d in zip(views, docs, strict=True):
        atts[d.id], ments[d.id] = analyze(v, d)
    sources = story_sources(views, docs, atts, ments)
    return StoryExplanation(story, tuple(d.id for d in docs), nov, summary, atts, ments, sources)


def explain_batch(
    batch: list[tuple[str, list[Document], list[Repair | None] | None, list[Any] | None]],
    params: ExplainParams | None = None,
) -> list[StoryExplanation]:
    """Stage function: (story id, documents, repairs, passages) tuples -> explanations."""
    return [explain_story(docs, story=sid, repairs=reps, passages=pas, params=params)
            for sid, docs, reps, pas in batch]


__all__ = ["ExplainParams", "StoryExplanation", "explain_batch", "explain_story"]
