"""`khabar serve` in a real browser (headless Debian chromium driven by Playwright).

A reader searches with a spelling the articles do not use, follows a story page that
updates by itself when an article is POSTed, and opens a hostile article whose markup
must show as text and never run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")

from khabar.service.server import Running

pytestmark = pytest.mark.browser

LEAD = ("أعلنت وزارة الصحة اليوم افتتاح مستشفى جديد في مدينة الرياض بسعة ٣٠٠ سرير، "
        "وقال الوزير في مؤتمر صحفي إن المستشفى سيخدم سكان الأحياء الشمالية ويخفف الضغط "
        "على المستشفيات القائمة. وأضاف أن العمل في المشروع استمر ثلاث سنوات بتكلفة بلغت "
        "مليار ريال، وأن المستشفى سيضم أقساما للطوارئ والجراحة والأطفال وعيادات خارجية.")
HOSTILE_TITLE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'


def _post(srv: Running, rows: list[dict[str, Any]]) -> str:
    import urllib.request

    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    req = urllib.request.Request(srv.url + "api/articles", data=body, method="POST",
                                 headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["job"]


def _wait(srv: Running, job: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with urllib.request.urlopen(srv.url + f"api/jobs/{job}", timeout=10) as r:
            if json.loads(r.read())["done"]:
                return
        time.sleep(0.2)
    raise AssertionError("analysis did not finish")




def test_search_live_story_and_hostile_article(browser: Any, tmp_path: Path,
                                               artifacts_dir: Path) -> None:
    srv = Running(tmp_path / "live.db")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ar")
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    try:
        _wait(srv, _post(srv, [
            {"id": "h1", "title": "افتتاح مستشفى جديد", "source": "one",
             "date": "2024-03-01 09:00:00", "text": LEAD},
            {"id": "evil", "title": HOSTILE_TITLE, "source": "<b>outlet</b>",
             "date": "2024-03-01 10:00:00", "url": "javascript:alert(1)",
             "text": LEAD + ' <script>alert("x")</script> <img src=x onerror=alert(2)> '
                            "\u202eالنص المعكوس"},
        ]))
        # search with a spelling the articles do not use (harakat, ta marbuta as ha)
        page.goto(srv.url + "search?q=" + "وَزاره")
        hits = page.locator("ol.hits > li")
        assert hits.count() == 2
        assert page.locator("mark").first.inner_text() in ("وزارة",)
        page.screenshot(path=str(artifacts_dir / "serve-search.png"), full_page=True)
        # the hostile article: shown as text, nothing ran
        page.goto(srv.url + "articles/evil")
        assert page.evaluate("window.__pwned === undefined")
        assert "<script>" in page.locator("h1").inner_text()
        assert page.locator("main script, main img").count() == 0
        # its story page (the report's page, live): watch it grow when an article arrives
        page.locator("a", has_text="القصة").first.click()
        page.wait_for_load_state("load")
        assert page.locator("html").get_attribute("dir") == "rtl"
        before = page.locator("article.doc").count()
        assert page.evaluate("window.__pwned === undefined")
        # the home page, open in another tab, follows too (latest and largest stories)
        home = context.new_page()
        home.goto(srv.url)
        largest = home.locator("#growing li").first
        assert "2 مقالة" in largest.inner_text()
        _wait(srv, _post(srv, [{"id": "late", "title": "الوزارة تفتتح المستشفى الجديد",
                                "source": "three", "date": "2024-03-01 12:00:00",
                                "text": LEAD + " وتأتي الخطوة ضمن خطة لتطوير القطاع."}]))
        # no reload by the test: the page's own script brings the new article (the page's
        # CSP forbids the evaluation wait_for_function needs, so the test polls)
        deadline = time.monotonic() + 30
        while page.locator("article.doc").count() <= before and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert page.locator("article.doc").count() > before
        assert "three" in page.locator("main").inner_text()
        deadline = time.monotonic() + 30
        while "3 مقالة" not in home.locator("#growing li").first.inner_text() \
                and time.monotonic() < deadline:
            home.wait_for_timeout(250)
        assert "3 مقالة" in home.locator("#growing li").first.inner_text()
        page.screenshot(path=str(artifacts_dir / "serve-story.png"), full_page=True)
        assert page.evaluate("window.__pwned === undefined")
        assert not dialogs and not problems, (dialogs, problems)
        assert all(u.startswith(srv.url) for u in requests), requests  # no CDN, nothing else
    finally:
        context.close()
        assert srv.stop() == 0
