"""Identical copies in the report: shown once, with "N identical copies" and their outlets.

2,000 outlets carrying one wire story made a story page print the text 2,000
times (9-15 MB). The page now shows it once with the list of copies; its size
no longer grows with their number, links to a copy land on the article shown,
and the counts (index, lede, chart) still count every copy.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

from khabar.document import Document
from khabar.report import ReportData, assemble_story, render_report, story_filename
from khabar.report.model import fold_copies
from khabar.report.render import article_anchor

WIRE = ("أعلنت وزارة الصحة اليوم افتتاح ثلاثة مستشفيات جديدة في المناطق الشمالية.\n"
        "وقال المتحدث باسم الوزارة إن المستشفيات ستبدأ استقبال المرضى الشهر المقبل.")
DAY = datetime(2025, 3, 10, 8, tzinfo=UTC)


def _story(copies: int) -> tuple[SimpleNamespace, dict]:
    docs = {}
    for i in range(copies):
        # the same text re-wrapped by each site's template: runs of white space differ
        text = WIRE.replace(" ", "  ") if i % 2 else WIRE
        docs[f"c{i:05d}"] = (Document(f"c{i:05d}", text, title="مستشفيات جديدة",
                                      source=f"موقع {i}", date=DAY + timedelta(minutes=i),
                                      url=f"https://site{i}.example/n/{i}"), None)
    edited = WIRE.replace("ثلاثة", "أربعة")
    docs["edited"] = (Document("edited", edited, title="أربعة مستشفيات", source="الوطن",
                               date=DAY + timedelta(days=1)), None)
    members = sorted(docs)
    summary = [SimpleNamespace(doc="c00000", start=0, end=70, text=WIRE[:70],
                               carriers=["c00000", "c00001", "c00007"], outlets=[],
                               exclusive=False)]
    story = SimpleNamespace(story="s1", title="", first_seen=None, last_seen=None,
                            members=members, sources=sorted({d.source for d, _ in docs.values()}))
    return story, {"docs": docs, "summary": summary}


def _page(copies: int) -> tuple[str, ReportData]:
    story, parts = _story(copies)
    docs = parts["docs"]
    passages = [SimpleNamespace(a="c00000", a_start=0, a_end=70, b="c00001", b_start=0,
                                b_end=70, score=1.0, source="c00000", rule="date")]
    page = assemble_story(story, docs, summary=parts["summary"], passages=passages,
                          doc_story={d: "s1" for d in docs})
    data = ReportData(stories=[page])
    return render_report(data)[f"stories/{story_filename('s1')}"], data


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.hrefs.append(a["href"] or "")


def test_identical_copies_are_shown_once() -> None:
    html, data = _page(300)
    page = data.stories[0]
    assert [a.id for a in page.articles] == ["c00000", "edited"]
    assert len(page.articles[0].copies) == 299 and page.size == 301
    assert html.count('<article class="doc"') == 2
    assert html.count("المستشفيات ستبدأ") == 2  # the wire text once, the edited one once
    assert "<b>299</b> نسخة مطابقة" in html
    assert "موقع 1" in html and "و199 نسخة أخرى" in html
    assert "<b>301</b> مقالة" in html  # the lede counts every copy
    assert len(page.dates) == 301
    # the passage between two copies of one text compares nothing: left out, and said so
    assert page.passages == [] and page.copy_passages == 1
    index = render_report(data)["index.html"]
    assert 'data-size="301"' in index


def test_page_size_does_not_follow_the_number_of_copies() -> None:
    small, _ = _page(150)
    large, _ = _page(3000)
    # one outlet per copy: the outlets at the top and in the copies' line are capped too
    assert len(large.encode()) < 1.1 * len(small.encode())
    assert len(large.encode()) < 200_000
    assert "و2941 مصدراً آخر" in large


def test_links_to_a_copy_land_on_the_article_shown() -> None:
    html, _ = _page(20)
    parser = _Anchors()
    parser.feed(html)
    assert parser.hrefs and all(h[1:] in parser.ids for h in parser.hrefs)
    # the summary's other carriers are folded copies: their links go to the shown article
    assert f'href="#{article_anchor("c00000")}"' in html
    assert f'href="#{article_anchor("c00007")}"' not in html


def test_only_the_same_text_folds() -> None:
    story, parts = _story(3)
    page = assemble_story(story, parts["docs"])
    assert len(page.articles) == 2  # "edited" differs by one word: shown, not folded
    assert fold_copies([]) == []
    assert re.fullmatch(r"c0000[12]", page.articles[0].copies[0].id)


def test_report_of_copies_written(tmp_path: Path) -> None:
    from khabar.report import write_report

    _, data = _page(50)
    write_report(data, tmp_path)
    assert (tmp_path / "stories" / story_filename("s1")).stat().st_size < 100_000
