"""Streaming story assignment: each article, in arrival order, joins a story or starts one.

    stream = StoryStream(StoryParams())
    for batch in batches:
        for a in stream.add(batch):
            print(a.id, a.story, a.score)

An article joins the active story with the highest average same-event
probability over that story's active members (pairs never scored count as 0,
as in batch average linkage) if it reaches `StoryParams.threshold`; else it
starts a new story. A member stays active for `window` days of stream time
(the latest publication time seen); a story whose members all left the window
is finished and forgotten, so memory depends on the window, not on the length
of the stream.

Feeding articles one at a time or in batches of any size gives the same
result: every decision depends only on the articles before it, document
frequencies are refreshed at fixed positions of the stream (articles 64, 128,
…, then every `refresh`), and each article's vectors are fixed when it
arrives.
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
)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where one article went."""

    id: str
    story: int
    """The stream's story number (stories are numbered from 0 in order of creation)."""
    score: float
    """Average same-event probability with the story's active members when it joined
    (1.0 for the article that started the story)."""


@dataclass(slots=True)
class _Story:
    active: int = 0
    finished: bool = False


@dataclass(slots=True)
class _Active:
    """The articles in the window: their weighted vectors, stories and times."""

    space: Space | None = None
    stories: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    """Effective times (publication time, or the stream clock for undated articles)."""
    alive: list[bool] = field(default_factory=list)

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
    )


class StoryStream:
    """Assigns articles to stories as they arrive (see the module docstring)."""

    def __init__(
        self, params: StoryParams | None = None, prior: TermStats | None = None,
        evidence: Mapping[tuple[str, str], float] | None = None,
    ) -> None:
        """`prior`: document frequencies to start from (e.g. of a stored collection);
        `evidence`: duplicate/reuse strength of id pairs, as in batch clustering."""
        self.params = params or StoryParams()
        self.evidence = as_evidence(evidence)
        self._stats = prior.copy() if prior is not None else TermStats(self.params.features.dim)
        self._weights = self._stats.copy()
        self._seen = 0
        self._clock = -math.inf
        self._active = _Active()
        self._expiry: list[tuple[float, int]] = []  # (effective time, active row)
        self._stories: dict[int, _Story] = {}
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
        return sum(1 for s in self._stories.values() if not s.finished)

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

    def reserve(self, last_id: int) -> None:
        """Number new stories after `last_id` (ids already used elsewhere, e.g. stored)."""
        self._next_story = max(self._next_story, last_id + 1)

    def preload(self, arts: Articles, stories: Sequence[int]) -> None:
        """Put already-assigned articles (e.g. from the database) into the window as members
        of `stories`, without deciding anything; later articles may join them."""
        space = make_space(arts, self._weights, self.params.pairs)
        times = self._times(arts)
        for story in stories:
            self._stories.setdefault(story, _Story())
            self._next_story = max(self._next_story, story + 1)
        self._append(space, list(stories), times)
        self._stats.add(arts)
        self._seen += len(arts)
        self._weights = self._stats.copy()

    # -- internals ------------------------------------------------------------------------------

    def _until_refresh(self) -> int:
        for point in self._refresh_at:
            if point > self._seen:
                return point - self._seen
        step = self.params.refresh
        return step - (self._seen % step)

    def _times(self, arts: Articles) -> list[float]:
        times: list[float] = []
        clock = self._clock
        for t in arts.ts.tolist():
            if not math.isnan(t):
                clock = max(clock, t)
                times.append(t)
            else:
                times.append(clock if clock > -math.inf else math.nan)
        return times

    def _append(self, space: Space, stories: list[int], times: list[float]) -> None:
        act = self._active
        base = len(act)
        act.space = _vstack_space(act.space, space)
        act.stories.extend(stories)
        act.times.extend(times)
        act.alive.extend([True] * len(stories))
        for k, (story, t) in enumerate(zip(stories, times, strict=True)):
            self._stories[story].active += 1
            if not math.isnan(t):
                heapq.heappush(self._expiry, (t, base + k))
            if not math.isnan(t):
                self._clock = max(self._clock, t)

    def _expire(self, clock: float) -> None:
        """Retire members older than the window at stream time `clock`."""
        limit = clock - self.params.pairs.window * DAY
        act = self._active
        while self._expiry and self._expiry[0][0] < limit:
            _, row = heapq.heappop(self._expiry)
            act.alive[row] = False
            story = self._stories[act.stories[row]]
            story.active -= 1
            if story.active == 0:
                story.finished = True
                del self._stories[act.stories[row]]

    def _compact(self) -> None:
        """Drop retired rows from the window's matrices (memory only, never results)."""
        act = self._active
        if act.space is None or sum(act.alive) > 0.75 * len(act):
            return
        keep = np.flatnonzero(np.asarray(act.alive, dtype=bool))
        act.space = act.space.take(keep)
        remap = {int(old): new for new, old in enumerate(keep.tolist())}
        act.stories = [act.stories[i] for i in keep.tolist()]
        act.times = [act.times[i] for i in keep.tolist()]
        act.alive = [True] * len(keep)
        self._expiry = [(t, remap[r]) for t, r in self._expiry if r in remap]
        heapq.heapify(self._expiry)

    def _segment(self, arts: Articles) -> list[Assignment]:
        params = self.params
        times = self._times(arts)
        # everything that expired before the first article of the segment is gone for all
        first_clock = max(self._clock, times[0]) if not math.isnan(times[0]) else self._clock
        self._expire(first_clock)
        self._compact()
        space = make_space(arts, self._weights, params.pairs)
        act = self._active
        n_old = len(act)
        right = _vstack_space(act.space, space)
        right_alive = np.asarray(act.alive + [True] * len(arts), dtype=bool)

        def allowed(li: np.ndarray, ri: np.ndarray) -> np.ndarray:
            return (ri < n_old + li) & right_alive[ri]

        pairs: Pairs = score(pair_features(space, right, params.pairs, allowed, self.evidence),
                             params.model)
        order = np.lexsort((pairs.right, pairs.left))
        left = pairs.left[order]
        partner = pairs.right[order]
        prob = pairs.prob[order]
        bounds = np.searchsorted(left, np.arange(len(arts) + 1))
        act.space = right
        out: list[Assignment] = []
        clock = self._clock
        for k in range(len(arts)):
            t = times[k]
            if not math.isnan(t):
                clock = max(clock, t)
                self._expire(clock)
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            sums: dict[int, float] = {}
            for r, p in zip(partner[lo:hi].tolist(), prob[lo:hi].tolist(), strict=True):
                if act.alive[r]:  # not retired before this article arrived
                    s = act.stories[r]
                    sums[s] = sums.get(s, 0.0) + p
            best, best_score = -1, -1.0
            for s, total in sorted(sums.items()):
                avg = total / max(self._stories[s].active, 1)
                if avg > best_score:
                    best, best_score = s, avg
            if best >= 0 and best_score >= params.threshold:
                story, value = best, best_score
            else:
                story, value = self._next_story, 1.0
                self._next_story += 1
                self._stories[story] = _Story()
            self._stories[story].active += 1
            act.stories.append(story)
            act.times.append(t)
            act.alive.append(True)
            if not math.isnan(t):
                heapq.heappush(self._expiry, (t, n_old + k))
            self._clock = clock
            out.append(Assignment(arts.ids[k], story, round(float(min(value, 1.0)), 6)))
        self._stats.add(arts)
        self._seen += len(arts)
        if self._at_refresh():
            self._weights = self._stats.copy()
        return out

    def _at_refresh(self) -> bool:
        return self._seen in self._refresh_at or (
            self._seen >= self.params.refresh and self._seen % self.params.refresh == 0)


def extract_batch(batch: list[Document], params: FeatureParams) -> Articles:
    """`extract` as an engine stage function (picklable, top level)."""
    return extract(batch, None, params)


def _chunks(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    for d in docs:
        chunk.append(d)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def stream_stories(
    docs: Iterable[Document], params: StoryParams | None = None, *, workers: int = 1,
    batch: int = 1000, stream: StoryStream | None = None,
) -> Iterator[Assignment]:
    """Stream `docs` (in the order given) through a `StoryStream`, yielding assignments.

    With `workers` > 1 the features of the next batches are computed in worker
    processes while the current batch is assigned; the assignments are the same
    whatever `workers` and `batch` are.
    """
    from khabar.engine.local import LocalEngine

    stream = stream or StoryStream(params)
    engine = LocalEngine(workers)
    for arts in engine.map(extract_batch, _chunks(docs, batch), stream.params.features):
        yield from stream.add_features(arts)
