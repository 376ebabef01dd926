"""Threads: stories of one developing event linked across days, with their evidence."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO, DEMO_KEY
from test_stories_corpus import all_docs

from khabar.ingest import ingest
from khabar.store import Store
from khabar.stories import (
    StoryParams,
    ThreadModel,
    ThreadParams,
    cluster_stories,
    load_threads,
)
from khabar.stories import threads as T


def demo_docs():
    from khabar.io.readers import read

    return list(read([DEMO]))


def key() -> dict:
    return json.loads(Path(DEMO_KEY).read_text(encoding="utf-8"))


def same_thread(result, *ids: str) -> bool:
    return len({result.thread_of(i).thread for i in ids}) == 1


# A model that links stories on their closeness and shared text alone: the mechanism's tests
# use it, so that they do not depend on the weights fitted to SaudiNewsNet's labels (the
# default model, which those labels make cautious; see the README).
CLOSE = ThreadModel(weights=(0.0, 2.0, 6.0, 4.0, 2.0), intercept=-6.0)


def split_stories():
    """The fire that grows over three days, its stories split on purpose (a strict story
    threshold), so that only threads can put it together again."""
    return StoryParams.make(threshold=0.99)


@pytest.fixture(scope="module")
def demo_result():
    return cluster_stories(demo_docs())


def test_threads_put_a_split_event_together():
    params = replace(split_stories(), threads=ThreadParams(model=CLOSE))
    result = cluster_stories(all_docs(), params)
    fire = ["c1", "c2", "c3", "c4", "c5"]
    assert len({result.assignment[i][0] for i in fire}) > 1  # several stories…
    assert same_thread(result, *fire)  # …one thread
    assert result.thread_of("d1").stories == [result.assignment["d1"][0]]
    thread = result.thread_of("c1")
    members = [m for s in result.stories if s.story in thread.stories for m in s.members]
    assert sorted(thread.members) == sorted(members)
    assert thread.members[0] == "c1" and thread.members[-1] == "c5"  # time order
    assert thread.first_seen.day == 10 and thread.last_seen.day == 12


def test_every_link_says_why():
    params = replace(split_stories(), threads=ThreadParams(model=CLOSE))
    result = cluster_stories(all_docs(), params)
    linked = [t for t in result.threads if len(t.stories) > 1]
    assert linked
    for t in linked:
        assert t.links
        for link in t.links:
            assert link.score >= ThreadParams().threshold
            assert link.a in t.stories and link.b in t.stories
            ev = link.evidence
            assert set(ev) >= {"words", "reused", "closest", "gap_days", "figures_before",
                               "figures_after", "similarity"}
            assert ev["words"]
            # shown as written, in the texts of both stories' articles
            for side in (link.a, link.b):
                texts = " ".join(d.title + " " + d.text for d in all_docs()
                                 if result.assignment[d.id][0] == side)
                from khabar.stories.threads import shared_words

                assert shared_words([texts], [" ".join(ev["words"])], lambda t: 1.0,
                                    limit=99) != [], side
        # the thread's links connect all its stories
        seen = {t.links[0].a}
        changed = True
        while changed:
            changed = False
            for link in t.links:
                if (link.a in seen) != (link.b in seen):
                    seen |= {link.a, link.b}
                    changed = True
        assert seen == set(t.stories)
    # the fire's story of day 3 reuses the background paragraph of day 1
    fire = result.thread_of("c1")
    assert max(link.evidence["reused"] for link in fire.links) > 0


def test_the_fitted_model_keeps_two_strikes_of_one_province_apart():
    """Two air strikes in one province three days apart, the second report recalling the
    first: another happening of the same kind, never one thread."""
    for params in (StoryParams(), split_stories()):
        result = cluster_stories(all_docs(), params)
        assert result.thread_of("a1").thread != result.thread_of("b1").thread


def test_the_fitted_model_never_threads_two_key_stories_of_the_demo(demo_result):
    """Whatever it links, the default model never joins two different events of the key
    (the two floods of one province above all)."""
    k = key()
    event_of = {m: name for name, ms in k["threads"].items() for m in ms}
    for t in demo_result.threads:
        assert len({event_of[m] for m in t.members if m in event_of}) <= 1, t
    ghadir = k["threads"]["ghadir-flash-flood"]
    marj = k["threads"]["marj-dam-flood"]
    assert not ({demo_result.thread_of(i).thread for i in ghadir}
                & {demo_result.thread_of(i).thread for i in marj})
    for lone in k["singletons"]:
        assert demo_result.thread_of(lone).members == [lone]


def test_threads_in_stream_mode_and_without():
    params = replace(split_stories(), threads=ThreadParams(model=CLOSE))
    stream = cluster_stories(all_docs(), params, mode="stream")
    assert same_thread(stream, "c1", "c2", "c3", "c4", "c5")
    off = cluster_stories(all_docs(), replace(params, threads=None))
    assert off.threads is None and off.thread_of("c1") is None


def test_stable_thread_ids_in_the_store(tmp_path):
    params = replace(split_stories(), threads=ThreadParams(model=CLOSE))
    db = tmp_path / "k.db"
    docs = all_docs()
    early = [d for d in docs if d.date.day <= 10]
    ingest(early, db)
    with Store(db) as store:
        r1 = cluster_stories(store, params)
        fire = r1.thread_of("c1").thread
        strike = r1.thread_of("a1").thread
    ingest(docs, db)
    for mode in ("stream", "batch"):
        with Store(db) as store:
            r2 = cluster_stories(store, params, mode=mode)
            # the fire's thread grew with the next days' stories and kept its id
            assert r2.thread_of("c5").thread == fire
            assert r2.thread_of("a1").thread == strike
            statements: list[str] = []
            store.db.set_trace_callback(statements.append)
            r3 = cluster_stories(store, params, mode=mode)
            store.db.set_trace_callback(None)
            assert not [s for s in statements if "thread" in s.lower()
                        and s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
            assert {t.thread: t.stories for t in r3.threads} == \
                {t.thread: t.stories for t in r2.threads}
    with Store(db) as store:
        stored = load_threads(store)
    assert {t.thread: t.stories for t in stored} == {t.thread: t.stories for t in r3.threads}
    assert next(t for t in stored if t.thread == fire).links[0].evidence["words"]


def test_cli_writes_threads_jsonl(tmp_path):
    from khabar.cli import main

    out = tmp_path / "out"
    assert main(["stories", str(DEMO), "--out", str(out), "--quiet"]) in (0, None)
    rows = [json.loads(x) for x in (out / "threads.jsonl").read_text().splitlines()]
    stories = {json.loads(x)["story"]: json.loads(x) for x in
               (out / "stories.jsonl").read_text().splitlines()}
    assert sorted(s for r in rows for s in r["stories"]) == sorted(stories)
    for r in rows:
        assert list(r)[:6] == ["thread", "title", "first_seen", "last_seen", "stories",
                               "members"]
        assert sorted(r["members"]) == sorted(m for s in r["stories"]
                                              for m in stories[s]["members"])
    for r in rows:
        for link in r["links"]:
            assert link["a"] in r["stories"] and link["b"] in r["stories"]


# -- the pieces ---------------------------------------------------------------------------------


def test_best_other_is_a_grouping_by_story():
    left = np.array([0, 0, 1, 2])
    right = np.array([1, 2, 2, 3])
    sim = np.array([0.5, 0.9, 0.4, 0.2])
    best, second, partner = T.best_other(4, left, right, sim)
    assert best.tolist() == [0.9, 0.5, 0.9, 0.2]
    assert second.tolist() == [0.5, 0.4, 0.4, 0.0]
    assert partner.tolist() == [2, 0, 0, 2]


def test_closest_says_whether_each_is_the_others_best_match():
    """Three daily reports of one kind: no pair is 'closest' while a third is as close."""
    import scipy.sparse as sp

    body = sp.csr_matrix(np.array([[1.0, 0, 0], [0.9, 0.43589, 0], [0.9, 0, 0.43589],
                                   [0, 0, 1.0]]))
    n = 4
    z = sp.csr_matrix((n, 3))
    day = 86400.0
    p = T.Profiles([10, 11, 12, 13], np.arange(n) * day, np.arange(n) * day, body, z, z,
                   np.zeros(n), z, z, np.ones(n))
    left, right, sim = T.candidate_pairs(p, ThreadParams())
    feats = T.pair_features(p, left, right, sim, ThreadParams())
    close = {(int(a), int(b)): f[2] for a, b, f in zip(left, right, feats, strict=True)}
    assert close[(0, 1)] == pytest.approx(1.0)  # 0's best is 1 (tie with 2, same value)
    assert close[(1, 2)] < 1.0  # 1 and 2 each have a better match: 0
    # the window: stories more than a week apart are never candidates
    far = T.Profiles([1, 2], np.array([0.0, 9 * day]), np.array([0.0, 9 * day]),
                     body[:2], z[:2], z[:2], np.zeros(2), z[:2], z[:2], np.ones(2))
    assert len(T.candidate_pairs(far, ThreadParams())[0]) == 0


def test_shared_words_and_figures_come_from_the_texts():
    a = ["انقلب قطار الركاب رقم 214 قرب تل الريحان ومقتل 4 أشخاص"]
    b = ["ارتفاع حصيلة حادث قطار تل الريحان إلى 5 قتلى و37 جريحا، والقطار رقم 214"]
    idf = lambda term: 1.0  # noqa: E731
    words = T.shared_words(a, b, idf)
    assert "الريحان" in words and "قطار" in words
    _, after, both = T.figures(a, b)
    assert both == ["214"] and "37" in after


def test_cli_thread_threshold(tmp_path):
    """Lower thresholds link more: on the demo at 0.15 the derailment's three day-stories are
    one thread (and so are the two floods: the cost the README measures)."""
    from khabar.cli import main

    out = tmp_path / "out"
    assert main(["stories", str(DEMO), "--out", str(out), "--quiet",
                 "--thread-threshold", "0.15"]) in (0, None)
    rows = [json.loads(x) for x in (out / "threads.jsonl").read_text().splitlines()]
    derail = key()["threads"]["tal-rayhan-train-derailment"]
    assert any(set(derail) <= set(r["members"]) for r in rows)
    with pytest.raises(SystemExit) as exc:
        main(["stories", str(DEMO), "--out", str(out), "--thread-threshold", "2"])
    assert exc.value.code == 1
