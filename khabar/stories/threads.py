"""Threads: stories of one developing event, linked across days, with the reasons shown.

A story is one happening (the derailment; the minister's statement the next
day is, to careful readers, another report). A THREAD links the stories of one
developing event: its aftermath, updates, reactions, the next round of one
contest. It never links two happenings of one kind (two attacks, daily market
reports of different days, two congratulation cables), which share as many
words as a follow-up does.

How, in three steps that each run on pairs or groups of stories:

1. **Profiles** (`story_profiles`): each story summed from its members' rows of
   the story stage's weighted space (a grouping by story): the centroid of its
   leads, the words of its titles, the shingles and numbers of its leads, its
   first and last publication time.
2. **Candidate pairs** of stories whose time spans come within
   `ThreadParams.window` days (7: a developing event is followed for a week
   in Europe Media Monitor's story tracking) and whose leads share weighted
   words, scored by a pure function of five features (`THREAD_FEATURES`):
   ``similarity`` (cosine of the centroids), ``cover`` (how much of each
   story's title words the other mentions: the subject), ``closest`` (how
   nearly each is the other's most similar story in the window: a follow-up is
   the closest story to its event, while a daily report has a report of the same
   kind every day and a cable has many cables; computed from each story's best
   other link, a grouping), ``reuse`` (share of lead shingles in common: the
   later report repeats the earlier one's text) and ``time`` (exp(−gap / time
   scale)). A logistic model fitted on the labelled pairs (``bench/stories.py
   --fit``) turns them into the probability that the two stories are one
   developing event. Fitted on SaudiNewsNet, ``similarity`` weighs AGAINST a
   link: two stories the story stage kept apart although their leads are very
   alike are, in the labels, mostly routine reports of one template (markets,
   weather, cables) with new figures; a follow-up shares less text and more of
   the subject. A `thread: no` pair weighs five times a follow-up in the fit
   (`bench/stories.py`, THREAD_NO_WEIGHT), so that at most 5 % of the pairs
   that are not one thread end up in one.
3. **Linkage**: average linkage over stories at `ThreadParams.threshold`
   (`linkage.average_linkage`), as stories are made of articles: a chain of
   pairwise links (Monday's market report resembles Tuesday's, which resembles
   Wednesday's) does not make a thread unless the stories agree on average.

Every link kept in a thread carries its evidence (`ThreadLink.evidence`): the
specific words both stories use, the share of text reused, the figures each
has that the other lacks (a toll that changed), the gap in days and whether
each is the other's closest story, so that a reader can check why.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from khabar.stories.linkage import average_linkage
from khabar.stories.similarity import DAY, Space

THREAD_FEATURES: tuple[str, ...] = ("similarity", "cover", "closest", "reuse", "time")


@dataclass(frozen=True, slots=True)
class ThreadModel:
    """Weights of the story-pair score: logit = intercept + Σ weight·feature."""

    weights: tuple[float, ...]
    intercept: float

    def probability(self, feats: np.ndarray) -> np.ndarray:
        if not len(feats):
            return np.empty(0)
        return 1.0 / (1.0 + np.exp(-(feats @ np.asarray(self.weights) + self.intercept)))

    def describe(self) -> dict[str, float]:
        return {"intercept": round(self.intercept, 3),
                **{n: round(w, 3) for n, w in zip(THREAD_FEATURES, self.weights, strict=True)}}


# Fitted on the labelled SaudiNewsNet dev pairs whose articles the story stage keeps
# apart, by `python bench/stories.py --fit` (L2 = 1 on standardized features, `thread: no`
# pairs weighing 5); validated by cross-validation by pair and by day (see the README).
DEFAULT_THREAD_MODEL = ThreadModel(
    weights=(-4.61, 1.68, 4.78, 2.81, 1.21),
    intercept=-5.62,
)


@dataclass(frozen=True, slots=True)
class ThreadParams:
    """How stories are linked into threads."""

    threshold: float = 0.5
    """Least average probability between a story and a thread for it to join. Default 0.5."""
    window: float = 7.0
    """Stories whose time spans are more than this many days apart are never linked.
    Default 7 (a week, as Europe Media Monitor follows its stories)."""
    time_scale: float = 3.0
    """Days over which the ``time`` feature decays by a factor e. Default 3."""
    min_similarity: float = 0.1
    """A story pair is a candidate if its centroid cosine reaches this, or the stories
    share two (sampled) lead shingles. Default 0.1."""
    model: ThreadModel = DEFAULT_THREAD_MODEL


# -- records ------------------------------------------------------------------------------------


@dataclass(slots=True)
class ThreadLink:
    """Why two stories of a thread belong together."""

    a: int
    """The earlier story (by first article)."""
    b: int
    score: float
    """Probability that the two stories are one developing event."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """``words`` (specific words both use, most specific first), ``reused`` (share of the
    smaller story's lead shingles found in the other), ``figures_before`` /
    ``figures_after`` (numbers only the earlier / only the later story gives: figures
    that changed), ``figures_shared``, ``gap_days``, ``closest`` (each is the other's
    most similar story in the window)."""

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "score": round(self.score, 4), **self.evidence}


@dataclass(slots=True)
class Thread:
    """Stories of one developing event, in time order."""

    thread: int
    """Stable id (kept in the database across runs)."""
    title: str
    """The title of its largest story (the earliest among equals)."""
    first_seen: datetime | None
    last_seen: datetime | None
    stories: list[int]
    """Story ids in time order of their first article."""
    members: list[str]
    """Every article of its stories, in time order."""
    links: list[ThreadLink] = field(default_factory=list)
    """The links the thread was made of (pairs scoring at the threshold or above)."""

    def to_dict(self) -> dict[str, Any]:
        from khabar.io.writers import format_date

        return {
            "thread": self.thread,
            "title": self.title,
            "first_seen": format_date(self.first_seen) if self.first_seen else None,
            "last_seen": format_date(self.last_seen) if self.last_seen else None,
            "stories": self.stories,
            "members": self.members,
            "links": [link.to_dict() for link in self.links],
        }


@dataclass(slots=True)
class ThreadResult:
    threads: list[Thread]
    of_story: dict[int, int] = field(default_factory=dict)
    """Story id -> thread id."""

    def __len__(self) -> int:
        return len(self.threads)

    def __iter__(self):
        return iter(self.threads)

    def thread_of(self, story: int) -> Thread | None:
        t = self.of_story.get(story)
        return None if t is None else next((x for x in self.threads if x.thread == t), None)


# -- 1. profiles ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Profiles:
    """Stories as thread linking sees them (row k is story `stories[k]`)."""

    stories: list[int]
    first: np.ndarray
    """Time of the first and last dated article (NaN when none is dated)."""
    last: np.ndarray
    body: sp.csr_matrix
    """L2-normalized centroid of the members' weighted leads."""
    title: sp.csr_matrix
    """Title words (IDF weights, once per word) of the members' titles."""
    present: sp.csr_matrix
    """Binary: the word occurs in a member's title or lead."""
    title_mass: np.ndarray
    shingles: sp.csr_matrix
    """Binary: a (sampled) lead shingle of a member."""
    numbers: sp.csr_matrix
    """Binary: a specific number a member mentions."""
    size: np.ndarray

    def __len__(self) -> int:
        return len(self.stories)


def _binary(m: sp.csr_matrix) -> sp.csr_matrix:
    m = m.tocsr()
    m.data = np.ones_like(m.data)
    return m


def _compact(m: sp.csr_matrix) -> sp.csr_matrix:
    """`m` (binary) with only its used columns, renumbered: numbers and shingles live in
    huge hashed spaces, and a sparse product allocates a workspace as wide as the space."""
    m = m.tocsr()
    cols, inverse = np.unique(m.indices, return_inverse=True)
    return sp.csr_matrix((np.ones(len(m.indices)), inverse.ravel(), m.indptr.copy()),
                         shape=(m.shape[0], max(len(cols), 1)))


def _scaled(m: sp.csr_matrix, weights: np.ndarray) -> sp.csr_matrix:
    """Each column of `m` times its weight (sparse in, sparse out)."""
    out = m.tocsr(copy=True)
    out.data = out.data * weights[out.indices]
    out.eliminate_zeros()
    return out


def story_profiles(space: Space, labels: np.ndarray, stories: Sequence[int] | None = None
                   ) -> Profiles:
    """Profiles of the stories of `space`'s rows (`labels`: a story label per row).

    `stories` lists the labels to profile, in the order wanted (default: every label,
    ascending). Sums over each story's rows: a grouping by label.
    """
    labels = np.asarray(labels)
    keys = np.unique(labels) if stories is None else np.asarray(stories)
    index = {int(k): i for i, k in enumerate(keys.tolist())}
    rows = np.flatnonzero(np.isin(labels, keys))
    col = np.array([index[int(x)] for x in labels[rows].tolist()], dtype=np.int64)
    m = sp.csr_matrix((np.ones(len(rows)), (col, rows)), shape=(len(keys), len(labels)))
    body = (m @ space.body).tocsr()
    norms = np.sqrt(np.asarray(body.multiply(body).sum(axis=1)).ravel())
    body = (sp.diags(np.where(norms > 0, 1.0 / np.maximum(norms, 1e-300), 0.0)) @ body).tocsr()
    # a title word counts once whatever the number of members using it
    title_bin = _binary(m @ _binary(space.title_idf))
    weights = np.zeros(space.title_idf.shape[1])
    tid = space.title_idf.tocoo()
    weights[tid.col] = tid.data
    title = _scaled(title_bin, weights)
    ts = space.arts.ts
    first = np.full(len(keys), np.inf)
    last = np.full(len(keys), -np.inf)
    dated = ~np.isnan(ts[rows])
    np.minimum.at(first, col[dated], ts[rows][dated])
    np.maximum.at(last, col[dated], ts[rows][dated])
    first[np.isinf(first)] = np.nan
    last[np.isinf(last)] = np.nan
    return Profiles(
        [int(k) for k in keys.tolist()], first, last, body, title,
        _binary(m @ space.present), np.asarray(title.sum(axis=1)).ravel(),
        _binary(m @ _compact(space.shingle_w)), _binary(m @ _compact(space.numbers)),
        np.bincount(col, minlength=len(keys)),
    )


# -- 2. candidate pairs and their features ------------------------------------------------------


@dataclass(slots=True)
class StoryPairs:
    """Candidate pairs of profile rows (`left` earlier than `right`) and their features."""

    left: np.ndarray
    right: np.ndarray
    features: np.ndarray
    prob: np.ndarray = field(default_factory=lambda: np.empty(0))


def _gap_days(p: Profiles, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Days between two stories' time spans (0 when they overlap; NaN when undated)."""
    gap = np.maximum(p.first[i], p.first[j]) - np.minimum(p.last[i], p.last[j])
    return np.maximum(gap, 0.0) / DAY


def candidate_pairs(p: Profiles, params: ThreadParams, block: int = 2000
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left, right, cosine) of the story pairs worth scoring: within the window, sharing
    weighted lead words (cosine ≥ `min_similarity`) or a lead shingle. Blocks of stories
    are compared with the stories whose spans come within the window of them."""
    n = len(p)
    if n < 2:
        e = np.empty(0, np.int64)
        return e, e, np.empty(0)
    start = np.where(np.isnan(p.first), -np.inf, p.first)
    order = np.argsort(start, kind="stable")
    lefts, rights = [], []
    window = params.window * DAY
    sorted_start = start[order]
    for s0 in range(0, n, block):
        rows = order[s0:s0 + block]
        hi = float(np.nanmax(np.where(np.isnan(p.last[rows]), np.inf, p.last[rows])))
        # stories starting up to `window` after the block's latest end (undated: all)
        stop = n if math.isinf(hi) else int(np.searchsorted(sorted_start, hi + window, "right"))
        cols = order[s0:stop]
        cos = (p.body[rows] @ p.body[cols].T).tocoo()
        shared = (p.shingles[rows] @ p.shingles[cols].T).tocoo()
        li = np.concatenate([rows[cos.row], rows[shared.row]])
        ri = np.concatenate([cols[cos.col], cols[shared.col]])
        keep = np.concatenate([cos.data >= params.min_similarity, shared.data >= 2])
        li, ri = li[keep], ri[keep]
        # each pair once, earlier story on the left (ties by row)
        a = np.where(start[li] < start[ri], li, np.where(start[li] > start[ri], ri,
                                                         np.minimum(li, ri)))
        b = np.where(a == li, ri, li)
        ok = a != b
        lefts.append(a[ok])
        rights.append(b[ok])
    a = np.concatenate(lefts)
    b = np.concatenate(rights)
    key = np.unique(a.astype(np.int64) * n + b)
    a, b = key // n, key % n
    gap = _gap_days(p, a, b)
    keep = ~(gap > params.window)  # undated (NaN): kept
    a, b = a[keep], b[keep]
    sim = np.asarray(p.body[a].multiply(p.body[b]).sum(axis=1)).ravel()
    return a, b, sim


def best_other(n: int, left: np.ndarray, right: np.ndarray, sim: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each story's best and second-best similarity over the candidate pairs, and the
    partner of the best (a grouping by story; -1 / 0 where none)."""
    both = np.concatenate([left, right])
    other = np.concatenate([right, left])
    s = np.concatenate([sim, sim])
    order = np.lexsort((other, -s, both))
    both, other, s = both[order], other[order], s[order]
    first = np.ones(len(both), dtype=bool)
    first[1:] = both[1:] != both[:-1]
    best = np.zeros(n)
    partner = np.full(n, -1, dtype=np.int64)
    second = np.zeros(n)
    best[both[first]] = s[first]
    partner[both[first]] = other[first]
    nxt = np.flatnonzero(first) + 1
    nxt = nxt[nxt < len(both)]
    nxt = nxt[~first[nxt]]
    second[both[nxt]] = s[nxt]
    return best, second, partner


def pair_features(p: Profiles, left: np.ndarray, right: np.ndarray, sim: np.ndarray,
                  params: ThreadParams) -> np.ndarray:
    """The `THREAD_FEATURES` of candidate pairs (`sim`: their centroid cosines)."""
    f = np.zeros((len(left), len(THREAD_FEATURES)))
    if not len(left):
        return f
    f[:, 0] = sim
    cover_ab = np.asarray(p.title[left].multiply(p.present[right]).sum(axis=1)).ravel()
    cover_ba = np.asarray(p.title[right].multiply(p.present[left]).sum(axis=1)).ravel()
    ma, mb = p.title_mass[left], p.title_mass[right]
    f[:, 1] = 0.5 * (np.where(ma > 0, cover_ab / np.maximum(ma, 1e-12), 0.0)
                     + np.where(mb > 0, cover_ba / np.maximum(mb, 1e-12), 0.0))
    best, second, partner = best_other(len(p), left, right, sim)
    # the best link of each side other than this one
    alt_l = np.where(partner[left] == right, second[left], best[left])
    alt_r = np.where(partner[right] == left, second[right], best[right])
    f[:, 2] = np.where(sim > 0, sim / np.maximum(np.maximum(sim, np.maximum(alt_l, alt_r)),
                                                 1e-12), 0.0)
    shared = np.asarray(p.shingles[left].multiply(p.shingles[right]).sum(axis=1)).ravel()
    smaller = np.minimum(np.diff(p.shingles.indptr)[left], np.diff(p.shingles.indptr)[right])
    f[:, 3] = np.where(smaller > 0, shared / np.maximum(smaller, 1), 0.0)
    gap = _gap_days(p, left, right)
    f[:, 4] = np.where(np.isnan(gap), 0.5, np.exp(-np.nan_to_num(gap) / params.time_scale))
    return f


def labelled_features(p: Profiles, rows_a: np.ndarray, rows_b: np.ndarray,
                      params: ThreadParams) -> np.ndarray:
    """Features of given pairs of profile rows (candidates or not, e.g. labelled pairs),
    each story's best other link taken over the candidate pairs as in scoring."""
    left, right, sim = candidate_pairs(p, params)
    a, b = np.asarray(rows_a, dtype=np.int64), np.asarray(rows_b, dtype=np.int64)
    start = np.where(np.isnan(p.first), -np.inf, p.first)
    swap = (start[a] > start[b]) | ((start[a] == start[b]) & (a > b))
    lo, hi = np.where(swap, b, a), np.where(swap, a, b)
    s = np.asarray(p.body[lo].multiply(p.body[hi]).sum(axis=1)).ravel()
    # the candidate pairs decide each story's best other link; the labelled pairs are
    # appended once more only to be read back (a repeated pair changes no maximum)
    feats = pair_features(p, np.concatenate([left, lo]), np.concatenate([right, hi]),
                          np.concatenate([sim, s]), params)
    return feats[len(left):]


def score_pairs(p: Profiles, params: ThreadParams) -> StoryPairs:
    """Candidate story pairs with their features and probabilities."""
    left, right, sim = candidate_pairs(p, params)
    feats = pair_features(p, left, right, sim, params)
    return StoryPairs(left, right, feats, params.model.probability(feats))


# -- 3. linkage and threads --------------------------------------------------------------------


def link_threads(p: Profiles, pairs: StoryPairs, params: ThreadParams) -> np.ndarray:
    """A thread label (a profile row) for each profile row."""
    labels, _ = average_linkage(len(p), pairs.left, pairs.right, pairs.prob, params.threshold)
    return labels


def _when(ts: float) -> datetime | None:
    return None if math.isnan(ts) else datetime.fromtimestamp(ts, UTC)


def build_threads(
    p: Profiles, labels: np.ndarray, pairs: StoryPairs, stories: Mapping[int, Any],
    params: ThreadParams, ids: Mapping[int, int] | None = None,
) -> ThreadResult:
    """Threads from profile labels. `stories`: story id -> its `Story` (members, title,
    times); `ids`: label -> thread id (default: numbered from 1 by first appearance)."""
    groups: dict[int, list[int]] = {}
    for row, lab in enumerate(labels.tolist()):
        groups.setdefault(int(lab), []).append(row)

    def start(row: int) -> tuple[bool, float, int]:
        t = p.first[row]
        return (bool(np.isnan(t)), 0.0 if np.isnan(t) else float(t), p.stories[row])

    ordered = sorted((sorted(rows, key=start) for rows in groups.values()),
                     key=lambda rows: start(rows[0]))
    if ids is None:
        ids = {int(labels[rows[0]]): k + 1 for k, rows in enumerate(ordered)}
    same = labels[pairs.left] == labels[pairs.right]
    strong = same & (pairs.prob >= params.threshold)
    links_of: dict[int, list[int]] = {}
    for k in np.flatnonzero(strong).tolist():
        links_of.setdefault(int(labels[pairs.left[k]]), []).append(k)
    threads: list[Thread] = []
    of_story: dict[int, int] = {}
    for rows in ordered:
        lab = int(labels[rows[0]])
        tid = ids[lab]
        sids = [p.stories[r] for r in rows]
        members = _members_in_order([stories[s] for s in sids])
        firsts = [p.first[r] for r in rows if not np.isnan(p.first[r])]
        lasts = [p.last[r] for r in rows if not np.isnan(p.last[r])]
        biggest = max(rows, key=lambda r: (p.size[r], -start(r)[1]))
        links = [ThreadLink(p.stories[int(pairs.left[k])], p.stories[int(pairs.right[k])],
                            float(pairs.prob[k]), basic_evidence(p, pairs, k))
                 for k in sorted(links_of.get(lab, ()),
                                 key=lambda k: (start(int(pairs.left[k])),
                                                start(int(pairs.right[k]))))]
        threads.append(Thread(
            thread=tid, title=stories[p.stories[biggest]].title,
            first_seen=_when(min(firsts)) if firsts else None,
            last_seen=_when(max(lasts)) if lasts else None,
            stories=sids, members=members, links=links))
        for s in sids:
            of_story[s] = tid
    threads.sort(key=lambda t: t.thread)
    return ThreadResult(threads, of_story)


def _members_in_order(stories: Sequence[Any]) -> list[str]:
    """All members of `stories` in time order (each story's members are in time order)."""
    keyed = []
    for s in stories:
        start = s.first_seen.timestamp() if s.first_seen else math.inf
        for k, m in enumerate(s.members):
            keyed.append((start, s.story, k, m))
    # members of one story keep their order; stories interleave by their first article
    return [m for *_, m in sorted(keyed)]


def basic_evidence(p: Profiles, pairs: StoryPairs, k: int) -> dict[str, Any]:
    """What the profiles themselves show about a link (words are added by the caller,
    who has the texts: see `shared_words`)."""
    a, b = int(pairs.left[k]), int(pairs.right[k])
    f = pairs.features[k]
    gap = _gap_days(p, np.array([a]), np.array([b]))[0]
    return {
        "similarity": round(float(f[0]), 3),
        "reused": round(float(f[3]), 3),
        "closest": bool(f[2] >= 0.999),
        "gap_days": None if np.isnan(gap) else round(float(gap), 2),
    }


# -- evidence a reader can check -----------------------------------------------------------------


def shared_words(texts_a: Sequence[str], texts_b: Sequence[str], weight: Any,
                 limit: int = 8) -> list[str]:
    """The most specific words both sides use, as written in `texts_a` (the first time),
    most specific first: `weight(term id)` says how specific a word is (its IDF, 0 for
    stopwords). Words are matched as the story stage matches them (normalized, stemmed)."""
    from khabar.document import Document
    from khabar.stories.features import DEFAULT_DIM, _lexicon
    from khabar.text.view import prepare

    lex = _lexicon(DEFAULT_DIM)

    def words(texts: Sequence[str]) -> dict[int, str]:
        out: dict[int, str] = {}
        docs = [Document(id=str(k), text=t) for k, t in enumerate(texts)]
        for text, v in zip(texts, prepare(docs), strict=True):
            toks = list(v.tokens.strings)
            starts, ends = v.token_spans_original()
            keep = [k for k, t in enumerate(toks) if t and not t[0].isdigit()]
            terms = lex.lookup([toks[k] for k in keep])
            for k, term in zip(keep, terms, strict=True):
                if term >= 0 and term not in out:
                    out[term] = text[int(starts[k]):int(ends[k])]
        return out

    wa, wb = words(texts_a), words(texts_b)
    common = [(float(weight(t)), w) for t, w in wa.items() if t in wb and weight(t) > 0]
    common.sort(key=lambda x: (-x[0], x[1]))
    return [w for _, w in common[:limit]]


def figures(texts_a: Sequence[str], texts_b: Sequence[str], limit: int = 6
            ) -> tuple[list[str], list[str], list[str]]:
    """(only in a, only in b, in both): specific numbers of each side's texts."""
    from khabar.stories.features import DEFAULT_DIM, _folded_texts, _lexicon

    lex = _lexicon(DEFAULT_DIM)

    def nums(texts: Sequence[str]) -> Counter:
        out: Counter = Counter()
        for folded in _folded_texts(list(texts)):
            toks = folded.split()
            _, _, numbers, _ = lex.analyse(toks)
            out.update(numbers)
        return out

    na, nb = nums(texts_a), nums(texts_b)

    def top(c: set[str], counts: Counter) -> list[str]:
        return sorted(c, key=lambda x: (-counts[x], x))[:limit]

    return (top(set(na) - set(nb), na), top(set(nb) - set(na), nb),
            top(set(na) & set(nb), na + nb))


# -- the whole step, as the story stage calls it --------------------------------------------------

EVIDENCE_MEMBERS = 6
"""Articles of each story (its earliest) whose title and lead the evidence words come from."""
LEAD_CHARS = 1500


def collection_idf(space: Space) -> np.ndarray:
    """IDF of each word over the articles of `space` (titles and leads), 0 where absent."""
    df = np.bincount(space.present.indices, minlength=space.present.shape[1])
    n = max(len(space.arts), 1)
    return np.where(df > 0, np.log((n + 1.0) / (df + 1.0)) + 1.0, 0.0)


def thread_stories(result: Any, arts: Any, space: Space, params: Any,
                   fetch: Any) -> ThreadResult:
    """Threads of a `StoryResult` whose articles are the rows of `arts` / `space`.

    `params` is the `StoryParams` (its `threads` field says how); `fetch(ids)` returns
    the documents of those ids, for the evidence of the links kept (their words and
    figures): only linked stories' earliest members are read.
    """
    tparams: ThreadParams = params.threads
    story_of_row = np.array([result.assignment[i][0] for i in arts.ids], dtype=np.int64)
    idf = collection_idf(space)
    prof = story_profiles(space, story_of_row)
    pairs = score_pairs(prof, tparams)
    labels = link_threads(prof, pairs, tparams)
    stories = {s.story: s for s in result.stories}
    out = build_threads(prof, labels, pairs, stories, tparams)
    add_evidence(out, stories, fetch, idf)
    return out


def add_evidence(threads: ThreadResult, stories: Mapping[int, Any], fetch: Any,
                 idf: np.ndarray) -> None:
    """Fill in each link's ``words`` and ``figures_*`` from its stories' texts."""
    linked = sorted({s for t in threads for link in t.links for s in (link.a, link.b)})
    if not linked:
        return
    wanted = {s: list(stories[s].members[:EVIDENCE_MEMBERS]) for s in linked}
    docs = {d.id: d for d in fetch(sorted({m for ms in wanted.values() for m in ms}))}

    def texts(story: int) -> list[str]:
        out = []
        for m in wanted[story]:
            d = docs.get(m)
            if d is not None:
                out.append(f"{d.title or ''}\n{d.text[:LEAD_CHARS]}")
        return out

    cache = {s: texts(s) for s in linked}
    for t in threads:
        for link in t.links:
            ta, tb = cache[link.a], cache[link.b]
            link.evidence["words"] = shared_words(ta, tb, lambda term: idf[term])
            before, after, both = figures(ta, tb)
            link.evidence["figures_before"] = before
            link.evidence["figures_after"] = after
            link.evidence["figures_shared"] = both
