"""The report in a real browser: headless Debian chromium driven by Playwright.

Checks what only a browser can tell: the story page lays out right to left,
highlights are there and styled (the CSP lets the report's own style in), the
hostile article's scripts did not run and its markup shows as text, links to
first occurrences land, the index's filter and sort work. Saves full-page
screenshots to test-artifacts/ for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from khabar.report import story_filename, write_report
from khabar.report.render import article_anchor
from khabar.report.sample import HOSTILE_ID, HOSTILE_SCRIPT, sample_report

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]




@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ar")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    pg.problems = []  # console errors (a CSP refusal shows up here) and page errors
    pg.requests = []
    pg.on("console", lambda m: pg.problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.on("request", lambda r: pg.requests.append(r.url))
    try:
        yield pg
    finally:
        context.close()


def _open(pg: Any, path: Path) -> None:
    pg.goto(path.resolve().as_uri())
    pg.wait_for_load_state("load")


def _offline(pg: Any) -> None:
    # the report is static and offline: nothing but its own files is ever requested
    assert all(u.startswith("file://") for u in pg.requests), pg.requests


def test_sample_story_page(page: Any, tmp_path: Path, artifacts_dir: Path) -> None:
    data = sample_report()
    write_report(data, tmp_path)
    story = data.stories[0]
    _open(page, tmp_path / "stories" / story_filename(story.story))

    assert page.evaluate("document.documentElement.getAttribute('dir')") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    # the hostile article did nothing: no global set, title unchanged, no image element
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.title() == story.title
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0
    hostile = page.locator(f"#{article_anchor(HOSTILE_ID)}")
    assert HOSTILE_SCRIPT in hostile.inner_text()
    assert "</textarea><b>غامق</b>" in hostile.inner_text()

    news = sum(a.new_count for a in story.articles)
    reps = sum(a.repeated_count for a in story.articles)
    assert page.locator("article.doc span.new").count() >= news
    assert page.locator("article.doc span.rep").count() >= reps
    assert page.locator("a.seen").count() == reps
    # the highlight colours apply (a CSP hash mismatch would leave them transparent)
    new_bg = page.evaluate("getComputedStyle(document.querySelector('span.new')).backgroundColor")
    rep_bg = page.evaluate("getComputedStyle(document.querySelector('span.rep')).backgroundColor")
    assert new_bg not in ("rgba(0, 0, 0, 0)", rep_bg)
    # an English article runs left to right inside the RTL page
    english = page.locator(f"#{article_anchor('observer-01.txt')} .body")
    assert english.evaluate("el => getComputedStyle(el).direction") == "ltr"
    # the origin of a reused passage sits on the right, its copy on the left
    pair = page.locator(".pair:has(figure.origin)").first
    origin_box = pair.locator("figure.origin").bounding_box()
    copy_box = pair.locator("figure.copy").bounding_box()
    assert origin_box["x"] > copy_box["x"]

    # following "first seen" lands on the sentence it names
    pill = page.locator(f"#{article_anchor('sawt-04')} a.seen").first
    target = pill.get_attribute("href")
    pill.click()
    assert page.evaluate("location.hash") == target
    assert page.locator(f"{target}").evaluate("el => el.matches(':target')")

    assert page.problems == []
    _offline(page)
    page.screenshot(path=str(artifacts_dir / "report-sample-story.png"), full_page=True)
    # on a phone the page reflows instead of scrolling sideways (long tokens wrap,
    # passages stack)
    page.set_viewport_size({"width": 420, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 420


def test_sample_index_filter_and_sort(page: Any, tmp_path: Path, artifacts_dir: Path) -> None:
    write_report(sample_report(), tmp_path)
    _open(page, tmp_path / "index.html")
    assert page.evaluate("document.documentElement.getAttribute('dir')") == "rtl"
    rows = page.locator("table.stories tbody tr")
    assert rows.count() == 3
    assert page.locator("svg.spark").count() == 2  # the undated story has none
    page.fill("#filter", "الغدير")
    assert page.locator("table.stories tbody tr:visible").count() == 1
    page.fill("#filter", "")
    page.click("th[data-key=first]")
    firsts = [r.get_attribute("data-first") for r in rows.all()]
    assert [f for f in firsts if f] == sorted(f for f in firsts if f)
    page.click("th[data-key=size]")
    page.click("th[data-key=size]")
    assert [r.get_attribute("data-size") for r in rows.all()] == ["4", "2", "1"]
    assert page.problems == []
    _offline(page)
    page.screenshot(path=str(artifacts_dir / "report-sample-index.png"), full_page=True)
    page.set_viewport_size({"width": 420, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 420


def _demo_report(out: Path) -> Path:
    """The demo corpus as a report, through `khabar run`, the database beside it as
    `make demo` keeps it."""
    from khabar.cli import main

    try:
        main(["run", str(ROOT / "examples" / "demo"), "--out", str(out), "--db",
              str(out.parent / "demo.db"), "--quiet"])
    except SystemExit as exc:
        if exc.code:
            raise
    return out / "index.html"


def test_demo_story_page(page: Any, tmp_path: Path, artifacts_dir: Path) -> None:
    index = _demo_report(tmp_path / "demo")
    _open(page, index)
    assert page.locator("table.stories tbody tr").count() >= 5
    page.screenshot(path=str(artifacts_dir / "report-demo-index.png"), full_page=True)
    # the biggest story is one day of the train derailment: open it from the index
    page.locator("table.stories tbody tr .title a").first.click()
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.getAttribute('dir')") == "rtl"
    assert page.locator("article.doc").count() >= 3
    assert page.locator("article.doc span.new").count() > 0
    # its articles may each be new text (a copy folds away): the first story page that has
    # repeated sentences (the derailment's first day: a wire report and its edited copy)
    mixed = "article.doc:has(span.rep):has(span.new)"
    if page.locator(mixed).count() == 0:
        _open(page, index)
        hrefs = page.locator("table.stories tbody tr .title a").evaluate_all(
            "els => els.map(e => e.href)")
        for href in hrefs:
            page.goto(href)
            page.wait_for_load_state("load")
            if page.locator(mixed).count():
                break
    assert page.locator("article.doc span.rep").count() > 0
    assert page.problems == []
    _offline(page)
    page.screenshot(path=str(artifacts_dir / "report-demo-story.png"), full_page=True)
    # the top of the page at a README-friendly size: title, chart, summary, timeline
    page.set_viewport_size({"width": 1200, "height": 1300})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts_dir / "report-demo-story-top.png"))
    # and one article with its new and repeated sentences
    page.locator(mixed).first.screenshot(path=str(artifacts_dir / "report-demo-article.png"))
