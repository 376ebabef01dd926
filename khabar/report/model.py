"""What the report shows, as plain data, and how it is assembled from the stages' records.

The renderer (`khabar.report.render`) only ever sees the dataclasses defined
here (`ReportData` → `StoryPage` → `ArticleView`, `SummaryItem`,
`PassageView`), so it can be tested with hand-built data. `assemble_story`
turns the stages' own records for one story (`Story`, `Passage`,
`SentenceNovelty`, `SummarySentence`, `Attribution`, `Mention`) into a
`StoryPage`; the report stage (`khabar.report.stage`) calls it once per story
with that story's bundle from the explanation stage.

Every offset here is a half-open range of the ORIGINAL text (`Document.text`).
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from khabar.document import Document
from khabar.pickling import fast_pickle
from khabar.repair import Repair, RepairAction

# -- what the stages hand over: their own records --------------------------------------------

if TYPE_CHECKING:
    from khabar.explain.attribution import Attribution as AttributionLike
    from khabar.explain.entities import Mention as MentionLike
    from khabar.explain.novelty import SentenceNovelty as NoveltyLike
    from khabar.explain.summary import SummarySentence as SummaryLike
    from khabar.reuse.passage import Passage as PassageLike
    from khabar.stories.result import Story as StoryLike


# -- the report's own records ---------------------------------------------------------------------


@fast_pickle
@dataclass(frozen=True, slots=True)
class SentenceMark:
    """One sentence of an article: new in the story, or repeated from an earlier article."""

    index: int
    start: int
    end: int
    status: str
    """``new`` or ``repeated``."""
    first_doc: str | None = None
    """For a repeated sentence: the article where it was seen first."""
    first_index: int | None = None
    """…and the index of that article's sentence holding the first occurrence (for links)."""
    first_start: int | None = None
    first_end: int | None = None
    evidence: str | None = None
    """``reuse`` (aligned passage) or ``paraphrase`` (close rewording)."""
    similarity: float | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class QuoteMark:
    """One attribution: a quotation, a reported statement, or an agency credit."""

    kind: str
    """``quote``, ``report`` or ``credit``."""
    start: int
    end: int
    cue: str | None = None
    speaker: str | None = None
    speaker_start: int | None = None
    speaker_end: int | None = None
    quote: str | None = None
    quote_start: int | None = None
    quote_end: int | None = None
    canonical: str | None = None
    """The speaker's canonical name when a mention gives one, else the speaker as written."""


@fast_pickle
@dataclass(frozen=True, slots=True)
class MentionMark:
    start: int
    end: int
    text: str
    kind: str
    """``person``, ``place``, ``organization`` or ``agency``."""
    canonical: str | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class CopyView:
    """An article folded into an identical one that the page shows in its place."""

    id: str
    source: str | None = None
    date: datetime | None = None
    url: str | None = None
    title: str | None = None


@dataclass(slots=True)
class ArticleView:
    """One article as the story page shows it."""

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    date: datetime | None = None
    url: str | None = None
    probable_title: str | None = None
    """A title the repair step found in the text, used when metadata has none."""
    confidence: float | None = None
    """How firmly the article belongs to its story (from the stories stage)."""
    sentences: list[SentenceMark] = field(default_factory=list)
    attributions: list[QuoteMark] = field(default_factory=list)
    mentions: list[MentionMark] = field(default_factory=list)
    repairs: list[RepairAction] = field(default_factory=list)
    copies: list[CopyView] = field(default_factory=list)
    """Later articles of the story with this very text (see `fold_copies`), shown as a list."""

    @property
    def direction(self) -> str:
        return text_direction(self.text)

    @property
    def display_title(self) -> str:
        for candidate in (self.title, self.probable_title):
            if candidate and candidate.strip():
                return candidate.strip()
        first_line = next((ln.strip() for ln in self.text.splitlines() if ln.strip()), "")
        return first_line[:90] + ("…" if len(first_line) > 90 else "") or self.id

    @property
    def new_count(self) -> int:
        return sum(1 for s in self.sentences if s.status == "new")

    @property
    def repeated_count(self) -> int:
        return sum(1 for s in self.sentences if s.status == "repeated")


@fast_pickle
@dataclass(frozen=True, slots=True)
class SummaryItem:
    """One sentence of the story summary and who carries it."""

    doc: str
    start: int
    end: int
    text: str
    carriers: tuple[str, ...] = ()
    """Articles carrying this fact, `doc` first."""
    outlets: tuple[str, ...] = ()
    exclusive: bool = False
    """Only one outlet reports it."""
    index: int | None = None
    """The sentence of `doc` it comes from (for links), when known."""


@fast_pickle
@dataclass(frozen=True, slots=True)
class PassageSide:
    doc: str
    start: int
    end: int
    text: str
    source: str | None = None
    """The outlet."""
    title: str | None = None
    date: datetime | None = None
    story: str | None = None
    """The story holding this document (None if it is in none of the report's stories)."""


@fast_pickle
@dataclass(frozen=True, slots=True)
class PassageView:
    """A reused passage: the likely origin beside the copy."""

    origin: PassageSide
    copy: PassageSide
    score: float
    rule: str | None = None
    """Which rule decided the direction (earlier date, wire credit, containment…)."""
    directed: bool = True
    """False when the reuse stage could not tell which side came first."""
    kind: str = "copy"
    """`copy`, or `template` / `formula`: shared text nobody copied (never directed)."""


@fast_pickle
@dataclass(frozen=True, slots=True)
class ThreadStory:
    """One story of a thread, as the thread's timeline shows it."""

    story: str
    title: str
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    size: int = 0
    """Articles in the story."""
    in_report: bool = True
    """False when the report leaves the story out (e.g. below the minimum size)."""


@fast_pickle
@dataclass(frozen=True, slots=True)
class ThreadLinkView:
    """Why two stories of a thread belong together (see `khabar.stories.threads`)."""

    a: str
    b: str
    score: float
    words: tuple[str, ...] = ()
    """Specific words both stories use, most specific first."""
    reused: float = 0.0
    """Share of the smaller story's lead text found in the other."""
    figures_before: tuple[str, ...] = ()
    """Figures only the earlier story gives…"""
    figures_after: tuple[str, ...] = ()
    """…and only the later one: figures that changed."""
    gap_days: float | None = None
    closest: bool = False
    """Each story is the other's most similar story in the window."""


@dataclass(slots=True)
class ThreadView:
    """A developing event: its stories in time order and the links between them."""

    thread: str
    title: str
    stories: list[ThreadStory] = field(default_factory=list)
    links: list[ThreadLinkView] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def articles(self) -> int:
        return sum(s.size for s in self.stories)


@dataclass(slots=True)
class StoryPage:
    story: str
    title: str
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    outlets: list[str] = field(default_factory=list)
    articles: list[ArticleView] = field(default_factory=list)
    """In time order: the first one reported first."""
    summary: list[SummaryItem] = field(default_factory=list)
    passages: list[PassageView] = field(default_factory=list)
    boilerplate_passages: int = 0
    """Passages flagged as an outlet's boilerplate, left out of `passages`."""
    copy_passages: int = 0
    """Passages between two identical copies (nothing to compare), left out of `passages`."""
    shared: list[PassageView] = field(default_factory=list)
    """Templates and formulas: text the articles share without copying, kept apart from
    `passages` (which holds copies only)."""
    thread: ThreadView | None = None
    """The developing event this story is part of, when it has other stories."""

    @property
    def dates(self) -> list[datetime]:
        """Dates of every article, folded copies included."""
        out = [a.date for a in self.articles if a.date is not None]
        out.extend(c.date for a in self.articles for c in a.copies if c.date is not None)
        return out

    @property
    def size(self) -> int:
        """Articles in the story, folded copies included."""
        return len(self.articles) + sum(len(a.copies) for a in self.articles)


DEFAULT_TITLE = "خبر — تقرير القصص"


@dataclass(slots=True)
class ReportData:
    stories: list[StoryPage]
    title: str = DEFAULT_TITLE
    documents: int | None = None
    """How many documents the collection holds (shown on the index), if known."""
    generated: str | None = None
    """A caption such as a build time; None by default so that output is reproducible."""
    speakers: list[Any] = field(default_factory=list)
    """Who says what across the stories (`khabar.explain.speakers.SpeakerEntry`), most
    quoted first; empty when the explanation stage has not run."""
    threads: list[ThreadView] = field(default_factory=list)
    """Threads of two or more stories (the index groups their stories)."""


# -- helpers --------------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 14)
def text_direction(text: str) -> str:
    """``rtl`` when right-to-left letters outnumber left-to-right ones, else ``ltr``.

    A majority vote rather than the first strong character (what ``dir=auto``
    does): an Arabic article that opens with "CNN" or a Latin place name is
    still an Arabic article. The first 2,000 characters decide: enough for a clear
    majority, and a long article is not scanned twice over.
    """
    # deleting runs is much cheaper than listing every match
    letters = _NOT_LETTER.sub("", text[:2000])
    rtl = len(letters) - len(_RTL.sub("", letters))
    return "ltr" if len(letters) - rtl > rtl else "rtl"


# Letters only (digits, marks and punctuation are weak or neutral in the bidi algorithm);
# of those, the right-to-left scripts' blocks (Hebrew to Arabic Extended, presentation
# forms, and the historic RTL planes) are strong RTL, nearly everything else strong LTR.
_NOT_LETTER = re.compile(r"[\W\d_]+")
_RTL = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]+"
)


def as_datetime(value: Any) -> datetime | None:
    """A datetime (aware, UTC) from a datetime, an ISO 8601 string, a timestamp or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _time_key(date: datetime | None) -> tuple[int, float]:
    return (1, 0.0) if date is None else (0, date.timestamp())


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _member_confidence(story: Any) -> dict[str, float]:
    """Per-member confidence, whichever shape the stories stage gives it in."""
    for name in ("confidence", "scores", "confidences"):
        value = getattr(story, name, None)
        if value is None:
            continue
        if isinstance(value, Mapping):
            return {str(k): float(v) for k, v in value.items()}
        if isinstance(value, Sequence) and len(value) == len(story.members):
            return {str(m): float(v) for m, v in zip(story.members, value, strict=True)}
    return {}


class _SentenceIndex:
    """For each article: which of its sentences holds a given offset."""

    def __init__(self, marks: Mapping[str, Sequence[SentenceMark]]) -> None:
        self._starts: dict[str, list[int]] = {}
        self._marks: dict[str, list[SentenceMark]] = {}
        for doc, ms in marks.items():
            ordered = sorted(ms, key=lambda m: (m.start, m.end))
            self._marks[doc] = ordered
            self._starts[doc] = [m.start for m in ordered]

    def find(self, doc: str | None, start: int | None, end: int | None = None) -> int | None:
        if doc is None or start is None or doc not in self._marks:
            return None
        marks = self._marks[doc]
        k = bisect.bisect_right(self._starts[doc], start) - 1
        if k >= 0 and marks[k].start <= start < marks[k].end:
            return marks[k].index
        # the offset falls between sentences: take the one overlapping the span most
        stop = start + 1 if end is None else max(end, start + 1)
        best, best_overlap = None, 0
        for m in marks:
            overlap = min(m.end, stop) - max(m.start, start)
            if overlap > best_overlap:
                best, best_overlap = m.index, overlap
        return best


def _sentence_marks(records: Iterable[NoveltyLike]) -> list[SentenceMark]:
    out = [
        SentenceMark(
            index=int(r.index), start=int(r.start), end=int(r.end), status=str(r.status),
            first_doc=getattr(r, "first_doc", None),
            first_start=_opt_int(getattr(r, "first_start", None)),
            first_end=_opt_int(getattr(r, "first_end", None)),
            evidence=getattr(r, "evidence", None),
            similarity=getattr(r, "similarity", None),
        )
        for r in records
    ]
    return sorted(out, key=lambda m: (m.start, m.end, m.index))


def _canonical_speaker(att: AttributionLike, text: str, mentions: Sequence[MentionMark]
                       ) -> str | None:
    """Whom to group a statement under in "who says what"."""
    s, e = getattr(att, "speaker_start", None), getattr(att, "speaker_end", None)
    speaker = (getattr(att, "speaker", None) or "").strip()
    if speaker and (s is None or e is None or text[s:e].strip() != speaker):
        return speaker  # the attribution stage already resolved it (anaphor, title, alias)
    if s is not None and e is not None and e > s:
        for m in mentions:
            if not m.canonical or m.end <= s or e <= m.start:
                continue
            # a person named inside the speaker phrase ("the minister X") is the speaker;
            # an organization inside "sources in the civil defence" is not: it must
            # cover most of the phrase to stand for it
            covered = (min(e, m.end) - max(s, m.start)) / (e - s)
            if m.kind == "person" or covered >= 0.6:
                return m.canonical
    return speaker or None


# -- assembly -------------------------------------------------------------------------------------


def assemble_story(
    story: StoryLike,
    documents: Mapping[str, tuple[Document, Repair | None]],
    *,
    passages: Iterable[PassageLike] = (),
    novelty: Iterable[NoveltyLike] = (),
    summary: Iterable[SummaryLike] = (),
    attributions: Iterable[AttributionLike] = (),
    mentions: Iterable[MentionLike] = (),
    doc_story: Mapping[str, str] | None = None,
) -> StoryPage:
    """One story's page from the stages' records.

    `documents` must hold every member and the other side of every passage to
    be shown (passages whose documents are missing are skipped). Records about
    documents outside the story are ignored, so callers may pass everything.
    `doc_story` (document id → story id) lets passages link to other stories.
    """
    members = [m for m in story.members if m in documents]
    member_set = set(members)
    confidence = _member_confidence(story)

    by_doc_novelty: dict[str, list[NoveltyLike]] = defaultdict(list)
    for r in novelty:
        if r.doc in member_set:
            by_doc_novelty[r.doc].append(r)
    by_doc_mentions: dict[str, list[MentionMark]] = defaultdict(list)
    for m in mentions:
        if m.doc in member_set:
            by_doc_mentions[m.doc].append(MentionMark(
                int(m.start), int(m.end), m.text, m.kind, getattr(m, "canonical", None)))
    by_doc_attr: dict[str, list[AttributionLike]] = defaultdict(list)
    for a in attributions:
        if a.doc in member_set:
            by_doc_attr[a.doc].append(a)

    marks = {doc: _sentence_marks(by_doc_novelty.get(doc, ())) for doc in members}
    index = _SentenceIndex(marks)

    articles: list[ArticleView] = []
    for doc_id in members:
        doc, rep = documents[doc_id]
        doc_mentions = sorted(by_doc_mentions.get(doc_id, ()),
                              key=lambda m: (m.start, m.end, m.kind, m.text))
        sentence_marks = [
            m if m.status != "repeated" else _with_first_index(m, index)
            for m in marks[doc_id]
        ]
        quotes = sorted(
            (
                QuoteMark(
                    kind=a.kind, start=int(a.start), end=int(a.end), cue=a.cue,
                    speaker=a.speaker, speaker_start=_opt_int(a.speaker_start),
                    speaker_end=_opt_int(a.speaker_end), quote=a.quote,
                    quote_start=_opt_int(a.quote_start), quote_end=_opt_int(a.quote_end),
                    canonical=_canonical_speaker(a, doc.text, doc_mentions),
                )
                for a in by_doc_attr.get(doc_id, ())
            ),
            key=lambda q: (q.start, q.end, q.kind, q.speaker or ""),
        )
        articles.append(ArticleView(
            id=doc.id, text=doc.text, title=doc.title, source=doc.source, date=doc.date,
            url=doc.url, probable_title=rep.title if rep else None,
            confidence=confidence.get(doc_id), sentences=sentence_marks,
            attributions=quotes, mentions=doc_mentions,
            repairs=sorted(rep.actions, key=lambda a: (a.start, a.end, a.kind)) if rep else [],
        ))
    # stable: keeps the stories stage's order among equal or missing dates
    articles.sort(key=lambda a: _time_key(a.date))
    articles = fold_copies(articles)
    shown_as = {c.id: a.id for a in articles for c in a.copies}

    summary_items = [
        SummaryItem(
            doc=s.doc, start=int(s.start), end=int(s.end), text=s.text,
            carriers=tuple(s.carriers), outlets=tuple(s.outlets), exclusive=bool(s.exclusive),
            index=index.find(s.doc, int(s.start), int(s.end)),
        )
        for s in summary
    ]

    views, boilerplate, copy_passages = _passage_views(passages, member_set, documents,
                                                       doc_story or {}, shown_as)
    shown, shared = split_kinds(views)
    dates = [a.date for a in articles if a.date is not None]
    outlets = list(story.sources) if getattr(story, "sources", None) else sorted(
        {a.source for a in articles if a.source})
    title = (getattr(story, "title", None) or "").strip()
    if not title and articles:
        title = articles[0].display_title
    first_seen = as_datetime(getattr(story, "first_seen", None))
    last_seen = as_datetime(getattr(story, "last_seen", None))
    return StoryPage(
        story=str(story.story), title=title or str(story.story),
        first_seen=first_seen or (min(dates) if dates else None),
        last_seen=last_seen or (max(dates) if dates else None),
        outlets=outlets, articles=articles, summary=summary_items,
        passages=shown, boilerplate_passages=boilerplate, copy_passages=copy_passages,
        shared=shared,
    )


def fold_copies(articles: list[ArticleView]) -> list[ArticleView]:
    """Articles with the very same text shown once: the first (in the given order), with
    the others listed in its `copies`.

    The same text means equal but for runs of white space (a copy re-wrapped by
    another site's template): what a reader would see is the same, so nothing is
    lost by showing it once. 2,000 outlets carrying one wire story make one
    article with a list of 1,999 copies, not 2,000 full texts. Copies that differ
    in a word, a number or a diacritic are not folded: they are shown, and their
    differences marked, as before.
    """
    first: dict[bytes, ArticleView] = {}
    out: list[ArticleView] = []
    for art in articles:
        key = hashlib.blake2b(" ".join(art.text.split()).encode("utf-8", "surrogatepass"),
                              digest_size=16).digest()
        shown = first.get(key)
        if shown is None:
            first[key] = art
            out.append(art)
        else:
            shown.copies.append(CopyView(art.id, art.source, art.date, art.url,
                                         art.title or art.probable_title))
            shown.copies.extend(art.copies)
    return out


def _with_first_index(mark: SentenceMark, index: _SentenceIndex) -> SentenceMark:
    found = index.find(mark.first_doc, mark.first_start, mark.first_end)
    if found is None:
        return mark
    return SentenceMark(
        index=mark.index, start=mark.start, end=mark.end, status=mark.status,
        first_doc=mark.first_doc, first_index=found, first_start=mark.first_start,
        first_end=mark.first_end, evidence=mark.evidence, similarity=mark.similarity,
    )


def _side(doc_id: str, start: int, end: int,
          documents: Mapping[str, tuple[Document, Repair | None]],
          doc_story: Mapping[str, str]) -> PassageSide:
    doc, rep = documents[doc_id]
    title = doc.title or (rep.title if rep else None)
    return PassageSide(doc=doc_id, start=start, end=end, text=doc.text[start:end],
                       source=doc.source, title=title, date=doc.date,
                       story=doc_story.get(doc_id))


def _passage_views(
    passages: Iterable[PassageLike], members: set[str],
    documents: Mapping[str, tuple[Document, Repair | None]], doc_story: Mapping[str, str],
    shown_as: Mapping[str, str],
) -> tuple[list[PassageView], int, int]:
    views: list[PassageView] = []
    boilerplate = copies = 0
    for p in passages:
        if p.a not in members and p.b not in members:
            continue
        if getattr(p, "boilerplate", False):
            boilerplate += 1
            continue
        if shown_as.get(p.a, p.a) == shown_as.get(p.b, p.b):
            copies += 1
            continue
        if p.a not in documents or p.b not in documents:
            continue
        a = _side(p.a, int(p.a_start), int(p.a_end), documents, doc_story)
        b = _side(p.b, int(p.b_start), int(p.b_end), documents, doc_story)
        source = getattr(p, "source", None)
        kind = getattr(p, "kind", "copy")
        if kind != "copy":
            source = None  # a template or formula has no origin
        if source == p.b and source != p.a:
            origin, copy, directed = b, a, True
        elif source == p.a:
            origin, copy, directed = a, b, True
        else:
            # no verdict: show the earlier side first, but say it is undecided
            origin, copy = sorted((a, b), key=lambda s: (_time_key(s.date), s.doc, s.start))
            directed = False
        views.append(PassageView(origin=origin, copy=copy, score=float(p.score),
                                 rule=getattr(p, "rule", None), directed=directed, kind=kind))
    views.sort(key=lambda v: (_time_key(v.origin.date), v.origin.doc, v.origin.start,
                              _time_key(v.copy.date), v.copy.doc, v.copy.start))
    return views, boilerplate, copies


def split_kinds(views: list[PassageView]) -> tuple[list[PassageView], list[PassageView]]:
    """(copies, templates and formulas): only copies are shown as who copied whom."""
    return ([v for v in views if v.kind == "copy"], [v for v in views if v.kind != "copy"])


# -- threads and speakers ---------------------------------------------------------------------


def thread_views(threads: Any, stories: Sequence[StoryLike], shown: set[str]
                 ) -> list[ThreadView]:
    """The report's view of the threads of two or more stories (`threads`: a
    `ThreadResult` or None); `shown`: the stories the report has pages for."""
    if not threads:
        return []
    by_id = {str(s.story): s for s in stories}
    out = []
    for t in threads:
        sids = [str(s) for s in t.stories if str(s) in by_id]
        if len(sids) < 2:
            continue
        members = [by_id[s] for s in sids]
        out.append(ThreadView(
            thread=str(t.thread), title=t.title,
            stories=[ThreadStory(str(s.story), (s.title or "").strip() or str(s.story),
                                 as_datetime(s.first_seen), as_datetime(s.last_seen),
                                 len(s.members), str(s.story) in shown) for s in members],
            links=[_link_view(link) for link in t.links],
            first_seen=as_datetime(t.first_seen), last_seen=as_datetime(t.last_seen)))
    return out


def _link_view(link: Any) -> ThreadLinkView:
    ev = getattr(link, "evidence", {}) or {}
    return ThreadLinkView(
        a=str(link.a), b=str(link.b), score=float(link.score),
        words=tuple(ev.get("words", ())), reused=float(ev.get("reused", 0.0)),
        figures_before=tuple(ev.get("figures_before", ())),
        figures_after=tuple(ev.get("figures_after", ())),
        gap_days=ev.get("gap_days"), closest=bool(ev.get("closest", False)))


def speaker_entries(attributions: Sequence[AttributionLike],
                    documents: Mapping[str, tuple[Document, Any]],
                    doc_story: Mapping[str, str]) -> list[Any]:
    """Who says what across the report's stories (its own page): the speakers of the
    stories' articles, name variants joined, statements by story and time."""
    from khabar.explain.speakers import who_says_what

    texts = {d: documents[d][0].text for d in doc_story if d in documents}
    dates = {d: documents[d][0].date for d in texts}
    return who_says_what((a for a in attributions if a.doc in texts), texts, doc_story, dates)
