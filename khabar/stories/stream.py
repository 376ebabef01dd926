"""Streaming story assignment: each article, in arrival order, joins a story or starts one.

    stream = StoryStream(StoryParams())
    for batch in batches:
        for a in stream.add(batch):
            print(a.id, a.story, a.score)
        for absorbed, into in stream.pop_merges():
            print(f"story {absorbed} is now part of story {into}")

An article joins the active story with the highest average same-event
probability over that story's active members (pairs never scored count as 0,
as in batch average linkage) if it reaches `StoryParams.threshold`; else it
starts a new story. When an article's links make two active stories agree on
average (the mean probability over the pairs between their members reaches
the threshold), they merge, the older keeping its number, as batch linkage
would have merged them. A member stays active for `window` days of stream
time (the latest publication time seen); a story whose members all left the
window is finished and forgotten, so memory depends on the window, not on the
length of the stream (drain `pop_merges` as you go).

Feeding articles one at a time or in batches of any size gives the same
result: every decision depends only on the articles before it, and document
frequencies are refreshed at fixed positions of the stream (articles 64, 128,
…, then every `refresh`), when the window's articles are weighed again.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from khabar.document import Document
from khabar.repair import Repair
from khabar.stories.copies import Copies
from khabar.stories.features import Articles, FeatureParams, TermStats, extract
from khabar.stories.params import StoryParams
from khabar.stories.similarity import (
    DAY,
    Pairs,
    Space,
    as_evidence,
    make_space,
    pair_features,
    score,
    term_weights,
)

OWN, PLACED = -1, -2
"""`StoryStream._fold_plan`: an article that gets a window row of its own; a copy that
joins its group's story without one."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where one article went."""

    id: str
    story: int
    """The stream's story number when the article arrived (stories are numbered from 0 in
    order of creation; a story absorbed later is reported by `StoryStream.pop_merges`)."""
    score: float
    """Average same-event probability with the story's active members when it joined
    (1.0 for the article that started the story)."""


@dataclass(slots=True)
class _Active:
    """The articles in the window: their weighted vectors, stories, times and links."""

    space: Space | None = None
    stories: list[int] = field(default_factory=list)
    """Story of each row when it arrived (resolve through `StoryStream._root`)."""
    alive: list[bool] = field(default_factory=list)
    weight: list[int] = field(default_factory=list)
    """Articles each row stands for: itself and the copies folded into it."""
    times: list[float] = field(default_factory=list)
    """Effective time of each row (when it leaves the window)."""
    partners: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    """Row -> (other row, probability) of its scored pairs, while the row is alive."""

    def __len__(self) -> int:
        return len(self.stories)


def _refresh_points(refresh: int) -> Iterable[int]:
    k = 64
    while k < refresh:
        yield k
        k *= 2


def _vstack_space(a: Space | None, b: Space) -> Space:
    if a is None or len(a) == 0:
        return b
    return Space(
        Articles.concat([a.arts, b.arts], a.arts.title_tf.shape[1]),
        sp.vstack([a.body, b.body], format="csr"),
        sp.vstack([a.title, b.title], format="csr"),
        sp.vstack([a.title_idf, b.title_idf], format="csr"),
        sp.vstack([a.present, b.present], format="csr"),
        np.concatenate([a.title_mass, b.title_mass]),
        sp.vstack([a.shingle_w, b.shingle_w], format="csr"),
        np.concatenate([a.shingle_mass, b.shingle_mass]),
        sp.vstack([a.numbers, b.numbers], format="csr"),
        np.concatenate([a.outlet, b.outlet]),
    )


class StoryStream:
    """Assigns articles to stories as they arrive (see the module docstring)."""

    def __init__(
        self, params: StoryParams | None = None, prior: TermStats | None = None,
        evidence: Mapping[tuple[str, str], float] | None = None,
        copies: Copies | None = None,
    ) -> None:
        """`prior`: document frequencies to start from (e.g. of a stored collection);
        `evidence`: duplicate/reuse strength of id pairs, as in batch clustering;
        `copies`: which articles are copies (`copies.Copies`): a copy joins the story
        its group is in whenever it arrives, and an exact copy of an article still in
        the window is folded into that article's row instead of being compared."""
        self.params = params or StoryParams()
        self.evidence = as_evidence(evidence)
        self._copies: dict[str, str] = {}
        self._exact: dict[str, str] = {}
        # copy group -> the (root) story holding it, kept up to date through merges and
        # after the story leaves the window (a late copy joins it, whatever its date)
        self._group_story: dict[str, int] = {}
        self._story_groups: dict[int, list[str]] = {}
        self._group_row: dict[str, int] = {}  # exact group -> its row in the window
        self._exact_placed: set[str] = set()
        if copies:
            self.add_copies(copies)
        # document frequencies the weights come from, and the articles seen since they were
        # last brought up to date (counted in at the next refresh point, never before)
        self._stats = prior.copy() if prior is not None else TermStats(self.params.features.dim)
        self._pending: list[Articles] = []
        self._term_weights = term_weights(self._stats, self.params.pairs)
        self._seen = 0
        self._clock = -math.inf
        self._active = _Active()
        self._expiry: list[tuple[float, int]] = []  # (effective time, active row)
        # active stories (roots only): members in the window, and the summed probability
        # of the pairs between two stories' members (what average linkage compares)
        self._size: dict[int, int] = {}
        self._links: dict[int, dict[int, float]] = {}
        self._parent: dict[int, int] = {}  # absorbed story -> the story it went into
        self._absorbed: dict[int, list[int]] = {}  # root -> stories it absorbed
        self._merges: list[tuple[int, int]] = []
        self._next_story = 0
        self._refresh_at = sorted({*(_refresh_points(self.params.refresh))})

    # -- public ---------------------------------------------------------------------------------

    @property
    def seen(self) -> int:
        """Articles added so far."""
        return self._seen

    @property
    def active_articles(self) -> int:
        return sum(self._active.alive)

    @property
    def active_stories(self) -> int:
        return len(self._size)

    def add(self, docs: Sequence[Document], repairs: Sequence[Repair | None] | None = None
            ) -> list[Assignment]:
        """Assign `docs` (in the order given) and return where each went."""
        if not docs:
            return []
        return self.add_features(extract(docs, repairs, self.params.features))

    def add_features(self, arts: Articles) -> list[Assignment]:
        """`add` for articles whose features are already extracted."""
        out: list[Assignment] = []
        start = 0
        while start < len(arts):
            # cut at the next refresh point so that batching cannot change the weights
            room = self._until_refresh()
            stop = min(len(arts), start + room)
            out.extend(self._segment(arts.take(np.arange(start, stop))))
            start = stop
        return out

    def pop_merges(self) -> list[tuple[int, int]]:
        """(absorbed story, story it joined) for the merges since the last call, in order.

        Two active stories merge when the average probability over the pairs
        between their members reaches the threshold (as in batch average
        linkage); the older story keeps its number.
        """
        out, self._merges = self._merges, []
        return out

    def add_copies(self, copies: Copies) -> None:
        """More copies (e.g. found by the duplicate stage since the stream started)."""
        self._copies.update(copies.groups)
        self._exact.update(copies.exact)

    def place_groups(self, stories: Mapping[str, int]) -> None:
        """Say which story copy groups are already in (group -> story, e.g. stored): their
        copies join those stories when they arrive."""
        for group, story in stories.items():
            if group not in self._group_story:
                self._place_group(group, self._root(story))

    def reserve(self, last_id: int) -> None:
        """Number new stories after `last_id` (ids already used elsewhere, e.g. stored)."""
        self._next_story = max(self._next_story, last_id + 1)

    def preload(self, arts: Articles, stories: Sequence[int]) -> None:
        """Put already-assigned articles (e.g. from the database) into the window as members
        of `stories`, without deciding anything; later articles may join them."""
        times = self._times(arts)
        plan, kept = self._fold_plan(arts, times)
        act = self._active
        act.space = _vstack_space(act.space, self._space(arts.take(kept)))
        for k, (story, t) in enumerate(zip(stories, times, strict=True)):
            self._next_story = max(self._next_story, story + 1)
            if plan[k] >= 0:
                self._fold(plan[k], t)
            if plan[k] != OWN:
                continue
            root = self._root(story)
            group = self._copies.get(arts.ids[k]) if self._copies else None
            if group is not None and group not in self._group_story:
                self._place_group(group, root)
            if root not in self._size:
                self._size[root] = 0
                self._links[root] = {}
            self._add_row(len(act), story, t, self._exact.get(arts.ids[k]))
            self._size[root] += 1
            if not math.isnan(t):
                self._clock = max(self._clock, t)
        self._seen += len(arts)
        self._pending.append(arts if len(kept) == len(arts) else arts.take(kept))
        self._refresh()

    # -- internals ------------------------------------------------------------------------------

    def _root(self, story: int) -> int:
        parent = self._parent
        if story not in parent:
            return story
        top = story
        while top in parent:
            top = parent[top]
        while story != top:  # shorten the chain for next time
            parent[story], story = top, parent[story]
        return top

    def _until_refresh(self) -> int:
        for point in self._refresh_at:
            if point > self._seen:
                return point - self._seen
        step = self.params.refresh
        return step - (self._seen % step)

    def _at_refresh(self) -> bool:
        return self._seen in self._refresh_at or (
            self._seen >= self.params.refresh and self._seen % self.params.refresh == 0)

    def _times(self, arts: Articles) -> list[float]:
        """Effective times: the publication time, or the stream clock for undated articles."""
        times: list[float] = []
        clock = self._clock
        for t in arts.ts.tolist():
            if not math.isnan(t):
                clock = max(clock, t)
                times.append(t)
            else:
                times.append(clock if clock > -math.inf else math.nan)
        return times

    def _expire(self, clock: float) -> None:
        """Retire members older than the window at stream time `clock`."""
        limit = clock - self.params.pairs.window * DAY
        if not self._expiry or self._expiry[0][0] >= limit:
            return
        act = self._active
        while self._expiry and self._expiry[0][0] < limit:
            when, row = heapq.heappop(self._expiry)
            if not act.alive[row] or act.times[row] > when:
                continue  # a copy folded in later keeps the row (its later entry decides)
            act.alive[row] = False
            root = self._root(act.stories[row])
            w = act.weight[row]
            for other, p in act.partners.pop(row, ()):
                if act.alive[other]:
                    o = self._root(act.stories[other])
                    if o != root:
                        drop = p * w * act.weight[other]
                        self._links[root][o] = self._links[root].get(o, 0.0) - drop
                        self._links[o][root] = self._links[o].get(root, 0.0) - drop
            self._size[root] -= w
            if self._size[root] == 0:
                self._finish(root)

    def _finish(self, root: int) -> None:
        """A story with no member left in the window is forgotten."""
        del self._size[root]
        for other in self._links.pop(root, {}):
            self._links.get(other, {}).pop(root, None)
        for child in self._absorbed.pop(root, ()):
            self._parent.pop(child, None)

    def _merge(self, keep: int, gone: int) -> None:
        self._parent[gone] = keep
        self._absorbed.setdefault(keep, []).extend([gone, *self._absorbed.pop(gone, [])])
        self._size[keep] += self._size.pop(gone)
        links_keep = self._links[keep]
        links_keep.pop(gone, None)
        for other, w in self._links.pop(gone).items():
            if other == keep:
                continue
            links_keep[other] = links_keep.get(other, 0.0) + w
            row = self._links[other]
            row.pop(gone, None)
            row[keep] = row.get(keep, 0.0) + w
        for group in self._story_groups.pop(gone, ()):
            self._place_group(group, keep)
        self._merges.append((gone, keep))

    def _place_group(self, group: str, story: int) -> None:
        self._group_story[group] = story
        self._story_groups.setdefault(story, []).append(group)

    def _merge_around(self, story: int) -> None:
        """Merge `story` with the active stories its members now agree with on average."""
        threshold = self.params.threshold
        while True:
            best, best_avg = -1, -1.0
            size = self._size[story]
            sizes = self._size
            for other, w in self._links[story].items():
                avg = w / (size * sizes[other])
                if avg > best_avg or (avg == best_avg and other < best):
                    best, best_avg = other, avg
            if best < 0 or best_avg < threshold:
                return
            keep, gone = min(story, best), max(story, best)
            self._merge(keep, gone)
            story = keep

    def _compact(self) -> None:
        """Drop retired rows from the window's matrices (memory only, never results)."""
        act = self._active
        if act.space is None or sum(act.alive) > 0.75 * len(act):
            return
        keep = np.flatnonzero(np.asarray(act.alive, dtype=bool))
        remap = {int(old): new for new, old in enumerate(keep.tolist())}
        act.space = act.space.take(keep)
        act.stories = [act.stories[i] for i in keep.tolist()]
        act.weight = [act.weight[i] for i in keep.tolist()]
        act.times = [act.times[i] for i in keep.tolist()]
        act.alive = [True] * len(keep)
        self._group_row = {g: remap[r] for g, r in self._group_row.items() if r in remap}
        act.partners = {remap[r]: [(remap[o], p) for o, p in lst if o in remap]
                        for r, lst in act.partners.items() if r in remap}
        self._expiry = [(t, remap[r]) for t, r in self._expiry if r in remap]
        heapq.heapify(self._expiry)

    def _fold_plan(self, arts: Articles, times: list[float]) -> tuple[list[int], np.ndarray]:
        """For each article: the window row of an earlier EXACT copy it folds into; PLACED
        for an exact copy whose group was placed but has no row in the window any more;
        else OWN. And the rows of `arts` that get rows of their own.

        An exact copy is the same text, so it is never compared again: it adds its
        weight to its group's row while that row is in the window (a thousand copies
        stay one row), and after that it simply joins the group's story, as exact
        copies in batch clustering are one row whatever their dates. A near copy gets
        a row of its own (its words differ) but joins its group's story.
        """
        plan = [OWN] * len(arts)
        if not self._exact:
            return plan, np.arange(len(arts))
        act = self._active
        span = self.params.pairs.window * DAY
        clock = self._clock
        rows = dict(self._group_row)  # exact group -> row (this segment's rows included)
        latest: dict[int, float] = {}  # row -> time of its latest copy in this segment
        seen = set()  # exact groups first met in this segment
        kept: list[int] = []
        for k, (doc, t) in enumerate(zip(arts.ids, times, strict=True)):
            if not math.isnan(t):
                clock = max(clock, t)
            exact = self._exact.get(doc)
            if exact is None:
                kept.append(k)
                continue
            if exact in self._exact_placed or exact in seen:
                plan[k] = PLACED
                row = rows.get(exact)
                if row is not None:
                    mine = row >= len(act)
                    rt = latest.get(row, times[kept[row - len(act)]] if mine
                                    else act.times[row])
                    if (mine or act.alive[row]) and not rt < clock - span:
                        plan[k] = row
                        if not math.isnan(t) and not t <= rt:
                            latest[row] = t
                continue
            seen.add(exact)
            rows[exact] = len(act) + len(kept)
            kept.append(k)
        return plan, np.asarray(kept, dtype=np.int64)

    def _fold(self, row: int, t: float) -> int:
        """One more copy (published at `t`) of the article in `row`; returns its story.

        The row stays in the window until `window` days after its latest copy: an article
        still being republished is still news, as its copies would be rows of their own.
        """
        act = self._active
        root = self._root(act.stories[row])
        act.weight[row] += 1
        self._size[root] += 1
        if not math.isnan(t) and not t <= act.times[row]:
            act.times[row] = t
            heapq.heappush(self._expiry, (t, row))
        links = self._links[root]
        for other, p in act.partners.get(row, ()):
            if act.alive[other]:
                o = self._root(act.stories[other])
                if o != root:
                    add = p * act.weight[other]
                    links[o] = links.get(o, 0.0) + add
                    self._links[o][root] = self._links[o].get(root, 0.0) + add
        return root

    def _add_row(self, row: int, story: int, t: float, exact: str | None) -> None:
        act = self._active
        act.stories.append(story)
        act.alive.append(True)
        act.weight.append(1)
        act.times.append(t)
        act.partners[row] = []
        if exact is not None:
            self._group_row[exact] = row
            self._exact_placed.add(exact)
        if not math.isnan(t):
            heapq.heappush(self._expiry, (t, row))

    def _segment(self, arts: Articles) -> list[Assignment]:
        params = self.params
        times = self._times(arts)
        # everything that expired before the first article of the segment is gone for all
        first = times[0]
        self._expire(max(self._clock, first) if not math.isnan(first) else self._clock)
        self._compact()
        plan, kept = self._fold_plan(arts, times)
        space = self._space(arts if len(kept) == len(arts) else arts.take(kept))
        act = self._active
        n_old = len(act)
        right = _vstack_space(act.space, space)
        right_alive = np.asarray(act.alive + [True] * len(kept), dtype=bool)

        def allowed(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
            return (ri < n_old + li) & right_alive[ri]

        pairs: Pairs = score(pair_features(space, right, params.pairs, allowed, self.evidence),
                             params.model)
        order = np.lexsort((pairs.right, pairs.left))
        left = pairs.left[order]
        partner = pairs.right[order]
        prob = pairs.prob[order]
        bounds = np.searchsorted(left, np.arange(len(kept) + 1))
        act.space = right
        out: list[Assignment] = []
        clock = self._clock
        copies = self._copies
        own = 0  # rows of their own given so far in this segment
        for k in range(len(arts)):
            t = times[k]
            if not math.isnan(t):
                clock = max(clock, t)
                self._expire(clock)
            if plan[k] != OWN:
                # a copy of an article placed before: the same report, one more of it
                self._clock = clock
                if plan[k] == PLACED:
                    story = self._root(self._group_story[copies[arts.ids[k]]])
                else:
                    story = self._fold(plan[k], t)
                    self._merge_around(story)
                out.append(Assignment(arts.ids[k], story, 1.0))
                continue
            lo, hi = int(bounds[own]), int(bounds[own + 1])
            alive = act.alive
            stories_of = act.stories
            weight = act.weight
            root = self._root
            links = [(r, p, root(stories_of[r]))
                     for r, p in zip(partner[lo:hi].tolist(), prob[lo:hi].tolist(), strict=True)
                     if alive[r] and p > 0.0]
            sums: dict[int, float] = {}
            for r, p, s in links:
                sums[s] = sums.get(s, 0.0) + p * weight[r]
            best, best_score = -1, -1.0
            for s, total in sums.items():
                avg = total / self._size[s]
                if avg > best_score or (avg == best_score and s < best):
                    best, best_score = s, avg
            group = copies.get(arts.ids[k]) if copies else None
            forced = self._group_story.get(group) if group is not None else None
            if forced is not None:
                # a (near) copy of an article placed before: the same report, whatever
                # the scores and whatever its date
                story, value = forced, 1.0
                if story not in self._size:  # its story had left the window: back in
                    self._size[story] = 0
                    self._links[story] = {}
            elif best >= 0 and best_score >= params.threshold:
                story, value = best, best_score
            else:
                story, value = self._next_story, 1.0
                self._next_story += 1
                self._size[story] = 0
                self._links[story] = {}
            if group is not None and forced is None:
                self._place_group(group, story)
            row = n_old + own
            own += 1
            self._size[story] += 1
            self._add_row(row, story, t, self._exact.get(arts.ids[k]))
            act.partners[row] = [(r, p) for r, p, _ in links]
            story_links = self._links[story]
            partners = act.partners
            for r, p, s in links:
                partners[r].append((row, p))
                if s != story:
                    add = p * weight[r]
                    story_links[s] = story_links.get(s, 0.0) + add
                    other = self._links[s]
                    other[story] = other.get(story, 0.0) + add
            self._clock = clock
            out.append(Assignment(arts.ids[k], story, round(float(min(value, 1.0)), 6)))
            self._merge_around(story)
        self._seen += len(arts)
        # an exact copy counts once in the statistics, as in batch clustering
        self._pending.append(arts if len(kept) == len(arts) else arts.take(kept))
        if self._at_refresh():
            self._refresh()
        return out

    def _space(self, arts: Articles) -> Space:
        return make_space(arts, self._stats, self.params.pairs, self._term_weights)

    def _refresh(self) -> None:
        for arts in self._pending:
            self._stats.add(arts)
        self._pending = []
        self._term_weights = term_weights(self._stats, self.params.pairs)
        act = self._active
        if act.space is not None:
            # the window's articles are weighed again with what the stream now knows:
            # the first articles of a stream were weighed with hardly any statistics
            act.space = self._space(act.space.arts)


def extract_batch(batch: list[Document], params: FeatureParams) -> Articles:
    """`extract` as an engine stage function (picklable, top level)."""
    return extract(batch, None, params)


def stream_stories(
    docs: Iterable[Document], params: StoryParams | None = None, *, batch: int = 1000,
    stream: StoryStream | None = None,
) -> Iterator[Assignment]:
    """Stream `docs` (in the order given) through a `StoryStream`, yielding assignments;
    the same whatever `batch` is."""
    from itertools import islice

    stream = stream or StoryStream(params)
    items = iter(docs)
    while chunk := list(islice(items, batch)):
        yield from stream.add_features(extract_batch(chunk, stream.params.features))


def resolve(labels: np.ndarray, merges: Iterable[tuple[int, int]]) -> np.ndarray:
    """Story numbers after the stream's merges (absorbed -> the story it went into)."""
    parent: dict[int, int] = {}
    for gone, keep in merges:
        parent[gone] = keep

    def root(s: int) -> int:
        while s in parent:
            s = parent[s]
        return s

    return np.array([root(int(x)) for x in labels.tolist()], dtype=np.int64)


def stream_labels(stream: StoryStream, arts: Articles, order: np.ndarray, batch: int = 1000
                  ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Stream the rows of `arts` in `order`: (final story of each row, its join score, the
    merges). Rows not in `order` are left as they are in the returned arrays' garbage."""
    labels = np.empty(len(arts), dtype=np.int64)
    scores = np.ones(len(arts))
    merges: list[tuple[int, int]] = []
    for start in range(0, len(order), batch):
        rows = order[start:start + batch]
        for row, a in zip(rows.tolist(), stream.add_features(arts.take(rows)), strict=True):
            labels[row] = a.story
            scores[row] = a.score
        merges.extend(stream.pop_merges())
    labels[order] = resolve(labels[order], merges)
    return labels, scores, merges
