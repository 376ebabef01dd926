"""The threads stage as steps: story profiles → story pairs by day → closest links → linkage.

The same three steps as `khabar.stories.threads` (read it for the model), as
groupings a runner can spread: the profile of each story is a grouping of its
articles' rows; candidate story pairs are scored in groups by day (a story
meets the stories whose time spans come within `ThreadParams.window` days of
it); each story's best other link, which the ``closest`` feature needs, is a
grouping by story; linkage runs per connected component, as for stories; and a
link's evidence (the words both stories use, the figures that changed) is
computed from the texts of its two stories' earliest articles only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from khabar.engine import Dataset, cogroup
from khabar.pickling import fast_pickle
from khabar.records import Record
from khabar.stage import Context, Output, stage
from khabar.stories.linkage import average_linkage
from khabar.stories.params import StoryParams
from khabar.stories.similarity import DAY, make_space
from khabar.stories.stage import StoryBlock
from khabar.stories.threads import (
    EVIDENCE_MEMBERS,
    LEAD_CHARS,
    THREAD_FEATURES,
    ThreadParams,
    figures,
    shared_words,
)

MAX_SPAN_DAYS = 60
"""A story is offered to the day groups of its whole span plus the window, up to this many
days (a story running longer is still linked from its first days)."""

Row = tuple[np.ndarray, np.ndarray]
"""A sparse row as (column indices, values)."""


@dataclass(slots=True)
class Profile:
    """One story as thread linking sees it (`threads.Profiles` has one row per story)."""

    story: int
    first: float
    last: float
    size: int
    body: Row
    title: Row
    present: Row
    title_mass: float
    shingles: Row
    numbers: Row

    def __reduce__(self) -> tuple:
        return (Profile, (self.story, self.first, self.last, self.size, self.body, self.title,
                          self.present, self.title_mass, self.shingles, self.numbers))


@fast_pickle
@dataclass(frozen=True, slots=True)
class ThreadRecord(Record):
    """Stories of one developing event, in time order, with the links it was made of."""

    thread: int
    title: str
    first_seen: datetime | None
    last_seen: datetime | None
    stories: tuple[int, ...]
    members: tuple[str, ...]
    links: tuple[dict, ...]
    """Each link: ``a``, ``b`` (stories), ``score`` and its evidence (`threads.ThreadLink`)."""


@fast_pickle
@dataclass(frozen=True, slots=True)
class ThreadOf:
    story: int
    thread: int


# -- 1. profiles ----------------------------------------------------------------------------------


def _row(m: sp.csr_matrix, r: int) -> Row:
    lo, hi = m.indptr[r], m.indptr[r + 1]
    return m.indices[lo:hi].copy(), m.data[lo:hi].copy()


def _article_rows(batch: list[StoryBlock], stats: Any, params: StoryParams
                  ) -> list[tuple[int, tuple]]:
    """(n, the article's rows of the story space) for every article."""
    out = []
    for b in batch:
        space = make_space(b.arts, stats.value, params.pairs)
        for r in range(len(b.ns)):
            out.append((int(b.ns[r]), (float(b.arts.ts[r]), _row(space.body, r),
                                       _row(space.title_idf, r), _row(space.present, r),
                                       _row(space.shingle_w, r), _row(space.numbers, r))))
    return out


def _with_story(n: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    rows, of = sides
    if not rows or not of:
        return []
    return [(of[0].story, rows[0])]


def _keyed(batch: list[tuple[Any, Any]], *_: Any) -> list[tuple[Any, Any]]:
    return batch


def _of_keys(batch: list[Any], *_: Any) -> list[tuple[int, Any]]:
    return [(x.n, x) for x in batch]


def _sum_rows(rows: list[Row]) -> Row:
    cols = np.concatenate([c for c, _ in rows]) if rows else np.zeros(0, np.int32)
    vals = np.concatenate([v for _, v in rows]) if rows else np.zeros(0)
    if not len(cols):
        return cols, vals
    uniq, inv = np.unique(cols, return_inverse=True)
    return uniq, np.bincount(inv.ravel(), weights=vals, minlength=len(uniq))


def _profile(story: int, rows: list[tuple], *_: Any) -> list[Profile]:
    """A story's profile from its articles' rows (`threads.story_profiles`, one story)."""
    body_c, body_v = _sum_rows([r[1] for r in rows])
    norm = math.sqrt(float((body_v ** 2).sum()))
    body_v = body_v / norm if norm > 0 else body_v
    # a title word counts once whatever the number of members using it, at its weight
    t_cols = np.concatenate([r[2][0] for r in rows])
    t_vals = np.concatenate([r[2][1] for r in rows])
    title_c, first_at = np.unique(t_cols, return_index=True)
    title_v = t_vals[first_at]
    keep = title_v != 0
    title_c, title_v = title_c[keep], title_v[keep]

    def binary(k: int) -> Row:
        c = np.unique(np.concatenate([r[k][0] for r in rows]))
        return c, np.ones(len(c))

    ts = [r[0] for r in rows if not math.isnan(r[0])]
    return [Profile(story, min(ts) if ts else math.nan, max(ts) if ts else math.nan, len(rows),
                    (body_c, body_v), (title_c, title_v), binary(3), float(title_v.sum()),
                    binary(4), binary(5))]


# -- 2. candidate pairs by day --------------------------------------------------------------------


UNDATED = -(1 << 40)


def _day_keys(batch: list[Profile], params: ThreadParams, undated: bool
              ) -> list[tuple[int, tuple]]:
    reach = math.ceil(params.window)
    out = []
    for p in batch:
        if math.isnan(p.first):
            out.append((UNDATED, ("left", p)))
            continue
        first, last = math.floor(p.first / DAY), math.floor(p.last / DAY)
        out.append((first, ("left", p)))
        stop = min(last + reach, first + MAX_SPAN_DAYS)
        out.extend((d, ("right", p)) for d in range(first, stop + 1))
        if undated:
            out.append((UNDATED, ("right", p)))
    return out


def _matrix(rows: list[Row], dim: int) -> sp.csr_matrix:
    indptr = np.cumsum([0] + [len(c) for c, _ in rows])
    cols = np.concatenate([c for c, _ in rows]) if rows else np.zeros(0, np.int64)
    vals = np.concatenate([v for _, v in rows]) if rows else np.zeros(0)
    return sp.csr_matrix((vals, cols, indptr), shape=(len(rows), dim))


def _start(p: Profile) -> tuple[float, int]:
    return (-math.inf if math.isnan(p.first) else p.first, p.story)


def _pairs_of_day(day: int, values: list[tuple], params: ThreadParams) -> list[tuple]:
    """Candidate pairs whose later story starts this day, with every feature but
    ``closest``: (a, b, similarity, cover, reuse, time), `a` the earlier story."""
    lefts = [v[1] for v in values if v[0] == "left"]
    if not lefts:
        return []
    rights = {p.story: p for p in lefts}
    rights.update({v[1].story: v[1] for v in values if v[0] == "right"})
    rights_l = sorted(rights.values(), key=lambda p: p.story)

    def mat(k: str, ps: list[Profile]) -> sp.csr_matrix:
        rows = [getattr(p, k) for p in ps]
        width = 1 + max((int(c.max()) for c, _ in rows if len(c)), default=0)
        return _matrix(rows, width)

    def pair(k: str, a: list[Profile], b: list[Profile]) -> sp.csr_matrix:
        ma, mb = mat(k, a), mat(k, b)
        width = max(ma.shape[1], mb.shape[1])
        ma.resize((ma.shape[0], width))
        mb.resize((mb.shape[0], width))
        return (ma @ mb.T).tocoo()

    cos = pair("body", lefts, rights_l)
    shared = pair("shingles", lefts, rights_l)
    cand: dict[tuple[int, int], None] = {}
    for r, c, v in zip(cos.row.tolist(), cos.col.tolist(), cos.data.tolist(), strict=True):
        if v >= params.min_similarity:
            cand[(r, c)] = None
    for r, c, v in zip(shared.row.tolist(), shared.col.tolist(), shared.data.tolist(),
                       strict=True):
        if v >= 2:
            cand[(r, c)] = None
    out = []
    for r, c in cand:
        b, a = lefts[r], rights_l[c]  # b starts this day; a is the other story
        if a.story == b.story or not _start(a) < _start(b):
            continue  # each pair once: in the day group of its later story
        if _gap(a, b) > params.window:  # (NaN, undated, compares False: kept)
            continue
        out.append((a.story, b.story, *_features(a, b, params), _gap(a, b)))
    return out


def _gap(a: Profile, b: Profile) -> float:
    gap = max(a.first, b.first) - min(a.last, b.last)
    return max(gap, 0.0) / DAY if not math.isnan(gap) else math.nan


def _dot(x: Row, y: Row) -> float:
    common, ia, ib = np.intersect1d(x[0], y[0], return_indices=True)
    return float((x[1][ia] * y[1][ib]).sum()) if len(common) else 0.0


def _features(a: Profile, b: Profile, params: ThreadParams) -> tuple[float, float, float, float]:
    """similarity, cover, reuse, time (as `threads.pair_features`)."""
    sim = _dot(a.body, b.body)
    cover_ab = _dot(a.title, b.present)
    cover_ba = _dot(b.title, a.present)
    cover = 0.5 * ((cover_ab / a.title_mass if a.title_mass > 0 else 0.0)
                   + (cover_ba / b.title_mass if b.title_mass > 0 else 0.0))
    shared = len(np.intersect1d(a.shingles[0], b.shingles[0]))
    smaller = min(len(a.shingles[0]), len(b.shingles[0]))
    reuse = shared / smaller if smaller > 0 else 0.0
    gap = _gap(a, b)
    time = 0.5 if math.isnan(gap) else math.exp(-gap / params.time_scale)
    return sim, cover, reuse, time


# -- 3. closest, score ----------------------------------------------------------------------------


def _both_sides(batch: list[tuple], *_: Any) -> list[tuple[int, tuple]]:
    out = []
    for a, b, sim, *_rest in batch:
        out.append((a, (sim, b)))
        out.append((b, (sim, a)))
    return out


def _best(story: int, values: list[tuple], *_: Any) -> list[tuple[int, tuple]]:
    """A story's best and second-best similarity over its candidate pairs, and the partner
    of the best (ties to the smaller story id)."""
    ranked = sorted(values, key=lambda v: (-v[0], v[1]))
    best, partner = ranked[0]
    second = ranked[1][0] if len(ranked) > 1 else 0.0
    return [(story, (best, second, partner))]


def _by_a(batch: list[tuple], *_: Any) -> list[tuple[int, tuple]]:
    return [(p[0], p) for p in batch]


def _with_best(story: int, sides: list[list[Any]], which: int) -> list[tuple[int, tuple]]:
    pairs, best = sides
    info = best[0] if best else (0.0, 0.0, -1)
    if which == 0:
        return [(p[1], (p, info)) for p in pairs]
    return [(p[0], (p, info_a, info)) for p, info_a in pairs]


def _scored(batch: list[tuple], params: ThreadParams) -> list[tuple[int, int, float, tuple]]:
    out = []
    for _key, (p, info_a, info_b) in batch:
        a, b, sim, cover, reuse, time, gap = p
        alt_a = info_a[1] if info_a[2] == b else info_a[0]
        alt_b = info_b[1] if info_b[2] == a else info_b[0]
        closest = sim / max(sim, alt_a, alt_b, 1e-12) if sim > 0 else 0.0
        f = np.array([[sim, cover, closest, reuse, time]])
        prob = float(params.model.probability(f)[0])
        out.append((a, b, prob, (sim, cover, closest, reuse, time, gap)))
    return out


# -- 4. linkage -----------------------------------------------------------------------------------


def _edges(batch: list[tuple], threshold: float) -> list[tuple[int, int]]:
    return [(a, b) for a, b, p, _ in batch if p >= threshold]


def _pair_keyed_a(batch: list[tuple], *_: Any) -> list[tuple[int, tuple]]:
    return [(a, (b, p, f)) for a, b, p, f in batch]


def _label_keys(batch: list[tuple[int, int]], *_: Any) -> list[tuple[int, int]]:
    return batch


def _pair_with_a(story: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    pairs, labels = sides
    if not labels:
        return []
    return [(b, (labels[0], story, p, f)) for b, p, f in pairs]


def _pair_with_b(story: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    pairs, labels = sides
    if not labels:
        return []
    return [(comp, ("pair", a, story, p, f)) for comp, a, p, f in pairs if comp == labels[0]]


def _profile_keys(batch: list[Profile], *_: Any) -> list[tuple[int, Profile]]:
    return [(p.story, p) for p in batch]


def _node_with_label(story: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    profiles, labels = sides
    if not profiles:
        return []
    p = profiles[0]
    node = ("story", story, _start(p), p.size)
    return [(labels[0], node)] if labels else [(-1 - story, node)]


def _link(comp: int, values: list[tuple], params: ThreadParams) -> list[tuple[int, tuple]]:
    """Average linkage over the stories of one component: each story's thread label, and
    the links (pairs at the threshold inside one thread) with the profile evidence."""
    nodes = sorted((v for v in values if v[0] == "story"), key=lambda v: v[1])
    if len(nodes) == 1:
        return [(nodes[0][1], ("label", nodes[0][1], nodes[0][2], nodes[0][3]))]
    pos = {v[1]: k for k, v in enumerate(nodes)}
    pairs = [v for v in values if v[0] == "pair" and v[1] in pos and v[2] in pos]
    left = np.array([pos[v[1]] for v in pairs], dtype=np.int64)
    right = np.array([pos[v[2]] for v in pairs], dtype=np.int64)
    prob = np.array([v[3] for v in pairs], dtype=np.float64)
    labels, _ = average_linkage(len(nodes), left, right, prob, params.threshold)
    out = []
    for k, v in enumerate(nodes):
        out.append((nodes[int(labels[k])][1], ("label", v[1], v[2], v[3])))
    for v, li, ri in zip(pairs, left.tolist(), right.tolist(), strict=True):
        if labels[li] == labels[ri] and v[3] >= params.threshold:
            sim, _cover, closest, reuse, _time, gap = v[4]
            out.append((nodes[int(labels[li])][1], ("link", v[1], v[2], v[3], {
                "similarity": round(sim, 3), "reused": round(reuse, 3),
                "closest": bool(closest >= 0.999),
                "gap_days": None if math.isnan(gap) else round(gap, 2)})))
    return out


# -- 5. threads -----------------------------------------------------------------------------------


def _story_keys(batch: list[Any], *_: Any) -> list[tuple[int, Any]]:
    return [(s.story, s) for s in batch]


def _label_rows(batch: list[tuple[int, tuple]], *_: Any) -> list[tuple[int, tuple]]:
    return [(v[1], (label, v)) for label, v in batch if v[0] == "label"]


def _story_with_label(story: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    records, labels = sides
    if not records or not labels:
        return []
    label, _ = labels[0]
    return [(label, ("story", records[0]))]


def _links_of(batch: list[tuple[int, tuple]], *_: Any) -> list[tuple[int, tuple]]:
    return [(label, v) for label, v in batch if v[0] == "link"]


def _thread(label: int, values: list[tuple], *_: Any) -> list[tuple[tuple, tuple]]:
    stories = [v[1] for v in values if v[0] == "story"]
    if not stories:
        return []

    def start(s: Any) -> tuple:
        return (s.first_seen is None, s.first_seen.timestamp() if s.first_seen else 0.0,
                s.story)

    stories.sort(key=start)
    biggest = max(stories, key=lambda s: (s.size, -start(s)[1]))
    firsts = [s.first_seen for s in stories if s.first_seen]
    lasts = [s.last_seen for s in stories if s.last_seen]
    keyed = []
    for s in stories:
        st = s.first_seen.timestamp() if s.first_seen else math.inf
        keyed.extend((st, s.story, k, m) for k, m in enumerate(s.members))
    by_story = {s.story: start(s) for s in stories}
    links = sorted((v for v in values if v[0] == "link"),
                   key=lambda v: (by_story.get(v[1], ()), by_story.get(v[2], ())))
    row = (biggest.title, min(firsts) if firsts else None, max(lasts) if lasts else None,
           tuple(s.story for s in stories), tuple(m for *_, m in sorted(keyed)),
           tuple((v[1], v[2], v[3], v[4]) for v in links))
    return [(start(stories[0]), row)]


def _first(row: tuple) -> tuple:
    return row[0]


def _numbered(batch: list[tuple[int, tuple]], *_: Any) -> tuple[list[Any], list[Any]]:
    threads, of = [], []
    for k, (_, (title, first, last, stories, members, links)) in batch:
        tid = k + 1
        threads.append(ThreadRecord(tid, title, first, last, stories, members,
                                    tuple({"a": a, "b": b, "score": round(p, 4), **ev}
                                          for a, b, p, ev in links)))
        of.extend(ThreadOf(s, tid) for s in stories)
    return threads, of


# -- 6. evidence words and figures ----------------------------------------------------------------


def _needs_texts(batch: list[ThreadRecord], *_: Any) -> list[tuple[int, int]]:
    """Stories whose texts a link's evidence needs (each once per thread)."""
    out = []
    for t in batch:
        for link in t.links:
            out.extend([(link["a"], t.thread), (link["b"], t.thread)])
    return out


def _first_members(story: int, sides: list[list[Any]]) -> list[tuple[str, tuple]]:
    needed, records = sides
    if not needed or not records:
        return []
    return [(m, (story, k)) for k, m in enumerate(records[0].members[:EVIDENCE_MEMBERS])]


def _article_ids(batch: list[Any], *_: Any) -> list[tuple[str, Any]]:
    return [(a.doc.id, a) for a in batch]


def _text_of(doc_id: str, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    wants, arts = sides
    if not wants or not arts:
        return []
    d = arts[0].doc
    text = f"{d.title or ''}\n{d.text[:LEAD_CHARS]}"
    return [(story, (k, text)) for story, k in wants]


def _story_texts(story: int, values: list[tuple], *_: Any) -> list[tuple[int, list[str]]]:
    return [(story, [t for _, t in sorted(values)])]


def _thread_keys(batch: list[ThreadRecord], *_: Any) -> list[tuple[int, ThreadRecord]]:
    return [(t.thread, t) for t in batch]


def _texts_by_thread(batch: list[tuple[int, list[str]]], *_: Any) -> list[tuple[int, tuple]]:
    return batch


def _texts_to_threads(story: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    needed, texts = sides
    if not texts:
        return []
    return [(thread, (story, texts[0])) for thread in set(needed)]


def _with_evidence(thread: int, sides: list[list[Any]], idf: Any) -> list[ThreadRecord]:
    records, texts = sides
    if not records:
        return []
    t = records[0]
    if not t.links:
        return [t]
    by_story = dict(texts)
    weights = idf.value
    links = []
    for link in t.links:
        ta, tb = by_story.get(link["a"], []), by_story.get(link["b"], [])
        before, after, both = figures(ta, tb)
        links.append({**link, "words": shared_words(ta, tb, lambda term: weights[term]),
                      "figures_before": before, "figures_after": after,
                      "figures_shared": both})
    return [ThreadRecord(t.thread, t.title, t.first_seen, t.last_seen, t.stories, t.members,
                         tuple(links))]


def _count_undated(batch: list[Profile]) -> int:
    return sum(1 for p in batch if math.isnan(p.first))


def _sum(a: int, b: int) -> int:
    return a + b


def _when(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def thread_key(t: ThreadRecord) -> int:
    return t.thread


OUTPUTS = (Output("threads", "threads.jsonl", ThreadRecord, thread_key),)


@stage("threads", params=StoryParams, requires=("stories", "story_of", "story_features",
                                                  "story_stats", "articles"),
       provides=("threads", "thread_of"), outputs=OUTPUTS)
def threads_stage(ctx: Context, data: dict[str, Dataset], params: StoryParams
                  ) -> dict[str, Dataset]:
    """Stories of one developing event linked into threads, each link with its evidence."""
    runner = ctx.runner
    tparams: ThreadParams | None = params.threads
    stats = runner.broadcast(next(iter(data["story_stats"].records())))
    rows = data["story_features"].map(_article_rows, stats, params)
    profiles = cogroup([rows, data["story_of"]], [_keyed, _of_keys], _with_story).group(
        _keyed, _profile)
    if tparams is None:
        tparams = ThreadParams(threshold=math.inf)
    undated = profiles.aggregate(_count_undated, _sum, 0) > 0
    cand = profiles.map(_day_keys, tparams, undated).group(_keyed, _pairs_of_day, tparams)
    best = cand.group(_both_sides, _best)
    with_a = cogroup([cand, best], [_by_a, _keyed], _with_best, 0)
    with_b = cogroup([with_a, best], [_keyed, _keyed], _with_best, 1)
    scored = with_b.map(_scored_rows, tparams)
    labels = runner.components(scored.map(_edges, tparams.threshold))
    pa = cogroup([scored.map(_pair_keyed_a), labels], [_keyed, _label_keys], _pair_with_a)
    pb = cogroup([pa, labels], [_keyed, _label_keys], _pair_with_b)
    nodes = cogroup([profiles, labels], [_profile_keys, _label_keys], _node_with_label)
    linked = runner.union([pb, nodes]).group(_keyed, _link, tparams)
    stories_l = cogroup([data["stories"], linked.map(_label_rows)], [_story_keys, _keyed],
                        _story_with_label)
    grouped = runner.union([stories_l, linked.map(_links_of)]).group(_keyed, _thread)
    plain, thread_of = runner.map_multi(runner.ranked(grouped, _first), _numbered, (), 2)
    # evidence a reader can check, from the texts of linked stories' earliest articles
    needs = plain.map(_needs_texts)
    wants = cogroup([needs, data["stories"]], [_keyed, _story_keys], _first_members)
    texts = cogroup([wants, data["articles"]], [_keyed, _article_ids], _text_of).group(
        _keyed, _story_texts)
    to_threads = cogroup([needs, texts], [_keyed, _texts_by_thread], _texts_to_threads)
    idf = runner.broadcast(_idf(stats.value))
    threads = cogroup([plain, to_threads], [_thread_keys, _keyed], _with_evidence, idf)
    if ctx.store is not None:
        threads, thread_of = _stable_ids(ctx, threads)
    ctx.counts["threads"] = {"threads": threads.count()}
    return {"threads": threads, "thread_of": thread_of}


def _stable_ids(ctx: Context, threads: Dataset) -> tuple[Dataset, Dataset]:
    """Thread ids kept in the store across runs (`khabar.stories.db.save_threads`)."""
    from khabar.stories import db as storydb
    from khabar.stories.threads import Thread, ThreadLink, ThreadResult

    # in thread order (the numbers by first appearance): new ids are given in list order,
    # so the order records come back in (a runner's partitioning) must not decide them
    records = list(threads.sorted_records(thread_key))
    result = ThreadResult([
        Thread(t.thread, t.title, t.first_seen, t.last_seen, list(t.stories), list(t.members),
               [ThreadLink(link["a"], link["b"], link["score"],
                           {k: v for k, v in link.items() if k not in ("a", "b", "score")})
                for link in t.links]) for t in records])
    storydb.save_threads(ctx.store, result)
    renumbered = [ThreadRecord(t.thread, t.title, t.first_seen, t.last_seen, tuple(t.stories),
                               tuple(t.members), tuple(link.to_dict() for link in t.links))
                  for t in result.threads]
    of = [ThreadOf(s, t.thread) for t in result.threads for s in t.stories]
    return ctx.runner.source([renumbered]), ctx.runner.source([of])


def _scored_rows(batch: list[tuple], params: ThreadParams) -> list[tuple]:
    return _scored(batch, params)


def _idf(stats: Any) -> np.ndarray:
    n = max(stats.n, 1)
    return np.where(stats.df > 0, np.log((n + 1.0) / (stats.df + 1.0)) + 1.0, 0.0)


__all__ = ["OUTPUTS", "THREAD_FEATURES", "Profile", "ThreadOf", "ThreadRecord", "threads_stage"]
