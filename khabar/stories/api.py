"""`cluster_stories`: stories of documents in memory, files or a database.

Runs the ``stories`` stage (`khabar.stories.stage`) with what it needs (the
duplicate stage always: copies share a story) on a runner; `workers` is a
number of local processes or a runner. With a store, story ids are kept
stable across runs (`khabar.stories.db`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from khabar.engine import RunnerSpec
from khabar.errors import KhabarError
from khabar.stories.copies import Copies
from khabar.stories.params import StoryParams
from khabar.stories.result import Story, StoryResult
from khabar.stories.similarity import Evidence

MODES = ("batch", "stream")


def evidence_from(pairs: Iterable[Any], passages: Iterable[Any], length: Mapping[str, int]
                  ) -> dict[tuple[str, str], float]:
    """Strength of copying between articles: the share of one article found in the other
    (the larger of the two directions), from the duplicate stage's verified pairs (their
    larger containment) and the reuse stage's copy passages (the share of an article's
    characters they cover; boilerplate, templates and formulas left out). A pure function
    over the two stages' records, grouped by pair."""
    out: dict[tuple[str, str], float] = {}
    for p in pairs:
        out[(p.a, p.b)] = max(p.containment_a_in_b, p.containment_b_in_a)
    covered: dict[tuple[str, str], list[int]] = {}
    for p in passages:
        # an outlet's boilerplate, and the templates and formulas the reuse stage tells from
        # copies (`Passage.kind`), are text shared without copying
        if getattr(p, "boilerplate", False) or getattr(p, "kind", "copy") != "copy":
            continue
        c = covered.setdefault((p.a, p.b), [0, 0])
        c[0] += p.a_end - p.a_start
        c[1] += p.b_end - p.b_start
    for (a, b), (ca, cb) in covered.items():
        share = max(ca / max(length.get(a, 0), 1), cb / max(length.get(b, 0), 1))
        out[(a, b)] = max(out.get((a, b), 0.0), min(share, 1.0))
    return out


def evidence_from_store(store: Any) -> dict[tuple[str, str], float]:
    """`evidence_from` over what the duplicate and reuse stages last kept in `store`
    (empty when neither has run)."""
    from khabar.dups.stage import OUTPUTS as DUPS
    from khabar.reuse.stage import OUTPUTS as REUSE
    from khabar.storage import load

    passages = [p for o in REUSE if o.dataset == "passages" for p in load(store, o)]
    if not passages and not any(True for _ in load(store, DUPS[0])):
        return {}
    length = dict(store.db.execute("SELECT id, length(text) FROM documents"))
    return evidence_from(load(store, DUPS[0]), passages, length)


def cluster_stories(
    source: Any,
    params: StoryParams | None = None,
    *,
    mode: str = "batch",
    evidence: Mapping[tuple[str, str], float] | Evidence | None = None,
    copies: bool | Copies = True,
    progress: Callable[[int], None] | None = None,
    workers: RunnerSpec = 1,
) -> StoryResult:
    """Group articles into stories.

    `source` is a `Store` (stories are then kept in it with stable ids) or any iterable
    of `Document`s or input paths (story ids are numbered from 1 by first appearance).
    `mode="stream"` assigns articles one by one in time order (see `StoryStream`).

    `evidence` is the text shared between pairs of articles, (a, b) -> strength 0-1 (an
    `Evidence` also carries certain links): by default the duplicate stage's pairs, and
    with a store the reuse stage's passages it keeps too (`evidence_from_store`); `{}`
    for none. Copies always share a story, whatever their dates: by default those the
    duplicate stage finds, or the `Copies` given; `copies=False` leaves them to the pair
    score.
    """
    from khabar.pipeline import Job
    from khabar.store import Store

    params = params or StoryParams()
    if mode not in MODES:
        raise KhabarError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    store = source if isinstance(source, Store) else None
    inputs = None if store is not None else list(source)
    if evidence is None and store is not None:
        evidence = evidence_from_store(store) or None
    targets = ["stories"] + (["threads"] if params.threads is not None else [])
    with Job(targets, inputs, store=store, workers=workers,
             params={"stories": params, "threads": params},
             options={"story_mode": mode, "story_copies": copies,
                      "story_evidence": _evidence_rows(evidence)}) as job:
        job.run()
        if store is not None:
            from khabar.storage import save_outputs

            save_outputs(store, job)
        records = job.collect("stories")
        threads = job.collect("threads") if "threads" in job.data else None
    stories = [Story(s.story, s.title, s.first_seen, s.last_seen, list(s.members),
                     list(s.scores), list(s.sources)) for s in records]
    result = StoryResult(stories, {m: (s.story, sc) for s in stories
                                   for m, sc in zip(s.members, s.scores, strict=True)})
    result.mode = mode
    if threads is not None:
        result.threads = _thread_result(threads)
    return result


def _evidence_rows(evidence: Mapping[tuple[str, str], float] | Evidence | None
                   ) -> list[tuple[str, str, float, bool]] | None:
    """Evidence as the stage's rows (a < b, strength, certain)."""
    if evidence is None:
        return None
    if isinstance(evidence, Evidence):
        return [(a, b, s, sure) for (a, b), s, sure in evidence.items()]
    return [(min(a, b), max(a, b), float(s), False) for (a, b), s in evidence.items() if a != b]


def _thread_result(records: list[Any]) -> Any:
    from khabar.stories.threads import Thread, ThreadLink, ThreadResult

    threads = [Thread(t.thread, t.title, t.first_seen, t.last_seen, list(t.stories),
                      list(t.members),
                      [ThreadLink(link["a"], link["b"], link["score"],
                                  {k: v for k, v in link.items() if k not in ("a", "b", "score")})
                       for link in t.links]) for t in records]
    return ThreadResult(threads, {s: t.thread for t in threads for s in t.stories})


__all__ = ["MODES", "cluster_stories", "evidence_from", "evidence_from_store"]
