"""The stories stage as steps: features → day groups → scored pairs → components → linkage.

1. **features** (article step, in the prepare pass): each article's weighted
   words, numbers, shingles and time (`features.extract`), a block per batch.
2. **copies** (from the duplicate stage): exact and near copies are must-links
   (`copies`); a group of EXACT copies is one row standing for all of them, and
   counts once in the word statistics.
3. **word statistics** (aggregate): document frequencies in a hashed space of
   fixed size, whatever the number of articles.
4. **candidate pairs** (group by day): each day's articles against the articles
   of the `window` days before, scored by the pair model, with the evidence of
   the duplicate and reuse stages and of reports in other languages.
5. **linkage** (components, then per component): stories can only grow along
   pairs at the threshold and must-links, so the connected components of those
   bound them; average linkage then runs inside each component with every
   scored pair of it, which gives exactly what it gives over the whole collection.
6. **stories** (group by story): members in time order, the representative
   title, outlets; story ids numbered by first appearance (or kept by the store).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from khabar.corpus import Article, id_hash
from khabar.engine import Dataset, cogroup
from khabar.records import DocRef, Record
from khabar.stage import ArticleStep, Context, Output, article_outputs, stage
from khabar.stories.copies import copy_groups
from khabar.stories.crosslingual import crosslingual_evidence
from khabar.stories.features import Articles, TermStats, extract
from khabar.stories.linkage import average_linkage
from khabar.stories.params import StoryParams
from khabar.stories.result import representative_title
from khabar.stories.similarity import DAY, Evidence, make_space, pair_features, score

UNDATED = -(1 << 40)
"""Day group of undated articles (compared with every article)."""
GROUP_NODE = 1 << 62
"""Component nodes above this stand for a copy group (articles are numbered below)."""


@dataclass(slots=True)
class StoryBlock:
    """Story features of a batch of articles (`Articles` rows), with their numbers."""

    ns: np.ndarray
    arts: Articles

    def __reduce__(self) -> tuple:
        return (StoryBlock, (self.ns, self.arts))

    def take(self, rows: np.ndarray) -> StoryBlock:
        return StoryBlock(self.ns[rows], self.arts.take(rows))


def story_features(batch: list[Article], params: StoryParams) -> tuple[list[StoryBlock]]:
    """Article step: the story features of a batch, as one block."""
    if not batch:
        return ([],)
    arts = extract([a.doc for a in batch], [a.repair for a in batch], params.features)
    return ([StoryBlock(np.array([a.n for a in batch], dtype=np.int64), arts)],)


@dataclass(frozen=True, slots=True)
class StoryRecord(Record):
    """One story: articles reporting the same event."""

    story: int
    title: str
    first_seen: datetime | None
    last_seen: datetime | None
    members: tuple[str, ...]
    """Article ids in time order (undated last, by id)."""
    sources: tuple[str, ...]
    """Outlets, most articles first."""
    size: int
    scores: tuple[float, ...]
    """Each member's confidence: its average same-event probability with the other members."""


@dataclass(frozen=True, slots=True)
class Assignment(Record):
    """Where an article went: its story and how firmly it belongs there."""

    id: DocRef
    story: int
    score: float


@dataclass(frozen=True, slots=True)
class StoryOf:
    """An article's story, by number (what later stages join on)."""

    n: int
    id: str
    story: int
    score: float
    size: int
    """Articles in the story."""


# -- copies ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class CopyTable:
    """Copy groups of the collection (broadcast: it holds only articles that have copies)."""

    groups: dict[str, str]
    """Article id -> its copy group (exact and near copies)."""
    exact: dict[str, str]
    """Article id -> its group of EXACT copies."""
    rep: dict[str, str]
    """Exact group -> the id of the member standing for it (the earliest, then by id)."""
    weight: dict[str, int]
    """Representative id -> how many articles it stands for."""


def _exact_ranks(batch: list[StoryBlock], exact: Any) -> list[tuple[str, tuple]]:
    table = exact.value
    out = []
    for b in batch:
        for r, doc_id in enumerate(b.arts.ids):
            g = table.get(doc_id)
            if g is not None:
                ts = float(b.arts.ts[r])
                out.append((g, (math.isnan(ts), 0.0 if math.isnan(ts) else ts, doc_id)))
    return out


def _exact_rep(group: str, values: list[tuple], *_: Any) -> list[tuple[str, str, int]]:
    return [(group, min(values)[2], len(values))]


# -- word statistics ------------------------------------------------------------------------------


def _stats_of(batch: list[StoryBlock], copies: Any, dim: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Document frequencies of a batch, sparse: (term ids, counts, shingle ids, counts, n)."""
    terms, shingles, n = [], [], 0
    for b in batch:
        arts = b.arts.take(_unit_rows(b, copies.value))
        terms.append(arts.presence().indices)
        shingles.append(arts.shingles.indices)
        n += len(arts)
    t_idx, t_cnt = np.unique(np.concatenate(terms) if terms else np.zeros(0, np.int64),
                             return_counts=True)
    s_idx, s_cnt = np.unique(np.concatenate(shingles) if shingles else np.zeros(0, np.int64),
                             return_counts=True)
    return t_idx, t_cnt, s_idx, s_cnt, n


def _add_stats(a: tuple, b: tuple) -> tuple:
    ti, tc = np.unique(np.concatenate([a[0], b[0]]), return_inverse=True)
    t_cnt = np.bincount(tc.ravel(), weights=np.concatenate([a[1], b[1]]), minlength=len(ti))
    si, sc = np.unique(np.concatenate([a[2], b[2]]), return_inverse=True)
    s_cnt = np.bincount(sc.ravel(), weights=np.concatenate([a[3], b[3]]), minlength=len(si))
    return ti, t_cnt.astype(np.int64), si, s_cnt.astype(np.int64), a[4] + b[4]


def term_stats(counts: tuple | None, dim: int) -> TermStats:
    stats = TermStats(dim)
    if counts is None:
        return stats
    t_idx, t_cnt, s_idx, s_cnt, n = counts
    stats.df[t_idx] = t_cnt.astype(np.int32)
    stats.shingle_df[s_idx] = np.minimum(s_cnt, 65535).astype(np.uint16)
    stats.n = int(n)
    return stats


def _unit_rows(block: StoryBlock, table: CopyTable) -> np.ndarray:
    """Rows that stand for themselves or for their group of exact copies."""
    keep = [r for r, i in enumerate(block.arts.ids)
            if i not in table.exact or table.rep[table.exact[i]] == i]
    return np.asarray(keep, dtype=np.int64)


# -- candidate pairs by day -----------------------------------------------------------------------


def _day(ts: float) -> int:
    return UNDATED if math.isnan(ts) else math.floor(ts / DAY)


def _day_keys(batch: list[StoryBlock], copies: Any, params: StoryParams, undated: bool
              ) -> list[tuple[int, tuple[str, StoryBlock]]]:
    """Each unit row goes to its own day (to be compared) and to the `window` days after it
    (to be compared with); with undated articles about, to their group too."""
    reach = math.ceil(params.pairs.window)
    out = []
    for b in batch:
        rows = _unit_rows(b, copies.value)
        if not len(rows):
            continue
        days = np.array([_day(t) for t in b.arts.ts[rows].tolist()], dtype=np.int64)
        for d in np.unique(days).tolist():
            part = b.take(rows[days == d])
            out.append((d, ("left", part)))
            if d != UNDATED:
                out.extend((d + k, ("right", part)) for k in range(1, reach + 1))
                if undated:
                    out.append((UNDATED, ("right", part)))
    return out


def _evidence_keys(batch: list[tuple[str, str, float, bool]], *_: Any
                   ) -> list[tuple[str, tuple]]:
    return [(a, ("ev", a, b, s, sure)) for a, b, s, sure in batch]


def _concat_blocks(blocks: list[StoryBlock]) -> StoryBlock:
    if len(blocks) == 1:
        return blocks[0]
    return StoryBlock(np.concatenate([b.ns for b in blocks]),
                      Articles.concat([b.arts for b in blocks], blocks[0].arts.title_tf.shape[1]))


_PAIR = np.dtype([("a", np.int64), ("b", np.int64), ("prob", np.float64)])


def _score_day(day: int, values: list[tuple], stats: Any, copies: Any, params: StoryParams
               ) -> list[np.ndarray]:
    """Scored pairs of one day's articles with each other and with the `window` days before
    (undated articles: with every article)."""
    left_blocks = [v[1] for v in values if v[0] == "left"]
    if not left_blocks:
        return []
    right_blocks = left_blocks + [v[1] for v in values if v[0] == "right"]
    left = _concat_blocks(left_blocks)
    both = _concat_blocks(right_blocks)
    # one space for the group: left rows first, then the earlier days
    table: CopyTable = copies.value
    evidence = _group_evidence(both, [v for v in values if v[0] == "ev"], table, params)
    space = make_space(both.arts, stats.value, params.pairs)
    n_left = len(left.ns)
    order = np.lexsort((both.ns, np.nan_to_num(both.arts.ts, nan=np.inf)))
    rank = np.empty(len(both.ns), dtype=np.int64)
    rank[order] = np.arange(len(both.ns))
    must = np.array([hash_group(table.groups.get(i)) for i in both.arts.ids], dtype=np.int64)
    rows = np.arange(n_left)
    right = np.arange(len(both.ns))

    def allowed(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        a, b = rows[li], right[ri]
        ok = rank[b] < rank[a]
        return ok & ((must[a] != must[b]) | (must[a] < 0))

    p = pair_features(space.take(rows), space.take(right), params.pairs, allowed, evidence)
    scored = score(p, params.model)
    out = np.zeros(len(scored.left), dtype=_PAIR)
    out["a"] = both.ns[rows[scored.left]]
    out["b"] = both.ns[right[scored.right]]
    out["prob"] = scored.prob
    return [out[out["prob"] > 0]]


def hash_group(group: str | None) -> int:
    return -1 if group is None else id_hash(group) >> 2


def _group_evidence(block: StoryBlock, rows: list[tuple], table: CopyTable,
                    params: StoryParams) -> Evidence | None:
    """The duplicate and reuse evidence between the group's articles, carried to the rows
    that stand for their exact copies, and the links to reports in other languages."""
    plain: dict[tuple[str, str], float] = {}
    sure: dict[tuple[str, str], float] = {}

    def rep(i: str) -> str:
        g = table.exact.get(i)
        return table.rep[g] if g is not None else i

    for _, a, b, s, certain in rows:
        ra, rb = rep(a), rep(b)
        if ra == rb:
            continue
        key = (ra, rb) if ra < rb else (rb, ra)
        target = sure if certain else plain
        target[key] = max(target.get(key, 0.0), float(s))
    for key, s in crosslingual_evidence(block.arts, params.pairs.window).items():
        sure[key] = max(sure.get(key, 0.0), s)
    return Evidence(plain, sure) if plain or sure else None


# -- evidence from the duplicate and reuse stages --------------------------------------------------


def _dup_evidence(batch: list[Any]) -> list[tuple[tuple[str, str], float]]:
    return [((p.a, p.b), max(p.containment_a_in_b, p.containment_b_in_a)) for p in batch]


def _passage_cover(batch: list[Any]) -> list[tuple[tuple[str, str], tuple[int, int]]]:
    """Characters of each side covered by copied text (templates, formulas and boilerplate
    are shared text, not evidence of copying)."""
    return [((p.a, p.b), (p.a_end - p.a_start, p.b_end - p.b_start)) for p in batch
            if getattr(p, "kind", "copy") == "copy" and not p.boilerplate]


def _lengths(batch: list[Article]) -> list[tuple[str, int]]:
    return [(a.doc.id, len(a.doc.text)) for a in batch]


def _pair_key(batch: list[tuple[tuple[str, str], Any]], *_: Any
              ) -> list[tuple[tuple[str, str], Any]]:
    return batch


def _covered(key: tuple[str, str], values: list[tuple[int, int]], *_: Any
             ) -> list[tuple[str, tuple]]:
    ca = sum(v[0] for v in values)
    cb = sum(v[1] for v in values)
    return [(key[0], (key, ca, cb))]


def _by_first(batch: list[tuple[str, tuple]], *_: Any) -> list[tuple[str, tuple]]:
    return batch


def _share_a(doc_id: str, sides: list[list[Any]]) -> list[tuple[str, tuple]]:
    covers, lengths = sides
    length = lengths[0] if lengths else 0
    return [(key[1], (key, ca / max(length, 1), cb)) for key, ca, cb in covers]


def _share_b(doc_id: str, sides: list[list[Any]]) -> list[tuple[tuple[str, str], float]]:
    covers, lengths = sides
    length = lengths[0] if lengths else 0
    return [(key, min(max(sa, cb / max(length, 1)), 1.0)) for key, sa, cb in covers]


def _strongest(key: tuple[str, str], values: list[float], *_: Any
               ) -> list[tuple[str, str, float, bool]]:
    return [(key[0], key[1], max(values), False)]


def _evidence_days(batch: list[StoryBlock]) -> list[tuple[str, int]]:
    return [(i, _day(float(t))) for b in batch for i, t in zip(b.arts.ids, b.arts.ts.tolist(),
                                                                strict=True)]


def _evidence_to_day(doc_id: str, sides: list[list[Any]], which: int
                     ) -> list[tuple[Any, tuple]]:
    """Evidence keyed by one side, with that side's day: each link goes to the day groups of
    both its articles (the later one compares the pair)."""
    rows, days = sides
    if not days:
        return []
    out: list[tuple[Any, tuple]] = []
    for r in rows:
        ev = r if which == 0 else r[1]
        if which == 0:
            out.append((ev[1], (days[0], ev)))
        else:
            d0 = r[0]
            for d in {d0, days[0]}:
                out.append((d, ("ev", *ev)))
    return out


def _by_b(batch: list[tuple[str, str, float, bool]]) -> list[tuple[str, tuple]]:
    return [(r[0], r) for r in batch]


def _keyed(batch: list[tuple[Any, tuple]], *_: Any) -> list[tuple[Any, tuple]]:
    return batch


# -- linkage --------------------------------------------------------------------------------------


def _edges(batch: list[np.ndarray], threshold: float) -> list[tuple[int, int]]:
    rows = np.concatenate(batch) if batch else np.zeros(0, _PAIR)
    strong = rows[rows["prob"] >= threshold]
    return list(zip(strong["a"].tolist(), strong["b"].tolist(), strict=True))


def _must_edges(batch: list[StoryBlock], copies: Any) -> list[tuple[int, int]]:
    """Each unit with a copy group, tied to a node standing for the group."""
    table: CopyTable = copies.value
    out = []
    for b in batch:
        for r in _unit_rows(b, table).tolist():
            g = table.groups.get(b.arts.ids[r])
            if g is not None:
                out.append((int(b.ns[r]), GROUP_NODE + hash_group(g)))
    return out


def _units_of(batch: list[StoryBlock], copies: Any) -> list[tuple[int, tuple]]:
    """(n, (id, weight, copy group)) of every unit row."""
    table: CopyTable = copies.value
    out = []
    for b in batch:
        for r in _unit_rows(b, table).tolist():
            i = b.arts.ids[r]
            out.append((int(b.ns[r]), (i, table.weight.get(i, 1), hash_group(table.groups.get(i)))))
    return out


def _pair_a(batch: list[np.ndarray]) -> list[tuple[int, tuple]]:
    rows = np.concatenate(batch) if batch else np.zeros(0, _PAIR)
    return [(a, (b, p)) for a, b, p in zip(rows["a"].tolist(), rows["b"].tolist(),
                                            rows["prob"].tolist(), strict=True)]


def _label_keys(batch: list[tuple[int, int]], *_: Any) -> list[tuple[int, int]]:
    return batch


def _pair_with_a(n: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    pairs, labels = sides
    if not labels:
        return []
    return [(b, (labels[0], n, p)) for b, p in pairs]


def _pair_with_b(n: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    pairs, labels = sides
    if not labels:
        return []
    return [(comp, ("pair", a, n, p)) for comp, a, p in pairs if comp == labels[0]]


def _unit_with_label(n: int, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    units, labels = sides
    if not units:
        return []
    i, w, g = units[0]
    if labels:
        return [(labels[0], ("unit", n, i, w, g))]
    return [(-1 - n, ("unit", n, i, w, g))]  # a story of its own


def _link(comp: int, values: list[tuple], threshold: float) -> list[tuple[int, int, float]]:
    """Average linkage inside one component: (n, story label, member score) of its units."""
    units = sorted((v for v in values if v[0] == "unit"), key=lambda v: v[1])
    if len(units) == 1:
        return [(units[0][1], units[0][1], 1.0)]
    pos = {v[1]: k for k, v in enumerate(units)}
    pairs = [v for v in values if v[0] == "pair" and v[1] in pos and v[2] in pos]
    left = np.array([pos[v[1]] for v in pairs], dtype=np.int64)
    right = np.array([pos[v[2]] for v in pairs], dtype=np.int64)
    prob = np.array([v[3] for v in pairs], dtype=np.float64)
    weights = np.array([v[3] for v in units], dtype=np.float64)
    groups = [v[4] for v in units]
    first: dict[int, int] = {}
    must = np.array([first.setdefault(g, k) if g >= 0 else k for k, g in enumerate(groups)],
                    dtype=np.int64)
    labels, _ = average_linkage(len(units), left, right, prob, threshold, weights,
                                must if (must != np.arange(len(units))).any() else None)
    scores = _unit_scores(weights, labels, left, right, prob)
    return [(units[k][1], units[int(labels[k])][1], float(scores[k])) for k in range(len(units))]


def _unit_scores(w: np.ndarray, labels: np.ndarray, left: np.ndarray, right: np.ndarray,
                 prob: np.ndarray) -> np.ndarray:
    """Each unit's average probability with the other ARTICLES of its story (a copy in its
    own unit counting as certain)."""
    n = len(w)
    same = labels[left] == labels[right]
    sums = w - 1.0
    sums += np.bincount(left[same], weights=(prob * w[right])[same], minlength=n)
    sums += np.bincount(right[same], weights=(prob * w[left])[same], minlength=n)
    totals = np.bincount(labels, weights=w, minlength=n)[labels]
    out = np.ones(n)
    many = totals > 1
    out[many] = sums[many] / (totals[many] - 1.0)
    return np.minimum(out, 1.0)


# -- stories --------------------------------------------------------------------------------------


def _member_rows(batch: list[StoryBlock], stats: Any, copies: Any, params: StoryParams
                 ) -> list[tuple[str, tuple]]:
    """Every article (exact copies included) keyed by the id of the row that stands for it,
    with what its story needs: time, outlet, title and the title's weighted words."""
    table: CopyTable = copies.value
    out = []
    for b in batch:
        title = make_space(b.arts, stats.value, params.pairs).title
        for r, i in enumerate(b.arts.ids):
            g = table.exact.get(i)
            rep = table.rep[g] if g is not None else i
            lo, hi = title.indptr[r], title.indptr[r + 1]
            # the row's columns and weights, not a matrix: one matrix per article pickles
            # to far more than its few words
            vector = (title.indices[lo:hi].copy(), title.data[lo:hi].copy(), title.shape[1])
            out.append((rep, (int(b.ns[r]), i, float(b.arts.ts[r]), b.arts.sources[r],
                              b.arts.titles[r], vector)))
    return out


def _linked_by_id(batch: list[tuple[int, int, float]], *_: Any) -> list[tuple[str, Any]]:
    return batch  # (id, (label, score)) rows made by `_unit_ids`


def _unit_ids(n: int, sides: list[list[Any]]) -> list[tuple[str, tuple]]:
    linked, units = sides
    if not linked or not units:
        return []
    _, label, s = linked[0]
    return [(units[0][0], (label, s))]


def _n_keys(batch: list[tuple[int, int, float]]) -> list[tuple[int, tuple]]:
    return [(n, (n, label, s)) for n, label, s in batch]


def _assigned(rep: str, sides: list[list[Any]]) -> list[tuple[int, tuple]]:
    members, labels = sides
    if not labels:
        return []
    label, s = labels[0]
    return [(label, (*m, s)) for m in members]


def _story(label: int, members: list[tuple], *_: Any) -> list[tuple[tuple, Any]]:
    """One story from its members (n, id, ts, source, title, title vector, score)."""
    members.sort(key=lambda m: (math.isnan(m[2]), 0.0 if math.isnan(m[2]) else m[2], m[1]))
    dated = [m[2] for m in members if not math.isnan(m[2])]
    outlets: dict[str, int] = {}
    for m in members:
        if m[3]:
            outlets[m[3]] = outlets.get(m[3], 0) + 1
    if len(members) == 1:
        title = members[0][4]
    else:
        dim = members[0][5][2]
        indptr = np.cumsum([0] + [len(m[5][0]) for m in members])
        vectors = sp.csr_matrix((np.concatenate([m[5][1] for m in members]),
                                 np.concatenate([m[5][0] for m in members]), indptr),
                                shape=(len(members), dim))
        fake = _Titles([m[4] for m in members])
        title = representative_title(fake, list(range(len(members))), vectors)
    first = (math.isnan(members[0][2]), dated[0] if dated else 0.0, members[0][1])
    return [(first, (tuple(m[1] for m in members), tuple(m[0] for m in members),
                     title, dated, tuple(s for s, _ in sorted(outlets.items(),
                                                               key=lambda kv: (-kv[1], kv[0]))),
                     tuple(round(m[6], 4) for m in members)))]


@dataclass(slots=True)
class _Titles:
    titles: list[str]


def _when(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _first(row: tuple[tuple, Any]) -> tuple:
    return row[0]


def _numbered(batch: list[tuple[int, tuple[tuple, Any]]]) -> tuple[list[Any], list[Any]]:
    stories, of = [], []
    for k, (_, (ids, ns, title, dated, sources, scores)) in batch:
        sid = k + 1
        stories.append(StoryRecord(sid, title, _when(min(dated)) if dated else None,
                                   _when(max(dated)) if dated else None, ids, sources,
                                   len(ids), scores))
        of.extend(StoryOf(n, i, sid, s, len(ids)) for n, i, s in zip(ns, ids, scores,
                                                                      strict=True))
    return stories, of


def _assignment_rows(batch: list[StoryOf]) -> list[Assignment]:
    return [Assignment(x.id, x.story, x.score) for x in batch]


def story_key(s: StoryRecord) -> int:
    return s.story


def assignment_key(a: Assignment) -> tuple[int, str]:
    return (a.story, a.id)


FEATURES = ArticleStep(("story_features",), story_features)

OUTPUTS = (
    Output("stories", "stories.jsonl", StoryRecord, story_key),
    Output("assignments", "assignments.jsonl", Assignment, assignment_key),
)


@stage("stories", params=StoryParams, requires=("articles", "dup_pairs"),
       optional=("passages",),
       provides=("stories", "assignments", "story_of", "story_features", "story_stats"),
       outputs=OUTPUTS, article=FEATURES)
def stories_stage(ctx: Context, data: dict[str, Dataset], params: StoryParams
                  ) -> dict[str, Dataset]:
    """Articles that report the same event, grouped into stories."""
    runner = ctx.runner
    (blocks,) = article_outputs(FEATURES, data, params)
    copies = runner.broadcast(_copy_table(runner, blocks, data["dup_pairs"],
                                          ctx.options.get("story_copies", True)))
    stats = runner.broadcast(term_stats(blocks.aggregate(
        _stats_of, _add_stats, None, copies, params.features.dim), params.features.dim))
    if ctx.options.get("story_mode") == "stream":
        by_id, key = _streamed(runner, data, blocks, stats, copies, params,
                               ctx.options.get("story_evidence"), ctx.store), _member_by_own_id
    else:
        by_id, key = _batch_labels(runner, data, blocks, stats, copies, params,
                                   ctx.options.get("story_evidence")), _member_rows
    members = blocks.map(key, stats, copies, params)
    grouped = cogroup([members, by_id], [_keyed, _keyed], _assigned).group(_keyed, _story)
    stories, story_of = runner.map_multi(runner.ranked(grouped, _first), _numbered, (), 2)
    if ctx.store is not None:
        stories, story_of = _stable_ids(ctx, stories, story_of)
    ctx.counts["stories"] = {"stories": stories.count()}
    return {"stories": stories, "assignments": story_of.map(_assignment_rows),
            "story_of": story_of, "story_features": blocks,
            "story_stats": runner.source([[stats.value]])}


def _batch_labels(runner: Any, data: dict[str, Dataset], blocks: Dataset, stats: Any,
                  copies: Any, params: StoryParams, given: Any = None) -> Dataset:
    """(id of the row standing for an article, (story label, score)): average linkage."""
    undated = blocks.aggregate(_count_undated, _sum, 0) > 0
    evidence = _evidence(runner, data, blocks, given)
    days = runner.union([blocks.map(_day_keys, copies, params, undated), evidence])
    pairs = days.group(_keyed, _score_day_args, stats, copies, params)
    edges = runner.union([pairs.map(_edges, params.threshold), blocks.map(_must_edges, copies)])
    labels = runner.components(edges)
    units = blocks.map(_units_of, copies)
    with_a = cogroup([pairs.map(_pair_a), labels], [_keyed, _label_keys], _pair_with_a)
    with_b = cogroup([with_a, labels], [_keyed, _label_keys], _pair_with_b)
    unit_rows = cogroup([units, labels], [_keyed, _label_keys], _unit_with_label)
    linked = runner.union([with_b, unit_rows]).group(_keyed, _link, params.threshold)
    return cogroup([linked.map(_n_keys), units], [_keyed, _keyed], _unit_ids)


# -- streaming ------------------------------------------------------------------------------------


def _single_rows(batch: list[StoryBlock]) -> list[tuple[tuple, StoryBlock]]:
    out = []
    for b in batch:
        for r in range(len(b.ns)):
            ts = float(b.arts.ts[r])
            out.append(((math.isnan(ts), 0.0 if math.isnan(ts) else ts, int(b.ns[r])),
                        b.take(np.array([r]))))
    return out


def _time_order(row: tuple[tuple, StoryBlock]) -> tuple:
    return row[0]


def _all_evidence(batch: list[tuple], *_: Any) -> list[tuple]:
    return [v[1:] for _, v in batch]


def _extend(a: list[Any], b: list[Any]) -> list[Any]:
    return a + b


def _streamed(runner: Any, data: dict[str, Dataset], blocks: Dataset, stats: Any, copies: Any,
              params: StoryParams, given: Any = None, store: Any = None) -> Dataset:
    """(article id, (story label, score)) from `StoryStream`, the articles in time order.

    The stream runs on the driver (it is sequential by nature) and holds what its window
    holds; the articles come to it one partition at a time, in time order. With a store,
    articles that already have a story keep it: only the others are streamed, after the
    stored articles of the window before the first of them."""
    from khabar.stories.copies import Copies
    from khabar.stories.stream import StoryStream, resolve

    table: CopyTable = copies.value
    evidence = _evidence(runner, data, blocks, given).aggregate(_all_evidence, _extend, [])
    plain = {(a, b): s for a, b, s, sure in evidence if not sure}
    # reports in other languages matched on names and figures: certain evidence, as in batch
    undated = blocks.aggregate(_count_undated, _sum, 0) > 0
    sure = dict(blocks.map(_day_keys, copies, params, undated).group(
        _keyed, _crosslingual_day, params).aggregate(_list, _concat_lists, []))
    stream = StoryStream(params, stats.value, Evidence(plain, sure) if plain or sure else None,
                         Copies(table.groups, table.exact))
    old = _stored_assignments(store)
    ids: list[str] = []
    labels: list[int] = []
    scores: list[float] = []
    merges: list[tuple[int, int]] = []
    pending: list[StoryBlock] = []

    def flush() -> None:
        if not pending:
            return
        arts = Articles.concat([b.arts for b in pending], pending[0].arts.title_tf.shape[1])
        for i, a in zip(arts.ids, stream.add_features(arts), strict=True):
            ids.append(i)
            labels.append(a.story)
            scores.append(a.score)
        merges.extend(stream.pop_merges())
        pending.clear()

    ordered = blocks.map(_single_rows)
    if old:
        stream.reserve(max(st for st, _ in old.values()))
        # copies of stored articles join their stories, however long ago those were
        placed: dict[str, int] = {}
        first_new = math.inf
        for (undated_row, ts, _), block in ordered.sorted_records(_time_order):
            doc_id = block.arts.ids[0]
            if doc_id in old:
                group = table.groups.get(doc_id)
                if group is not None:
                    placed.setdefault(group, old[doc_id][0])
            elif not undated_row:
                first_new = min(first_new, ts)
        stream.place_groups(placed)
        start = first_new - params.pairs.window * 86400.0
        window: list[StoryBlock] = []
        for (undated_row, ts, _), block in ordered.sorted_records(_time_order):
            if block.arts.ids[0] in old and (undated_row or ts >= start):
                window.append(block)
        if window:
            arts = Articles.concat([b.arts for b in window], window[0].arts.title_tf.shape[1])
            stream.preload(arts, [old[i][0] for i in arts.ids])
    for _, block in ordered.sorted_records(_time_order):
        if block.arts.ids[0] in old:
            continue
        pending.append(block)
        if len(pending) >= 1000:
            flush()
    flush()
    stored = list(old.items())
    final = resolve(np.asarray(labels + [st for _, (st, _) in stored], dtype=np.int64),
                    merges).tolist()
    rows = [(i, (int(lab), float(sc))) for i, lab, sc in zip(
        ids + [i for i, _ in stored], final, scores + [sc for _, (_, sc) in stored],
        strict=True)]
    return runner.source([rows[k:k + 4096] for k in range(0, len(rows), 4096)])


def _stored_assignments(store: Any) -> dict[str, tuple[int, float]]:
    """Article id -> (stored story id, score), for the articles a store has placed."""
    if store is None:
        return {}
    from khabar.stories import db as storydb

    storydb.declare(store)
    numbers = storydb.doc_numbers(store)
    by_n = storydb.stored_members(store)
    return {i: by_n[n] for i, n in numbers.items() if n in by_n}


def _crosslingual_day(day: int, values: list[tuple], params: StoryParams
                      ) -> list[tuple[tuple[str, str], float]]:
    blocks = [v[1] for v in values if v[0] in ("left", "right")]
    if not any(v[0] == "left" for v in values):
        return []
    return list(crosslingual_evidence(_concat_blocks(blocks).arts, params.pairs.window).items())


def _member_by_own_id(batch: list[StoryBlock], stats: Any, copies: Any, params: StoryParams
                      ) -> list[tuple[str, tuple]]:
    """`_member_rows` keyed by each article's own id (a stream places every article)."""
    out = []
    for _rep, member in _member_rows(batch, stats, copies, params):
        out.append((member[1], member))
    return out


def _score_day_args(day: int, values: list[tuple], stats: Any, copies: Any,
                    params: StoryParams) -> list[np.ndarray]:
    return _score_day(day, values, stats, copies, params)


def _count_undated(batch: list[StoryBlock]) -> int:
    return sum(int(np.isnan(b.arts.ts).sum()) for b in batch)


def _sum(a: int, b: int) -> int:
    return a + b


def _copy_table(runner: Any, blocks: Dataset, dup_pairs: Dataset, given: Any = True
                ) -> CopyTable:
    """The copy groups (a small table: only articles with a copy are in it): from the
    duplicate stage's pairs, or `given` (a `Copies`; False for none)."""
    from khabar.dups.params import DupParams

    if given is False or given is None:
        return CopyTable({}, {}, {}, {})
    if given is True:
        links, exact = dup_pairs.aggregate(_links_of, _collect, ([], []),
                                           DupParams().threshold)
        groups = copy_groups(links)
        exact_groups = copy_groups(exact)
    else:
        groups, exact_groups = dict(given.groups), dict(given.exact)
    reps = blocks.group(_exact_ranks, _exact_rep, runner.broadcast(exact_groups)).aggregate(
        _list, _concat_lists, [])
    rep = {g: r for g, r, _ in reps}
    weight = {r: w for _, r, w in reps}
    return CopyTable(groups, exact_groups, rep, weight)


def _links_of(batch: list[Any], threshold: float) -> tuple[list, list]:
    links, exact = [], []
    for p in batch:
        if p.kind == "exact":
            exact.append((p.a, p.b))
            links.append((p.a, p.b))
        elif p.jaccard >= threshold:
            links.append((p.a, p.b))
    return links, exact


def _collect(a: tuple[list, list], b: tuple[list, list]) -> tuple[list, list]:
    return a[0] + b[0], a[1] + b[1]


def _list(batch: list[Any]) -> list[Any]:
    return list(batch)


def _concat_lists(a: list[Any], b: list[Any]) -> list[Any]:
    return a + b


def _stable_ids(ctx: Context, stories: Dataset, story_of: Dataset) -> tuple[Dataset, Dataset]:
    """Story ids kept in the store across runs (`khabar.stories.db`): each story takes the
    stored id most of its members had; new stories get ids after the largest ever given.
    Local only (the store is one file), so the driver may hold one number per article."""
    from khabar.stories import db as storydb

    store = ctx.store
    storydb.declare(store)
    members: dict[int, list[int]] = {}
    numbers: dict[str, int] = {}
    for x in story_of.records():
        members.setdefault(x.story, []).append(x.n)
        numbers[x.id] = x.n
    clusters = [members[k] for k in sorted(members)]
    old = {n: st for n, (st, _) in storydb.stored_members(store).items()}
    ids = storydb.stable_ids(clusters, old, storydb.max_story(store))
    mapping = dict(zip(sorted(members), ids, strict=True))
    renumbered = stories.map(_renumber_stories, ctx.runner.broadcast(mapping))
    storydb.save(store, _Saved(list(renumbered.records())), numbers)
    return renumbered, story_of.map(_renumber_of, ctx.runner.broadcast(mapping))


@dataclass(slots=True)
class _Saved:
    stories: list[Any]


def _renumber_stories(batch: list[StoryRecord], mapping: Any) -> list[StoryRecord]:
    from dataclasses import replace

    return [replace(s, story=mapping.value[s.story]) for s in batch]


def _renumber_of(batch: list[StoryOf], mapping: Any) -> list[StoryOf]:
    return [StoryOf(x.n, x.id, mapping.value[x.story], x.score, x.size) for x in batch]


def _evidence(runner: Any, data: dict[str, Dataset], blocks: Dataset, given: Any = None
              ) -> Dataset:
    """Evidence records keyed by the day groups of both their articles: from the duplicate
    and reuse stages, or `given` rows (a, b, strength, certain)."""
    if given is not None:
        links = runner.source([list(given)])
    else:
        strengths = [data["dup_pairs"].map(_dup_evidence)]
        if "passages" in data:
            covers = data["passages"].map(_passage_cover).group(_pair_key, _covered)
            lengths = data["articles"].map(_lengths)
            a_side = cogroup([covers, lengths], [_by_first, _keyed], _share_a)
            strengths.append(cogroup([a_side, lengths], [_by_first, _keyed], _share_b))
        links = runner.union(strengths).group(_pair_key, _strongest)
    days = blocks.map(_evidence_days)
    with_a = cogroup([links.map(_by_a_rows), days], [_keyed, _keyed], _evidence_to_day, 0)
    return cogroup([with_a, days], [_keyed, _keyed], _evidence_to_day, 1)


def _by_a_rows(batch: list[tuple[str, str, float, bool]]) -> list[tuple[str, tuple]]:
    return [(r[0], r) for r in batch]


__all__ = ["FEATURES", "OUTPUTS", "Assignment", "StoryBlock", "StoryOf", "StoryRecord",
           "stories_stage", "story_features"]
