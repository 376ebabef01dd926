"""The report's threads: the index groups a thread's stories, each story page shows the
thread's timeline ("earlier in this thread" / "later") and why the stories were linked."""

from __future__ import annotations

from datetime import UTC, datetime

from khabar.document import Document
from khabar.report import ReportData, StoryPage, render_report, story_filename
from khabar.report.model import ArticleView, ThreadLinkView, ThreadStory, ThreadView
from khabar.stories.threads import Thread, ThreadLink, ThreadResult


def at(day: int) -> datetime:
    return datetime(2025, 3, day, 18, tzinfo=UTC)


def page(story: str, title: str, day: int) -> StoryPage:
    doc = Document(f"{story}-a", f"نص المقالة {title}", title, "الواحة", at(day))
    return StoryPage(story=story, title=title, first_seen=at(day), last_seen=at(day),
                     outlets=["الواحة"], articles=[ArticleView(doc.id, doc.text, doc.title,
                                                               doc.source, doc.date)])


def data() -> ReportData:
    pages = [page("1", "خروج قطار عن السكة", 10), page("2", "ارتفاع عدد الضحايا", 11),
             page("3", "متحف للمخطوطات", 11), page("4", "النقابة تحمل الإدارة المسؤولية", 12)]
    hostile = '<script>alert(1)</script>'
    thread = ThreadView(
        thread="7", title="خروج قطار عن السكة",
        stories=[ThreadStory("1", "خروج قطار عن السكة", at(10), at(10), 1),
                 ThreadStory("2", "ارتفاع عدد الضحايا", at(11), at(11), 1),
                 ThreadStory("4", "النقابة تحمل الإدارة المسؤولية", at(12), at(12), 1),
                 ThreadStory("9", "قصة قصيرة خارج التقرير", at(12), at(12), 1, False)],
        links=[ThreadLinkView("1", "2", 0.8, ("الريحان", hostile), 0.2, ("4",), ("5",), 0.5,
                              True),
               ThreadLinkView("2", "4", 0.7, ("النقابة",), 0.0, (), (), 1.0, False)],
        first_seen=at(10), last_seen=at(12))
    for p in pages:
        if p.story in {"1", "2", "4"}:
            p.thread = thread
    return ReportData(stories=pages, threads=[thread])


def test_the_index_groups_a_threads_stories_in_one_row():
    index = render_report(data())["index.html"]
    rows = index.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")
    rows = [r for r in rows if "<tr" in r]
    assert len(rows) == 2  # the thread (stories 1, 2, 4) and the lone story 3
    thread_row = next(r for r in rows if 'class="thread"' in r)
    # its stories in time order, each linking to its page, the left-out one as text
    hrefs = [f'stories/{story_filename(s)}' for s in ("1", "2", "4")]
    positions = [thread_row.index(h) for h in hrefs]
    assert positions == sorted(positions)
    assert "قصة قصيرة خارج التقرير" in thread_row
    assert f'stories/{story_filename("9")}' not in thread_row
    assert 'data-size="4"' in thread_row  # articles of all its stories
    lone = next(r for r in rows if 'class="thread"' not in r)
    assert "متحف للمخطوطات" in lone


def test_a_story_page_shows_its_threads_timeline_and_why():
    pages = render_report(data())
    middle = pages[f"stories/{story_filename('2')}"]
    assert 'id="thread"' in middle
    section = middle.split('id="thread"')[1].split("</section>")[0]
    assert section.index("سابقاً في هذا الخيط") < section.index("هذه القصة") \
        < section.index("لاحقاً في هذا الخيط")
    assert f'href="{story_filename("1")}"' in section
    assert f'href="{story_filename("4")}"' in section
    # the evidence of both links touching story 2, escaped
    assert "الريحان" in section and "النقابة" in section
    assert "<script>alert(1)</script>" not in middle
    assert "&lt;script&gt;" in section
    assert "أرقام تغيّرت" in section and "كلٌّ منهما أقرب قصة إلى الأخرى" in section
    lone = pages[f"stories/{story_filename('3')}"]
    assert 'id="thread"' not in lone


def test_thread_views_from_the_stories_stage():
    from types import SimpleNamespace

    from khabar.report.model import thread_views

    stories = [SimpleNamespace(story=s, title=f"t{s}", first_seen=at(9 + s),
                               last_seen=at(9 + s), members=[f"d{s}"], sources=[])
               for s in (1, 2, 3)]
    result = ThreadResult([
        Thread(5, "t1", at(10), at(11), [1, 2], ["d1", "d2"],
               [ThreadLink(1, 2, 0.9, {"words": ["x"], "reused": 0.3, "closest": True,
                                       "gap_days": 0.4, "figures_before": [],
                                       "figures_after": ["5"], "similarity": 0.5})]),
        Thread(6, "t3", at(12), at(12), [3], ["d3"], []),
    ])
    views = thread_views(result, stories, {"1", "2", "3"})
    assert len(views) == 1  # a thread of one story is just that story
    v = views[0]
    assert [s.story for s in v.stories] == ["1", "2"] and v.articles == 2
    assert v.links[0].words == ("x",) and v.links[0].figures_after == ("5",)
