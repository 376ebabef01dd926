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
from typing import Any

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


# -- threads -----------------------------------------------------------------------------------

THREADS_VERSION = 1
THREADS_DDL = """
CREATE TABLE IF NOT EXISTS threads (
    thread INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    first_seen TEXT,
    last_seen TEXT,
    size INTEGER NOT NULL,          -- stories
    links TEXT NOT NULL,            -- JSON list of links with their evidence
    merged_into INTEGER             -- set when a later run absorbed this thread
);
CREATE TABLE IF NOT EXISTS thread_stories (
    story INTEGER PRIMARY KEY,      -- stories.story
    thread INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS thread_stories_thread ON thread_stories(thread)
"""


def declare_threads(store: Store) -> None:
    row = store.db.execute("SELECT version FROM components WHERE name='threads'").fetchone()
    if row is None or row[0] != THREADS_VERSION:
        store.declare("threads", THREADS_VERSION, THREADS_DDL)


def save_threads(store: Store, result: Any) -> dict[str, int]:
    """Give the threads of `result` (`threads.ThreadResult`) stable ids and write them,
    touching only rows that changed; `result` is renumbered in place.

    A thread takes the stored id most of its stories had (each stored id to one
    thread); threads of new stories only get new ids after the largest ever given, so
    a story that grows keeps its thread, and a re-run writes nothing.
    """
    declare_threads(store)
    q = store.db.execute
    old_of = {s: t for s, t in q("SELECT story, thread FROM thread_stories")}
    last = int(q("SELECT MAX(thread) FROM threads").fetchone()[0] or 0)
    ids = stable_ids([t.stories for t in result.threads], old_of, last)
    for t, tid in zip(result.threads, ids, strict=True):
        t.thread = tid
    result.threads.sort(key=lambda t: t.thread)
    result.of_story = {s: t.thread for t in result.threads for s in t.stories}
    old_rows = {r[0]: r[1:] for r in q(
        "SELECT thread, title, first_seen, last_seen, size, links, merged_into FROM threads")}
    changed = {"threads_new": 0, "threads_changed": 0, "stories_changed": 0, "absorbed": 0}
    live = {t.thread for t in result.threads}
    with store.transaction():
        for t in result.threads:
            row = (t.title, iso(t.first_seen), iso(t.last_seen), len(t.stories),
                   json.dumps([link.to_dict() for link in t.links], ensure_ascii=False), None)
            if t.thread not in old_rows:
                q("INSERT INTO threads VALUES (?, ?, ?, ?, ?, ?, ?)", (t.thread, *row))
                changed["threads_new"] += 1
            elif tuple(old_rows[t.thread]) != row:
                q("UPDATE threads SET title=?, first_seen=?, last_seen=?, size=?, links=?, "
                  "merged_into=? WHERE thread=?", (*row, t.thread))
                changed["threads_changed"] += 1
            for s in t.stories:
                if old_of.get(s) != t.thread:
                    q("INSERT INTO thread_stories VALUES (?, ?) ON CONFLICT(story) DO UPDATE "
                      "SET thread=excluded.thread", (s, t.thread))
                    changed["stories_changed"] += 1
        for thread, row in old_rows.items():
            if thread in live or row[3] == 0:
                continue
            dest = Counter(result.of_story[s] for s, t in old_of.items()
                           if t == thread and s in result.of_story).most_common(1)
            q("UPDATE threads SET size=0, merged_into=? WHERE thread=?",
              (dest[0][0] if dest else None, thread))
            changed["absorbed"] += 1
    return changed


def load_threads(store: Store) -> Any:
    """The threads stored by the last run (with their stories' members), or None when
    the database has none."""
    from khabar.store import parse_iso
    from khabar.stories.threads import Thread, ThreadLink, ThreadResult

    known = {r[0] for r in store.db.execute("SELECT name FROM components")}
    if "threads" not in known:
        return None
    stories = {s.story: s for s in load_result(store).stories}
    q = store.db.execute
    by_thread: dict[int, list[int]] = {}
    for story, thread in q("SELECT story, thread FROM thread_stories ORDER BY story"):
        if story in stories:
            by_thread.setdefault(thread, []).append(story)
    out = []
    for thread, title, first, last, _size, links, _merged in q(
        "SELECT thread, title, first_seen, last_seen, size, links, merged_into FROM threads "
        "WHERE size > 0 ORDER BY thread"
    ):
        sids = sorted(by_thread.get(thread, []),
                      key=lambda s: (stories[s].first_seen is None,
                                     stories[s].first_seen.timestamp()
                                     if stories[s].first_seen else 0.0, s))
        if not sids:
            continue
        from khabar.stories.threads import _members_in_order

        rows = json.loads(links)
        out.append(Thread(
            thread, title, parse_iso(first), parse_iso(last), sids,
            _members_in_order([stories[s] for s in sids]),
            [ThreadLink(r.pop("a"), r.pop("b"), r.pop("score"), r) for r in rows]))
    return ThreadResult(out, {s: t.thread for t in out for s in t.stories})
