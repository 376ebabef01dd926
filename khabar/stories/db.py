"""Stable story ids in the database.

Tables (component ``stories``, version 1):

* ``stories(story, title, first_seen, last_seen, size, sources, merged_into)`` — one row
  per story id ever given; a story absorbed by another on a later run keeps its row
  with ``size`` 0 and ``merged_into`` set, so an id is never reused or renumbered.
* ``story_members(doc, story, score)`` — the story of each document (``documents.n``).

After a run, each new cluster takes the stored id that most of its members
already had (each stored id goes to at most one cluster, the one holding most
of its members); clusters with no stored members get new ids after the
largest ever given, in order of first appearance. Re-running on the same data
therefore finds every cluster with its old id and writes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from khabar.store import Store, iso
from khabar.stories.result import Story, StoryResult

DDL = """
CREATE TABLE IF NOT EXISTS stories (
    story INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    first_seen TEXT,
    last_seen TEXT,
    size INTEGER NOT NULL,
    sources TEXT NOT NULL,          -- JSON list of outlets, most articles first
    merged_into INTEGER             -- set when a later run absorbed this story
);
CREATE TABLE IF NOT EXISTS story_members (
    doc INTEGER PRIMARY KEY,        -- documents.n
    story INTEGER NOT NULL,
    score REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS story_members_story ON story_members(story)
"""


VERSION = 1


def declare(store: Store) -> None:
    row = store.db.execute("SELECT version FROM components WHERE name='stories'").fetchone()
    if row is None or row[0] != VERSION:
        # (declaring writes even when nothing changes: skipped so that a re-run writes nothing)
        store.declare("stories", VERSION, DDL)


def doc_numbers(store: Store) -> dict[str, int]:
    # the collection is read through the stage's snapshot (`Store.snapshot`)
    return {i: n for n, i in store.read.execute("SELECT n, id FROM documents")}


def stored_members(store: Store) -> dict[int, tuple[int, float]]:
    """documents.n -> (story, score) as stored."""
    return {n: (s, sc) for n, s, sc in store.db.execute(
        "SELECT doc, story, score FROM story_members")}


def max_story(store: Store) -> int:
    row = store.db.execute("SELECT MAX(story) FROM stories").fetchone()
    return int(row[0] or 0)


def stable_ids(clusters: Sequence[Sequence[int]], old: dict[int, int], last_id: int
               ) -> list[int]:
    """An id for each cluster (lists of documents.n, in order of first appearance)."""
    votes = []
    for k, members in enumerate(clusters):
        for story, count in Counter(old[n] for n in members if n in old).items():
            votes.append((-count, story, k))
    votes.sort()
    taken: dict[int, int] = {}
    used: set[int] = set()
    for _, story, k in votes:
        if k not in taken and story not in used:
            taken[k] = story
            used.add(story)
    out = []
    for k in range(len(clusters)):
        if k not in taken:
            last_id += 1
            taken[k] = last_id
        out.append(taken[k])
    return out


def save(store: Store, result: StoryResult, numbers: dict[str, int]) -> dict[str, int]:
    """Write stories and memberships, touching only rows that changed; returns counts."""
    declare(store)
    q = store.db.execute
    old_rows = {r[0]: r[1:] for r in q(
        "SELECT story, title, first_seen, last_seen, size, sources, merged_into FROM stories")}
    old_members = stored_members(store)
    changed = {"stories_new": 0, "stories_changed": 0, "members_changed": 0, "absorbed": 0}
    live = {s.story for s in result.stories}
    with store.transaction():
        for s in result.stories:
            row = _row(s)
            if s.story not in old_rows:
                q("INSERT INTO stories VALUES (?, ?, ?, ?, ?, ?, ?)", (s.story, *row))
                changed["stories_new"] += 1
            elif tuple(old_rows[s.story]) != row:
                q("UPDATE stories SET title=?, first_seen=?, last_seen=?, size=?, sources=?, "
                  "merged_into=? WHERE story=?", (*row, s.story))
                changed["stories_changed"] += 1
            for m, score in zip(s.members, s.scores, strict=True):
                n = numbers[m]
                value = (s.story, round(score, 6))
                if old_members.get(n) != value:
                    q("INSERT INTO story_members VALUES (?, ?, ?) ON CONFLICT(doc) DO UPDATE "
                      "SET story=excluded.story, score=excluded.score", (n, *value))
                    changed["members_changed"] += 1
        # stored stories no cluster kept: absorbed into where most of their members went
        where = {numbers[m]: s.story for s in result.stories for m in s.members}
        for story, row in old_rows.items():
            if story in live or row[3] == 0:
                continue
            members = [n for n, (st, _) in old_members.items() if st == story]
            dest = Counter(where[n] for n in members if n in where).most_common(1)
            q("UPDATE stories SET size=0, merged_into=? WHERE story=?",
              (dest[0][0] if dest else None, story))
            changed["absorbed"] += 1
    return changed


def _row(s: Story) -> tuple:
    return (s.title, iso(s.first_seen), iso(s.last_seen), len(s.members),
            json.dumps(s.sources, ensure_ascii=False), None)


def load_result(store: Store) -> StoryResult:
    """The stories stored by the last run (members in time order), without recomputing."""
    declare(store)
    q = store.db.execute
    from khabar.store import parse_iso

    stories: dict[int, Story] = {}
    for story, title, first, last, _size, sources, _merged in q(
        "SELECT story, title, first_seen, last_seen, size, sources, merged_into FROM stories "
        "WHERE size > 0 ORDER BY story"
    ):
        stories[story] = Story(story, title, parse_iso(first), parse_iso(last), [], [],
                               json.loads(sources))
    assignment: dict[str, tuple[int, float]] = {}
    for doc_id, story, score in q(
        "SELECT d.id, m.story, m.score FROM story_members m JOIN documents d ON d.n = m.doc "
        "ORDER BY m.story, d.ts IS NULL, d.ts, d.id"
    ):
        if story in stories:
            stories[story].members.append(doc_id)
            stories[story].scores.append(score)
        assignment[doc_id] = (story, score)
    return StoryResult(list(stories.values()), assignment)
