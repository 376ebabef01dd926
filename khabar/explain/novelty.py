"""What each article of a story adds: every sentence is new or repeated.

Articles are taken in time order (date, then id; undated ones last). A
sentence is **repeated** when an earlier article of the story already carries
it, and **new** otherwise. Two kinds of evidence:

* ``reuse`` — the reuse stage aligned a passage covering at least half of the
  sentence's characters with a passage of an earlier article;
* ``paraphrase`` — the sentence's content is contained in one earlier
  sentence: at least `threshold` (0.6) of its IDF-weighted content stems
  (stopwords removed, Snowball stems) appear in that sentence. Containment,
  not a symmetric similarity, because novelty is one-sided: a later sentence
  that repeats an earlier one and adds a new fact is new, one that shortens
  an earlier one is not. Numbers carry news facts (4 dead, then 5), so a
  sentence with a number the earlier one lacks is never a paraphrase of it.
  IDF is computed over the sentences of the story, so words every article
  shares (the place, the main actor) count for less than the words that
  carry a fact.

A repeated sentence points to where it was seen first: the earliest article
carrying it (following chains: a copy of a copy points to the original) and
the span of the sentence there, in ORIGINAL offsets. The threshold and its
measurement on STS-2017 and the demo corpus are in `bench/explain.py`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from khabar.document import Document
from khabar.explain.common import boilerplate, time_key
from khabar.pickling import fast_pickle
from khabar.text.view import TextView


class PassageLike(Protocol):
    """Any object with the attributes of `khabar.reuse` passages (ORIGINAL offsets)."""

    a: str
    a_start: int
    a_end: int
    b: str
    b_start: int
    b_end: int


@fast_pickle
@dataclass(frozen=True, slots=True)
class NoveltyParams:
    """Thresholds of the novelty decision."""

    threshold: float = 0.6
    """Share of a sentence's IDF-weighted content stems found in one earlier sentence above
    which it is a paraphrase of it (measured in bench/explain.py)."""
    min_content: int = 3
    """Sentences with fewer content stems are repeated only when all of them recur (a short
    line matches too easily by chance)."""
    min_shared: int = 2
    """At least this many content stems shared (one shared name is not a repetition)."""
    reuse_coverage: float = 0.5
    """Share of a sentence's characters a reuse passage must cover for evidence "reuse"."""
    numbers_must_match: bool = True
    """A number absent from the earlier sentence makes the later one new (tolls change)."""


@fast_pickle
@dataclass(frozen=True, slots=True)
class SentenceNovelty:
    doc: str
    index: int
    """Index of the sentence in the document (`TextView.sentences` order)."""
    start: int
    """ORIGINAL offsets of the sentence, half-open."""
    end: int
    status: str
    """new | repeated"""
    first_doc: str | None
    """For a repeated sentence: the earliest article of the story carrying it."""
    first_start: int | None
    first_end: int | None
    evidence: str | None
    """reuse | paraphrase (None for new sentences)."""
    similarity: float
    """Containment in the matched earlier sentence; for a new sentence the highest
    containment in any earlier sentence (how close it came)."""

    def to_dict(self) -> dict:
        return asdict(self)


# -- sentence units and their vectors -------------------------------------------------------------


@dataclass(slots=True)
class Units:
    """The sentences of a story as rows of sparse stem matrices."""

    doc_of: np.ndarray
    """Position (in story order) of each sentence's document."""
    index: list[int]
    """Sentence index inside its document."""
    spans: list[tuple[int, int]]
    """ORIGINAL span of each sentence."""
    binary: sp.csr_matrix
    """1 where a sentence has a content stem."""
    weighted: sp.csr_matrix
    """binary × IDF."""
    idf: np.ndarray
    numbers: list[frozenset[str]]
    n_content: np.ndarray
    first_row: list[int]
    """First row of each document (plus one past the end)."""
    joined: np.ndarray
    """True where a sentence and the next one share a paragraph (line) of the same document."""

    def __len__(self) -> int:
        return len(self.index)

    def rows(self, pos: int) -> range:
        return range(self.first_row[pos], self.first_row[pos + 1])

    def cosine(self) -> sp.csr_matrix:
        """Row-normalized IDF vectors (their products are cosine similarities)."""
        norms = np.sqrt(np.asarray(self.weighted.multiply(self.weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms) @ self.weighted)


@dataclass(slots=True)
class DocSentences:
    """What novelty and summaries need of one article, without its `TextView`: its
    sentences (ORIGINAL spans), the distinct content stems and the numbers of each, which
    sentences run on in the same paragraph, and the headline spans the repair found.
    Small enough to move between processes (a view is not: see `khabar.corpus`)."""

    spans: list[tuple[int, int]]
    stems: list[list[str]]
    numbers: list[frozenset[str]]
    joined: list[bool]
    headlines: list[tuple[int, int]]
    boilerplate: list[bool] | None = None
    """Sentences about the page rather than the news (`common.boilerplate`); None in
    analyses stored before it was kept, where the summary checks the text itself."""

    def __reduce__(self) -> tuple:
        return (DocSentences, (self.spans, self.stems, self.numbers, self.joined,
                               self.headlines, self.boilerplate))


def doc_sentences(v: TextView) -> DocSentences:
    sent_spans = v.sentence_spans_original()
    headlines = [(a.start, a.end) for a in v.repaired.actions
                 if a.kind in ("headline", "glued_headline", "suspected_glued_headline")]
    if not sent_spans:
        return DocSentences([], [], [], [], headlines)
    stems = v.stems
    content = v.content_mask()
    sent_of = v.sentence_of_tokens()
    kinds = v.tokens.kinds
    per_sent: list[dict[str, None]] = [{} for _ in sent_spans]
    nums: list[set[str]] = [set() for _ in sent_spans]
    words: list[list[str]] = [[] for _ in sent_spans]
    for k, s in enumerate(sent_of.tolist()):
        tok = v.tokens.strings[k]
        words[s].append(tok)
        if kinds[k] == 2:  # DIGIT
            nums[s].add(tok)
        if content[k] and len(tok) > 1:
            per_sent[s][stems[k]] = None
    joined = []
    for i, span in enumerate(sent_spans):
        nxt = sent_spans[i + 1][0] if i + 1 < len(sent_spans) else None
        joined.append(nxt is not None and "\n" not in v.original[span[1]:nxt])
    # the view's tokens are the sentence's normalized form (`gazetteer.norm` of its text)
    flags = [boilerplate(v.original[a:b], " ".join(w))
             for (a, b), w in zip(sent_spans, words, strict=True)]
    return DocSentences(sent_spans, [list(d) for d in per_sent],
                        [frozenset(n) for n in nums], joined, headlines, flags)


def build_units(views: Sequence[TextView | DocSentences]) -> Units:
    """Sentences of `views` (already in story order) with their content stems; each item a
    `TextView` or the `DocSentences` taken from one."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    doc_of: list[int] = []
    index: list[int] = []
    spans: list[tuple[int, int]] = []
    numbers: list[frozenset[str]] = []
    first_row = [0]
    joined: list[bool] = []
    r = 0
    for pos, v in enumerate(views):
        d = v if isinstance(v, DocSentences) else doc_sentences(v)
        for i, span in enumerate(d.spans):
            for stem_ in d.stems[i]:
                rows.append(r)
                cols.append(vocab.setdefault(stem_, len(vocab)))
            joined.append(d.joined[i])
            doc_of.append(pos)
            index.append(i)
            spans.append(span)
            numbers.append(d.numbers[i])
            r += 1
        first_row.append(r)
    n, m = r, max(len(vocab), 1)
    binary = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, m))
    df = np.asarray((binary > 0).sum(axis=0)).ravel()
    # sentence-level IDF over the story, smoothed so a stem in every sentence keeps weight 1
    idf = np.log((n + 1) / (df + 1)) + 1.0
    weighted = sp.csr_matrix(binary @ sp.diags(idf))
    return Units(np.asarray(doc_of, dtype=np.int32), index, spans, binary, weighted, idf,
                 numbers, np.asarray(binary.sum(axis=1)).ravel().astype(np.int32), first_row,
                 np.asarray(joined, dtype=bool))


def with_next(units: Units) -> sp.csr_matrix:
    """Binary rows of all sentences, each merged with the next sentence of its paragraph.

    One report's sentence is often two in another (a dotted name such as
    السورية.نت ends a sentence for the splitter; outlets split long sentences),
    so a later sentence is also compared with consecutive pairs.
    """
    n = len(units)
    if n == 0:
        return units.binary
    nxt = np.arange(n) + units.joined.astype(np.int64)
    merged = units.binary + units.binary[nxt]
    merged.data = np.minimum(merged.data, 1.0)
    return sp.csr_matrix(merged)


def scores(units: Units, rows: range, target_t: sp.csr_matrix, upto: int
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each row, (columns, containment) of the sentences before `upto` it shares a stem
    with (sparse: stories of hundreds of articles stay near linear in memory).

    `target_t` is the transposed target (stems × sentences) in CSR form, built once per
    story, so each article costs one sparse product and no conversion.
    """
    w = units.weighted[rows.start:rows.stop]
    prod = sp.csr_matrix(w @ target_t)
    total = np.asarray(w.sum(axis=1)).ravel()
    out = []
    for k in range(len(rows)):
        a, b = prod.indptr[k], prod.indptr[k + 1]
        cols, vals = prod.indices[a:b], prod.data[a:b]
        keep = cols < upto
        cols, vals = cols[keep], vals[keep]
        out.append((cols, vals / total[k] if total[k] > 0 else np.zeros(len(vals))))
    return out


def containment(units: Units, rows: Sequence[int] | range, cols: Sequence[int] | range,
                target: sp.csr_matrix | None = None) -> np.ndarray:
    """Dense [len(rows), len(cols)] matrix: IDF share of each row sentence found in each column
    (or in the given `target` rows, one per column)."""
    rows, cols = list(rows), list(cols)
    if not rows or not cols:
        return np.zeros((len(rows), len(cols)))
    w = units.weighted[rows]
    tgt = units.binary[cols] if target is None else target
    shared = (w @ tgt.T).toarray()
    total = np.asarray(w.sum(axis=1)).ravel()
    total[total == 0] = math.inf
    return shared / total[:, None]


def order(views: Sequence[Any], docs: Sequence[Document]) -> tuple[list[Any], list[Document]]:
    """Views and documents sorted into story order (date, then id; undated last)."""
    pairs = sorted(zip(views, docs, strict=True), key=lambda vd: time_key(vd[1]))
    return [v for v, _ in pairs], [d for _, d in pairs]


# -- novelty --------------------------------------------------------------------------------------


def novelty(
    views: Sequence[TextView],
    docs: Sequence[Document],
    passages: Iterable[Any] | None = None,
    params: NoveltyParams | None = None,
    *,
    units: Units | None = None,
) -> dict[str, list[SentenceNovelty]]:
    """New and repeated sentences of every article of one story, by document id.

    `units`: `build_units(views)` when the caller has it already (views in story order)."""
    prm = params or NoveltyParams()
    views, docs = order(views, docs)
    if units is None:
        units = build_units(views)
    ids = [d.id for d in docs]
    pos_of = {d: i for i, d in enumerate(ids)}
    reuse = _reuse_links(units, ids, pos_of, passages or (), prm)
    # row -> (row of the first occurrence, its ORIGINAL span): chains lead to the original
    first: dict[int, tuple[int, tuple[int, int]]] = {}
    out: dict[str, list[SentenceNovelty]] = {d: [] for d in ids}
    target_t = sp.csr_matrix(units.binary.T)
    pairs = with_next(units)
    pairs_t = sp.csr_matrix(pairs.T)
    stemsets = [frozenset(units.binary.indices[units.binary.indptr[r]:units.binary.indptr[r + 1]]
                          .tolist()) for r in range(len(units))]
    pairsets = [frozenset(pairs.indices[pairs.indptr[r]:pairs.indptr[r + 1]].tolist())
                for r in range(len(units))]
    for pos, doc_id in enumerate(ids):
        rows = units.rows(pos)
        upto = units.first_row[pos]
        if upto:
            one = scores(units, rows, target_t, upto)
            two = scores(units, rows, pairs_t, upto)
        for k, r in enumerate(rows):
            s, e = units.spans[r]
            idx = units.index[r]
            links = reuse.get(r, [])
            if not upto:
                out[doc_id].append(SentenceNovelty(doc_id, idx, s, e, "new", None, None, None,
                                                   None, 0.0))
                continue
            c1, c2 = one[k], two[k]
            best = max(float(c1[1].max(initial=0.0)), float(c2[1].max(initial=0.0)))
            cands = _paraphrases(units, r, c1, stemsets, stemsets[r], prm)
            via_pair = False
            cont_k = c1
            if not cands:
                # matched only by a sentence and the next one together: point at the first
                cands = _paraphrases(units, r, c2, pairsets, stemsets[r], prm, pair=True)
                cont_k = c2
                via_pair = bool(cands)
            if not cands and not links:
                out[doc_id].append(SentenceNovelty(doc_id, idx, s, e, "new", None, None, None,
                                                   None, round(best, 4)))
                continue
            pool = [(int(units.doc_of[t]), 0, -_value(cont_k, t), t, False) for t in links]
            pool += [(int(units.doc_of[t]), 1, -_value(cont_k, t), t, via_pair) for t in cands]
            _, _, neg, t, pair = min(pool)
            span = units.spans[t]
            if pair and units.joined[t]:
                span = (span[0], units.spans[t + 1][1])
            origin = first.get(t, (t, span))
            first[r] = origin
            fs, fe = origin[1]
            out[doc_id].append(SentenceNovelty(
                doc_id, idx, s, e, "repeated", ids[int(units.doc_of[origin[0]])], fs, fe,
                "reuse" if links else "paraphrase", round(-neg, 4)))
    return out


def _value(row: tuple[np.ndarray, np.ndarray], col: int) -> float:
    cols, vals = row
    hit = np.flatnonzero(cols == col)
    return float(vals[hit[0]]) if hit.size else 0.0


def _paraphrases(units: Units, r: int, cont: tuple[np.ndarray, np.ndarray],
                 sets: list[frozenset[int]], own: frozenset[int], prm: NoveltyParams,
                 pair: bool = False) -> list[int]:
    """Earlier sentences (rows) that row `r` paraphrases (with `pair`: together with the
    sentence after them; `sets` are the stems of each earlier unit, `own` those of r)."""
    n = int(units.n_content[r])
    cols, vals = cont
    if n == 0 or len(cols) == 0:
        return []
    need = 1.0 - 1e-9 if n < prm.min_content else prm.threshold
    hits = [t for t in cols[vals >= need].tolist()
            if len(own & sets[t]) >= min(prm.min_shared, n)]
    if prm.numbers_must_match and units.numbers[r]:
        def nums(t: int) -> frozenset[str]:
            if pair and units.joined[t]:
                return units.numbers[t] | units.numbers[t + 1]
            return units.numbers[t]
        hits = [t for t in hits if units.numbers[r] <= nums(t)]
    return sorted(hits)


def _reuse_links(units: Units, ids: list[str], pos_of: dict[str, int], passages: Iterable[Any],
                 prm: NoveltyParams) -> dict[int, list[int]]:
    """Row -> earlier rows it is aligned with by a reuse passage covering enough of it."""
    # (later doc pos) -> list of (start, end, earlier pos, earlier start, earlier end)
    cover: dict[int, list[tuple[int, int, int, int, int]]] = {}
    for p in passages:
        # templates, formulas and boilerplate are shared text nobody copied: no reason to
        # call a sentence repeated
        if getattr(p, "kind", "copy") != "copy" or getattr(p, "boilerplate", False):
            continue
        pa, pb = pos_of.get(p.a), pos_of.get(p.b)
        if pa is None or pb is None or pa == pb:
            continue
        if pa > pb:
            cover.setdefault(pa, []).append((p.a_start, p.a_end, pb, p.b_start, p.b_end))
        else:
            cover.setdefault(pb, []).append((p.b_start, p.b_end, pa, p.a_start, p.a_end))
    out: dict[int, list[int]] = {}
    for pos, segs in cover.items():
        for r in units.rows(pos):
            s, e = units.spans[r]
            if e <= s:
                continue
            by_doc: dict[int, int] = {}
            mapped: dict[int, list[tuple[int, int]]] = {}
            for ls, le, epos, es, ee in segs:
                a, b = max(s, ls), min(e, le)
                if b <= a:
                    continue
                by_doc[epos] = by_doc.get(epos, 0) + (b - a)
                # the same stretch on the earlier side, proportionally
                scale = (ee - es) / max(le - ls, 1)
                mapped.setdefault(epos, []).append((es + int((a - ls) * scale),
                                                    es + int((b - ls) * scale)))
            for epos, covered in by_doc.items():
                if covered / (e - s) < prm.reuse_coverage:
                    continue
                best, best_ov = None, 0
                for t in units.rows(epos):
                    ts, te = units.spans[t]
                    ov = sum(max(0, min(te, mb) - max(ts, ma)) for ma, mb in mapped[epos])
                    if ov > best_ov:
                        best, best_ov = t, ov
                if best is not None:
                    out.setdefault(r, []).append(best)
    return out


__all__ = ["NoveltyParams", "PassageLike", "SentenceNovelty", "novelty"]
