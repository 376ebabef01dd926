"""`khabar serve` used as a client uses it: the real server on a free loopback port.

Articles are POSTed over HTTP, their analysis awaited through the job, then found by
search (with other spellings), in their story, in the feeds. The server is stopped with
SIGTERM (cleanly) and killed with SIGKILL (nothing accepted is lost).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from khabar.service.search import query_keys
from khabar.service.server import Running

TOKEN = "s3cret-token"
ATOM = "{http://www.w3.org/2005/Atom}"

# three reports of one event (the second a lightly edited copy of the first, spelt
# differently: harakat, hamza, alef maqsura, Eastern digits), and one of another
LEAD = ("أعلنت وزارة الصحة اليوم افتتاح مستشفى جديد في مدينة الرياض بسعة ٣٠٠ سرير، "
        "وقال الوزير في مؤتمر صحفي إن المستشفى سيخدم سكان الأحياء الشمالية ويخفف الضغط "
        "على المستشفيات القائمة. وأضاف أن العمل في المشروع استمر ثلاث سنوات بتكلفة بلغت "
        "مليار ريال، وأن المستشفى سيضم أقساما للطوارئ والجراحة والأطفال وعيادات خارجية. "
        "وأكد المسؤول أن التشغيل الكامل سيبدأ مطلع العام المقبل بعد استكمال التجهيزات.")
COPY = LEAD.replace("وزارة", "وَزَارَةُ").replace("مستشفى", "مستشفي").replace(
    "٣٠٠", "300").replace("المسؤول", "المسئول") + " وتأتي الخطوة ضمن خطة لتطوير القطاع."
OTHER = ("شهدت أسواق الأسهم الخليجية تراجعا حادا في تعاملات الأسبوع الماضي بسبب هبوط أسعار "
         "النفط، وخسر المؤشر العام نحو خمسة في المئة من قيمته، وقال محللون إن المستثمرين "
         "يترقبون قرارات منظمة أوبك في اجتماعها المقبل، وإن التقلبات قد تستمر حتى نهاية الشهر.")
ARTICLES = [
    {"id": "a1", "title": "افتتاح مستشفى جديد في الرياض", "source": "outlet-one",
     "date": "2024-03-01 09:00:00", "text": LEAD, "url": "https://example.org/a1"},
    {"id": "a2", "title": "وزارة الصحة تفتتح مستشفى", "source": "outlet-two",
     "date": "2024-03-01 11:30:00", "text": COPY},
    {"id": "a3", "title": "تراجع أسواق الأسهم الخليجية", "source": "outlet-one",
     "date": "2024-03-02 08:00:00", "text": OTHER},
]


def call(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
         method: str | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url: str) -> Any:
    status, _, body = call(url)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


def post(srv: Running, rows: list[Any], token: str | None = TOKEN, raw: bytes | None = None,
         content_type: str = "application/x-ndjson") -> tuple[int, Any]:
    body = raw if raw is not None else "\n".join(
        json.dumps(r, ensure_ascii=False) if not isinstance(r, str) else r for r in rows
    ).encode()
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, _, out = call(srv.url + "api/articles", body, headers, "POST")
    return status, json.loads(out)


def wait_job(srv: Running, job: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = get_json(srv.url + f"api/jobs/{job}")
        if state["done"]:
            return state
        time.sleep(0.2)
    raise AssertionError(f"job {job} not analysed in {timeout} s: {state}; log: "
                         f"{srv.log.read_text(errors='replace')[-2000:]}")


def q(srv: Running, path: str, **params: Any) -> str:
    return srv.url + path + ("?" + urllib.parse.urlencode(params) if params else "")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    db = tmp_path_factory.mktemp("serve") / "news.db"
    srv = Running(db, ["--token", TOKEN, "--max-body", "1"])
    try:
        status, out = post(srv, [*ARTICLES, "{not json", {"id": "x"}])
        assert status == 202, out
        assert out["accepted"] == 3
        assert out["rejected"] == [{"line": 4, "reason": out["rejected"][0]["reason"]},
                                   {"line": 5, "reason": "no text"}]
        wait_job(srv, out["job"])
        yield srv
    finally:
        assert srv.stop() == 0, srv.log.read_text(errors="replace")[-2000:]


def test_writes_need_the_token(server: Running) -> None:
    status, out = post(server, ARTICLES[:1], token=None)
    assert status == 401 and "Bearer" in out["error"]
    status, _ = post(server, ARTICLES[:1], token="wrong")
    assert status == 403
    # reads stay open
    assert get_json(server.url + "api/stats")["documents"] == 3


def test_request_limits_and_bad_bodies(server: Running) -> None:
    # refused from its Content-Length, before a byte of the body is read (sending the body
    # would race the server's answer and close)
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("POST", "/api/articles")
        conn.putheader("Content-Type", "application/x-ndjson")
        conn.putheader("Authorization", f"Bearer {TOKEN}")
        conn.putheader("Content-Length", str(1024 * 1024 + 10))
        conn.endheaders()
        answer = conn.getresponse()
        assert answer.status == 413 and "larger" in json.loads(answer.read())["error"]
    finally:
        conn.close()
    status, out = post(server, [], raw=b"[1, 2", content_type="application/json")
    assert status == 400 and "JSON" in out["error"]
    status, _, body = call(q(server, "api/search", q="-الصحة"))
    assert status == 400 and "\n" not in json.loads(body)["error"]


def test_search_finds_other_spellings_with_original_offsets(server: Running) -> None:
    text = {a["id"]: a["text"] for a in ARTICLES}
    for query in ("الوزارة", "وزاره", "مستشفى", "المستشفي", "٣٠٠", "مسئول"):
        found = get_json(q(server, "api/search", q=query))
        ids = {h["doc"] for h in found["hits"]}
        assert {"a1", "a2"} <= ids, (query, ids)
        assert "a3" not in ids
        for h in found["hits"]:
            assert h["highlights"], h
            for s, e in h["highlights"]:
                # every highlight is a word of the ORIGINAL text that the query's key matches
                assert query_keys(text[h["doc"]][s:e]) == query_keys(query), (query, s, e)
    # phrases keep order; OR widens; minus excludes
    assert {h["doc"] for h in get_json(q(server, "api/search", q='"وزارة الصحة"'))["hits"]} \
        == {"a1", "a2"}
    assert get_json(q(server, "api/search", q='"الصحة وزارة"'))["total"] == 0
    assert get_json(q(server, "api/search", q="مستشفى OR النفط"))["total"] == 3
    assert {h["doc"] for h in get_json(q(server, "api/search", q="مستشفى -القطاع"))["hits"]} \
        == {"a1"}
    found = get_json(q(server, "api/search", q="الرياض", outlet="outlet-two"))
    assert [h["doc"] for h in found["hits"]] == ["a2"]
    assert get_json(q(server, "api/search", q="الرياض", **{"from": "2024-03-02"}))["total"] == 0
    facets = get_json(q(server, "api/search", q="الرياض"))["facets"]
    assert sorted(facets["outlet"]) == [["outlet-one", 1], ["outlet-two", 1]]
    assert facets["day"] == [["2024-03-01", 2]]


def test_copies_share_a_story_with_its_page_and_feed(server: Running) -> None:
    a1 = get_json(server.url + "api/articles/a1")
    a2 = get_json(server.url + "api/articles/a2")
    a3 = get_json(server.url + "api/articles/a3")
    assert a1["story"] == a2["story"] != a3["story"]
    story = get_json(server.url + f"api/stories/{a1['story']}")
    assert [m["doc"] for m in story["members"]] == ["a1", "a2"]
    assert story["summary"] and all(s["doc"] in ("a1", "a2") for s in story["summary"])
    listed = get_json(q(server, "api/stories", q="مستشفى"))
    assert [s["story"] for s in listed["stories"]] == [a1["story"]]
    assert get_json(server.url + "api/stats")["stories"] == 2
    status, headers, page = call(server.url + f"stories/{a1['story']}")
    assert status == 200  # redirected to the story's page of the report
    html = page.decode()
    assert 'lang="ar" dir="rtl"' in html and "outlet-two" in html
    csp = headers["content-security-policy"]
    assert f'content="{csp}"' in html and "script-src 'sha256-" not in csp.split("default")[0]
    assert headers["x-content-type-options"] == "nosniff"
    # the story's feed: valid Atom, newest first
    status, headers, body = call(server.url + f"feeds/stories/{a1['story']}.atom")
    assert status == 200 and headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(body)
    ids = [e.find(f"{ATOM}id").text for e in feed.findall(f"{ATOM}entry")]
    assert ids == ["urn:khabar:doc:a2", "urn:khabar:doc:a1"]
    assert all(feed.find(f"{ATOM}{tag}") is not None for tag in ("title", "id", "updated"))


def test_search_feed_is_valid_atom(server: Running) -> None:
    import feedparser

    status, _, body = call(q(server, "feeds/search.atom", q="وزارة"))
    assert status == 200
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert {e.id for e in parsed.entries} == {"urn:khabar:doc:a1", "urn:khabar:doc:a2"}
    assert all(e.link.startswith(server.url) for e in parsed.entries)


def test_pages_are_rtl_without_javascript(server: Running) -> None:
    for path in ("", "search?" + urllib.parse.urlencode({"q": "وزاره"}), "articles/a1",
                 "outlets/outlet-one"):
        status, headers, body = call(server.url + path)
        html = body.decode()
        assert status == 200, path
        assert '<html lang="ar" dir="rtl">' in html
        assert "http://" not in html.split("<main>")[0] and "https://" not in \
            html.split("<main>")[0]  # no CDN: nothing but the page's own style and script
        assert headers["content-security-policy"] in html
    search = call(server.url + "search?" + urllib.parse.urlencode({"q": "وزاره"}))[2].decode()
    assert "<mark>" in search and "outlet-two" in search
    status, _, _ = call(server.url + "articles/nope")
    assert status == 404


def test_sigkill_loses_nothing_accepted_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    rows = [{"id": f"k{k}", "text": f"{OTHER} الخبر رقم {k} من سلسلة الأخبار.",
             "source": "wire", "date": f"2024-04-{1 + k % 20:02d} 10:00:00"} for k in range(40)]
    srv = Running(db)
    status, out = post(srv, rows, token=None)
    assert status == 202 and out["accepted"] == 40
    srv.kill()  # the server and its worker, at once, right after the answer
    srv = Running(db)
    try:
        stats = get_json(srv.url + "api/stats")
        assert stats["documents"] == 40
        wait_job(srv, out["job"])  # the queue outlived the crash: analysis resumes
        assert get_json(srv.url + "api/stats")["analyzed"] == 40
    finally:
        assert srv.stop() == 0
    assert srv.proc.returncode == 0


class _Feed(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def test_watch_folder_and_feed(tmp_path: Path) -> None:
    rss = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>وكالة تجريبية</title><link>http://127.0.0.1/</link>
<item><title>خبر من التغذية</title><guid>feed-1</guid><link>http://127.0.0.1/1</link>
<pubDate>Mon, 04 Mar 2024 10:00:00 GMT</pubDate>
<description><![CDATA[<p>{OTHER}</p><script>alert(1)</script>]]></description></item>
</channel></rss>""".encode()
    handler = type("Feed", (_Feed,), {"body": rss})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    feed_url = f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml"
    srv = Running(tmp_path / "w.db", ["--watch", str(inbox), "--feed", feed_url,
                                      "--feed-interval", "1"])
    try:
        (inbox / "drop.jsonl").write_text(
            "\n".join(json.dumps(a, ensure_ascii=False) for a in ARTICLES[:2]) + "\n", "utf-8")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if get_json(srv.url + "api/stats")["documents"] >= 3:
                break
            time.sleep(0.3)
        assert get_json(srv.url + "api/articles/a1")["text"] == LEAD
        entry = get_json(srv.url + "api/articles/feed-1")
        assert entry["source"] == "وكالة تجريبية" and "alert" not in entry["text"]
        assert entry["text"] == OTHER
    finally:
        assert srv.stop() == 0
        httpd.shutdown()
        httpd.server_close()
