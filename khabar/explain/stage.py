"""The explanation stage as steps: per article, then once per story.

1. **per article** (article step, in the pass that prepares each article): who
   says what (`attribution.analyze`: quotations, reported speech, credits, and
   the people, places and bodies named) and the article's sentences with their
   content stems and numbers (`novelty.DocSentences`).
2. **per story** (group by story): the members with their per-article
   analysis and the reuse passages that touch them come together; novelty,
   the summary and the story's sources are computed once, and the result is a
   `StoryBundle`: everything the story's page shows, so that the report renders
   each page with a map, without gathering the story again.

Machine-readable outputs: ``attributions.jsonl``, ``credits.jsonl`` and
``mentions.jsonl`` (the rows `khabar.explain.export` describes, from the per-article
step), ``novelty.jsonl`` and ``summaries.jsonl`` (from the per-story step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from khabar.corpus import Article
from khabar.engine import Dataset, cogroup
from khabar.explain.attribution import Attribution, analyze, story_sources
from khabar.explain.common import time_key
from khabar.explain.entities import Mention
from khabar.explain.novelty import (
    DocSentences,
    SentenceNovelty,
    build_units,
    doc_sentences,
    novelty,
)
from khabar.explain.story import ExplainParams
from khabar.explain.summary import SummarySentence, summarize
from khabar.pickling import Packed, fast_pickle
from khabar.records import DocRef, Record, Span
from khabar.stage import ArticleStep, Context, Output, article_outputs, stage


@dataclass(slots=True)
class ExplainDoc:
    """The per-article half of the explanations."""

    n: int
    id: str
    sentences: DocSentences
    attributions: list[Attribution]
    mentions: list[Mention]

    def __reduce__(self) -> tuple:
        return (ExplainDoc, (self.n, self.id, self.sentences, self.attributions, self.mentions))


def explain_docs(batch: list[Article], params: ExplainParams) -> tuple[list[ExplainDoc]]:
    """Article step: who says what in each article, and its sentences."""
    out = []
    for a in batch:
        atts, ments = analyze(a.view, a.doc)
        out.append(ExplainDoc(a.n, a.doc.id, doc_sentences(a.view), atts, ments))
    return (out,)


# -- the rows of the who-says-what files ----------------------------------------------------------

_MENTION_TYPE = {"person": "person", "place": "place", "organization": "organization",
                 "agency": "organization"}


@fast_pickle
@dataclass(frozen=True, slots=True)
class AttributionRow(Record):
    """A quotation or reported statement: who says it (`speaker`, resolved) and what."""

    doc: DocRef
    kind: str
    """``quote`` or ``reported``."""
    cue: Span
    speaker: str | None
    speaker_span: Span | None
    content: Span


@fast_pickle
@dataclass(frozen=True, slots=True)
class CreditRow(Record):
    """A credit to a news agency ("(واس)", "وكالة رويترز")."""

    doc: DocRef
    span: Span
    agency: str | None


@fast_pickle
@dataclass(frozen=True, slots=True)
class MentionRow(Record):
    """A person, place or organization named in an article."""

    doc: DocRef
    type: str
    span: Span
    text: str
    canonical: str | None


def _rows(batch: list[ExplainDoc]) -> tuple[list[Any], list[Any], list[Any]]:
    atts, credits, ments = [], [], []
    for x in batch:
        for a in x.attributions:
            if a.kind == "credit":
                credits.append(CreditRow(a.doc, Span(a.start, a.end), a.speaker))
            elif a.quote_start is not None and a.quote_end is not None:
                speaker = (Span(a.speaker_start, a.speaker_end)
                           if a.speaker_start is not None and a.speaker_end is not None
                           else None)
                atts.append(AttributionRow(a.doc, "quote" if a.kind == "quote" else "reported",
                                           Span(a.start, a.end), a.speaker, speaker,
                                           Span(a.quote_start, a.quote_end)))
        for m in x.mentions:
            ments.append(MentionRow(m.doc, _MENTION_TYPE.get(m.kind, m.kind),
                                    Span(m.start, m.end), m.text, m.canonical))
    return atts, credits, ments


def _row_key(r: Any) -> tuple:
    span = getattr(r, "cue", None) or r.span
    return (r.doc, span.start, span.end, getattr(r, "type", ""))


# -- per story ------------------------------------------------------------------------------------


class StoryBundle:
    """One story with everything its page shows.

    Pickled, its members' articles and analyses travel as one packed blob, read only when
    asked for: the step that writes the novelty and summary rows never unpacks them."""

    __slots__ = ("_members", "novelty", "passages", "sides", "sources", "story", "summary")

    def __init__(self, story: Any, articles: list[Article], docs: list[ExplainDoc],
                 passages: list[Any], sides: dict[str, Any] | None = None,
                 novelty: dict[str, list[SentenceNovelty]] | None = None,
                 summary: list[SummarySentence] | None = None,
                 sources: list[Any] | None = None) -> None:
        self.story = story
        """The `khabar.stories.Story` record."""
        self._members: Packed[tuple[list[Article], list[ExplainDoc]]] = Packed((articles, docs))
        self.passages = passages
        """Reuse passages touching a member, each with both sides' `PassageSide` info."""
        self.sides = sides if sides is not None else {}
        """Documents outside the story that a passage reaches: id -> (document, repair,
        story, its size)."""
        self.novelty = novelty if novelty is not None else {}
        self.summary = summary if summary is not None else []
        self.sources = sources if sources is not None else []

    @property
    def articles(self) -> list[Article]:
        """Members in story order (date, then id; undated last), without views."""
        return self._members.value[0]

    @property
    def docs(self) -> list[ExplainDoc]:
        """The members' per-article analysis, in the same order."""
        return self._members.value[1]

    def set_members(self, articles: list[Article], docs: list[ExplainDoc]) -> None:
        self._members = Packed((articles, docs))

    def __reduce__(self) -> tuple:
        return (_unpacked_bundle, (self.story, self._members, self.passages, self.sides,
                                   self.novelty, self.summary, self.sources))


def _unpacked_bundle(story: Any, members: Packed, passages: list[Any], sides: dict[str, Any],
                     novelty: dict[str, list[SentenceNovelty]], summary: list[SummarySentence],
                     sources: list[Any]) -> StoryBundle:
    b = StoryBundle.__new__(StoryBundle)
    b.story, b._members, b.passages, b.sides = story, members, passages, sides
    b.novelty, b.summary, b.sources = novelty, summary, sources
    return b


def explain_bundle(bundle: StoryBundle, params: ExplainParams) -> StoryBundle:
    """Novelty, summary and sources of one story, from its members' per-article analysis."""
    pairs = sorted(zip(bundle.articles, bundle.docs, strict=True),
                   key=lambda p: time_key(p[0].doc))
    bundle.set_members([a for a, _ in pairs], [x for _, x in pairs])
    docs = [a.doc for a in bundle.articles]
    sentences = [x.sentences for x in bundle.docs]
    members = {d.id for d in docs}
    # passages between two members of the story are what novelty reads
    inside = [p for p in bundle.passages if p.a in members and p.b in members]
    units = build_units(sentences)
    nov = novelty(sentences, docs, inside, params.novelty, units=units)
    bundle.novelty = nov
    bundle.summary = summarize(sentences, docs, params.summary_sentences, nov, params.summary,
                               inside, units=units)
    atts = {x.id: x.attributions for x in bundle.docs}
    ments = {x.id: x.mentions for x in bundle.docs}
    bundle.sources = story_sources(sentences, docs, atts, ments)
    return bundle


@fast_pickle
@dataclass(frozen=True, slots=True)
class NoveltyRow(Record):
    """One sentence of an article: new in its story, or repeated from an earlier article."""

    doc: DocRef
    index: int
    span: Span
    status: str
    first_doc: DocRef | None
    first_span: Span | None
    evidence: str | None
    similarity: float


@fast_pickle
@dataclass(frozen=True, slots=True)
class SummaryRow(Record):
    """One sentence of a story's summary, traced to the articles and outlets carrying it."""

    story: int
    rank: int
    doc: DocRef
    span: Span
    text: str
    carriers: tuple[str, ...]
    outlets: tuple[str, ...]
    exclusive: bool


def _story_rows(batch: list[StoryBundle]) -> tuple[list[Any], list[Any]]:
    nov, summ = [], []
    for b in batch:
        for marks in b.novelty.values():
            for s in marks:
                first = (Span(s.first_start, s.first_end)
                         if s.first_start is not None and s.first_end is not None else None)
                nov.append(NoveltyRow(s.doc, s.index, Span(s.start, s.end), s.status,
                                      s.first_doc, first, s.evidence, round(s.similarity, 4)))
        for k, s in enumerate(b.summary):
            summ.append(SummaryRow(b.story.story, k, s.doc, Span(s.start, s.end), s.text,
                                   tuple(s.carriers), tuple(s.outlets), s.exclusive))
    return nov, summ


def _novelty_key(r: NoveltyRow) -> tuple:
    return (r.doc, r.index)


def _summary_key(r: SummaryRow) -> tuple:
    return (r.story, r.rank)


# -- gathering a story ----------------------------------------------------------------------------


def _by_n(batch: list[Any]) -> list[tuple[int, Any]]:
    return [(x.n, x) for x in batch]


def _story_by_n(batch: list[Any]) -> list[tuple[int, Any]]:
    return [(s.n, s) for s in batch]


def _member(n: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    """(story, ("member", article, analysis, story size)) of one article: keyed for the
    story's group already, so that articles are not read and written once more on the way."""
    arts, docs, stories = sides
    if not arts or not stories:
        return []
    return [(stories[0].story, ("member", Packed((arts[0], docs[0] if docs else None)),
                                stories[0].size))]


def _by_id(batch: list[tuple[str, tuple]]) -> list[tuple[str, tuple]]:
    return batch


def _side_info(batch: list[tuple[int, tuple]]) -> list[tuple[str, tuple]]:
    """What a passage needs of the article on one of its sides: its story, the document and
    repair (shown when that side is outside the story) and the story's size, not the
    article's analysis."""
    out = []
    for story, (_, member, size) in batch:
        art = member.value[0]
        out.append((art.doc.id, (story, art.doc, art.repair, size)))
    return out


def _passage_a(batch: list[Any]) -> list[tuple[str, Any]]:
    return [(p.a, p) for p in batch]


def _side_a(doc_id: str, sides: list[list[Any]]) -> list[tuple[str, tuple]]:
    """Passages keyed by their `a` side, with that side's story and article attached."""
    passages, members = sides
    info = members[0] if members else None
    return [(p.b, (p, {doc_id: info})) for p in passages]


def _passage_b(batch: list[tuple[str, tuple]]) -> list[tuple[str, tuple]]:
    return batch


def _side_b(doc_id: str, sides: list[list[Any]]) -> list[tuple[str, tuple]]:
    """…and the `b` side's."""
    passages, members = sides
    info = members[0] if members else None
    return [(doc_id, (p, {**known, doc_id: info})) for p, known in passages]


def _to_stories(batch: list[tuple[str, tuple]]) -> list[tuple[int, tuple]]:
    """Each passage to the stories of its two sides (once when they share one), with the
    side outside that story (a story has its own members already)."""
    out = []
    for _, (p, known) in batch:
        stories = {v[0] for v in known.values() if v is not None}
        for st in sorted(stories):
            outside = {d: v for d, v in known.items() if v is not None and v[0] != st}
            out.append((st, ("passage", p, outside)))
    return out


def _stories_by_id(batch: list[Any]) -> list[tuple[int, tuple]]:
    return [(s.story, ("story", s)) for s in batch]


def _bundle(story: int, values: list[tuple], params: ExplainParams) -> list[StoryBundle]:
    record = next((v[1] for v in values if v[0] == "story"), None)
    members = sorted((("member", *v[1].value) for v in values if v[0] == "member"),
                     key=lambda v: v[1].n)
    if record is None or not members:
        return []
    passages = sorted((v for v in values if v[0] == "passage"), key=lambda v: v[1].key)
    ids = {v[1].doc.id for v in members}
    sides: dict[str, Any] = {}
    for _, _p, known in passages:
        for doc_id, (story_id, doc, repair, size) in known.items():
            if doc_id not in ids:
                sides[doc_id] = (doc, repair, story_id, size)
    docs = [v[2] if v[2] is not None else ExplainDoc(v[1].n, v[1].doc.id,
                                                     DocSentences([], [], [], [], []), [], [])
            for v in members]
    bundle = StoryBundle(record, [v[1] for v in members], docs, [p for _, p, _ in passages],
                         sides)
    return [explain_bundle(bundle, params)]


def _group_values(batch: list[tuple[int, tuple]], *_: Any) -> list[tuple[int, tuple]]:
    return batch


def _bundle_key(b: StoryBundle) -> int:
    return b.story.story


EXPLAIN_DOCS = ArticleStep(("explain_docs",), explain_docs)

OUTPUTS = (
    Output("attributions", "attributions.jsonl", AttributionRow, _row_key),
    Output("credits", "credits.jsonl", CreditRow, _row_key),
    Output("mentions", "mentions.jsonl", MentionRow, _row_key),
    Output("novelty", "novelty.jsonl", NoveltyRow, _novelty_key),
    Output("summaries", "summaries.jsonl", SummaryRow, _summary_key),
)


@stage("explain", params=ExplainParams, requires=("articles", "stories", "story_of"),
       optional=("passages", "explain_docs"),
       provides=("story_bundles", "attributions", "credits", "mentions", "novelty",
                 "summaries"),
       outputs=OUTPUTS, article=EXPLAIN_DOCS)
def explain_stage(ctx: Context, data: dict[str, Dataset], params: ExplainParams
                  ) -> dict[str, Dataset]:
    """Who says what in each article; what each article adds and what each story says."""
    runner = ctx.runner
    (xdocs,) = article_outputs(EXPLAIN_DOCS, data, params)
    atts, credits, ments = xdocs.map_multi(_rows, 3)
    members = cogroup([data["articles"], xdocs, data["story_of"]],
                      [_by_n, _by_n, _story_by_n], _member)
    parts = [members, data["stories"].map(_stories_by_id)]
    if "passages" in data:
        sides = members.map(_side_info)
        with_a = cogroup([data["passages"], sides], [_passage_a, _by_id], _side_a)
        with_b = cogroup([with_a, sides], [_passage_b, _by_id], _side_b)
        parts.append(with_b.map(_to_stories))
    bundles = runner.union(parts).group(_group_values, _bundle, params)
    nov, summ = bundles.map_multi(_story_rows, 2)
    ctx.counts["explain"] = {"stories": bundles.count()}
    return {"story_bundles": bundles, "attributions": atts, "credits": credits,
            "mentions": ments, "novelty": nov, "summaries": summ}


__all__ = ["EXPLAIN_DOCS", "OUTPUTS", "AttributionRow", "CreditRow", "ExplainDoc",
           "MentionRow", "NoveltyRow", "StoryBundle", "SummaryRow", "explain_bundle",
           "explain_docs", "explain_stage"]
