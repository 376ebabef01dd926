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
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from urllib.parse import urlsplit

from khabar.engine import Engine, batched, get_engine
from khabar.repair import line_key
from khabar.report.model import (
    ArticleView,
    PassageSide,
    PassageView,
    QuoteMark,
    ReportData,
    SentenceMark,
    StoryPage,
    ThreadView,
    text_direction,
)
from khabar.report.spans import line_breaks, paragraphs, segment

STORIES_DIR = "stories"

# -- escaping and names ----------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")


def esc(value: object) -> str:
    """Text or attribute value, escaped for HTML (quotes included).

    Surrogates cannot be written as UTF-8: a proper pair (text decoded with
    ``surrogatepass``) becomes its character, a lone half becomes U+FFFD.
    """
    text = str(value)
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return html.escape(text, quote=True)


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL without control characters, else None."""
    if not url:
        return None
    url = url.strip()
    if any(ord(ch) < 0x21 or ch == "\x7f" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def short_hash(value: str, chars: int = 10) -> str:
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"),
                           digest_size=(chars + 1) // 2).hexdigest()[:chars]


def slug(value: str, limit: int = 40) -> str:
    """ASCII letters and digits of `value`, lower-cased and dash-joined (may be empty)."""
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_only.lower())
    out = "-".join(words)[:limit].strip("-")
    return out


def story_filename(story_id: str) -> str:
    """A file name safe on every file system for any story id: slug plus a short hash.

    The hash keeps names unique (ids differing only in Arabic letters, case or
    punctuation slug alike); the slug keeps them readable when ids are Latin.
    """
    base = slug(story_id)
    if len(base) < 3:  # an Arabic id leaves little or nothing of ASCII: name it plainly
        base = "story" + (f"-{base}" if base else "")
    return f"{base}-{short_hash(story_id)}.html"


def article_anchor(doc_id: str) -> str:
    return f"a-{short_hash(doc_id)}"


def sentence_anchor(doc_id: str, index: int) -> str:
    return f"{article_anchor(doc_id)}-s{index}"


# -- small formatting helpers ----------------------------------------------------------------------


def _bdi(value: object, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<bdi{attr}>{esc(value)}</bdi>"


def _time(dt: datetime | None, *, with_time: bool = True) -> str:
    if dt is None:
        return '<span class="muted">بلا تاريخ</span>'
    shown = dt.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    stamp = dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'<time datetime="{esc(stamp)}" dir="ltr">{esc(shown)}</time>'


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
    "undecided": "الاتجاه غير محسوم",
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


# -- charts ------------------------------------------------------------------------------------


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
    title = f"<title>{esc(label)}</title>" if label else ""
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
            f' role="img" aria-label="{esc(label)}">{title}'
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


# -- page frame --------------------------------------------------------------------------------


@cache
def _asset(name: str) -> str:
    return resources.files("khabar.report").joinpath("assets", name).read_text("utf-8")


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def _page(title: str, body: str, *, home: str, crumb: str = "", script: bool = False,
          generated: str | None = None) -> str:
    css = _asset("report.css")
    js = _asset("report.js") if script else ""
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; "
           f"script-src {_csp_hash(js) if js else chr(39) + 'none' + chr(39)}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    foot = "أُنشئ بواسطة khabar · الأوقات بالتوقيت العالمي (UTC)"
    if generated:
        foot += f" · {esc(generated)}"
    parts = [
        "<!DOCTYPE html>\n",
        '<html lang="ar" dir="rtl">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n',
        '<meta name="referrer" content="no-referrer">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="generator" content="khabar">\n',
        f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n",
        f'<header class="top"><a href="{esc(home)}">خبر</a>{crumb}</header>\n',
        f"<main>\n{body}</main>\n<footer>{foot}</footer>\n",
        f"<script>{js}</script>\n" if js else "",
        "</body>\n</html>\n",
    ]
    return "".join(parts)


# -- index -------------------------------------------------------------------------------------


def render_index(data: ReportData) -> str:
    all_dates = [d for s in data.stories for d in s.dates]
    lo, hi = (min(all_dates), max(all_dates)) if all_dates else (None, None)
    articles = sum(len(s.articles) for s in data.stories)
    outlets = sorted({o for s in data.stories for o in s.outlets})
    lede = [f"<b>{len(data.stories)}</b> قصة", f"<b>{articles}</b> مقالة",
            f"<b>{len(outlets)}</b> مصدراً"]
    if data.documents is not None:
        lede.append(f"من <b>{data.documents}</b> وثيقة في المجموعة")
    if lo is not None and hi is not None:
        lede.append(f"من {_time(lo, with_time=False)} إلى {_time(hi, with_time=False)}")

    rows = []
    threads = {st.story: t for t in data.threads for st in t.stories if st.in_report}
    pages = {s.story: s for s in data.stories}
    shown: set[str] = set()
    for s in data.stories:
        thread = threads.get(s.story)
        if thread is not None:  # the stories of a thread are one row, at its largest's place
            if thread.thread not in shown:
                shown.add(thread.thread)
                rows.append(_thread_row(thread, pages, lo, hi))
            continue
        href = f"{STORIES_DIR}/{story_filename(s.story)}"
        first = s.first_seen.strftime("%Y-%m-%dT%H:%M:%SZ") if s.first_seen else ""
        last = s.last_seen.strftime("%Y-%m-%dT%H:%M:%SZ") if s.last_seen else ""
        chips = "".join(f'<li class="chip">{_bdi(o)}</li>' for o in s.outlets)
        rows.append(
            f'<tr data-title="{esc(s.title)}" data-size="{len(s.articles)}" '
            f'data-outlets="{len(s.outlets)}" data-first="{esc(first)}" data-last="{esc(last)}">'
            f'<td class="title"><a href="{esc(href)}"{_dir_attr(s.title)}>{esc(s.title)}</a>'
            f'<ul class="chips">{chips}</ul></td>'
            f'<td class="num">{len(s.articles)}</td>'
            f'<td class="num outlets-col">{len(s.outlets)}</td>'
            f"<td>{_time(s.first_seen)}</td>"
            f'<td class="last-col">{_time(s.last_seen)}</td>'
            f'<td class="spark-col">'
            f'{sparkline(s.dates, lo, hi, label=f"{len(s.articles)} مقالة عبر الزمن")}</td></tr>\n'
        )
    table = (
        '<div class="table-wrap"><table class="stories">\n<thead><tr>'
        '<th data-key="title" scope="col">القصة والمصادر</th>'
        '<th data-key="size" data-type="num" scope="col" aria-sort="descending">المقالات</th>'
        '<th data-key="outlets" data-type="num" scope="col" class="outlets-col">المصادر</th>'
        '<th data-key="first" scope="col">أول ظهور</th>'
        '<th data-key="last" scope="col" class="last-col">آخر ظهور</th>'
        '<th scope="col" class="spark-col">عبر الزمن</th>'
        "</tr></thead>\n<tbody>\n" + "".join(rows) + "</tbody>\n</table></div>\n"
    ) if rows else '<p class="muted">لا قصص في هذا التقرير.</p>\n'
    body = (
        f"<h1>{esc(data.title)}</h1>\n"
        f'<p class="lede">{" · ".join(lede)}</p>\n'
        '<div class="tools" hidden><input id="filter" type="search" '
        'placeholder="تصفية القصص: عنوان، مصدر…" aria-label="تصفية القصص"></div>\n'
        f"{table}"
    )
    return _page(data.title, body, home="index.html", script=bool(rows),
                 generated=data.generated)


def _thread_row(thread: ThreadView, pages: dict[str, StoryPage], lo: datetime | None,
                hi: datetime | None) -> str:
    """One index row for a thread: its stories in time order, each linking to its page."""
    members = [pages[st.story] for st in thread.stories if st.story in pages]
    dates = [d for p in members for d in p.dates]
    outlets = sorted({o for p in members for o in p.outlets})
    first = thread.first_seen.strftime("%Y-%m-%dT%H:%M:%SZ") if thread.first_seen else ""
    last = thread.last_seen.strftime("%Y-%m-%dT%H:%M:%SZ") if thread.last_seen else ""
    items = []
    for st in thread.stories:
        title = f"<span{_dir_attr(st.title)}>{esc(st.title)}</span>"
        if st.in_report:
            title = (f'<a href="{esc(STORIES_DIR + "/" + story_filename(st.story))}"'
                     f"{_dir_attr(st.title)}>{esc(st.title)}</a>")
        items.append(f'<li><span class="when">{_time(st.first_seen, with_time=False)}</span> '
                     f'{title} <span class="muted small">({st.size} مقالة)</span></li>')
    chips = "".join(f'<li class="chip">{_bdi(o)}</li>' for o in outlets)
    label = f"{len(thread.stories)} قصص في خيط واحد"
    return (
        f'<tr class="thread" data-title="{esc(thread.title)}" data-size="{thread.articles}" '
        f'data-outlets="{len(outlets)}" data-first="{esc(first)}" data-last="{esc(last)}">'
        f'<td class="title"><span class="badge thread">{esc(label)}</span> '
        f"<b{_dir_attr(thread.title)}>{esc(thread.title)}</b>"
        f'<ol class="thread-stories">{"".join(items)}</ol><ul class="chips">{chips}</ul></td>'
        f'<td class="num">{thread.articles}</td>'
        f'<td class="num outlets-col">{len(outlets)}</td>'
        f"<td>{_time(thread.first_seen)}</td>"
        f'<td class="last-col">{_time(thread.last_seen)}</td>'
        f'<td class="spark-col">'
        f'{sparkline(dates, lo, hi, label=f"{thread.articles} مقالة عبر الزمن")}</td></tr>\n'
    )


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


# -- story page --------------------------------------------------------------------------------


def doc_stories(data: ReportData) -> dict[str, str]:
    """Document id -> the story page showing it (the first, should one be in two)."""
    out: dict[str, str] = {}
    for s in data.stories:
        for a in s.articles:
            out.setdefault(a.id, s.story)
    return out


class _Links:
    """Where each article and sentence of the report lives, as hrefs from a story page."""

    def __init__(self, doc_story: dict[str, str], here: str) -> None:
        self.here = here
        self.doc_story = doc_story

    def _page_of(self, doc: str, story: str | None = None) -> str | None:
        story = story or self.doc_story.get(doc)
        if story is None:
            return None
        return "" if story == self.here else story_filename(story)

    def article(self, doc: str, story: str | None = None) -> str | None:
        page = self._page_of(doc, story)
        return None if page is None else f"{page}#{article_anchor(doc)}"

    def sentence(self, doc: str, index: int | None) -> str | None:
        if index is None:
            return self.article(doc)
        page = self._page_of(doc)
        return None if page is None else f"{page}#{sentence_anchor(doc, index)}"


def _link(href: str | None, inner: str, cls: str = "", title: str = "") -> str:
    if href is None:
        return inner
    extra = (f' class="{cls}"' if cls else "") + (f' title="{esc(title)}"' if title else "")
    return f'<a href="{esc(href)}"{extra}>{inner}</a>'


def render_story(data: ReportData, story: StoryPage,
                 doc_story: dict[str, str] | None = None) -> str:
    """One story's page; pass `doc_story` (from `doc_stories`) when rendering many."""
    return _render_story(story, doc_story if doc_story is not None else doc_stories(data),
                         data.generated)


def _render_story(story: StoryPage, doc_story: dict[str, str], generated: str | None) -> str:
    links = _Links(doc_story, story.story)
    by_id = {a.id: a for a in story.articles}
    sections: list[tuple[str, str, str]] = []  # (anchor, heading, html)

    if story.summary:
        sections.append(("summary", "الملخص", _summary(story, by_id, links)))
    if story.thread is not None:
        sections.append(("thread", "الخيط: تطوّر الحدث عبر الأيام", _thread_section(story)))
    sections.append(("timeline", "التسلسل الزمني: من نشر أولاً", _timeline(story)))
    sections.append(("articles", "المقالات: الجديد والمكرر", _articles(story, by_id, links)))
    if story.passages or story.boilerplate_passages:
        sections.append(("reuse", "المقاطع المنقولة", _passages(story, links)))
    speakers = _speakers(story, links)
    if speakers:
        sections.append(("sources", "من قال ماذا", speakers))
    names = _mentions(story)
    if names:
        sections.append(("names", "الأسماء الواردة", names))

    first = story.articles[0] if story.articles else None
    lede = [f"<b>{len(story.articles)}</b> مقالة", f"<b>{len(story.outlets)}</b> مصدراً"]
    if story.first_seen or story.last_seen:
        lede.append(f"من {_time(story.first_seen)} إلى {_time(story.last_seen)}")
    if first is not None and first.source and first.date is not None:
        lede.append(f"أول من نشر: {_bdi(first.source)}")
    chips = "".join(f'<li class="chip">{_bdi(o)}</li>' for o in story.outlets)
    dates = story.dates
    hist = ""
    if len(dates) > 1:
        lo, hi = min(dates), max(dates)
        chart = sparkline(dates, lo, hi, bins=32, width=480, height=48,
                          label="المقالات عبر الزمن")
        hist = (f'<div class="hist">{chart}'
                f'<div class="axis">{_time(lo)}{_time(hi)}</div></div>\n')
    nav = "".join(f'<a href="#{a}">{esc(h)}</a>' for a, h, _ in sections)
    head = (
        f"<h1{_dir_attr(story.title)}>{esc(story.title)}</h1>\n"
        f'<p class="lede">{" · ".join(lede)} · <span class="muted small">المعرّف: '
        f'<bdi class="id">{esc(story.story)}</bdi></span></p>\n'
        f'<ul class="chips">{chips}</ul>\n{hist}'
        f'<nav class="sections">{nav}</nav>\n'
    )
    body = head + "".join(
        f'<section id="{a}">\n<h2>{esc(h)}</h2>\n{inner}</section>\n' for a, h, inner in sections
    )
    crumb = f'<span class="crumb"><bdi>{esc(story.title[:80])}</bdi></span>'
    return _page(story.title, body, home="../index.html", crumb=crumb, generated=generated)


def _summary(story: StoryPage, by_id: dict[str, ArticleView], links: _Links) -> str:
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
        items.append(
            f'<li{cls}><span class="when">{_time(art.date)}</span>'
            f'<span class="outlet">{outlet}</span>'
            f'<a href="#{article_anchor(art.id)}"{_dir_attr(art.display_title)}>'
            f"{esc(art.display_title)}</a>{badge}{adds}</li>\n"
        )
    return f'<ol class="timeline">\n{"".join(items)}</ol>\n'


def _articles(story: StoryPage, by_id: dict[str, ArticleView], links: _Links) -> str:
    legend = ('<div class="legend"><span><span class="new">جملة جديدة</span> لم ترد في مقالة '
              'سابقة</span><span><span class="rep">جملة مكررة</span> وردت قبلاً (الرابط إلى أول '
              'ظهور)</span><span><span class="q">اقتباس مباشر</span></span></div>\n')
    return legend + "".join(_article(art, k == 0, by_id, links)
                            for k, art in enumerate(story.articles))


def _article(art: ArticleView, first: bool, by_id: dict[str, ArticleView],
             links: _Links) -> str:
    direction = art.direction
    lang = "" if direction == "rtl" else ' lang="und"'
    meta = [f'<span class="outlet">{_bdi(art.source)}</span>' if art.source else "",
            _time(art.date)]
    url = safe_url(art.url)
    if url:
        meta.append(f'<a href="{esc(url)}" rel="noopener noreferrer nofollow" '
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
        f"</header>\n"
        f'<div class="body">\n{_article_body(art, by_id, links)}</div>\n{repairs}</article>\n'
    )


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    shown = parts.netloc + parts.path
    return shown if len(shown) <= 60 else shown[:57] + "…"


def _article_body(art: ArticleView, by_id: dict[str, ArticleView], links: _Links) -> str:
    text = art.text
    spans: list[tuple[int, int, object]] = []
    for m in art.sentences:
        spans.append((m.start, m.end, ("s", m.index)))
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
    first_seg: dict[int, int] = {}
    last_seg: dict[int, int] = {}
    for k, seg in enumerate(segments):
        for label in seg.labels:
            if isinstance(label, tuple):
                first_seg.setdefault(label[1], k)
                last_seg[label[1]] = k
    position = {id(seg): k for k, seg in enumerate(segments)}

    out = []
    for para in paragraphs(text, segments):
        parts = []
        for seg in para:
            k = position[id(seg)]
            chunk = esc(text[seg.start : seg.end])
            classes: list[str] = []
            anchor = ""
            tip = ""
            closing: list[str] = []
            for label in seg.labels:
                if isinstance(label, tuple):
                    mark = marks[label[1]]
                    classes.append("new" if mark.status == "new" else "rep")
                    if first_seg[label[1]] == k:
                        anchor = sentence_anchor(art.id, mark.index)
                    if mark.status == "repeated":
                        tip = _repeat_tip(mark, by_id)
                        if last_seg[label[1]] == k:
                            closing.append(_seen_pill(mark, by_id, links))
                else:
                    classes.append(str(label))
            if classes or anchor:
                attrs = f' class="{" ".join(dict.fromkeys(classes))}"' if classes else ""
                attrs += f' id="{anchor}"' if anchor else ""
                attrs += f' title="{esc(tip)}"' if tip else ""
                chunk = f"<span{attrs}>{chunk}</span>"
            parts.append(chunk + "".join(closing))
        out.append(f"<p>{''.join(parts)}</p>\n")
    return "".join(out)


def _repeat_tip(mark: SentenceMark, by_id: dict[str, ArticleView]) -> str:
    art = by_id.get(mark.first_doc) if mark.first_doc else None
    where = (art.source or art.id) if art else (mark.first_doc or "")
    parts = [f"ورد أولاً في {where}"] if where else ["مكرر"]
    if mark.evidence:
        parts.append(_EVIDENCE.get(mark.evidence, mark.evidence))
    if mark.similarity is not None:
        parts.append(f"تشابه {_num(mark.similarity)}")
    return " · ".join(parts)


def _seen_pill(mark: SentenceMark, by_id: dict[str, ArticleView], links: _Links) -> str:
    if not mark.first_doc:
        return ""
    art = by_id.get(mark.first_doc)
    name = art.source if art and art.source else mark.first_doc
    href = links.sentence(mark.first_doc, mark.first_index)
    pill = f"↩ {_bdi(name)}"
    if href is None:
        return f'<span class="seen">{pill}</span>'
    return f'<a class="seen" href="{esc(href)}" title="أول ظهور">{pill}</a>'


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


# -- reused passages ---------------------------------------------------------------------------

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
    rule = _label(_RULES, p.rule or (None if p.directed else "undecided"))
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
    return "".join(out)


# -- who says what -----------------------------------------------------------------------------


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
    groups: dict[str, dict[str, list[tuple[ArticleView, QuoteMark]]]] = defaultdict(dict)
    credits: dict[str, list[ArticleView]] = defaultdict(list)
    for art in story.articles:
        for q in art.attributions:
            name = (q.canonical or q.speaker or "").strip()
            if q.kind == "credit":
                credits[name or (q.cue or "").strip() or "?"].append(art)
                continue
            key = " ".join(_fold(w) for w in _said(art, q).split())
            groups[name or "مصدر غير مسمّى"].setdefault(key, []).append((art, q))
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


def _statement(carriers: list[tuple[ArticleView, QuoteMark]], links: _Links) -> str:
    """One statement: its words as the first carrier has them, then who carries it."""
    art, q = carriers[0]
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
            counts[(m.kind, (m.canonical or m.text).strip())].add(art.id)
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


# -- the whole report --------------------------------------------------------------------------


RENDER_BATCH = 100
"""Story pages per rendering batch (each batch also carries the article -> story map)."""


def render_batch(stories: list[StoryPage], doc_story: dict[str, str], generated: str | None
                 ) -> list[tuple[str, str]]:
    """Stage function: (relative path, HTML) of the pages of `stories`."""
    return [(f"{STORIES_DIR}/{story_filename(story.story)}",
             _render_story(story, doc_story, generated)) for story in stories]


def iter_pages(data: ReportData, workers: int | Engine = 1) -> Iterator[tuple[str, str]]:
    """Every page of the report as (relative POSIX path, HTML), one at a time.

    A generator so that pages are written as they are made, never all held in
    memory; story pages are rendered by `render_batch` on `workers` (local
    processes or an engine), in order.
    """
    yield "index.html", render_index(data)
    doc_story = doc_stories(data)
    seen: set[str] = set()
    pages = get_engine(workers).map(render_batch, batched(data.stories, RENDER_BATCH),
                                    doc_story, data.generated)
    for batch in pages:
        for path, page in batch:
            if path in seen:
                # two ids with one hash prefix: vanishingly rare, but never overwrite silently
                raise ValueError(f"story file name collision for {path!r}")
            seen.add(path)
            yield path, page


def render_report(data: ReportData) -> dict[str, str]:
    """Every page of the report: relative path (POSIX) -> HTML."""
    return dict(iter_pages(data))

