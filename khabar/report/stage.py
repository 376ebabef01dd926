"""The report stage: a map over the explanation stage's story bundles, then the index.

Each task turns a `StoryBundle` into its `StoryPage` (`model.assemble_story`)
and writes the page itself, into the output folder (on Spark, a folder every
node sees), so no page travels back to the driver; what comes back is one small
`IndexEntry` per story, from which the driver writes ``index.html``, the
who-says-what page and the manifest of the files written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from khabar.engine import Dataset
from khabar.errors import KhabarError
from khabar.explain.speakers import group_statements, statements
from khabar.explain.stage import StoryBundle
from khabar.io.paths import inside
from khabar.pickling import fast_pickle
from khabar.report.model import (
    DEFAULT_TITLE,
    ReportData,
    StoryPage,
    ThreadLinkView,
    ThreadStory,
    ThreadView,
    as_datetime,
    assemble_story,
)
from khabar.report.render import STORIES_DIR, render_batch
from khabar.stage import Context, stage


@fast_pickle
@dataclass(frozen=True, slots=True)
class ReportParams:
    """What the report shows."""

    min_story_size: int = 1
    """Stories with fewer articles get no page (they stay in the data files)."""
    title: str = DEFAULT_TITLE
    """The report's title (its index page's heading)."""


@dataclass(slots=True)
class IndexEntry:
    """What the index shows of a story (the attributes of a `StoryPage` it reads)."""

    story: str
    title: str
    first_seen: datetime | None
    last_seen: datetime | None
    outlets: list[str]
    size: int
    dates: list[datetime]
    page: str
    thread: Any = None
    statements: list[Any] = field(default_factory=list)
    """Its quotations and reports with a speaker (`explain.speakers.Statement`)."""


def page_of(bundle: StoryBundle) -> StoryPage:
    """The story page of one bundle."""
    documents = {a.doc.id: (a.doc, a.repair) for a in bundle.articles}
    for doc_id, (doc, rep, _story, _size) in bundle.sides.items():
        documents.setdefault(doc_id, (doc, rep))
    sid = str(bundle.story.story)
    doc_story = {a.doc.id: sid for a in bundle.articles}
    doc_story.update({d: str(v[2]) for d, v in bundle.sides.items() if v[2] is not None})
    nov = [s for marks in bundle.novelty.values() for s in marks]
    atts = [a for x in bundle.docs for a in x.attributions]
    ments = [m for x in bundle.docs for m in x.mentions]
    return assemble_story(bundle.story, documents, passages=bundle.passages, novelty=nov,
                          summary=bundle.summary, attributions=atts, mentions=ments,
                          doc_story=doc_story)


def _render(batch: list[StoryBundle], out: str, min_size: int, generated: str | None,
            threads: Any) -> list[IndexEntry]:
    """Map step: write the page of every story of the batch; return what the index needs."""
    from khabar.report import _write_atomic

    entries = []
    for bundle in batch:
        if len(bundle.story.members) < min_size:
            continue
        page = page_of(bundle)
        sid = str(bundle.story.story)
        page.thread = threads.value.get(sid)
        doc_story = {a.doc.id: sid for a in bundle.articles}
        doc_story.update({d: str(v[2]) for d, v in bundle.sides.items()
                          if v[2] is not None and v[3] >= min_size})
        shown_as = {c.id: a.id for a in page.articles for c in a.copies}
        ((rel, html),) = render_batch([page], doc_story, generated, shown_as)
        folder, _, name = rel.rpartition("/")
        _write_atomic(inside(Path(out) / folder, name), html.encode("utf-8"))
        docs = {a.doc.id: a.doc for a in bundle.articles}
        said = list(statements([a for x in bundle.docs for a in x.attributions],
                               {i: d.text for i, d in docs.items()}, doc_story,
                               {i: d.date for i, d in docs.items()}))
        entries.append(IndexEntry(sid, page.title, page.first_seen, page.last_seen,
                                  page.outlets, page.size, page.dates, rel, page.thread,
                                  statements=said))
    return entries


def _order(e: IndexEntry) -> tuple:
    first = as_datetime(e.first_seen)
    return (-e.size, (1, 0.0) if first is None else (0, first.timestamp()), e.story)


# -- threads as the report shows them -------------------------------------------------------------


def _thread_stories(batch: list[Any], *_: Any) -> list[tuple[int, Any]]:
    return [(s, ("thread", t)) for t in batch if len(t.stories) > 1 for s in t.stories]


def _story_rows(batch: list[Any], *_: Any) -> list[tuple[int, Any]]:
    return [(s.story, ("story", s)) for s in batch]


def _story_in_thread(story: int, values: list[tuple], *_: Any) -> list[tuple[int, tuple]]:
    threads = [v[1] for v in values if v[0] == "thread"]
    records = [v[1] for v in values if v[0] == "story"]
    if not threads or not records:
        return []
    return [(threads[0].thread, ("story", records[0])), (threads[0].thread,
                                                         ("thread", threads[0]))]


def _thread_view(thread: int, values: list[tuple], min_size: int) -> list[ThreadView]:
    record = next(v[1] for v in values if v[0] == "thread")
    stories = {v[1].story: v[1] for v in values if v[0] == "story"}
    members = [stories[s] for s in record.stories if s in stories]
    if len(members) < 2:
        return []
    return [ThreadView(
        thread=str(record.thread), title=record.title,
        stories=[ThreadStory(str(s.story), (s.title or "").strip() or str(s.story),
                             as_datetime(s.first_seen), as_datetime(s.last_seen), s.size,
                             s.size >= min_size) for s in members],
        links=[_link_view(link) for link in record.links],
        first_seen=as_datetime(record.first_seen), last_seen=as_datetime(record.last_seen))]


def _link_view(link: dict) -> ThreadLinkView:
    return ThreadLinkView(
        a=str(link["a"]), b=str(link["b"]), score=float(link["score"]),
        words=tuple(link.get("words", ())), reused=float(link.get("reused", 0.0)),
        figures_before=tuple(link.get("figures_before", ())),
        figures_after=tuple(link.get("figures_after", ())),
        gap_days=link.get("gap_days"), closest=bool(link.get("closest", False)))


def _views_by_story(batch: list[ThreadView]) -> dict[str, ThreadView]:
    return {st.story: v for v in batch for st in v.stories}


def _merge(a: dict, b: dict) -> dict:
    return {**a, **b}


def _keyed(batch: list[tuple[Any, Any]], *_: Any) -> list[tuple[Any, Any]]:
    return batch


@stage("report", params=ReportParams, requires=("story_bundles", "stories"),
       optional=("threads",), provides=("report",))
def report_stage(ctx: Context, data: dict[str, Dataset], params: ReportParams
                 ) -> dict[str, Dataset]:
    """The static HTML report: one page per story, the index, who says what."""
    if ctx.out is None:
        raise KhabarError("the report needs an output folder")
    from khabar.report import _manifest, _write_atomic, finish_pages
    from khabar.report.render import SPEAKERS_PAGE, render_index, render_speakers

    out = ctx.out
    (out / STORIES_DIR).mkdir(parents=True, exist_ok=True)
    earlier = _manifest(out)
    generated = ctx.options.get("generated")
    views: dict[str, ThreadView] = {}
    if "threads" in data:
        joined = ctx.runner.union([data["threads"].map(_thread_stories),
                                   data["stories"].map(_story_rows)])
        views = joined.group(_keyed, _story_in_thread).group(
            _keyed, _thread_view, params.min_story_size).aggregate(_views_by_story, _merge, {})
    entries = data["story_bundles"].map(_render, str(out), params.min_story_size, generated,
                                        ctx.runner.broadcast(views))
    shown = list(entries.sorted_records(_order))
    distinct = {id(v): v for v in views.values()}
    report = ReportData(stories=shown, title=params.title,  # type: ignore[arg-type]
                        documents=ctx.counts.get("read", {}).get("documents"),
                        generated=generated, speakers=_speakers(shown),
                        threads=sorted(distinct.values(), key=lambda v: int(v.thread)))
    written = [e.page for e in shown]
    _write_atomic(out / "index.html", render_index(report).encode("utf-8"))
    written.append("index.html")
    if report.speakers:
        _write_atomic(out / SPEAKERS_PAGE, render_speakers(report).encode("utf-8"))
        written.append(SPEAKERS_PAGE)
    finish_pages(out, written, earlier, ctx.echo)
    ctx.counts["report"] = {"pages": len(shown), "index": str(out / "index.html")}
    return {"report": entries}


def _speakers(entries: list[IndexEntry]) -> list[Any]:
    """Who says what across the report's stories (name variants joined)."""
    found = [st for e in entries for st in e.statements]
    for e in entries:
        e.statements = []
    return group_statements(found)


__all__ = ["IndexEntry", "ReportParams", "page_of", "report_stage"]
