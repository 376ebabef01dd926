"""The ASGI application: the JSON API, the pages and the feeds (Starlette).

Reads never wait for the analysis: each runs on the reading thread's own
read-only SQLite connection inside one read transaction (WAL: a consistent
snapshot while the worker writes). Writes (ingest) go through one writer
connection with ``synchronous=FULL``: ``POST /api/articles`` answers only once
the articles and their queue rows are committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sqlite3
import threading
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from khabar.document import Document
from khabar.errors import KhabarError
from khabar.service import queries
from khabar.service.analysis import accept, open_store
from khabar.store import Store

MAX_BODY = 32 * 1024 * 1024
"""Largest request body accepted (413 beyond): some thousands of articles."""
MAX_ARTICLES = 5000
"""Articles in one POST at most."""
MAX_TEXT = 2_000_000
"""Characters of one article's text at most."""
LIVE_SCRIPT = "/static/live.js"
FIELDS = ("id", "text", "title", "source", "date", "url")

_STATIC = Path(__file__).with_name("static")


READ_THREADS = max(1, min(4, (os.cpu_count() or 1) - 1))
"""Threads that run the handlers (reads, pages) at once: one per core, less the core the
analysis worker needs. More only queue on Python's global lock and the threads' switching:
with 8 clients searching on 2 cores, 40 threads (Starlette's default) cost 10 ms of CPU a
search where one costs 4 to 4.6, and the 95th percentile latency fell from 126 ms to 45-48
(`bench/serve.py`'s idle phase). A POST never holds one (it awaits the writer)."""


class Config:
    def __init__(self, db: Path, token: str | None = None, max_body: int = MAX_BODY,
                 read_threads: int = READ_THREADS) -> None:
        self.db = db
        self.token = token
        self.max_body = max_body
        self.read_threads = read_threads


class Service:
    """What the handlers share: the database, a writer connection and per-thread readers."""

    def __init__(self, config: Config) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.config = config
        self._local = threading.local()
        # every write on one thread, its own: SQLite has one writer anyway, and the writer
        # connection belongs to the thread that opened it
        self._writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="khabar-writer")
        self._writer: Store | None = None

    def writer(self) -> Store:
        if self._writer is None:
            store = open_store(self.config.db)
            # an answered POST must survive a crash of the machine, not only of the server
            store.db.execute("PRAGMA synchronous=FULL")
            self._writer = store
        return self._writer

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            uri = self.config.db.resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("ROLLBACK")

    def submit(self, docs: list[Document], origin: str) -> Future:
        """Queue `docs` for the writer thread; the future is done once they are committed."""
        return self._writes.submit(lambda: accept(self.writer(), docs, origin))

    def ingest(self, docs: list[Document], origin: str) -> Any:
        return self.submit(docs, origin).result()

    def close(self) -> None:
        def shut() -> None:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

        self._writes.submit(shut).result()
        self._writes.shutdown()


# -- helpers ------------------------------------------------------------------------------------


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _filters(params: Any) -> queries.Filters:
    return queries.Filters(outlet=params.get("outlet") or None,
                           start=queries.day(params.get("from"), "from"),
                           end=queries.day(params.get("to"), "to"),
                           person=params.get("person") or None,
                           place=params.get("place") or None)


def _authorized(request: Request) -> Response | None:
    token = request.app.state.service.config.token
    if not token:
        return None
    given = request.headers.get("authorization", "")
    if not given:
        return JSONResponse({"error": "this server needs 'Authorization: Bearer TOKEN' for "
                             "writes"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="khabar"'})
    import hmac

    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(),
                                                             token.encode()):
        return _error(403, "wrong token")
    return None


def parse_articles(body: bytes, content_type: str) -> tuple[list[Document], list[dict]]:
    """Documents of a POST body (JSON lines or a JSON array), and the rejected lines."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise KhabarError("the body is not UTF-8") from None
    items: list[tuple[int, Any]] = []
    stripped = text.lstrip()
    if "ndjson" in content_type or "jsonl" in content_type or not stripped.startswith("["):
        for k, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((k, json.loads(line)))
            except json.JSONDecodeError as exc:
                items.append((k, exc))
    else:
        try:
            array = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KhabarError(f"the body is not valid JSON ({exc.msg} at line {exc.lineno})") \
                from None
        if not isinstance(array, list):
            raise KhabarError("give a JSON array of articles or JSON lines")
        items = list(enumerate(array, start=1))
    if len(items) > MAX_ARTICLES:
        raise KhabarError(f"at most {MAX_ARTICLES} articles per request")
    from khabar.io.dates import parse_date

    docs: list[Document] = []
    rejected: list[dict] = []
    seen: set[str] = set()
    for k, item in items:
        reason = None
        if isinstance(item, Exception):
            reason = f"not JSON ({item})"
        elif not isinstance(item, dict):
            reason = "not a JSON object"
        else:
            doc_id = item.get("id")
            body_text = item.get("text")
            if not isinstance(doc_id, str | int) or not str(doc_id).strip():
                reason = "no id"
            elif not isinstance(body_text, str) or not body_text.strip():
                reason = "no text"
            elif len(body_text) > MAX_TEXT:
                reason = f"text longer than {MAX_TEXT} characters"
            elif any(item.get(f) is not None and not isinstance(item.get(f), str)
                     for f in ("title", "source", "date", "url")):
                reason = "title, source, date and url must be strings"
            elif str(doc_id) in seen:
                reason = "the same id comes again in this request"
        if reason is not None:
            rejected.append({"line": k, "reason": reason})
            continue
        doc_id = str(item["id"]).strip()
        seen.add(doc_id)
        raw = item.get("date")
        when = parse_date(raw) if raw else None
        meta = {key: v for key, v in item.items() if key not in FIELDS}
        docs.append(Document(id=doc_id, text=item["text"], title=item.get("title"),
                             source=item.get("source"), date=when, url=item.get("url"),
                             date_raw=raw, meta=meta, origin=f"http:{k}"))
    return docs, rejected


# -- API ----------------------------------------------------------------------------------------


async def post_articles(request: Request) -> Response:
    denied = _authorized(request)
    if denied is not None:
        return denied
    body = await request.body()
    try:
        docs, rejected = parse_articles(body, request.headers.get("content-type", ""))
    except KhabarError as exc:
        return _error(400, str(exc))
    service: Service = request.app.state.service
    # awaited, not waited for on a handler thread: a POST holds none of the few read threads
    done = await asyncio.wrap_future(service.submit(docs, "http"))
    return JSONResponse({"accepted": done.accepted, "rejected": rejected, "job": done.job,
                         "new": done.new, "updated": done.updated,
                         "unchanged": done.unchanged},
                        status_code=202 if docs else 400 if rejected else 200)


def _read(request: Request, fn: Any, *args: Any) -> Any:
    with request.app.state.service.read() as conn:
        return fn(conn, *args)


def get_job(request: Request) -> Response:
    found = _read(request, queries.job, request.path_params["job"])
    return _error(404, "no such job") if found is None else JSONResponse(found)


def get_stats(request: Request) -> Response:
    return JSONResponse(_read(request, queries.stats))


def _search_args(request: Request) -> tuple[str, queries.Filters, int, int]:
    p = request.query_params
    limit, offset = queries.paging(p.get("limit"), p.get("offset"))
    return p.get("q", ""), _filters(p), limit, offset


def api_search(request: Request) -> Response:
    try:
        q, f, limit, offset = _search_args(request)
        return JSONResponse(_read(request, queries.search, q, f, limit, offset))
    except KhabarError as exc:
        return _error(400, str(exc))


def api_stories(request: Request) -> Response:
    p = request.query_params
    try:
        limit, offset = queries.paging(p.get("limit"), p.get("offset"))
        out = _read(request, queries.stories, p.get("q") or None, _filters(p), limit, offset,
                    "size" if p.get("order") == "size" else "last")
    except KhabarError as exc:
        return _error(400, str(exc))
    return JSONResponse(out)


def _story_id(request: Request) -> int | None:
    raw = request.path_params["story"]
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def api_story(request: Request) -> Response:
    sid = _story_id(request)
    found = None if sid is None else _read(request, queries.story, sid)
    return _error(404, "no such story") if found is None else JSONResponse(found)


def api_article(request: Request) -> Response:
    found = _read(request, queries.article, request.path_params["doc"])
    return _error(404, "no such article") if found is None else JSONResponse(found)


def api_version(request: Request) -> Response:
    raw = request.query_params.get("story")
    sid = int(raw) if raw and raw.isdigit() and len(raw) < 19 else None
    return JSONResponse({"version": _read(request, queries.version, sid)},
                        headers={"Cache-Control": "no-store"})


# -- pages --------------------------------------------------------------------------------------


def _page(template: str, title: str, live: dict[str, str] | None = None, status: int = 200,
          **context: Any) -> HTMLResponse:
    from khabar.report.render import frame
    from khabar.report.templating import render

    crumb = context.pop("crumb", "")
    html = render(template, **frame(title, home="/", crumb=crumb, live=live, forms=True),
                  **context)
    return HTMLResponse(html, status_code=status)


def _not_found(what: str) -> HTMLResponse:
    return _page("message.html", "غير موجود", status=404, message=what)


def home(request: Request) -> Response:
    with request.app.state.service.read() as conn:
        latest = queries.stories(conn, limit=20)
        growing = queries.stories(conn, limit=10, order="size")
        stats = queries.stats(conn)
        version = queries.version(conn)
    live = {"url": "/api/version", "version": version, "script": LIVE_SCRIPT}
    return _page("home.html", "خبر", live=live, latest=latest["stories"],
                 growing=growing["stories"], stats=stats)


def index_html(request: Request) -> Response:
    return RedirectResponse("/", status_code=301)


def search_page(request: Request) -> Response:
    p = request.query_params
    q = p.get("q", "")
    result, error = None, None
    if q.strip():
        try:
            q, f, limit, offset = _search_args(request)
            result = _read(request, queries.search, q, f, limit, offset)
        except KhabarError as exc:
            error = str(exc)
    from khabar.service.html import marked_snippet

    hits = []
    for h in (result or {}).get("hits", []):
        hits.append({**h, "marked": marked_snippet(h["snippet"], h["snippet_start"],
                                                   h["highlights"])})
    keep = {k: v for k, v in p.items() if k in ("q", "outlet", "from", "to", "person", "place")
            and v}

    def link(**change: str | None) -> str:
        args = {**keep, **change}
        return "/search?" + urlencode({k: v for k, v in args.items() if v})

    feed = "/feeds/search.atom?" + urlencode(keep) if q.strip() else None
    facets = []
    for name, label in (("outlet", "المصادر"), ("day", "الأيام"), ("person", "أشخاص"),
                        ("place", "أماكن")):
        values = (result or {}).get("facets", {}).get(name) or []
        if values:
            facets.append((label, [(v, c, link(**({"from": v, "to": v} if name == "day"
                                                  else {name: v}))) for v, c in values]))
    return _page("search.html", f"بحث: {q}" if q else "بحث", q=q, result=result, hits=hits,
                 error=error, params=keep, facets=facets, feed=feed,
                 status=400 if error else 200)


def story_page(request: Request) -> Response:
    key = request.path_params["name"]
    key = key[:-5] + ".html" if key.endswith(".html") else key
    found = _read(request, queries.page_of_story, key)
    if found is None:
        return _not_found("لا قصة بهذا المعرّف.")
    sid, page, _version = found
    if (key.isdigit() or (page is None)) and page is None:
        return _page("message.html", "قيد التحليل", message="تُحلَّل هذه القصة الآن؛ "
                     "أعد تحميل الصفحة بعد لحظات.")
    with request.app.state.service.read() as conn:
        filename = conn.execute("SELECT filename FROM svc_stories WHERE story=?",
                                (sid,)).fetchone()[0]
    if key != filename:
        # one address per story (an absorbed story's address leads to the story it joined)
        return RedirectResponse(f"/stories/{filename}", status_code=301)
    return HTMLResponse(page)


def article_page(request: Request) -> Response:
    found = _read(request, queries.article, request.path_params["doc"])
    if found is None:
        return _not_found("لا مقالة بهذا المعرّف.")
    from khabar.service.html import article_body, reused_passages

    story = None
    if found["story"] is not None:
        with request.app.state.service.read() as conn:
            row = conn.execute("SELECT filename, title FROM svc_stories WHERE story=?",
                               (found["story"],)).fetchone()
        story = None if row is None else {"href": f"/stories/{row[0]}", "title": row[1]}
    return _page("article.html", found["title"] or found["id"], art=found, story=story,
                 body=article_body(found), reused=reused_passages(found))


def outlet_page(request: Request) -> Response:
    name = request.path_params["name"]
    found = _read(request, queries.outlet, name)
    if not found["articles"]:
        return _not_found("لا مقالات لهذا المصدر.")
    return _page("outlet.html", name, o=found)


def entity_page(request: Request) -> Response:
    kind = "person" if request.url.path.startswith("/people/") else "place"
    found = _read(request, queries.entity, kind, request.path_params["name"])
    if not found["articles"]:
        return _not_found("لا ذكر لهذا الاسم.")
    return _page("entity.html", found["name"], e=found)


# -- feeds --------------------------------------------------------------------------------------

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: Any) -> str:
    return _XML_BAD.sub("\ufffd", "" if text is None else str(text))


def _atom(title: str, self_url: str, entries: list[dict[str, Any]], base: str) -> Response:
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed")
    ET.SubElement(feed, f"{{{ns}}}title").text = _x(title)
    ET.SubElement(feed, f"{{{ns}}}id").text = _x(base + self_url)
    ET.SubElement(feed, f"{{{ns}}}link", rel="self", href=_x(base + self_url))
    updated = max((e["updated"] for e in entries), default="1970-01-01T00:00:00Z")
    ET.SubElement(feed, f"{{{ns}}}updated").text = updated
    author = ET.SubElement(feed, f"{{{ns}}}author")
    ET.SubElement(author, f"{{{ns}}}name").text = "khabar"
    for e in entries:
        entry = ET.SubElement(feed, f"{{{ns}}}entry")
        ET.SubElement(entry, f"{{{ns}}}title").text = _x(e["title"])
        ET.SubElement(entry, f"{{{ns}}}id").text = _x(e["id"])
        ET.SubElement(entry, f"{{{ns}}}updated").text = e["updated"]
        ET.SubElement(entry, f"{{{ns}}}link", href=_x(base + e["href"]))
        if e.get("source"):
            a = ET.SubElement(entry, f"{{{ns}}}author")
            ET.SubElement(a, f"{{{ns}}}name").text = _x(e["source"])
        summary = ET.SubElement(entry, f"{{{ns}}}summary")
        summary.text = _x(e.get("summary", ""))
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _when(value: str | None) -> str:
    return value or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_search(request: Request) -> Response:
    try:
        q, f, limit, offset = _search_args(request)
        found = _read(request, queries.search, q, f, limit, offset, False)
    except KhabarError as exc:
        return _error(400, str(exc))
    entries = [{"title": h["title"] or h["doc"], "id": f"urn:khabar:doc:{quote(h['doc'])}",
                "updated": _when(h["date"]), "href": f"/articles/{quote(h['doc'], safe='')}",
                "source": h["source"], "summary": h["snippet"]} for h in found["hits"]]
    self_url = str(request.url.path) + ("?" + request.url.query if request.url.query else "")
    return _atom(f"خبر — بحث: {q}", self_url, entries, _base(request))


def feed_story(request: Request) -> Response:
    sid = _story_id(request)
    found = None if sid is None else _read(request, queries.story, sid)
    if found is None:
        return _error(404, "no such story")
    entries = [{"title": m["title"] or m["doc"], "id": f"urn:khabar:doc:{quote(m['doc'])}",
                "updated": _when(m["date"]), "href": f"/articles/{quote(m['doc'], safe='')}",
                "source": m["source"], "summary": m["title"] or ""}
               for m in reversed(found["members"])]
    return _atom(f"خبر — {found.get('title') or found['story']}", request.url.path, entries,
                 _base(request))


def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name != "live.js":
        return PlainTextResponse("not found", status_code=404)
    return Response((_STATIC / name).read_bytes(), media_type="text/javascript",
                    headers={"Cache-Control": "max-age=300"})


# -- the application ----------------------------------------------------------------------------


def routes() -> list[Route]:
    return [
        Route("/api/articles", post_articles, methods=["POST"]),
        Route("/api/articles/{doc:path}", api_article),
        Route("/api/jobs/{job}", get_job),
        Route("/api/stats", get_stats),
        Route("/api/search", api_search),
        Route("/api/stories", api_stories),
        Route("/api/stories/{story}", api_story),
        Route("/api/version", api_version),
        Route("/", home),
        Route("/index.html", index_html),
        Route("/search", search_page),
        Route("/stories/{name}", story_page),
        Route("/articles/{doc:path}", article_page),
        Route("/outlets/{name:path}", outlet_page),
        Route("/people/{name:path}", entity_page),
        Route("/places/{name:path}", entity_page),
        Route("/feeds/search.atom", feed_search),
        Route("/feeds/stories/{story}.atom", feed_story),
        Route("/static/{name}", static),
    ]


def create_app(config: Config, lifespan: Any = None) -> Any:
    """The service as an ASGI application (wrapped in the size limit and security headers)."""
    from khabar.service.middleware import Guard

    @contextlib.asynccontextmanager
    async def limited(app: Any) -> AsyncIterator[None]:
        import anyio.to_thread

        # the handler threads of this event loop (Starlette runs plain handlers on them)
        anyio.to_thread.current_default_thread_limiter().total_tokens = config.read_threads
        if lifespan is None:
            yield
            return
        async with lifespan(app):
            yield

    app = Starlette(routes=routes(), lifespan=limited)
    app.state.service = Service(config)

    async def errors(request: Request, exc: Exception) -> Response:
        if isinstance(exc, KhabarError):
            return _error(400, str(exc))
        if os.environ.get("KHABAR_DEBUG"):
            raise exc
        return _error(500, "internal error")

    app.add_exception_handler(KhabarError, errors)
    return Guard(app, config.max_body)


__all__ = ["Config", "Service", "create_app", "parse_articles"]
