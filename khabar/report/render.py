"""The static HTML writer: `ReportData` in, a folder of self-contained pages out.

Safety rules, applied everywhere:

* every string that comes from the data goes through `esc` (``html.escape``
  with ``quote=True``) before it reaches the page, in text and in attribute
  values alike, and attributes are always double-quoted;
* a URL becomes a link only when it is ``http``/``https`` (`safe_url`);
  anything else (``javascript:``, ``data:``…) is shown as text;
* as a second line of defence each page carries a Content-Security-Policy that
  allows only the page's own inline style and script (by hash) and no network
  at all, so even a bug in escaping could not run a script or fetch anything.

Pages are RTL Arabic (``<html lang="ar" dir="rtl">``); each article block
takes the direction of its own text, and names, ids, outlets and URLs are
isolated in ``<bdi>`` so that Latin and Arabic mixed on one line keep their
order. Output depends only on the data: no clock, no randomness, sorted
iteration, so the same data gives byte-identical files.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import html
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from khabar.errors import KhabarError
from khabar.io.paths import check_unique, encoded_stem, short_hash, slug  # noqa: F401
from khabar.repair import line_key
from khabar.report.model import (
    ArticleView,
    CopyView,
    PassageSide,
    PassageView,
    QuoteMark,
    ReportData,
    SentenceMark,
    StoryPage,
    text_direction,
)
from khabar.report.spans import line_breaks, paragraphs, segment
from khabar.text.sentences import split_sentences

STORIES_DIR = "stories"

# -- escaping and names ---------------------------------------------------------------------------

# Characters that never reach a page as they are. Controls C0 (but tab and newline), DEL
# and C1 are not text, and NUL is a parse error; the bidi embeddings, overrides and
# isolates (U+202A-U+202E, U+2066-U+2069) and the directional marks (LRM, RLM, ALM) can
# reorder what a reader sees ("25" shown as "52" inside an override, or with an RLM
# between the digits): in a fact-checking tool that is a spoofing vector. Surrogates are
# not UTF-8.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI = {"\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO",
         "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI"}
# The marks are frequent and harmless in ordinary Arabic web text (around numbers and
# punctuation): dropped without a trace. What they could do is done by isolation instead.
_MARKS = frozenset("\u061c\u200e\u200f")


def _whole(text: str) -> str:
    """A proper surrogate pair (text decoded with ``surrogatepass``) becomes its character,
    a lone half becomes U+FFFD: neither can be written as UTF-8."""
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _visible(ch: str) -> str:
    """The mark shown in place of a control character (markup without quotes, so that it
    stays harmless even if it ever landed in an attribute value)."""
    cp = ord(ch)
    if ch in _BIDI:
        shown = _BIDI[ch]
    elif cp < 0x20:
        shown = chr(0x2400 + cp)  # the Control Pictures block: ␀ ␁ …
    elif cp == 0x7F:
        shown = "\u2421"
    else:
        shown = f"U+{cp:04X}"
    return f"<bdi class=ctl title=U+{cp:04X}>{shown}</bdi>"


def esc(value: object) -> str:
    """Text for element content, escaped for HTML, controls made visible.

    Bidi embeddings, overrides and isolates and the C0/C1 controls (but tab and
    newline) become small visible marks (``RLO``, ``␀``), the directional marks
    LRM, RLM and ALM are dropped, CR becomes a newline. Every character is
    replaced where it stands, so offsets into the original text (which the
    segments of an article are cut by) keep pointing at the same characters.
    For attribute values and text-only elements use `attr`.
    """
    text = str(value)
    if not _UNSAFE.search(text):
        return html.escape(text, quote=True)
    text = _whole(text)
    out: list[str] = []
    last = 0
    for m in _UNSAFE.finditer(text):
        out.append(html.escape(text[last : m.start()], quote=True))
        ch = m.group()
        if ch == "\r":
            out.append("\n")
        elif ch not in _MARKS:
            out.append(_visible(ch))
        last = m.end()
    out.append(html.escape(text[last:], quote=True))
    return "".join(out)


def _plain(match: re.Match[str]) -> str:
    ch = match.group()
    cp = ord(ch)
    if ch == "\r":
        return " "
    if cp < 0x20:
        return chr(0x2400 + cp)
    if cp == 0x7F:
        return "\u2421"
    if 0x80 <= cp <= 0x9F:
        return "\ufffd"
    return ""  # bidi controls and marks: a tooltip or a page title needs none


def attr(value: object) -> str:
    """An attribute value (always written double-quoted) or the text of ``<title>``.

    Quotes escaped; C0 controls shown as their control pictures, C1 as U+FFFD,
    bidi controls and marks dropped (no markup can go here).
    """
    return html.escape(_UNSAFE.sub(_plain, _whole(str(value))), quote=True)


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL without control characters, else None."""
    if not url:
        return None
    url = url.strip()
    # a bidi control or mark in a URL makes the link read other than where it goes
    if any(ord(ch) < 0x21 or ch == "\x7f" for ch in url) or _UNSAFE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def story_filename(story_id: str) -> str:
    """A file name safe on every file system for any story id: slug plus a short hash.

    Always encoded (`khabar.io.paths.encoded_stem`), never the id as it is:
    pages link to each other by this name, so it must depend on the id alone.
    The hash keeps names unique (ids differing only in Arabic letters, case or
    punctuation slug alike); the slug keeps them readable when ids are Latin.
    """
    return encoded_stem(story_id, "story") + ".html"


def article_anchor(doc_id: str) -> str:
    return f"a-{short_hash(doc_id)}"


def sentence_anchor(doc_id: str, index: int) -> str:
    return f"{article_anchor(doc_id)}-s{index}"


# -- small formatting helpers ---------------------------------------------------------------------


def _bdi(value: object, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<bdi{attr}>{esc(value)}</bdi>"


INDEX_OUTLETS = 12
"""Outlets named in a story's row of the index; the rest are counted."""
STORY_OUTLETS = 60
"""Outlets named at the top of a story page; the rest are counted (a wire story carried by
thousands of sites would otherwise make the page one long list of names)."""


def _outlet_chips(outlets: Sequence[str], limit: int) -> str:
    chips = "".join(f'<li class="chip">{_bdi(o)}</li>' for o in outlets[:limit])
    if len(outlets) > limit:
        chips += f'<li class="chip muted">و{len(outlets) - limit} مصدراً آخر</li>'
    return chips


def _time(dt: datetime | None, *, with_time: bool = True) -> str:
    if dt is None:
        return '<span class="muted">بلا تاريخ</span>'
    shown = dt.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    stamp = dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'<time datetime="{attr(stamp)}" dir="ltr">{esc(shown)}</time>'


def _num(x: float) -> str:
    return f"{x:.2f}"


def _dir_attr(text: str) -> str:
    return f' dir="{text_direction(text)}"'


_EVIDENCE = {"reuse": "نقل حرفي", "paraphrase": "إعادة صياغة"}
_KIND_LABEL = {"quote": "اقتباس", "report": "نقل", "credit": "نسبة إلى وكالة"}
_MENTION_KINDS = (("person", "أشخاص"), ("organization", "هيئات ومؤسسات"),
                  ("place", "أماكن"), ("agency", "وكالات"))
_RULES = {  # the direction rules of khabar.reuse.direction
    "date": "الأقدم تاريخاً هو المصدر",
    "wire-outlet": "وكالة الأنباء هي المصدر",
    "wire": "كلاهما ينقل عن وكالة",
    "containment": "المقالة الناقلة مقتطفة من المصدر",
    "phrasing": "عبارات المصدر أشيع وعبارات الناقل معدّلة",
    "undecided": "الاتجاه غير محسوم",
}
_KINDS = {  # the passage kinds of khabar.reuse.kinds that are not copying
    "template": "قالب متكرر بمعطيات مختلفة، لا نقل",
    "formula": "صيغة شائعة لدى منافذ كثيرة، لا نقل",
}
_REPAIRS = {
    "dot_comma": "فقرات مفصولة بفاصلة",
    "whitespace": "مسافات زائدة",
    "boilerplate": "نص متكرر لدى المصدر",
    "glued_headline": "عنوان ملتصق بالنص",
    "suspected_glued_headline": "عنوان ملتصق محتمل",
    "headline": "عنوان في أول النص",
    "truncated_lead": "بداية مبتورة",
}


def _label(table: dict[str, str], key: str | None) -> str:
    if not key:
        return ""
    return esc(table[key]) if key in table else _bdi(key)


# -- charts ---------------------------------------------------------------------------------------


def _histogram(dates: Sequence[datetime], lo: datetime, hi: datetime, bins: int) -> list[int]:
    counts = [0] * bins
    span = (hi - lo).total_seconds()
    for d in dates:
        k = 0 if span <= 0 else int((d - lo).total_seconds() / span * bins)
        counts[min(max(k, 0), bins - 1)] += 1
    return counts


def sparkline(dates: Sequence[datetime], lo: datetime | None, hi: datetime | None,
              *, bins: int = 24, width: int = 120, height: int = 26, label: str = "") -> str:
    """An inline SVG bar chart of articles over ``[lo, hi]`` (no script, no style)."""
    if not dates or lo is None or hi is None:
        return '<span class="muted">—</span>'
    counts = _histogram(dates, lo, hi, bins)
    top = max(counts)
    step = width / bins
    bars = []
    for k, c in enumerate(counts):
        if not c:
            continue
        h = max(2.0, (height - 2) * c / top)
        # bar k sits at the reading start: the right edge in RTL, so time runs right to left
        x = width - (k + 1) * step
        bars.append(f'<rect x="{x + 0.5:.1f}" y="{height - h:.1f}" width="{step - 1:.1f}" '
                    f'height="{h:.1f}"/>')
    title = f"<title>{attr(label)}</title>" if label else ""
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
            f' role="img" aria-label="{attr(label)}">{title}'
            f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}"/>'
            f'{"".join(bars)}</svg>')


def _split_bar(new: int, repeated: int, width: int = 64, height: int = 8) -> str:
    total = new + repeated
    if not total:
        return ""
    w_new = round(width * new / total, 1)
    # new first at the reading start (right)
    return (f'<svg class="split" width="{width}" height="{height}" aria-hidden="true">'
            f'<rect class="r" x="0" y="0" width="{width}" height="{height}" rx="2"/>'
            f'<rect class="n" x="{width - w_new:.1f}" y="0" width="{w_new:.1f}" '
            f'height="{height}" rx="2"/></svg>')


# -- page frame -----------------------------------------------------------------------------------


@cache
def _asset(name: str) -> str:
    return resources.files("khabar.report").joinpath("assets", name).read_text("utf-8")


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def csp(script: bool, live: bool = False, forms: bool = False) -> str:
    """The Content-Security-Policy of a page: its own inline style and script (by hash) and
    nothing else; a live page of the service also loads the service's script and asks the
    service what changed (``'self'``), and its search form submits there."""
    js = _asset("report.js") if script else ""
    scripts = " ".join(x for x in (_csp_hash(js) if js else "", "'self'" if live else "") if x)
    return (f"default-src 'none'; style-src {_csp_hash(_asset('report.css'))}; "
            f"script-src {scripts or chr(39) + 'none' + chr(39)}; "
            f"img-src data:; base-uri 'none'; "
            f"form-action {chr(39) + ('self' if forms else 'none') + chr(39)}"
            + ("; connect-src 'self'" if live else ""))


def frame(title: str, *, home: str, crumb: str = "", script: bool = False,
          generated: str | None = None, live: dict[str, str] | None = None,
          forms: bool = False) -> dict[str, Any]:
    """What the page frame (``templates/page.html``) needs, for the report's pages and the
    service's alike. `live`: ``{"url", "version", "script"}`` of a page that updates itself."""
    from khabar.report.templating import Markup

    foot = "أُنشئ بواسطة khabar · الأوقات بالتوقيت العالمي (UTC)"
    if generated:
        foot += f" · {esc(generated)}"
    return {"title": title, "home": home, "crumb": Markup(crumb), "foot": Markup(foot),
            "csp": Markup(csp(script, bool(live), forms)), "css": Markup(_asset("report.css")),
            "js": Markup(_asset("report.js")) if script else "", "live": live}


class _Helpers:
    """The report's formatting helpers as templates call them (each returns markup)."""

    @staticmethod
    def _m(html: str) -> Any:
        from khabar.report.templating import Markup

        return Markup(html)

    def time(self, dt: datetime | None, with_time: bool = True) -> Any:
        return self._m(_time(dt, with_time=with_time))

    def bdi(self, value: object, cls: str = "") -> Any:
        return self._m(_bdi(value, cls))

    def dir_attr(self, text: str) -> Any:
        return self._m(_dir_attr(text))

    def sparkline(self, dates: Sequence[datetime], lo: datetime | None, hi: datetime | None,
                  **kw: Any) -> Any:
        return self._m(sparkline(dates, lo, hi, **kw))

    def outlet_chips(self, outlets: Sequence[str], limit: int) -> Any:
        return self._m(_outlet_chips(outlets, limit))

    def link(self, href: str | None, inner: object) -> Any:
        inner_html = inner.__html__() if hasattr(inner, "__html__") else esc(inner)
        return self._m(_link(href, inner_html))

    story_filename = staticmethod(lambda sid: story_filename(str(sid)))
    article_anchor = staticmethod(lambda doc: article_anchor(doc))


HELPERS = _Helpers()


def _template(name: str, title: str, *, home: str, crumb: str = "", script: bool = False,
              generated: str | None = None, live: dict[str, str] | None = None,
              **context: Any) -> str:
    from khabar.report.templating import render

    return render(name, h=HELPERS, stories_dir=STORIES_DIR,
                  **frame(title, home=home, crumb=crumb, script=script, generated=generated,
                          live=live), **context)


# -- index ----------------------------------------------------------------------------------------


def render_index(data: ReportData) -> str:
    """The report's index page (``templates/index.html``)."""
    from khabar.report.templating import Markup

    all_dates = [d for s in data.stories for d in s.dates]
    lo, hi = (min(all_dates), max(all_dates)) if all_dates else (None, None)
    articles = sum(s.size for s in data.stories)
    outlets = sorted({o for s in data.stories for o in s.outlets})
    lede = [Markup(f"<b>{len(data.stories)}</b> قصة"), Markup(f"<b>{articles}</b> مقالة"),
            Markup(f"<b>{len(outlets)}</b> مصدراً")]
    if data.documents is not None:
        lede.append(Markup(f"من <b>{data.documents}</b> وثيقة في المجموعة"))
    if lo is not None and hi is not None:
        lede.append(Markup(f"من {_time(lo, with_time=False)} إلى {_time(hi, with_time=False)}"))
    if data.speakers:
        lede.append(Markup('<a href="speakers.html">من قال ماذا</a>'))
    rows: list[dict[str, Any]] = []
    threads = {st.story: t for t in data.threads for st in t.stories if st.in_report}
    pages = {s.story: s for s in data.stories}
    shown: set[str] = set()
    for s in data.stories:
        thread = threads.get(s.story)
        if thread is not None:  # the stories of a thread are one row, at its largest's place
            if thread.thread not in shown:
                shown.add(thread.thread)
                members = [pages[st.story] for st in thread.stories if st.story in pages]
                rows.append({"thread": thread, "first": _stamp(thread.first_seen),
                             "last": _stamp(thread.last_seen),
                             "dates": [d for p in members for d in p.dates],
                             "outlets": sorted({o for p in members for o in p.outlets})})
            continue
        rows.append({"story": s, "first": _stamp(s.first_seen), "last": _stamp(s.last_seen)})
    return _template("index.html", data.title, home="index.html", script=bool(rows),
                     generated=data.generated, rows=rows, lede=lede, lo=lo, hi=hi,
                     index_outlets=INDEX_OUTLETS)


def _stamp(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else ""


def _thread_section(story: StoryPage) -> str:
    """The thread's timeline around this story, and why each link was made."""
    thread = story.thread
    assert thread is not None
    here = next((k for k, st in enumerate(thread.stories) if st.story == story.story), 0)
    titles = {st.story: st.title for st in thread.stories}
    items = []
    for k, st in enumerate(thread.stories):
        if k == here:
            where, cls = "هذه القصة", ' class="here"'
        else:
            where, cls = ("سابقاً في هذا الخيط" if k < here else "لاحقاً في هذا الخيط"), ""
        title = f"<span{_dir_attr(st.title)}>{esc(st.title)}</span>"
        if st.in_report and k != here:
            title = (f'<a href="{esc(story_filename(st.story))}"{_dir_attr(st.title)}>'
                     f"{esc(st.title)}</a>")
        items.append(f'<li{cls}><span class="badge">{where}</span> '
                     f'<span class="when">{_time(st.first_seen)}</span> {title} '
                     f'<span class="muted small">({st.size} مقالة)</span></li>\n')
    why = []
    for link in thread.links:
        if story.story not in (link.a, link.b):
            continue
        other = link.b if link.a == story.story else link.a
        reasons = []
        if link.words:
            reasons.append("كلمات مشتركة: " + "، ".join(_bdi(w) for w in link.words))
        if link.reused >= 0.05:
            reasons.append(f"نص منقول: {round(100 * link.reused)}% من نص الأقصر")
        if link.figures_before or link.figures_after:
            before = "، ".join(_bdi(x) for x in link.figures_before) or "—"
            after = "، ".join(_bdi(x) for x in link.figures_after) or "—"
            reasons.append(f"أرقام تغيّرت: في الأسبق {before} · في اللاحق {after}")
        if link.gap_days is not None:
            reasons.append(f"الفاصل: {link.gap_days:g} يوم")
        if link.closest:
            reasons.append("كلٌّ منهما أقرب قصة إلى الأخرى")
        why.append(f'<li><b{_dir_attr(titles.get(other, other))}>'
                   f"{esc(titles.get(other, other))}</b> "
                   f'<span class="muted small">(احتمال {_num(link.score)})</span>'
                   f'<div class="who">{" · ".join(reasons)}</div></li>\n')
    out = f'<ol class="thread-timeline">\n{"".join(items)}</ol>\n'
    if why:
        out += f'<h3>لماذا في خيط واحد</h3>\n<ul class="thread-why">\n{"".join(why)}</ul>\n'
    return out


# -- story page -----------------------------------------------------------------------------------


def doc_stories(data: ReportData) -> dict[str, str]:
    """Document id -> the story page showing it (the first, should one be in two)."""
    out: dict[str, str] = {}
    for s in data.stories:
        for a in s.articles:
            out.setdefault(a.id, s.story)
            for c in a.copies:
                out.setdefault(c.id, s.story)
    return out


def folded(data: ReportData) -> dict[str, str]:
    """Id of a folded copy -> id of the article shown in its place."""
    return {c.id: a.id for s in data.stories for a in s.articles for c in a.copies}


class _Links:
    """Where each article and sentence of the report lives, as hrefs from a story page."""

    def __init__(self, doc_story: dict[str, str], here: str,
                 shown_as: dict[str, str] | None = None) -> None:
        self.here = here
        self.doc_story = doc_story
        self.shown_as = shown_as or {}

    def _page_of(self, doc: str, story: str | None = None) -> str | None:
        story = story or self.doc_story.get(doc)
        if story is None:
            return None
        return "" if story == self.here else story_filename(story)

    def article(self, doc: str, story: str | None = None) -> str | None:
        page = self._page_of(doc, story)
        # a folded copy lives in the block of the article shown in its place
        shown = self.shown_as.get(doc, doc)
        return None if page is None else f"{page}#{article_anchor(shown)}"

    def sentence(self, doc: str, index: int | None) -> str | None:
        if index is None or doc in self.shown_as:
            return self.article(doc)
        page = self._page_of(doc)
        return None if page is None else f"{page}#{sentence_anchor(doc, index)}"


def _link(href: str | None, inner: str, cls: str = "", title: str = "") -> str:
    if href is None:
        return inner
    extra = (f' class="{cls}"' if cls else "") + (f' title="{attr(title)}"' if title else "")
    return f'<a href="{attr(href)}"{extra}>{inner}</a>'


def render_story(data: ReportData, story: StoryPage,
                 doc_story: dict[str, str] | None = None,
                 shown_as: dict[str, str] | None = None) -> str:
    """One story's page; pass `doc_story` (from `doc_stories`) and `shown_as` (from
    `folded`) when rendering many."""
    return _render_story(story, doc_story if doc_story is not None else doc_stories(data),
                         data.generated, shown_as if shown_as is not None else folded(data))


def _render_story(story: StoryPage, doc_story: dict[str, str], generated: str | None,
                  shown_as: dict[str, str] | None = None,
                  live: dict[str, str] | None = None) -> str:
    links = _Links(doc_story, story.story, shown_as)
    by_id: dict[str, ArticleView | CopyView] = {a.id: a for a in story.articles}
    for a in story.articles:
        for c in a.copies:
            by_id.setdefault(c.id, c)
    sections: list[tuple[str, str, str]] = []  # (anchor, heading, html)

    if story.summary:
        sections.append(("summary", "الملخص", _summary(story, by_id, links)))
    if story.thread is not None:
        sections.append(("thread", "الخيط: تطوّر الحدث عبر الأيام", _thread_section(story)))
    sections.append(("timeline", "التسلسل الزمني: من نشر أولاً", _timeline(story)))
    sections.append(("articles", "المقالات: الجديد والمكرر", _articles(story, by_id, links)))
    if story.passages or story.boilerplate_passages or story.shared:
        sections.append(("reuse", "المقاطع المنقولة", _passages(story, links)
                         + _shared_passages(story, links)))
    speakers = _speakers(story, links)
    if speakers:
        sections.append(("sources", "من قال ماذا", speakers))
    names = _mentions(story)
    if names:
        sections.append(("names", "الأسماء الواردة", names))

    first = story.articles[0] if story.articles else None
    lede = [f"<b>{story.size}</b> مقالة", f"<b>{len(story.outlets)}</b> مصدراً"]
    if story.first_seen or story.last_seen:
        lede.append(f"من {_time(story.first_seen)} إلى {_time(story.last_seen)}")
    if first is not None and first.source and first.date is not None:
        lede.append(f"أول من نشر: {_bdi(first.source)}")
    chips = _outlet_chips(story.outlets, STORY_OUTLETS)
    dates = story.dates
    hist = ""
    if len(dates) > 1:
        lo, hi = min(dates), max(dates)
        chart = sparkline(dates, lo, hi, bins=32, width=480, height=48,
                          label="المقالات عبر الزمن")
        hist = (f'<div class="hist">{chart}'
                f'<div class="axis">{_time(lo)}{_time(hi)}</div></div>\n')
    from khabar.report.templating import Markup

    crumb = f'<span class="crumb"><bdi>{esc(story.title[:80])}</bdi></span>'
    return _template("story.html", story.title, home="../index.html", crumb=crumb,
                     generated=generated, live=live, story=story,
                     lede=[Markup(x) for x in lede], chips=Markup(chips), hist=Markup(hist),
                     sections=[{"anchor": a, "heading": h, "html": Markup(inner)}
                               for a, h, inner in sections])


def _summary(story: StoryPage, by_id: dict[str, ArticleView | CopyView], links: _Links) -> str:
    items = []
    for item in story.summary:
        art = by_id.get(item.doc)
        outlet = art.source if art and art.source else item.doc
        href = links.sentence(item.doc, item.index)
        who = [f"المصدر: {_link(href, _bdi(outlet))}"]
        # one entry per other outlet (its first carrying article), not per article:
        # an outlet that ran the wire copy twice still reports the fact once
        others: dict[str, str] = {}
        for carrier in item.carriers:
            other = by_id.get(carrier)
            name = other.source if other and other.source else carrier
            if carrier != item.doc and name != outlet and name not in others:
                others[name] = _link(links.article(carrier), _bdi(name))
        if others:
            who.append("ويرد أيضاً في: " + "، ".join(others.values()))
        elif item.outlets and len(item.outlets) > 1:
            who.append("المصادر: " + "، ".join(_bdi(o) for o in item.outlets))
        badge = ('<span class="badge excl" title="لم يرد هذا إلا عند مصدر واحد">انفراد</span>'
                 if item.exclusive else "")
        items.append(f'<li><p class="sent"{_dir_attr(item.text)}>{esc(item.text)}{badge}</p>'
                     f'<div class="who">{" · ".join(who)}</div></li>\n')
    return f'<ol class="summary">\n{"".join(items)}</ol>\n'


def _timeline(story: StoryPage) -> str:
    items = []
    for k, art in enumerate(story.articles):
        first = k == 0 and art.date is not None
        cls = ' class="first"' if first else ""
        badge = '<span class="badge first">الأسبق</span>' if first else ""
        adds = ""
        if art.sentences:
            adds = (f'<span class="adds">{art.new_count} جديدة · {art.repeated_count} مكررة'
                    f'{_split_bar(art.new_count, art.repeated_count)}</span>')
        outlet = _bdi(art.source) if art.source else '<span class="muted">مصدر غير معروف</span>'
        copies = (f'<span class="badge copies" title="نسخ مطابقة لهذه المقالة">+{len(art.copies)}'
                  "</span>" if art.copies else "")
        items.append(
            f'<li{cls}><span class="when">{_time(art.date)}</span>'
            f'<span class="outlet">{outlet}</span>'
            f'<a href="#{article_anchor(art.id)}"{_dir_attr(art.display_title)}>'
            f"{esc(art.display_title)}</a>{badge}{copies}{adds}</li>\n"
        )
    return f'<ol class="timeline">\n{"".join(items)}</ol>\n'


def _articles(story: StoryPage, by_id: dict[str, ArticleView | CopyView], links: _Links) -> str:
    legend = ('<div class="legend"><span><span class="new">جملة جديدة</span> لم ترد في مقالة '
              'سابقة</span><span><span class="rep">جملة مكررة</span> وردت قبلاً (الرابط إلى أول '
              'ظهور)</span><span><span class="q">اقتباس مباشر</span></span></div>\n')
    return legend + "".join(_article(art, k == 0, by_id, links)
                            for k, art in enumerate(story.articles))


def _article(art: ArticleView, first: bool, by_id: dict[str, ArticleView | CopyView],
             links: _Links) -> str:
    direction = art.direction
    lang = "" if direction == "rtl" else ' lang="und"'
    meta = [f'<span class="outlet">{_bdi(art.source)}</span>' if art.source else "",
            _time(art.date)]
    url = safe_url(art.url)
    if url:
        meta.append(f'<a href="{attr(url)}" rel="noopener noreferrer nofollow" '
                    f'dir="ltr"><bdi>{esc(_short_url(url))}</bdi></a>')
    elif art.url:
        meta.append(f'<bdi class="id">{esc(art.url)}</bdi>')
    meta.append(f'<span class="small">المعرّف: <bdi class="id">{esc(art.id)}</bdi></span>')
    if art.confidence is not None:
        meta.append(f'<span class="small" title="درجة انتماء المقالة إلى القصة">الانتماء '
                    f'{_num(art.confidence)}</span>')
    if art.sentences:
        meta.append(f'<span class="small">{art.new_count} جديدة · {art.repeated_count} مكررة'
                    "</span>")
    badge = '<span class="badge first">الأسبق</span>' if first and art.date else ""
    title_note = ""
    if not (art.title and art.title.strip()) and art.probable_title:
        title_note = ' <span class="muted small">(عنوان مستخرج من النص)</span>'
    repairs = _repairs(art)
    return (
        f'<article class="doc" id="{article_anchor(art.id)}" dir="{direction}"{lang}>\n'
        f"<header><h3{_dir_attr(art.display_title)}>{esc(art.display_title)}{badge}</h3>"
        f"{title_note}"
        f'<div class="meta" dir="rtl">{"".join(f"<span>{m}</span>" for m in meta if m)}</div>'
        f"</header>\n{_copies(art)}"
        f'<div class="body">\n{_article_body(art, by_id, links)}</div>\n{repairs}</article>\n'
    )


COPIES_LISTED = 100
"""Folded copies listed one by one under an article; the rest are counted."""
COPY_OUTLETS = 30
"""Outlets named in the line above the list; the rest are counted."""


def _copies(art: ArticleView) -> str:
    """The line "N identical copies: outlets…" and the list of the copies, folded away.

    The size of the page no longer follows the number of copies (2,000 outlets
    carrying one wire story add a line and a list of `COPIES_LISTED`, not 2,000
    texts); every copy is still in the data files.
    """
    if not art.copies:
        return ""
    n = len(art.copies)
    outlets = Counter(c.source or "" for c in art.copies)
    named = sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0]))
    chips = "".join(
        f'<li class="chip">{_bdi(o) if o else "مصدر غير معروف"}'
        + (f'<span class="n">{k}</span>' if k > 1 else "") + "</li>"
        for o, k in named[:COPY_OUTLETS])
    if len(named) > COPY_OUTLETS:
        chips += f'<li class="chip muted">و{len(named) - COPY_OUTLETS} مصدراً آخر</li>'
    rows = []
    for c in art.copies[:COPIES_LISTED]:
        parts = [_time(c.date), _bdi(c.source) if c.source else "مصدر غير معروف"]
        if c.title and c.title.strip() and c.title.strip() != art.display_title:
            parts.append(f"<span{_dir_attr(c.title)}>{esc(c.title.strip())}</span>")
        parts.append(f'<bdi class="id">{esc(c.id)}</bdi>')
        url = safe_url(c.url)
        if url:
            parts.append(f'<a href="{attr(url)}" rel="noopener noreferrer nofollow" dir="ltr">'
                         f"<bdi>{esc(_short_url(url))}</bdi></a>")
        # an anchor of its own: a page of another story links a copy by its id (which
        # article shows it is known on this page only)
        rows.append(f'<li id="{attr(article_anchor(c.id))}">{" · ".join(parts)}</li>')
    if n > COPIES_LISTED:
        rows.append(f'<li class="muted">و{n - COPIES_LISTED} نسخة أخرى</li>')
    return (f'<div class="copies" dir="rtl"><p><b>{n}</b> نسخة مطابقة لهذا النص '
            f'(تُعرض مرة واحدة)، في: </p><ul class="chips">{chips}</ul>'
            f'<details><summary class="small">النسخ</summary><ul>{"".join(rows)}</ul>'
            "</details></div>\n")


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    shown = parts.netloc + parts.path
    return shown if len(shown) <= 60 else shown[:57] + "…"


def _article_body(art: ArticleView, by_id: dict[str, ArticleView | CopyView], links: _Links) -> str:
    """The article's text, one ``<p>`` per line, each sentence in its own isolated run.

    Spans (sentences, quotations, speakers, credits) overlap freely; the text is
    cut into flat segments at every boundary (`segment`), and consecutive segments
    of one sentence are wrapped in one element carrying its status, anchor and
    tooltip. Sentences and quotations are bidi-isolated (``unicode-bidi:
    isolate`` in the style sheet), so nothing inside one can reorder the text
    around it. Articles without sentence marks (no explanation stage) are cut
    into sentences here, for the isolation alone.
    """
    text = art.text
    spans: list[tuple[int, int, object]] = []
    for m in art.sentences:
        spans.append((m.start, m.end, ("s", m.index)))
    if not art.sentences:
        spans.extend((s, e, ("u", k)) for k, (s, e) in enumerate(split_sentences(text)))
    for q in art.attributions:
        if q.kind == "credit":
            spans.append((q.start, q.end, "cr"))
            continue
        # only direct quotations are coloured: reported content is paraphrase and
        # colouring it would tint most of an agency story
        if q.kind == "quote" and q.quote_start is not None and q.quote_end is not None:
            spans.append((q.quote_start, q.quote_end, "q"))
        if q.speaker_start is not None and q.speaker_end is not None:
            spans.append((q.speaker_start, q.speaker_end, "spk"))
    segments = segment(text, spans, line_breaks(text))
    marks = {m.index: m for m in art.sentences}
    first_seg: dict[object, int] = {}
    last_seg: dict[object, int] = {}
    for k, seg in enumerate(segments):
        for label in seg.labels:
            if isinstance(label, tuple):
                first_seg.setdefault(label, k)
                last_seg[label] = k
    position = {id(seg): k for k, seg in enumerate(segments)}

    def run(label: object, first: int, last: int, inner: str) -> str:
        """One sentence's segments `first`..`last` of a line, wrapped."""
        if not isinstance(label, tuple):
            return inner
        if label[0] == "u":
            return f'<span class="s">{inner}</span>'
        mark = marks[label[1]]
        attrs = f' class="{"new" if mark.status == "new" else "rep"}"'
        if first_seg[label] == first:
            attrs += f' id="{sentence_anchor(art.id, mark.index)}"'
        pill = ""
        if mark.status == "repeated":
            attrs += f' title="{attr(_repeat_tip(mark, by_id))}"'
            if last_seg[label] == last:
                pill = _seen_pill(mark, by_id, links)
        return f"<span{attrs}>{inner}</span>{pill}"

    out = []
    for para in paragraphs(text, segments):
        parts: list[str] = []
        current: object = None
        inner: list[str] = []
        first = last = -1
        for seg in para:
            k = position[id(seg)]
            sentence = next((x for x in seg.labels if isinstance(x, tuple)), None)
            if sentence != current or not inner:
                if inner:
                    parts.append(run(current, first, last, "".join(inner)))
                current, inner, first = sentence, [], k
            last = k
            chunk = esc(text[seg.start : seg.end])
            classes = [str(x) for x in seg.labels if not isinstance(x, tuple)]
            if classes:
                chunk = f'<span class="{" ".join(dict.fromkeys(classes))}">{chunk}</span>'
            inner.append(chunk)
        if inner:
            parts.append(run(current, first, last, "".join(inner)))
        out.append(f"<p>{''.join(parts)}</p>\n")
    return "".join(out)


def _repeat_tip(mark: SentenceMark, by_id: dict[str, ArticleView | CopyView]) -> str:
    art = by_id.get(mark.first_doc) if mark.first_doc else None
    where = (art.source or art.id) if art else (mark.first_doc or "")
    parts = [f"ورد أولاً في {where}"] if where else ["مكرر"]
    if mark.evidence:
        parts.append(_EVIDENCE.get(mark.evidence, mark.evidence))
    if mark.similarity is not None:
        parts.append(f"تشابه {_num(mark.similarity)}")
    return " · ".join(parts)


def _seen_pill(mark: SentenceMark, by_id: dict[str, ArticleView | CopyView], links: _Links) -> str:
    if not mark.first_doc:
        return ""
    art = by_id.get(mark.first_doc)
    name = art.source if art and art.source else mark.first_doc
    href = links.sentence(mark.first_doc, mark.first_index)
    pill = f"↩ {_bdi(name)}"
    if href is None:
        return f'<span class="seen">{pill}</span>'
    return f'<a class="seen" href="{attr(href)}" title="أول ظهور">{pill}</a>'


def _repairs(art: ArticleView) -> str:
    if not art.repairs:
        return ""
    items = []
    for r in art.repairs:
        s, e = max(0, r.start), min(len(art.text), r.end)
        excerpt = art.text[s:e]
        if len(excerpt) > 120:
            excerpt = excerpt[:117] + "…"
        what = _label(_REPAIRS, r.kind)
        shown = f" <q{_dir_attr(excerpt)}>{esc(excerpt)}</q>" if excerpt.strip() else ""
        detail = f" — {_bdi(r.detail)}" if r.detail else ""
        items.append(f"<li>{what}{shown}{detail}</li>")
    return (f'<details class="repairs" dir="rtl"><summary>إصلاحات النص ({len(art.repairs)})'
            f'</summary><ul>{"".join(items)}</ul></details>\n')


# -- reused passages ------------------------------------------------------------------------------

_WORD = re.compile(r"\S+")


@lru_cache(maxsize=1 << 16)
def _fold(word: str) -> str:
    # compare words as the rest of khabar does (the text layer's normalization: no harakat
    # or tatweel, one alef, Arabic-Indic digits as ASCII) and without punctuation: those
    # edits are not what a reader wants flagged as a change
    return line_key(word).replace(" ", "")


def changed_words(a: str, b: str, limit: int = 4000) -> tuple[list[tuple[int, int]],
                                                                  list[tuple[int, int]]]:
    """Spans of the runs of words of `a` and `b` that the other side does not have (a word
    diff)."""
    wa = [(m.start(), m.end()) for m in _WORD.finditer(a)]
    wb = [(m.start(), m.end()) for m in _WORD.finditer(b)]
    if len(wa) > limit or len(wb) > limit:
        return [], []
    fa = [_fold(a[s:e]) for s, e in wa]
    fb = [_fold(b[s:e]) for s, e in wb]
    if fa == fb:
        return [], []  # a verbatim copy: nothing to mark, and difflib would say so slowly
    matcher = difflib.SequenceMatcher(None, fa, fb, autojunk=False)
    out_a: list[tuple[int, int]] = []
    out_b: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # one span per run of changed words (the spaces inside a run are marked with it):
        # far fewer spans to lay out than one per word
        if i2 > i1:
            out_a.append((wa[i1][0], wa[i2 - 1][1]))
        if j2 > j1:
            out_b.append((wb[j1][0], wb[j2 - 1][1]))
    return out_a, out_b


def _marked(text: str, spans: Iterable[tuple[int, int]]) -> str:
    parts = []
    for seg in segment(text, ((s, e, "chg") for s, e in spans)):
        chunk = esc(text[seg.start : seg.end])
        parts.append(f'<mark class="chg">{chunk}</mark>' if seg.labels else chunk)
    return "".join(parts)


def _passage_side(side: PassageSide, role: str, diff: list[tuple[int, int]],
                  links: _Links) -> str:
    outlet = _bdi(side.source) if side.source else _bdi(side.doc, "id")
    href = links.article(side.doc, side.story)
    title = (f'<br><span{_dir_attr(side.title)}>{esc(side.title)}</span>' if side.title else "")
    cls = "origin" if role == "origin" else "copy"
    role_label = {"origin": "المصدر المرجّح", "copy": "الناقل", "a": "الطرف الأول",
                  "b": "الطرف الثاني"}[role]
    return (
        f'<figure class="{cls}">\n<figcaption><span class="role">{role_label}</span>'
        f"{_link(href, outlet)} · {_time(side.date)}{title}</figcaption>\n"
        f"<blockquote{_dir_attr(side.text)}>{_marked(side.text, diff)}</blockquote>\n</figure>\n"
    )


def _pair(p: PassageView, links: _Links) -> str:
    diff_a, diff_b = changed_words(p.origin.text, p.copy.text)
    arrow = "←" if p.directed else "↔"
    rule = (_label(_KINDS, p.kind) if p.kind != "copy"
            else _label(_RULES, p.rule or (None if p.directed else "undecided")))
    how = f"<span>{rule}</span>" if rule else ""
    return (
        '<div class="pair">\n'
        + _passage_side(p.origin, "origin" if p.directed else "a", diff_a, links)
        + f'<div class="arrow"><b aria-hidden="true">{arrow}</b>'
          f"<span>تشابه {_num(p.score)}</span>{how}</div>\n"
        + _passage_side(p.copy, "copy" if p.directed else "b", diff_b, links)
        + "</div>\n"
    )


def _passages(story: StoryPage, links: _Links) -> str:
    out = []
    # reuse between this story's own articles first; passages shared with articles of
    # other stories (background paragraphs, an earlier day's story) fold away below
    inside = [p for p in story.passages
              if p.origin.story == story.story and p.copy.story == story.story]
    across = [p for p in story.passages if p not in inside]
    if story.passages:
        out.append('<p class="muted small">إلى اليمين المصدر المرجّح وإلى اليسار المقالة التي '
                   'نقلت عنه؛ <mark class="chg">المظلل</mark> كلمات غُيّرت عند النقل.</p>\n')
    if story.passages and not inside:
        out.append('<p class="muted">لا نقل بين مقالات هذه القصة نفسها.</p>\n')
    out.extend(_pair(p, links) for p in inside)
    if across:
        out.append(f'<details class="across"><summary>مقاطع مشتركة مع مقالات من قصص أخرى '
                   f"({len(across)})</summary>\n{''.join(_pair(p, links) for p in across)}"
                   "</details>\n")
    if story.boilerplate_passages:
        out.append(f'<p class="muted small">أُخفي {story.boilerplate_passages} مقطعاً من النصوص '
                   "المتكررة لدى المصدر نفسه (توقيعات، تنويهات).</p>\n")
    if story.copy_passages:
        out.append(f'<p class="muted small">أُخفي {story.copy_passages} مقطعاً بين نسخ مطابقة '
                   "للنص نفسه.</p>\n")
    return "".join(out)


def _shared_passages(story: StoryPage, links: _Links) -> str:
    """Templates and formulas, folded away: shared text, but nobody copied it."""
    if not story.shared:
        return ""
    return (f'<details class="across"><summary>نصوص مشتركة ليست نقلاً: قوالب وصيغ '
            f"({len(story.shared)})</summary>\n{''.join(_pair(p, links) for p in story.shared)}"
            "</details>\n")


# -- who says what --------------------------------------------------------------------------------


def _said(art: ArticleView, q: QuoteMark) -> str:
    """What was said: the quoted span of the original when offsets allow, else as given."""
    n = len(art.text)
    qs, qe = q.quote_start, q.quote_end
    if qs is not None and qe is not None and 0 <= qs < qe <= n:
        return art.text[qs:qe]
    if q.quote:
        return q.quote
    return art.text[max(0, q.start) : min(n, q.end)]


SPEAKER_ITEMS = 4
"""Statements shown per speaker before the rest fold away under "more"."""


def _speakers(story: StoryPage, links: _Links) -> str:
    # speaker -> statement (folded text) -> [(article, attribution)]: a wire quotation
    # carried by five outlets is one statement with five carriers, not five statements
    groups: dict[str, dict[str, list[tuple[ArticleView | CopyView, QuoteMark]]]] = (
        defaultdict(dict))
    credits: dict[str, list[ArticleView | CopyView]] = defaultdict(list)
    for art in story.articles:
        for q in art.attributions:
            name = (q.canonical or q.speaker or "").strip()
            if q.kind == "credit":
                credits[name or (q.cue or "").strip() or "?"].extend([art, *art.copies])
                continue
            key = " ".join(_fold(w) for w in _said(art, q).split())
            carriers = groups[name or "مصدر غير مسمّى"].setdefault(key, [])
            # a folded copy carries everything its shown twin carries
            carriers.append((art, q))
            carriers.extend((c, q) for c in art.copies)
    if not groups and not credits:
        return ""

    def weight(name: str) -> tuple[int, int, str]:
        said = groups[name]
        return (-len(said), -sum(len(v) for v in said.values()), name)

    cards = []
    for name in sorted(groups, key=weight):
        items = [_statement(carriers, links) for carriers in groups[name].values()]
        shown, rest = items[:SPEAKER_ITEMS], items[SPEAKER_ITEMS:]
        more = (f'<li><details><summary class="small">{len(rest)} أخرى</summary>'
                f'<ul>{"".join(rest)}</ul></details></li>' if rest else "")
        outlets = len({art.source for v in groups[name].values() for art, _ in v})
        cards.append(
            f'<div class="speaker"><h3{_dir_attr(name)}>{esc(name)} '
            f'<span class="muted small">أقوال: {len(items)} · مصادر: {outlets}</span></h3>'
            f"<ul>{''.join(shown)}{more}</ul></div>\n"
        )
    out = f'<div class="speakers">\n{"".join(cards)}</div>\n' if cards else ""
    if credits:
        chips = "".join(
            f'<li class="chip">{_bdi(name)}<span class="n">{len(arts)}</span></li>'
            for name, arts in sorted(credits.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        )
        out += (f'<div class="kinds"><h3>وكالات منسوب إليها</h3>'
                f'<ul class="chips">{chips}</ul></div>\n')
    return out


def _statement(carriers: list[tuple[ArticleView | CopyView, QuoteMark]], links: _Links) -> str:
    """One statement: its words as the first carrier has them, then who carries it."""
    art, q = carriers[0]
    assert isinstance(art, ArticleView)  # the shown article comes before its copies
    said = _said(art, q)
    if len(said) > 400:
        said = said[:397] + "…"
    cue = f"{_bdi(q.cue)} · " if q.cue else ""
    where: dict[str, str] = {}
    for other, _ in carriers:
        outlet = other.source or other.id
        where.setdefault(outlet, _link(links.article(other.id), _bdi(outlet)))
    return (f'<li><span class="said"{_dir_attr(said)}>{esc(said)}</span>'
            f'<span class="cite">{esc(_KIND_LABEL.get(q.kind, q.kind))} · {cue}'
            f'{"، ".join(where.values())} · {_time(art.date)}</span></li>')


def _mentions(story: StoryPage) -> str:
    counts: dict[tuple[str, str], set[str]] = defaultdict(set)
    for art in story.articles:
        for m in art.mentions:
            found = counts[(m.kind, (m.canonical or m.text).strip())]
            found.add(art.id)
            found.update(c.id for c in art.copies)
    if not counts:
        return ""
    out = []
    known = [k for k, _ in _MENTION_KINDS]
    kinds = [*_MENTION_KINDS, *((k, k) for k in sorted({k for k, _ in counts} - set(known)))]
    for kind, label in kinds:
        names = sorted(((name, len(docs)) for (k, name), docs in counts.items() if k == kind),
                       key=lambda x: (-x[1], x[0]))
        if not names:
            continue
        chips = "".join(f'<li class="chip">{_bdi(n)}<span class="n">{c}</span></li>'
                        for n, c in names)
        out.append(f'<h3>{esc(label)}</h3><ul class="chips">{chips}</ul>\n')
    return f'<div class="kinds">\n{"".join(out)}</div>\n'


# -- the whole report -----------------------------------------------------------------------------


RENDER_BATCH = 100
"""Story pages per rendering batch (each batch also carries the article -> story map)."""


def render_batch(stories: list[StoryPage], doc_story: dict[str, str], generated: str | None,
                 shown_as: dict[str, str] | None = None,
                 live: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Stage function: (relative path, HTML) of the pages of `stories`. `live` (the
    service's): the page asks ``live["url"]`` for its version and reloads its content."""
    return [(f"{STORIES_DIR}/{story_filename(story.story)}",
             _render_story(story, doc_story, generated, shown_as, live)) for story in stories]


def iter_pages(data: ReportData, workers: Any = 1) -> Iterator[tuple[str, str]]:
    """Every page of the report as (relative POSIX path, HTML), one at a time.

    A generator so that pages are written as they are made, never all held in
    memory; story pages are rendered by `render_batch` on `workers` (local
    processes or an engine), in order.
    """
    yield "index.html", render_index(data)
    if data.speakers:
        yield SPEAKERS_PAGE, render_speakers(data)
    doc_story = doc_stories(data)
    names = {str(s.story): story_filename(str(s.story)) for s in data.stories}
    if len(names) < len(data.stories):
        twice = next(k for k, v in Counter(str(s.story) for s in data.stories).items() if v > 1)
        raise KhabarError(f"story {twice!r} is given twice; story ids must be unique")
    # two ids with one slug and hash: vanishingly rare, but never overwrite silently
    check_unique(names)
    shown_as = folded(data)
    for start in range(0, len(data.stories), RENDER_BATCH):
        yield from render_batch(data.stories[start:start + RENDER_BATCH], doc_story,
                                data.generated, shown_as)


SPEAKERS_PAGE = "speakers.html"


def render_speakers(data: ReportData) -> str:
    """Who says what across stories (``templates/speakers.html``): each speaker (name
    variants joined), their statements grouped by story in time order, each linked to the
    story page and the article."""
    return _template("speakers.html", "من قال ماذا — " + data.title, home="index.html",
                     crumb=' › <span>من قال ماذا</span>', generated=data.generated,
                     speakers=data.speakers, titles={s.story: s.title for s in data.stories})


def render_report(data: ReportData) -> dict[str, str]:
    """Every page of the report: relative path (POSIX) -> HTML."""
    return dict(iter_pages(data))

