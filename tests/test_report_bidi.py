"""Bidi controls and control characters cannot change what a report page shows.

An article holding U+202E (right-to-left override) around "25" must show 25,
not 52; embeddings, overrides and isolates become visible marks, the
directional marks are dropped, NUL and the other C0/C1 controls never reach
the HTML, and every offset still points into the original text. The browser
test measures where the digits land on screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from khabar.report import ArticleView, ReportData, StoryPage, story_filename, write_report
from khabar.report.model import QuoteMark, SentenceMark
from khabar.report.render import article_anchor, attr, esc, render_report, sentence_anchor
from khabar.text.sentences import split_sentences

RLO, PDF, RLM, RLI, PDI, LRE = "\u202e", "\u202c", "\u200f", "\u2067", "\u2069", "\u202a"
SPOOF = f"بلغ عدد الضحايا {RLO}25{PDF} شخصاً في الحادث."
TEXT = (SPOOF + "\n"
        f"وقال المتحدث إن «الحصيلة 1{RLM}9 قتيلاً» حتى الآن.\x00 ثم\x07 أضاف {RLI}كلاماً{PDI}.\n"
        f"سطر فيه {LRE}تضمين{PDF} وحرف\x85 تحكم\r\nوسطر أخير.")
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
DOC = "spoof\u202e-1"


def _article(text: str = TEXT, doc: str = DOC) -> ArticleView:
    sentences = [SentenceMark(k, s, e, "new") for k, (s, e) in enumerate(split_sentences(text))]
    q0 = text.index("«")
    q1 = text.index("»") + 1
    return ArticleView(
        id=doc, text=text, title=f"عنوان {RLO}52{PDF} مخادع\x00", source=f"مصدر{RLM}\x01",
        url=f"https://example.com/{RLO}gpj.exe", sentences=sentences,
        attributions=[QuoteMark("quote", q0, q1, quote_start=q0, quote_end=q1)],
    )


def _data() -> ReportData:
    art = _article()
    return ReportData(stories=[StoryPage(story=f"قصة{RLO}", title=f"قصة {RLO}25{PDF}",
                                         outlets=[art.source or ""], articles=[art])])


class _ById(HTMLParser):
    """The text inside the element with one id (marks' own text included)."""

    def __init__(self, target: str) -> None:
        super().__init__(convert_charrefs=True)
        self.target, self.depth, self.text = target, 0, []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.target:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)


def test_no_control_reaches_any_page() -> None:
    pages = render_report(_data())
    assert len(pages) == 2
    for name, html in pages.items():
        found = FORBIDDEN.findall(html)
        assert not found, (name, [hex(ord(c)) for c in found])


def test_controls_are_visible_marks_where_they_stood() -> None:
    html = next(v for k, v in render_report(_data()).items() if k.startswith("stories/"))
    body = html[html.index(f'id="{article_anchor(DOC)}"'):]
    for name in ("RLO", "PDF", "RLI", "PDI", "LRE"):
        assert f">{name}</bdi>" in body, name
    assert ">\u2400</bdi>" in body and ">\u2407</bdi>" in body  # NUL, BEL
    assert ">U+0085</bdi>" in body
    assert "1" + "9 قتيلاً" in body  # the RLM between the digits is gone

    # offsets still point into the original: each sentence's element holds exactly the
    # original sentence, with every control replaced where it stood
    marks = {RLO: "RLO", PDF: "PDF", RLI: "RLI", PDI: "PDI", LRE: "LRE", "\x00": "\u2400",
             "\x07": "\u2407", "\x85": "U+0085", RLM: "", "\r": "\n"}
    for k, (s, e) in enumerate(split_sentences(TEXT)):
        parser = _ById(sentence_anchor(DOC, k))
        parser.feed(html)
        expected = "".join(marks.get(ch, ch) for ch in TEXT[s:e])
        assert "".join(parser.text) == expected, k


def test_each_sentence_and_quotation_is_its_own_isolated_run() -> None:
    html = next(v for k, v in render_report(_data()).items() if k.startswith("stories/"))
    n = len(split_sentences(TEXT))
    for k in range(n):
        assert re.search(rf'<span class="new" id="{sentence_anchor(DOC, k)}">', html)
    # the quotation sits inside its sentence, as its own element
    assert re.search(r'<span class="new" id="[^"]+">[^<]*<span class="q">«', html)
    css = html[html.index("<style>"):html.index("</style>")]
    assert ".body .new, .body .rep, .body .s, .body .q { unicode-bidi: isolate; }" in css


def test_unmarked_articles_are_isolated_by_sentence_too() -> None:
    art = _article()
    art.sentences = []
    html = render_report(ReportData(stories=[StoryPage("s", "t", articles=[art])]))
    page = html[f"stories/{story_filename('s')}"]
    assert page.count('<span class="s">') == len(split_sentences(TEXT))


def test_escaping_functions() -> None:
    assert esc(f"a{RLO}b") == "a<bdi class=ctl title=U+202E>RLO</bdi>b"
    assert attr(f'a{RLO}"b\x00') == "a&quot;b\u2400"
    assert esc(f"{RLM}x\u061c") == "x"
    assert esc("a\r\nb") == "a\n\nb"
    assert '"' not in esc("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\x00\x9f")
    # a URL holding a bidi control reads other than where it goes: not a link
    page = next(v for k, v in render_report(_data()).items() if k.startswith("stories/"))
    assert 'href="https://example.com/' not in page


# -- in a browser ----------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (install Debian's chromium: make test does)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


# x of the middle of each character of the first "25" in a text node of the article
DIGITS_X = """(id) => {
  const root = document.getElementById(id);
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    const at = node.data.indexOf("25");
    if (at < 0) continue;
    const x = (i) => {
      const r = document.createRange();
      r.setStart(node, i); r.setEnd(node, i + 1);
      const box = r.getBoundingClientRect();
      return box.left + box.width / 2;
    };
    return [x(at), x(at + 1)];
  }
  return null;
}"""


@pytest.mark.browser
def test_override_does_not_turn_25_into_52(browser: Any, tmp_path: Path) -> None:
    write_report(_data(), tmp_path)
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="ar")
    try:
        page = context.new_page()
        page.goto((tmp_path / "stories" / story_filename(f"قصة{RLO}")).resolve().as_uri())
        page.wait_for_load_state("load")
        two, five = page.evaluate(DIGITS_X, article_anchor(DOC))
        # digits read left to right, even in a right-to-left page: "2" left of "5"
        assert two < five
        # and the sentence shows the marks, in reading order around the number
        shown = page.locator(f"#{sentence_anchor(DOC, 0)}").inner_text()
        assert "RLO25PDF" in shown.replace(" ", "")
        # the title, rendered from text-only <title>, has no control left
        assert not FORBIDDEN.search(page.title())
    finally:
        context.close()
