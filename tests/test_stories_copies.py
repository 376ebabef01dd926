"""Copies are never split apart by the story stage (issue 16, item 5; issue 14).

Before: 150 identical copies gave 150 stories (every word of a text copied that often is
above the document-frequency cut and weighs nothing), and a republication two days later
lost on time proximity. Copies found by the duplicate stage now enter the clustering as
one unit, in batch and in streaming, from documents or from a database.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from test_stories_corpus import all_docs, strike_docs

from khabar.document import Document
from khabar.ingest import ingest
from khabar.store import Store
from khabar.stories import StoryParams, StoryStream, cluster_stories
from khabar.stories.copies import Copies, copy_units


def copies_of(doc: Document, n: int, *, outlets: bool = True, spread_hours: int = 120
              ) -> list[Document]:
    """`n` identical republications of `doc` over `spread_hours` (five days by default)."""
    return [replace(doc, id=f"copy{k:05d}", date=doc.date + timedelta(hours=k % spread_hours),
                    source=f"outlet{k % 40}" if outlets else None) for k in range(n)]


def story_count(result, ids) -> int:
    return len({result.assignment[i][0] for i in ids})


@pytest.mark.parametrize("mode", ["batch", "stream"])
@pytest.mark.parametrize("n", [100, 150, 2000])
def test_identical_copies_are_one_story_in_memory(n, mode):
    base = all_docs()
    copies = copies_of(base[0], n)
    result = cluster_stories(base + copies, mode=mode)
    assert story_count(result, [c.id for c in copies] + ["a1"]) == 1
    # and nothing else was pulled in: the other events keep their own stories
    assert result.story_of("a1").members.count("b1") == 0
    assert len(result.stories) == 4


def test_without_the_must_link_the_copies_split():
    """The failure this fixes, kept visible: the pair score alone splits copies apart."""
    copies = copies_of(all_docs()[0], 150)
    assert story_count(cluster_stories(copies, copies=False), [c.id for c in copies]) > 1


@pytest.mark.parametrize("mode", ["batch", "stream"])
@pytest.mark.parametrize("n", [100, 150])
def test_identical_copies_are_one_story_in_a_database(tmp_path, n, mode):
    base = all_docs()
    copies = copies_of(base[0], n)
    db = tmp_path / "k.db"
    ingest(base + copies, db)
    with Store(db) as store:
        result = cluster_stories(store, mode=mode)
    assert story_count(result, [c.id for c in copies] + ["a1"]) == 1


def test_copies_from_one_outlet_are_not_its_boilerplate(tmp_path):
    """One outlet republishing an article 150 times: its lines are in every one of the
    outlet's documents, but they are one text, not the outlet's boilerplate (before, the
    ingest stripped them all and each copy became a story of its own)."""
    copies = [replace(c, source="wire") for c in copies_of(all_docs()[0], 150)]
    db = tmp_path / "k.db"
    ingest(copies, db)
    with Store(db) as store:
        _, rep = store.get(copies[0].id)
        assert not [a for a in rep.actions if a.kind == "boilerplate"]
        result = cluster_stories(store)
    assert story_count(result, [c.id for c in copies]) == 1


def test_copies_arriving_later_in_a_database_join_the_stored_story(tmp_path):
    """Stream with a database: copies published a week later, after the story left the
    window, still join it (whatever their dates)."""
    base = all_docs()
    db = tmp_path / "k.db"
    ingest(base, db)
    with Store(db) as store:
        first = cluster_stories(store, mode="stream")
    late = [replace(base[0], id=f"late{k}", date=base[0].date + timedelta(days=9, hours=k),
                    source=f"late{k}") for k in range(3)]
    ingest(late, db)
    with Store(db) as store:
        again = cluster_stories(store, mode="stream")
    story = first.assignment["a1"][0]
    assert {again.assignment[d.id][0] for d in late} == {story}
    assert again.assignment["a1"][0] == story


def test_cli_stories_on_a_file_of_copies(tmp_path):
    from khabar.cli import main

    path = tmp_path / "copies.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for d in copies_of(all_docs()[0], 150):
            fh.write(json.dumps({"id": d.id, "text": d.text, "title": d.title,
                                 "source": d.source, "date": d.date.isoformat()},
                                ensure_ascii=False) + "\n")
    out = tmp_path / "out"
    assert main(["stories", str(path), "--out", str(out), "--quiet"]) in (0, None)
    rows = [json.loads(x) for x in (out / "stories.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["size"] == 150


def test_a_copy_two_days_later_joins_despite_time():
    """A republication two days after the event, with the rest of the week in between."""
    docs = all_docs()
    late = replace(strike_docs()[3], id="b1-late", date=strike_docs()[3].date + timedelta(days=2),
                   source="weekly")
    for mode in ("batch", "stream"):
        result = cluster_stories([*docs, late], mode=mode)
        assert result.assignment["b1-late"][0] == result.assignment["b1"][0]


def test_live_stream_folds_copies_and_stays_linear():
    """A live stream given copy groups keeps one row per group in its window."""
    docs = sorted(all_docs(), key=lambda d: d.timestamp)
    copies = copies_of(docs[0], 500, spread_hours=6)
    found = Copies.from_links((), [(c.id, docs[0].id) for c in copies])
    stream = StoryStream(StoryParams(), copies=found)
    out = stream.add(sorted([*docs, *copies], key=lambda d: (d.timestamp, d.id)))
    story = {a.id: a.story for a in out}
    assert len({story[c.id] for c in copies} | {story[docs[0].id]}) == 1
    # the window holds the originals, not 500 more rows
    assert stream.active_articles <= len(docs)
    # one at a time gives the same
    single = StoryStream(StoryParams(), copies=found)
    again = [a for d in sorted([*docs, *copies], key=lambda d: (d.timestamp, d.id))
             for a in single.add([d])]
    assert again == out


def test_only_symmetric_duplicates_are_must_links():
    """A digest that carries a whole news item at its end (containment) is not a copy of it."""
    class P:
        def __init__(self, a, b, kind, jaccard):
            self.a, self.b, self.kind, self.jaccard = a, b, kind, jaccard

    pairs = [P("x", "y", "exact", 1.0), P("y", "z", "near", 0.85), P("digest", "item", "near", 0.2)]
    found = Copies.from_pairs(pairs, 0.8)
    assert found.groups == {"x": "x", "y": "x", "z": "x"}
    assert found.exact == {"x": "x", "y": "x"}


def test_units_stand_for_their_copies():
    import numpy as np

    ids = ["c", "a", "b", "d"]
    ts = np.array([3.0, 2.0, 1.0, np.nan])
    units = copy_units(ids, ts, {"a": "a", "b": "a", "c": "a"})
    # one unit for a, b, c (its earliest member, b, stands for it), one for d
    assert len(units) == 2
    assert units.weight.tolist() == [3.0, 1.0]
    assert ids[int(units.reps[units.unit[0]])] == "b"
    assert units.unit[0] == units.unit[1] == units.unit[2] != units.unit[3]
