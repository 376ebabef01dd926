"""`khabar serve` requirement by requirement, as a client sees it (real server, free loopback
port): the default loopback bind and KHABAR_TOKEN, a JSON array POST, every Arabic spelling
variant search must fold (and that FTS5's unicode61 alone does not), people and places as
filters, facets and pages, the story API with offsets, passages and attributions, an
article's reused passages and quotes, an outlet's first/copies/copied-by, story ids that
stay put as articles arrive, and reads that answer while the worker analyses.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from khabar.service.search import query_keys
from khabar.service.server import Running
from tests.test_serve import call, get_json, post, q, wait_job

TOKEN = "env-token-42"

LEAD = ("أعلنت وزارة الصحة اليوم افتتاح مستشفى جديد في مدينة الرياض بسعة ٣٠٠ سرير. "
        "وقال وزير الصحة فهد الجلاجل في مؤتمر صحفي إن المستشفى سيخدم سكان الأحياء الشمالية "
        "ويخفف الضغط على المستشفيات القائمة. وأضاف أن العمل في المشروع استمر ثلاث سنوات "
        "بتكلفة بلغت مليار ريال، وأن المستشفى سيضم أقساما للطوارئ والجراحة والأطفال.")
# a later report that takes one sentence of LEAD word for word, and says more of its own
REUSE = ("في تطور لافت على صعيد الخدمات الصحية في المملكة، ذكرت مصادر محلية أن الحكومة تواصل "
         "توسيع شبكة المستشفيات. " + LEAD.split(". ")[1] + ". وأشار مراقبون في جدة إلى أن "
         "المشاريع الجديدة تعكس اهتماما متزايدا بالقطاع الصحي في السنوات الأخيرة.")
OTHER = ("شهدت أسواق الأسهم الخليجية تراجعا حادا في تعاملات الأسبوع الماضي بسبب هبوط أسعار "
         "النفط، وقال محللون في دبي إن المستثمرين يترقبون قرارات منظمة أوبك في اجتماعها المقبل.")
# every spelling search must fold, each in an article of its own
VARIANTS = ("وصـــلت بعثة إلى لبنان أمس، واستقبلها مسؤولون في بيروت. "
            "وقالت مصادر إن البعثة ستزور المدارس والمستشفيات خلال إقامتها القصيرة.")
ARTICLES = [
    {"id": "a1", "title": "افتتاح مستشفى جديد في الرياض", "source": "one",
     "date": "2024-03-01 09:00:00", "text": LEAD},
    {"id": "a2", "title": "مشاريع صحية جديدة", "source": "two",
     "date": "2024-03-01 15:00:00", "text": REUSE},
    {"id": "a3", "title": "تراجع أسواق الأسهم", "source": "one",
     "date": "2024-03-02 08:00:00", "text": OTHER},
    {"id": "v1", "title": "بعثة في لبنان", "source": "three",
     "date": "2024-03-05 10:00:00", "text": VARIANTS},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    db = tmp_path_factory.mktemp("serve-api") / "news.db"
    # no --host (the default) and the token from the environment
    srv = Running(db, env={"KHABAR_TOKEN": TOKEN}, host=None)
    try:
        # a JSON array this time (the other tests POST JSON lines)
        status, out = post(srv, [], token=TOKEN, content_type="application/json",
                           raw=json.dumps(ARTICLES, ensure_ascii=False).encode())
        assert status == 202 and out["accepted"] == 4 and out["rejected"] == [], out
        wait_job(srv, out["job"])
        yield srv
    finally:
        assert srv.stop() == 0, srv.log.read_text(errors="replace")[-2000:]


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp has them) listening on `port`."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, hexport = fields[1].rsplit(":", 1)
            if int(hexport, 16) == port and fields[3] == "0A":  # LISTEN
                out.append(addr)
    return out


def test_default_bind_is_loopback_and_token_comes_from_the_environment(server: Running
                                                                       ) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp here")
    assert _listening(server.port) == ["0100007F"]  # 127.0.0.1 only
    status, out = post(server, ARTICLES[:1], token=None)
    assert status == 401
    status, out = post(server, ARTICLES[:1], token="not-it")
    assert status == 403
    status, out = post(server, ARTICLES[:1], token=TOKEN)  # same content: accepted, unchanged
    assert status == 202 and out["unchanged"] == 1 and out["new"] == 0


@pytest.mark.parametrize(("query", "why"), [
    ("وَزَارَةُ الصِّحَّةِ", "harakat"),
    ("الصحـــة", "tatweel"),
    ("اعلنت", "hamza on alef (أ)"),
    ("إفتتاح", "hamza on alef (إ for ا)"),
    ("مستشفي", "alef maqsura as ya"),
    ("وزاره", "ta marbuta as ha"),
    ("بالمستشفى", "attached ب and ال"),
    ("وللمستشفى", "attached و and لل"),
    ("300", "Western digits for Eastern"),
    ("ولبنان", "attached و, in v1"),
    ("بلبنان", "attached ب, in v1"),
    ("وصلت", "tatweel in the text, in v1"),
    ("مسئولون", "hamza carrier, in v1"),
])
def test_search_folds_every_spelling(server: Running, query: str, why: str) -> None:
    texts = {a["id"]: a["text"] for a in ARTICLES}
    found = get_json(q(server, "api/search", q=query))
    assert found["total"] >= 1, why
    hits = {h["doc"]: h for h in found["hits"]}
    expect = "v1" if "v1" in why else "a1"
    assert expect in hits, (why, list(hits))
    h = hits[expect]
    assert h["highlights"]
    keys = [k for k in query_keys(query)]
    for s, e in h["highlights"]:
        # each highlight is the ORIGINAL text of words the query's keys match
        assert set(query_keys(texts[expect][s:e])) <= set(keys), (why, texts[expect][s:e])


def test_unicode61_alone_misses_what_the_keys_find() -> None:
    """The measurement behind the keys: FTS5's unicode61 over the raw text finds none of
    these spellings of words a1 has (harakat split a word, alef forms, clitics are kept)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='unicode61')")
    conn.execute("INSERT INTO t (rowid, body) VALUES (1, ?)", (LEAD,))
    missed = []
    for query in ("وَزَارَةُ", "اعلنت", "مستشفي", "وزاره", "بالمستشفى", "300"):
        fts = '"' + query.replace('"', "") + '"'
        if not conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (fts,)).fetchall():
            missed.append(query)
    assert missed == ["وَزَارَةُ", "اعلنت", "مستشفي", "وزاره", "بالمستشفى", "300"]


def test_people_and_places_filter_facet_and_have_pages(server: Running) -> None:
    found = get_json(q(server, "api/search", q="المستشفيات"))
    facets = found["facets"]
    assert ["فهد الجلاجل", 2] in facets["person"]
    assert {"الرياض", "جدة"} <= {name for name, _ in facets["place"]}
    only = get_json(q(server, "api/search", q="المستشفيات", place="جدة"))
    assert [h["doc"] for h in only["hits"]] == ["a2"]
    both = get_json(q(server, "api/search", q="المستشفيات", person="فهد الجلاجل"))
    assert {h["doc"] for h in both["hits"]} == {"a1", "a2"}
    assert get_json(q(server, "api/search", q="المستشفيات", person="نكرة"))["total"] == 0
    # the person's page: their story and what they said, as text of the article
    status, _, body = call(server.url + "people/" + urllib.parse.quote("فهد الجلاجل"))
    html = body.decode()
    assert status == 200 and "افتتاح مستشفى جديد في الرياض" in html
    assert "المستشفى سيخدم سكان الأحياء الشمالية" in html
    # a place's page: the stories that name it (a2's is the hospital story)
    status, _, body = call(server.url + "places/" + urllib.parse.quote("جدة"))
    assert status == 200 and "افتتاح مستشفى جديد في الرياض" in body.decode()
    assert "تراجع أسواق الأسهم" not in body.decode()
    assert call(server.url + "people/" + urllib.parse.quote("نكرة"))[0] == 404


def test_story_api_members_summary_passages_attributions(server: Running) -> None:
    a1 = get_json(server.url + "api/articles/a1")
    a2 = get_json(server.url + "api/articles/a2")
    assert a1["story"] == a2["story"] is not None
    story = get_json(server.url + f"api/stories/{a1['story']}")
    assert [m["doc"] for m in story["members"]] == ["a1", "a2"]
    texts = {"a1": a1["text"], "a2": a2["text"]}
    assert story["summary"]
    for item in story["summary"]:
        # offsets into the ORIGINAL text of the article the sentence is taken from
        assert texts[item["doc"]][item["start"]:item["end"]].strip() == item["text"].strip()
    (passage,) = story["passages"]
    assert passage["source"] == "a1" and passage["kind"] == "copy"
    shared = LEAD.split(". ")[1]
    assert shared in a1["text"][passage["a_start"]:passage["a_end"]]
    assert shared in a2["text"][passage["b_start"]:passage["b_end"]]
    said = [x for x in story["attributions"] if x["speaker"] == "فهد الجلاجل"]
    assert {x["doc"] for x in said} == {"a1", "a2"}
    for doc in ("a1", "a2"):
        # what he said, at its offsets in each article that reports it
        assert any("المستشفى سيخدم" in texts[doc][x["content"][0]:x["content"][1]]
                   for x in said if x["doc"] == doc)
    # the list, with its filters and paging
    listed = get_json(q(server, "api/stories", limit=1))
    assert listed["total"] == 3 and len(listed["stories"]) == 1
    assert listed["stories"][0]["story"] == get_json(server.url + "api/articles/v1")["story"]
    second = get_json(q(server, "api/stories", limit=1, offset=1))["stories"][0]
    assert second["story"] == get_json(server.url + "api/articles/a3")["story"]
    by_outlet = get_json(q(server, "api/stories", outlet="two"))
    assert [s["story"] for s in by_outlet["stories"]] == [a1["story"]]
    assert set(by_outlet["stories"][0]["sources"]) == {"one", "two"}
    dated = get_json(q(server, "api/stories", **{"from": "2024-03-02", "to": "2024-03-03"}))
    assert [s["title"] for s in dated["stories"]] == ["تراجع أسواق الأسهم"]
    assert call(server.url + "api/stories/999999")[0] == 404


def test_article_and_outlet_pages(server: Running) -> None:
    status, _, body = call(server.url + "articles/a2")
    html = body.decode()
    assert status == 200
    # the original text, the passage it took from a1 (linked), and its quotations
    assert "في تطور لافت على صعيد الخدمات الصحية" in html
    reuse = html.split('<section id="reuse">', 1)[1].split("</section>", 1)[0]
    assert 'href="/articles/a1"' in reuse and "منقول عن" in reuse
    assert "المستشفى سيخدم سكان الأحياء الشمالية" in reuse
    said = html.split("<h2>من قال ماذا</h2>", 1)[1]
    assert 'href="/people/%D9%81%D9%87%D8%AF%20%D8%A7%D9%84%D8%AC%D9%84%D8%A7%D8%AC%D9%84"' \
        in said
    assert call(server.url + "articles/a1")[2].decode().count("نقلته عنها") == 1
    one = get_json(server.url + "api/articles/a2")
    assert {x["speaker"] for x in one["attributions"]} >= {"فهد الجلاجل", "مراقبون في جدة"}
    # outlet one publishes first and is copied by two; two copies from one
    status, _, body = call(server.url + "outlets/one")
    page = body.decode()
    assert status == 200 and "two" in page
    from khabar.service.queries import outlet

    conn = sqlite3.connect(f"file:{server_db(server)}?mode=ro", uri=True)
    try:
        o1, o2 = outlet(conn, "one"), outlet(conn, "two")
    finally:
        conn.close()
    assert o1["first_in"] == 2 and o1["copied_by"] == [["two", 1]] and o1["copies_from"] == []
    assert o2["first_in"] == 0 and o2["copies_from"] == [["one", 1]]


def server_db(srv: Running) -> Path:
    return Path(str(srv.log).rsplit(".serve-", 1)[0])


def test_story_ids_stay_put_as_articles_arrive(server: Running) -> None:
    before = {d: get_json(server.url + f"api/articles/{d}")["story"] for d in ("a1", "a3", "v1")}
    version = get_json(server.url + f"api/stories/{before['a1']}")["version"]
    late = {"id": "a4", "title": "الوزارة تفتتح المستشفى", "source": "four",
            "date": "2024-03-01 18:00:00", "text": LEAD + " وتأتي الخطوة ضمن خطة لتطوير القطاع."}
    status, out = post(server, [late], token=TOKEN)
    assert status == 202
    t0 = time.monotonic()
    wait_job(server, out["job"])
    assert time.monotonic() - t0 < 60
    after = {d: get_json(server.url + f"api/articles/{d}")["story"] for d in ("a1", "a3", "v1")}
    assert after == before  # nobody moved
    assert get_json(server.url + "api/articles/a4")["story"] == before["a1"]
    story = get_json(server.url + f"api/stories/{before['a1']}")
    assert story["version"] > version and "a4" in [m["doc"] for m in story["members"]]
    # the story's page and its feed have the newcomer
    page = call(server.url + f"stories/{before['a1']}")[2].decode()
    assert "four" in page
    # the report's story page (templates/story.html in the frame page.html), live
    assert '<nav class="sections">' in page and '<section id="timeline">' in page
    assert f'data-live="/api/version?story={before["a1"]}"' in page
    feed = call(server.url + f"feeds/stories/{before['a1']}.atom")[2].decode()
    assert "urn:khabar:doc:a4" in feed


def _generated(k: int, rng: random.Random) -> dict[str, Any]:
    words = ("الحكومة الوزارة المدينة المشروع الاجتماع القرار المجلس الشركة السوق المواطنين "
             "الطلاب المدارس الطرق الكهرباء المياه الميناء المطار الجامعة الملعب المهرجان").split()
    verbs = "أعلنت ناقشت افتتحت أقرت بحثت دشنت راجعت أكدت تابعت درست".split()
    sents = [f"{rng.choice(verbs)} {rng.choice(words)} {rng.choice(words)} في {rng.choice(words)} "
             f"رقم {rng.randint(1, 999)} مع {rng.choice(words)} {rng.choice(words)}."
             for _ in range(12)]
    return {"id": f"g{k}", "title": " ".join(sents[0].split()[:5]), "source": f"s{k % 7}",
            "date": f"2024-05-{1 + k % 28:02d} {k % 24:02d}:00:00", "text": " ".join(sents)}


def test_reads_answer_while_the_worker_analyses(tmp_path: Path) -> None:
    """The analysis runs in its own process: searches and pages answer while a batch is
    being analysed (each read well under a second, most far less), each read from one
    consistent snapshot."""
    rng = random.Random(7)
    srv = Running(tmp_path / "busy.db")
    try:
        status, out = post(srv, [_generated(k, rng) for k in range(40)], token=None)
        assert status == 202
        wait_job(srv, out["job"])
        status, out = post(srv, [_generated(k, rng) for k in range(40, 200)], token=None)
        assert status == 202
        during: list[float] = []
        busy = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = get_json(srv.url + f"api/jobs/{out['job']}")
            if state["done"]:
                break
            for path in ("api/search?q=" + urllib.parse.quote("الوزارة"), "api/stats", ""):
                t = time.perf_counter()
                status, _, body = call(srv.url + path)
                during.append(time.perf_counter() - t)
                assert status == 200
                if path == "api/stats":
                    # one snapshot: a batch leaves the queue as it enters the analysed
                    stats = json.loads(body)
                    assert stats["analyzed"] + stats["queued"] == stats["documents"] == 200
            busy += 1
            time.sleep(0.05)
        assert busy >= 3, "the batch was analysed before reads could be timed"
        during.sort()
        assert during[len(during) // 2] < 0.25 and during[-1] < 2.0, during[-5:]
    finally:
        assert srv.stop() == 0


def test_articles_are_placed_before_their_stories_are_explained(tmp_path: Path) -> None:
    """The worker's order (the Python API, no server): a batch is in its stories and
    searchable first; the stories it touched are explained once, later, and its job is
    done only then."""
    from khabar.document import Document
    from khabar.io.dates import parse_date
    from khabar.service.analysis import AnalysisParams, Analyzer, accept

    def docs(rows: list[dict[str, Any]]) -> list[Document]:
        return [Document(id=r["id"], text=r["text"], title=r["title"], source=r["source"],
                         date=parse_date(r["date"])) for r in rows]

    with Analyzer(tmp_path / "order.db", AnalysisParams(batch=2)) as an:
        first = accept(an.store, docs(ARTICLES[:2]), "test")
        second = accept(an.store, docs(ARTICLES[2:]), "test")
        assert an.run_pending(limit=2, explain=False) == 2
        db = an.store.db
        story = an.story_of("a1")
        assert story is not None and an.story_of("a2") == story
        assert db.execute("SELECT COUNT(*) FROM svc_stories").fetchone()[0] == 0
        assert [r[0] for r in db.execute("SELECT story FROM svc_dirty")] == [story]
        stage = dict(db.execute("SELECT job, stage FROM svc_jobs").fetchall())
        assert stage == {first.job: "explain", second.job: "queued"}
        # while articles wait, explanations give way (the oldest waited less than 30 s)
        assert an.explain_pending(give_way=lambda: an.pending() > 0) == 1
        assert dict(db.execute("SELECT job, stage FROM svc_jobs").fetchall())[first.job] \
            == "done"
        assert an.run_pending(explain=False) == 2
        assert an.explain_pending(give_way=lambda: True) == 1  # gives way after one
        assert not an.explained()
        assert an.explain_pending() == 1  # the other new story; a1's is not done again
        assert an.explained()
        stage = dict(db.execute("SELECT job, stage FROM svc_jobs").fetchall())
        assert stage == {first.job: "done", second.job: "done"}
        assert db.execute("SELECT COUNT(*) FROM svc_stories").fetchone()[0] == 3
