"""The HTML report: escaping, links, assembly, determinism, file names, the CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from khabar.document import Document
from khabar.report import (
    ReportData,
    assemble_story,
    render_report,
    story_filename,
    write_report,
)
from khabar.report.model import text_direction
from khabar.report.render import article_anchor, esc, safe_url, sentence_anchor
from khabar.report.sample import HOSTILE_ID, HOSTILE_SCRIPT, sample_report

# tags the renderer itself writes; anything else in a page came from data
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "main", "footer", "script",
    "a", "h1", "h2", "h3", "p", "span", "bdi", "time", "ul", "ol", "li", "b", "nav", "section",
    "article", "div", "details", "summary", "q", "figure", "figcaption", "blockquote", "mark",
    "table", "thead", "tbody", "tr", "th", "td", "input", "svg", "rect", "line", "br",
}


class _Page(HTMLParser):
    """Everything structural in one page: tags, attributes, ids, hrefs, script bodies."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        self.tags.append((tag, d))
        if d.get("id"):
            self.ids.append(d["id"] or "")
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def sample() -> ReportData:
    return sample_report()


@pytest.fixture(scope="module")
def pages(sample: ReportData) -> dict[str, str]:
    return render_report(sample)


def _train_page(pages: dict[str, str], sample: ReportData) -> str:
    return pages[f"stories/{story_filename(sample.stories[0].story)}"]


# -- escaping ----------------------------------------------------------------------------------


def test_no_markup_from_data_reaches_any_page(pages: dict[str, str]) -> None:
    for path, html in pages.items():
        page = _parse(html)
        for tag, attrs in page.tags:
            assert tag in ALLOWED_TAGS, (path, tag)
            for name, value in attrs.items():
                assert not name.startswith("on"), (path, tag, name)
                if name == "href":
                    assert value and not value.lower().startswith(("javascript:", "data:"))
                    assert value.startswith(("#", "https://", "http://", "../index.html",
                                             "index.html", "stories/")) or value.endswith(
                        ".html") or ".html#" in value, (path, value)
        # the only script is the report's own sorting script, on the index
        expected = 1 if path == "index.html" else 0
        assert len(page.scripts) == expected, path
        assert "__pwned" not in "".join(page.scripts)
        assert html.lower().count("<script") == expected
        assert "<img" not in html.lower() and "</textarea" not in html.lower()


def test_hostile_article_is_shown_as_text(pages: dict[str, str], sample: ReportData) -> None:
    html = _train_page(pages, sample)
    assert esc(HOSTILE_SCRIPT) in html
    text = "".join(_parse(html).text)
    # the hostile markup is there for the reader to see, character for character
    assert HOSTILE_SCRIPT in text
    assert '<img src="x" onerror="window.__pwned = 2">' in text
    assert "</textarea><b>غامق</b>" in text
    # its javascript: URL is displayed, not linked
    assert "javascript:window.__pwned=4" in text
    assert 'href="javascript' not in html.lower()
    assert HOSTILE_ID in text


def test_csp_allows_only_the_pages_own_inline_code(pages: dict[str, str]) -> None:
    for path, html in pages.items():
        page = _parse(html)
        csp = next(a["content"] for t, a in page.tags
                   if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
        assert csp is not None and "default-src 'none'" in csp
        for kind, bodies in (("style-src", page.styles), ("script-src", page.scripts)):
            allowed = re.search(kind + r" ([^;]+)", csp).group(1)  # type: ignore[union-attr]
            for body in bodies:
                digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in allowed, (path, kind)
        if not page.scripts:
            assert "script-src 'none'" in csp


def test_safe_url() -> None:
    assert safe_url("https://example.com/a?b=1&c=<2>") == "https://example.com/a?b=1&c=<2>"
    assert safe_url("  HTTP://example.com ") == "HTTP://example.com"
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>",
                "java\nscript:alert(1)", "https://exa mple.com", "http:/nohost", "//x.com/a",
                "vbscript:x", "", None, "https://a.com/\x00"):
        assert safe_url(bad) is None, bad


def test_escape_quotes_and_surrogates() -> None:
    assert esc('"><script>') == "&quot;&gt;&lt;script&gt;"
    assert esc("it's") == "it&#x27;s"
    assert esc("a\ud800b") == "a\ufffdb"  # a lone surrogate cannot be UTF-8
    assert esc("\ud83d\ude00") == "\U0001f600"  # a split pair is joined back


def test_lone_surrogate_in_article_still_writes(tmp_path: Path) -> None:
    doc = Document(id="x", text="نص \ud800 مكسور\nو\ud83d\ude00 سطر", source="s")
    story = SimpleNamespace(story="s1", title="t", first_seen=None, last_seen=None,
                            members=["x"], sources=["s"])
    novelty = [SimpleNamespace(doc="x", index=0, start=0, end=5, status="new", first_doc=None,
                               first_start=None, first_end=None)]
    page = assemble_story(story, {"x": (doc, None)}, novelty=novelty)
    index = write_report(ReportData(stories=[page]), tmp_path)
    story_html = (tmp_path / "stories" / story_filename("s1")).read_bytes().decode("utf-8")
    assert "\ufffd" in story_html and "\U0001f600" in story_html
    assert index.exists()


# -- layout and links ----------------------------------------------------------------------------


def test_pages_are_rtl_and_english_article_is_ltr(pages: dict[str, str],
                                                  sample: ReportData) -> None:
    for html in pages.values():
        assert '<html lang="ar" dir="rtl">' in html
    html = _train_page(pages, sample)
    tags = _parse(html).tags
    english = next(a for t, a in tags if t == "article" and a.get("id") ==
                   article_anchor("observer-01.txt"))
    assert english["dir"] == "ltr"
    arabic = next(a for t, a in tags if t == "article" and a.get("id") ==
                  article_anchor("sawt-04"))
    assert arabic["dir"] == "rtl"
    assert text_direction("CNN: قال الوزير إن الحكومة ستعلن القرار") == "rtl"
    assert text_direction("The minister said (واس)") == "ltr"


def test_highlights_and_first_seen_links(pages: dict[str, str], sample: ReportData) -> None:
    html = _train_page(pages, sample)
    tags = _parse(html).tags
    story = sample.stories[0]
    news = sum(1 for a in story.articles for s in a.sentences if s.status == "new")
    reps = sum(1 for a in story.articles for s in a.sentences if s.status == "repeated")
    assert news >= 8 and reps == 3
    classes = [a.get("class") or "" for t, a in tags if t == "span"]
    assert sum("new" in c.split() for c in classes) >= news
    assert sum("rep" in c.split() for c in classes) >= reps
    # the repeated quotation in sawt-04 points at sentence 1 of the agency's article
    first = "waha/2025/03/10/train"
    pills = [a["href"] for t, a in tags if t == "a" and a.get("class") == "seen"]
    assert f"#{sentence_anchor(first, 1)}" in pills
    assert len(pills) == reps


def test_every_internal_link_resolves(pages: dict[str, str]) -> None:
    ids = {path: set(_parse(html).ids) for path, html in pages.items()}
    for path, html in pages.items():
        base = Path(path).parent
        for tag, attrs in _parse(html).tags:
            href = attrs.get("href")
            if tag != "a" or not href or href.startswith(("http://", "https://")):
                continue
            target, _, frag = href.partition("#")
            target_path = (base / target).as_posix() if target else path
            target_path = str(Path(target_path)).replace("stories/../", "")
            assert target_path in pages, (path, href)
            if frag:
                assert frag in ids[target_path], (path, href)


def test_summary_passages_and_speakers(pages: dict[str, str], sample: ReportData) -> None:
    story = sample.stories[0]
    assert [s.exclusive for s in story.summary] == [False, False, True, True]
    assert story.summary[0].index == 0
    # the quotation reused by sawt-04: the agency is the origin, decided by date
    p = next(p for p in story.passages if p.copy.doc == "sawt-04")
    assert p.origin.doc == "waha/2025/03/10/train" and p.directed and p.rule == "date"
    # no verdict: shown undirected, earlier side first
    undirected = next(p for p in story.passages if not p.directed)
    assert undirected.origin.doc == "waha/2025/03/10/train" and undirected.copy.doc == HOSTILE_ID
    assert story.boilerplate_passages == 1
    html = _train_page(pages, sample)
    assert html.count('class="pair"') == 2
    assert 'class="chg"' in html  # the edited words of the reused quotation
    text = "".join(_parse(html).text)
    assert "نبيل السراج" in text and "انفراد" in text
    # a speaker named by a person mention is grouped under that name; a phrase that
    # merely contains an organization keeps its own wording
    speakers = [q.canonical for a in story.articles for q in a.attributions]
    assert speakers.count("نبيل السراج") == 2
    assert "مصادر في الدفاع المدني" in speakers
    assert "فارس عبد الجليل" in speakers


def test_articles_in_time_order_undated_last() -> None:
    docs = {
        "late": (Document(id="late", text="ب", date=datetime(2025, 1, 2, tzinfo=UTC)), None),
        "none": (Document(id="none", text="ج"), None),
        "early": (Document(id="early", text="أ", date=datetime(2025, 1, 1, tzinfo=UTC)), None),
    }
    story = SimpleNamespace(story="s", title="", first_seen=None, last_seen=None,
                            members=["none", "late", "early", "absent"], sources=[],
                            confidence=[0.5, 0.6, 0.7, 0.8])
    page = assemble_story(story, docs)
    assert [a.id for a in page.articles] == ["early", "late", "none"]
    assert [a.confidence for a in page.articles] == [0.7, 0.6, 0.5]
    assert page.first_seen == datetime(2025, 1, 1, tzinfo=UTC)
    assert page.title == "أ"


# -- determinism and files -----------------------------------------------------------------------


def test_same_data_same_bytes(tmp_path: Path) -> None:
    write_report(sample_report(), tmp_path / "one")
    write_report(sample_report(), tmp_path / "two")
    files_one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*"))
    files_two = sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*"))
    # index, stories/, three pages, the manifest
    assert files_one == files_two and len(files_one) == 6
    for rel in files_one:
        if (tmp_path / "one" / rel).is_file():
            assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes()


def test_record_order_does_not_change_output() -> None:
    from khabar.report import sample as mod

    calls: list[dict] = []
    real = mod.assemble_story

    def reversed_inputs(story, documents, **kw):  # type: ignore[no-untyped-def]
        calls.append(kw)
        # the summary keeps its order: the explanation stage chose it
        kw = {k: v if k in ("doc_story", "summary") else list(reversed(list(v)))
              for k, v in kw.items()}
        return real(story, documents, **kw)

    forward = render_report(sample_report())
    mod.assemble_story = reversed_inputs  # type: ignore[assignment]
    try:
        backward = render_report(sample_report())
    finally:
        mod.assemble_story = real  # type: ignore[assignment]
    assert calls and forward == backward


def test_story_filenames_are_safe_and_distinct() -> None:
    ids = ["قصة/1", "قصة/2", "../../etc/passwd", "a b/c", "A B/C", "x" * 500, "\x00", "",
           "con", "nul.txt", "Tal-Rayhan", "tal rayhan", "🙂", "ghadir-flood"]
    names = [story_filename(i) for i in ids]
    assert len(set(names)) == len(ids)
    for name in names:
        assert re.fullmatch(r"[a-z0-9-]{3,60}\.html", name), name
        assert not name.startswith(("con.", "nul."))
    assert story_filename("ghadir-flood").startswith("ghadir-flood-")


def test_only_pages_an_earlier_report_wrote_are_removed(tmp_path: Path) -> None:
    (tmp_path / "stories").mkdir()
    (tmp_path / "stories" / "mine-0123456789.html").write_text("written by hand")
    (tmp_path / "khabar.db").write_text("keep me")
    (tmp_path / "stories" / "notes.txt").write_text("keep me too")
    index = write_report(sample_report(), tmp_path)
    assert index == tmp_path / "index.html"
    # not in any manifest: a page khabar did not write stays
    assert (tmp_path / "stories" / "mine-0123456789.html").read_text() == "written by hand"
    assert (tmp_path / "khabar.db").read_text() == "keep me"
    assert (tmp_path / "stories" / "notes.txt").exists()
    assert len(list((tmp_path / "stories").glob("*.html"))) == 4
    assert not list(tmp_path.rglob("*.tmp"))

    # a later report without one of the stories removes that page, and says so
    smaller = sample_report()
    gone = smaller.stories.pop()
    said: list[str] = []
    write_report(smaller, tmp_path, echo=said.append)
    assert not (tmp_path / "stories" / story_filename(gone.story)).exists()
    assert (tmp_path / "stories" / "mine-0123456789.html").exists()
    assert len(said) == 1 and "removed 1 story page " in said[0]

    # a manifest edited to name files outside the report (or not pages) removes nothing
    victim = tmp_path / "victim.html"
    victim.write_text("keep")
    (tmp_path / ".khabar-report.json").write_text(json.dumps({"files": [
        "../victim.html", "stories/../../victim.html", "khabar.db", "stories/notes.txt",
        "/etc/passwd"]}))
    write_report(smaller, tmp_path)
    assert victim.exists() and (tmp_path / "khabar.db").exists()
    assert (tmp_path / "stories" / "notes.txt").exists()


def test_empty_report(tmp_path: Path) -> None:
    index = write_report(ReportData(stories=[]), tmp_path)
    assert "لا قصص" in index.read_text("utf-8")


# -- from a database, and the command ------------------------------------------------------------


DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo"


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    from khabar.ingest import ingest
    from khabar.store import Store

    path = tmp_path / "khabar.db"
    with Store(path) as store:
        ingest([DEMO], store)
    return path


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from khabar.cli import main

    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_without_stories_says_what_to_run(demo_db: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run_cli(["report", "--db", str(demo_db), "--out",
                               str(tmp_path / "r")], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "khabar stories --db" in lines[0] and "khabar run" in lines[0]
    assert not (tmp_path / "r" / "index.html").exists()

    code, _, err = _run_cli(["report", "--db", str(tmp_path / "missing.db"), "--out",
                               str(tmp_path / "r")], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "khabar run" in err


def test_cli_report_shows_the_stored_stories(demo_db: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Stories as `khabar stories --db` stored them, read back by `khabar report`, with
    the explanations and the reused passages made from the stored articles."""
    from khabar.reuse import reuse_store
    from khabar.store import Store
    from khabar.stories import StoryParams, cluster_stories

    with Store(demo_db) as store:
        passages = reuse_store(store)
        # a stricter threshold than the default: the report must show these stories, not
        # stories it would make again with its own defaults
        result = cluster_stories(store, StoryParams(threshold=0.8))
    out_dir = tmp_path / "report"
    code, out, err = _run_cli(["report", "--db", str(demo_db), "--out", str(out_dir)], capsys)
    assert code == 0, err
    assert out.strip() == str(out_dir / "index.html")
    index = (out_dir / "index.html").read_text("utf-8")
    assert "<h1>خبر — تقرير القصص</h1>" in index
    assert index.count("<tr data-title") == len(result.stories)
    pages = {p.name: p.read_text("utf-8") for p in (out_dir / "stories").glob("*.html")}
    assert len(pages) == len(result.stories)
    for story in result.stories:
        page = pages[story_filename(str(story.story))]
        folded = sum(int(n) for n in re.findall(
            r'<div class="copies" dir="rtl"><p><b>(\d+)</b>', page))
        # every member shown: as an article, or folded under the article it is a copy of
        assert page.count('<article class="doc"') + folded == len(story.members)
        assert all(f'id="{article_anchor(m)}"' in page for m in story.members)
    biggest = max(result.stories, key=lambda s: (len(s.members), -s.story))
    page = pages[story_filename(str(biggest.story))]
    assert 'class="new"' in page and 'id="summary"' in page and 'id="sources"' in page
    # titles come from metadata, else the repair's probable title, never empty
    assert "<h3" in page and "<h3></h3>" not in page
    # reused passages inside a story are shown side by side on its page
    members = {m: str(s.story) for s in result.stories for m in s.members}
    inside = [p for p in passages if not p.boilerplate and members.get(p.a) == members.get(p.b)]
    assert inside, "the demo's wire copies give passages within stories"
    for p in inside:
        assert 'class="pair"' in pages[story_filename(members[p.a])]
    # the same database, reported again: the same bytes
    code, _, err = _run_cli(["report", "--db", str(demo_db), "--out", str(tmp_path / "again"),
                             "-q"], capsys)
    assert code == 0, err
    for name in ("index.html", *[f"stories/{n}" for n in pages]):
        assert ((out_dir / name).read_bytes() == (tmp_path / "again" / name).read_bytes()), name
