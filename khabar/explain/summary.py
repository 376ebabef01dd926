"""An extractive summary of a story, each sentence traced to the outlets that carry it.

1. **Facts.** The sentences of the story are grouped into facts: a repeated
   sentence (see `novelty`) joins the fact of its first occurrence. A fact is
   shown by its first occurrence (who reported it first). Its **carriers** are
   the articles with a sentence of the fact, or with a sentence that contains
   it (at least `novelty` threshold of its content) — a longer sentence that
   repeats a fact and adds to it still carries it.
2. **Relevance** of a fact = 0.6 × centrality (cosine of its IDF vector with
   the story centroid, scaled so the most central fact has 1) + 0.25 × support
   (share of the story's outlets that carry it: a fact everyone reports
   matters) + 0.15 × lead (it is the first sentence of its article, where news
   puts the essentials).
3. **Selection** by maximal marginal relevance (Carbonell & Goldstein, 1998):
   repeatedly take the fact maximizing λ·relevance − (1−λ)·(highest cosine to
   a fact already taken), λ = 0.7; a candidate whose cosine with a chosen one
   is ≥ 0.5, or whose content is contained in it, is never taken (two
   near-identical sentences are never both in a summary).
4. **Order**: time of first report (story order of the article), then
   position in the article.

Sentences too short to state a fact (< 4 content words), run-on blocks (> 80),
headlines found by repair and boilerplate lines (cues.txt) are not candidates.
A fact is **exclusive** when the story has at least two outlets and only one of
them carries it: no other outlet's article shares a reuse passage with it, repeats
it (novelty), or holds `exclusive_paraphrase` of its IDF-weighted stems anywhere in
the article with all of its figures (a paraphrase spread over sentences). Link
lines, tag lists and "follow us" lines never enter a summary, and a candidate
contained (`redundant`) in a chosen sentence is the same fact and is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from khabar.document import Document
from khabar.explain.common import boilerplate, outlet
from khabar.explain.novelty import (
    DocSentences,
    NoveltyParams,
    SentenceNovelty,
    Units,
    build_units,
    containment,
    order,
)
from khabar.explain.novelty import novelty as compute_novelty
from khabar.pickling import fast_pickle
from khabar.text.view import TextView


@fast_pickle
@dataclass(frozen=True, slots=True)
class SummaryParams:
    """How the summary is chosen."""

    n: int = 5
    """At most this many sentences."""
    mmr_lambda: float = 0.7
    """Weight of relevance against redundancy in MMR."""
    max_cosine: float = 0.5
    """A candidate this similar (cosine) to a chosen sentence is never taken."""
    min_content: int = 4
    """Shortest candidate, in content words."""
    max_content: int = 80
    """Longest candidate, in content words (longer is a run-on paragraph)."""
    weights: tuple[float, float, float] = (0.6, 0.25, 0.15)
    """Centrality, support (outlets carrying), lead position."""
    pool: int = 300
    """Facts kept, by a first relevance estimate, for the exact carriers and MMR (bounds the
    cost on stories of hundreds of articles)."""
    redundant: float = 0.45
    """A candidate whose content is this much contained (IDF share, either way) in a chosen
    sentence states the same fact: one fact never appears twice in a summary."""
    exclusive_paraphrase: float = 0.35
    """Before a fact is called exclusive, every article of another outlet is read as one bag
    of stems: if it holds this share of the fact's IDF-weighted content stems, that outlet
    reports the fact too, in its own words (spread over sentences or reordered). Set on 30
labelled exclusive sentences (bench/data/exclusive-tune.jsonl): at 0.5 six of the eight
wrongly exclusive ones were paraphrases below it; at 0.35 one true exclusive is lost."""
    novelty: NoveltyParams = field(default_factory=NoveltyParams)


@fast_pickle
@dataclass(frozen=True, slots=True)
class SummarySentence:
    doc: str
    """The article where the fact was first reported; start/end are ORIGINAL offsets in it."""
    start: int
    end: int
    text: str
    carriers: tuple[str, ...]
    """Articles carrying the fact (that sentence, a paraphrase, or a sentence containing it),
    in story order."""
    outlets: tuple[str, ...]
    """Their outlets (source, or the article id when unknown), in order of first report."""
    exclusive: bool
    """Only one outlet of a multi-outlet story reports it."""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["carriers"] = list(self.carriers)
        d["outlets"] = list(self.outlets)
        return d


def _headline_spans(view: Any) -> list[tuple[int, int]]:
    if isinstance(view, DocSentences):
        return view.headlines
    return [(a.start, a.end) for a in view.repaired.actions
            if a.kind in ("headline", "glued_headline", "suspected_glued_headline")]


def summarize(
    views: Sequence[TextView],
    docs: Sequence[Document],
    n: int = 5,
    novelty: dict[str, list[SentenceNovelty]] | None = None,
    params: SummaryParams | None = None,
    passages: Iterable[Any] | None = None,
    *,
    units: Units | None = None,
) -> list[SummarySentence]:
    """At most `n` sentences that together cover the story, each traced to its carriers.

    `novelty` is the result of `novelty()` for the same story (computed when absent);
    `params.n` is ignored in favour of `n`. `passages` (reuse passages, ORIGINAL offsets)
    add carriers: an article sharing a passage with a fact's sentence carries it.
    `units`: `build_units(views)` when the caller has it already (views in story order).
    """
    prm = params or SummaryParams()
    views, docs = order(views, docs)
    if units is None:
        units = build_units(views)
    nov = novelty if novelty is not None else compute_novelty(views, docs, params=prm.novelty,
                                                              units=units)
    if len(units) == 0 or n <= 0:
        return []
    ids = [d.id for d in docs]
    outlets = [outlet(d) for d in docs]
    story_outlets = set(outlets)

    # fact of every sentence: the row of its first occurrence
    row_at = {(ids[int(units.doc_of[r])], units.spans[r][0]): r for r in range(len(units))}
    row_of_index = {(ids[int(units.doc_of[r])], units.index[r]): r for r in range(len(units))}
    root = list(range(len(units)))
    for doc_id, marks in nov.items():
        for m in marks:
            r = row_of_index.get((doc_id, m.index))
            if r is None or m.status != "repeated" or m.first_doc is None:
                continue
            origin = row_at.get((m.first_doc, m.first_start))
            if origin is not None:
                root[r] = origin
    members: dict[int, list[int]] = {}
    for r, f in enumerate(root):
        members.setdefault(f, []).append(r)

    # candidates: one representative per fact, the first occurrence when it qualifies
    heads = {pos: _headline_spans(v) for pos, v in enumerate(views)}
    glued = [r > 0 and units.doc_of[r] == units.doc_of[r - 1]
             and units.spans[r][0] == units.spans[r - 1][1] for r in range(len(units))]

    checked: dict[int, bool] = {}

    def ok(r: int) -> bool:
        if r not in checked:
            checked[r] = qualifies(r)
        return checked[r]

    def qualifies(r: int) -> bool:
        if glued[r]:
            return False  # the tail of a sentence cut at a dotted name (السورية.نت)
        c = int(units.n_content[r])
        if c < prm.min_content or c > prm.max_content:
            return False
        s, e = units.spans[r]
        pos = int(units.doc_of[r])
        if any(a < e and s < b for a, b in heads[pos]):
            return False
        view = views[pos]
        if isinstance(view, DocSentences) and view.boilerplate is not None:
            return not view.boilerplate[units.index[r]]
        return not boilerplate(docs[pos].text[s:e])
    facts: list[int] = []
    rep: dict[int, int] = {}
    for f, rows in members.items():
        good = next((r for r in sorted(rows) if ok(r)), None)
        if good is not None:
            facts.append(f)
            rep[f] = good
    if not facts:
        return []
    reps = [rep[f] for f in facts]

    x = units.cosine()
    centroid = np.asarray(x.sum(axis=0)).ravel()
    norm2 = np.linalg.norm(centroid) or 1.0
    cent = (x[reps] @ centroid) / norm2
    cent = cent / (cent.max() or 1.0)
    leads = {}
    for pos in range(len(docs)):
        leads[pos] = next((t for t in units.rows(pos) if ok(t)), -1)
    lead = np.asarray([1.0 if leads[int(units.doc_of[r])] == r else 0.0 for r in reps])
    wc, ws, wl = prm.weights

    # a first estimate (support from the fact's own sentences) keeps the most promising facts
    # for the exact carriers and MMR, which grow with their square
    own = np.asarray([len({outlets[int(units.doc_of[r])] for r in members[f]})
                      for f in facts]) / len(story_outlets)
    keep = sorted(np.argsort(-(wc * cent + ws * own + wl * lead), kind="stable")[:prm.pool])
    facts = [facts[k] for k in keep]
    reps = [reps[k] for k in keep]
    cent, lead = cent[keep], lead[keep]

    # carriers: members' articles, and articles with a sentence containing the fact
    w = units.weighted[reps]
    shared = sp.csr_matrix(w @ units.binary.T)
    total = np.asarray(w.sum(axis=1)).ravel()
    carriers: list[list[int]] = []
    for k, f in enumerate(facts):
        pos = {int(units.doc_of[r]) for r in members[f]}
        a, b = shared.indptr[k], shared.indptr[k + 1]
        hit = shared.indices[a:b][shared.data[a:b] >= prm.novelty.threshold * total[k]]
        pos |= {int(units.doc_of[r]) for r in hit.tolist()}
        carriers.append(sorted(pos))
    support = np.asarray([len({outlets[p] for p in c}) / len(story_outlets) for c in carriers])
    relevance = wc * cent + ws * support + wl * lead

    sims = (x[reps] @ x[reps].T).toarray()
    mutual = containment(units, reps, reps)
    chosen: list[int] = []
    left = set(range(len(facts)))
    while left and len(chosen) < n:
        best, best_score = None, -np.inf
        for k in sorted(left):
            red = max((sims[k, c] for c in chosen), default=0.0)
            if chosen and (red >= prm.max_cosine or any(
                    mutual[k, c] >= prm.redundant or mutual[c, k] >= prm.redundant
                    for c in chosen)):
                continue
            score = prm.mmr_lambda * relevance[k] - (1 - prm.mmr_lambda) * red
            if score > best_score:
                best, best_score = k, score
        if best is None:
            break
        chosen.append(best)
        left.discard(best)

    _paraphrase_carriers(units, reps, chosen, carriers, outlets, ids, passages, prm)
    out = []
    for k in sorted(chosen, key=lambda k: (int(units.doc_of[reps[k]]), units.index[reps[k]])):
        r = reps[k]
        pos = int(units.doc_of[r])
        s, e = units.spans[r]
        t = r + 1
        while t < len(units) and glued[t]:
            e = units.spans[t][1]  # take the cut-off tail along
            t += 1
        seen: list[str] = []
        for p in carriers[k]:
            if outlets[p] not in seen:
                seen.append(outlets[p])
        out.append(SummarySentence(
            ids[pos], s, e, docs[pos].text[s:e].strip(), tuple(ids[p] for p in carriers[k]),
            tuple(seen), len(story_outlets) >= 2 and len(seen) == 1))
    return out


def _paraphrase_carriers(units: Any, reps: list[int], chosen: list[int],
                         carriers: list[list[int]], outlets: list[str], ids: list[str],
                         passages: Iterable[Any] | None, prm: SummaryParams) -> None:
    """Add, to the carriers of each chosen fact that only one outlet seems to carry, the
    articles of other outlets that report it all the same: through a reuse passage over its
    sentence, or in their own words anywhere in the article (a bag of stems holding
    `exclusive_paraphrase` of the fact). "Exclusive" is a claim about every other outlet,
    so it is checked against each of them as a whole, not sentence by sentence."""
    lonely = [k for k in chosen if len({outlets[p] for p in carriers[k]}) == 1]
    if not lonely or len(set(outlets)) < 2:  # one outlet: nobody else to carry it
        return
    pos_of = {d: i for i, d in enumerate(ids)}
    by_doc: dict[int, list[tuple[int, int, int]]] = {}
    for pa in passages or ():
        a, b = pos_of.get(pa.a), pos_of.get(pa.b)
        if a is None or b is None:
            continue
        by_doc.setdefault(a, []).append((pa.a_start, pa.a_end, b))
        by_doc.setdefault(b, []).append((pa.b_start, pa.b_end, a))
    n_docs = len(ids)
    rows = [list(units.rows(p)) for p in range(n_docs)]
    bags = sp.csr_matrix(np.vstack([
        (np.asarray(units.binary[r].sum(axis=0)).ravel() > 0).astype(float) if r
        else np.zeros(units.binary.shape[1]) for r in rows]))
    numbers = [frozenset().union(*(units.numbers[x] for x in r)) for r in rows]
    for k in lonely:
        r = reps[k]
        home = int(units.doc_of[r])
        s, e = units.spans[r]
        have = set(carriers[k])
        for a, b, other in by_doc.get(home, ()):
            if a < e and s < b and outlets[other] != outlets[home]:
                have.add(other)
        w = units.weighted[r]
        total = float(w.sum())
        if total > 0:
            share = np.asarray((bags @ w.T).todense()).ravel() / total
            for p in range(n_docs):
                if outlets[p] != outlets[home] and share[p] >= prm.exclusive_paraphrase \
                        and units.numbers[r] <= numbers[p]:
                    have.add(p)  # a figure the other article lacks (15 dead) is news
        carriers[k] = sorted(have)


__all__ = ["SummaryParams", "SummarySentence", "summarize"]
