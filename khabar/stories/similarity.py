"""How likely two articles report the same event: a small, documented logistic model.

For a pair of articles the score combines eight features (`FEATURES`):

* ``body``    cosine of the TF-IDF vectors of the leads (stemmed content words, corpus
              stopwords left out);
* ``cover``   how much of each title's weight (IDF) the other article mentions at
              all, averaged over both directions: the names a headline is about
              (Sudan vs Lithuania, Oman vs Tunisia) must appear in the other report.
              This is how the title counts: a plain title cosine, tried beside it,
              got a weight near zero (or negative) and was dropped;
* ``copy``    the share of one lead's 4-word shingles found in the other (the
              larger of the two directions), each shingle weighted by
              1 / (articles containing it) so that templates and boilerplate count
              for little; or the duplicate/reuse evidence of the earlier stages
              when it is stronger;
* ``numbers_shared``   ln(1 + specific numbers both mention);
* ``numbers_conflict`` ln(1 + numbers of the article with fewer numbers that the
              other does not mention): two market reports, two casualty tolls, two
              statistics releases differ in their figures;
* ``occasion_conflict`` ordinals or weekdays both mention without one in common
              (the second relief flight vs the third; Monday's session vs Tuesday's);
* ``same_outlet`` 1 − copy when both come from one outlet, else 0: an outlet reports
              an event once, so two of its articles are one story only when one
              republishes the other (in the labelled pairs, every same-outlet
              "same event" pair was a copy; most same-outlet pairs without one were
              related events);
* ``time``    exp(−|Δt| / time scale): reports of one event cluster in time
              (`time_unknown` when an article has no date).

``p = σ(b + Σ w·f)`` is the probability that the pair reports one event. The
weights are fitted on labelled pairs (``bench/stories.py --fit``) by logistic
regression with an L2 penalty on standardized features (NumPy + SciPy's
L-BFGS), "related" pairs weighing 3 (merging one costs more than splitting a
same pair), and validated by cross-validation by pair and by day; see the
README for the figures. Copies found by the duplicate stage are must-links of
the clustering (`copies`), not pairs; a foreign-language report matched on
names and figures has at least the probability its evidence gives (`Evidence`).

Candidate pairs are found with sparse products over blocks of articles close
in time, so no two articles more than `window` days apart are ever scored.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from khabar.stories.features import Articles, TermStats, occasion_conflict

FEATURES: tuple[str, ...] = (
    "body", "cover", "copy", "numbers_shared", "numbers_conflict", "occasion_conflict",
    "same_outlet", "time",
)
TIME = FEATURES.index("time")
DAY = 86400.0
SMALL = 0.02
"""Cosines below this count as 0 (see `_product`)."""


@dataclass(frozen=True, slots=True)
class SimilarityModel:
    """Weights of the pair score: logit = intercept + Σ weight·feature."""

    weights: tuple[float, ...]
    intercept: float
    time_unknown: float = 0.5
    """Value of the ``time`` feature when an article has no date (a neutral middle)."""

    def logit(self, feats: np.ndarray) -> np.ndarray:
        return feats @ np.asarray(self.weights) + self.intercept

    def probability(self, feats: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(feats)))

    def describe(self) -> dict[str, float]:
        return {"intercept": round(self.intercept, 3),
                **{n: round(w, 3) for n, w in zip(FEATURES, self.weights, strict=True)}}


# Fitted on the 335 non-ambiguous dev pairs of SaudiNewsNet by `bench/stories.py --fit`
# (L2 = 1 on standardized features, rescaled here to raw features); see the README.
DEFAULT_MODEL = SimilarityModel(
    weights=(3.56, 2.50, 2.83, 1.42, -1.57, -0.33, -5.28, 5.37),
    intercept=-6.17,
)


@dataclass(frozen=True, slots=True)
class PairParams:
    """Which pairs are scored, and how the features are computed."""

    time_scale: float = 2.0
    """Days over which time proximity decays by a factor e (feature ``time``). Default 2."""
    window: float = 3.0
    """Articles more than this many days apart are never compared. Default 3."""
    max_df: float = 0.01
    """Words in more than this share of the articles (and more than `min_df_floor` of them)
    are corpus stopwords and do not count: they name the topic, not the event, and make
    the comparison slow. Default 0.01."""
    min_df_floor: int = 50
    """…a word is never dropped while it occurs in fewer articles than this. Default 50."""
    prior_docs: int = 1000
    """IDF as if this many more articles contained none of the words (see `TermStats.idf`):
    matters for small collections only. Default 1000."""
    min_body: float = 0.1
    """A pair is a candidate if its lead cosine reaches this… Default 0.1."""
    min_title: float = 0.25
    """…or its title cosine reaches this… Default 0.25."""
    min_shingles: int = 1
    """…or its leads share this many (sampled) shingles. Default 1."""
    shingle_max_df: int = 100
    """Shingles found in more articles than this are boilerplate: not compared. Default 100."""


@dataclass(slots=True)
class Space:
    """Articles weighted under one IDF: the matrices every pair feature is read from."""

    arts: Articles
    body: sp.csr_matrix
    title: sp.csr_matrix
    title_idf: sp.csr_matrix
    """Title words (binary) times IDF: the weight `cover` counts."""
    present: sp.csr_matrix
    """Binary: the word occurs in the title or the lead."""
    title_mass: np.ndarray
    shingle_w: sp.csr_matrix
    """Shingles weighted by 1 / document frequency (see `TermStats.shingle_weights`)."""
    shingle_mass: np.ndarray
    numbers: sp.csr_matrix
    """Binary: the article mentions this (hashed) specific number."""
    outlet: np.ndarray
    """A hash of the outlet's name, -1 when unknown (for ``same_outlet``)."""

    def __len__(self) -> int:
        return len(self.arts)

    def take(self, rows: np.ndarray) -> Space:
        return Space(self.arts.take(rows), self.body[rows], self.title[rows],
                     self.title_idf[rows], self.present[rows], self.title_mass[rows],
                     self.shingle_w[rows], self.shingle_mass[rows], self.numbers[rows],
                     self.outlet[rows])


def term_weights(stats: TermStats, params: PairParams) -> np.ndarray:
    """IDF with corpus stopwords (too frequent to tell events apart) set to zero."""
    idf = stats.idf(params.prior_docs)
    limit = max(params.max_df * stats.n, params.min_df_floor)
    idf[stats.df > limit] = 0.0
    return idf


def _weighted(m: sp.csr_matrix, weights: np.ndarray, normalize: bool) -> sp.csr_matrix:
    out = m.copy()
    out.data = out.data * weights[out.indices]
    if normalize:
        counts = np.diff(out.indptr)
        rows = np.repeat(np.arange(out.shape[0]), counts)
        norms = np.sqrt(np.bincount(rows, weights=out.data ** 2, minlength=out.shape[0]))
        scale = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-300), 0.0)
        out.data = out.data * np.repeat(scale, counts)
    out.eliminate_zeros()
    return out


def make_space(arts: Articles, stats: TermStats, params: PairParams,
               weights: np.ndarray | None = None) -> Space:
    """Weight `arts` by the document frequencies in `stats` (`weights`: the result of
    `term_weights(stats, params)` when the caller keeps it)."""
    if weights is None:
        weights = term_weights(stats, params)
    title_bin = arts.title_tf.copy()
    title_bin.data = np.ones_like(title_bin.data)
    title_idf = _weighted(title_bin, weights, normalize=False)
    return Space(
        arts,
        _weighted(arts.body_tf, weights, normalize=True),
        _weighted(arts.title_tf, weights, normalize=True),
        title_idf,
        arts.presence(),
        np.asarray(title_idf.sum(axis=1)).ravel(),
        (sw := stats.shingle_weights(arts.shingles)),
        np.asarray(sw.sum(axis=1)).ravel(),
        _number_matrix(arts.numbers),
        np.array([zlib.crc32(s.encode("utf-8")) if s else -1 for s in arts.sources],
                 dtype=np.int64),
    )


def _number_matrix(numbers: list[frozenset[str]]) -> sp.csr_matrix:
    lengths = [len(x) for x in numbers]
    cols = [zlib.crc32(x.encode("ascii", "replace")) & ((1 << 30) - 1)
            for nums in numbers for x in sorted(nums)]
    indptr = np.zeros(len(numbers) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return sp.csr_matrix((np.ones(len(cols)), np.array(cols, dtype=np.int64), indptr),
                         shape=(len(numbers), 1 << 30))


# A product of two blocks, as flat keys (left row * right rows + right row), sorted, with
# their values: candidate selection and feature lookups are then searchsorted calls.
Flat = tuple[np.ndarray, np.ndarray]


def _product(a: sp.csr_matrix, b: sp.csr_matrix, least: float = 0.0) -> Flat:
    """Row-by-row dot products of two blocks, as a `Flat`, without values below `least`.

    Dropping the many tiny values (one shared common word) before sorting is most of
    the speed: they would move a pair's score by a few hundredths of a logit.
    """
    m = (a @ b.T).tocsr()
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    keep = m.data >= least if least > 0 else slice(None)
    keys = rows[keep] * b.shape[0] + m.indices[keep]
    vals = m.data[keep]
    order = np.argsort(keys)
    return keys[order], vals[order]


def _shared_shingles(a: sp.csr_matrix, b: sp.csr_matrix, max_df: int) -> tuple[Flat, Flat]:
    """(shared shingle counts, shared shingle weights) of every pair of rows that shares one.

    A join on shingle ids rather than a sparse product: shingles are so specific that
    few pairs share any, and a product would pay for the huge hashed space. Shingles in
    more than `max_df` articles (weight below 1/max_df) are boilerplate and skipped.
    """
    def entries(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
        ok = m.data * max_df >= 1.0
        return rows[ok], m.indices[ok], m.data[ok]

    ra, ca, wa = entries(a)
    rb, cb, _ = entries(b)
    order = np.argsort(cb)
    rb, cb = rb[order], cb[order]
    lo = np.searchsorted(cb, ca, side="left")
    hi = np.searchsorted(cb, ca, side="right")
    n = hi - lo
    total = int(n.sum())
    if total == 0:
        empty = (np.empty(0, np.int64), np.empty(0))
        return empty, empty
    starts = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(total)
    keys = np.repeat(ra, n) * b.shape[0] + rb[starts]
    uniq, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(uniq)).astype(np.float64)
    weights = np.bincount(inverse, weights=np.repeat(wa, n), minlength=len(uniq))
    return (uniq, counts), (uniq, weights)


def _lookup(keys: np.ndarray, flat: Flat) -> np.ndarray:
    """Values of `flat` at `keys` (0 where it has none)."""
    fk, fv = flat
    out = np.zeros(len(keys))
    if not len(fk):
        return out
    pos = np.minimum(np.searchsorted(fk, keys), len(fk) - 1)
    found = fk[pos] == keys
    out[found] = fv[pos[found]]
    return out


def _keys(flat: Flat, least: float) -> np.ndarray:
    return flat[0][flat[1] >= least]


class Evidence:
    """Strength (0-1) of duplicate/reuse links between article ids, looked up either way.

    Built from what the earlier stages found (`khabar.stories.evidence_from_store`) or
    given by hand; linked pairs are always compared, whatever their words. The strength is
    the share of one text found in the other and enters the ``copy`` feature: shared text
    is strong evidence, but not proof (two days' market reports share their template
    sentence for sentence). For pairs in `certain` the strength is a probability the pair
    score never goes below: a foreign-language report matched on names and figures
    (`crosslingual`), which the word features cannot see at all; average linkage then
    decides which story it joins. Verified copies are not pairs here but must-links
    (`copies`).
    """

    def __init__(self, links: Mapping[tuple[str, str], float] | None = None,
                 certain: Mapping[tuple[str, str], float] | None = None) -> None:
        self.partners: dict[str, dict[str, float]] = {}
        self.sure: dict[str, set[str]] = {}
        for source, sure in ((links, False), (certain, True)):
            for (a, b), strength in (source or {}).items():
                if a == b:
                    continue
                for x, y in ((a, b), (b, a)):
                    known = self.partners.setdefault(x, {})
                    known[y] = max(known.get(y, 0.0), float(strength))
                    if sure:
                        self.sure.setdefault(x, set()).add(y)

    def certain(self, a: str, b: str) -> bool:
        return b in self.sure.get(a, ())

    def items(self):
        """((a, b), strength, certain) for each pair once (a < b)."""
        for a, known in self.partners.items():
            for b, strength in known.items():
                if a < b:
                    yield (a, b), strength, self.certain(a, b)

    def __bool__(self) -> bool:
        return bool(self.partners)

    def __len__(self) -> int:
        return sum(len(v) for v in self.partners.values()) // 2

    def get(self, a: str, b: str) -> float:
        return self.partners.get(a, {}).get(b, 0.0)

    def keys_between(self, ids_a: list[str], ids_b: list[str]) -> np.ndarray:
        """Flat keys (row in a * len(b) + row in b) of the linked pairs between two blocks."""
        rows_b = {i: r for r, i in enumerate(ids_b)}
        keys = [ra * len(ids_b) + rows_b[other]
                for ra, i in enumerate(ids_a) for other in self.partners.get(i, ())
                if other in rows_b]
        return np.asarray(keys, dtype=np.int64)


def as_evidence(links: Evidence | Mapping[tuple[str, str], float] | None) -> Evidence | None:
    if links is None or isinstance(links, Evidence):
        return links or None
    return Evidence(links) or None


@dataclass(slots=True)
class Pairs:
    """Scored candidate pairs: row `left[k]` of one space against row `right[k]` of another."""

    left: np.ndarray
    right: np.ndarray
    features: np.ndarray
    prob: np.ndarray = field(default_factory=lambda: np.empty(0))
    linked: np.ndarray | None = None
    """The least probability certain evidence gives each pair (0 where it gives none):
    a foreign-language report matched on names and figures (`Evidence`)."""


def pair_features(
    a: Space, b: Space, params: PairParams,
    allowed: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    evidence: Evidence | Mapping[tuple[str, str], float] | None = None,
    only: tuple[np.ndarray, np.ndarray] | None = None,
) -> Pairs:
    """Candidate pairs between the rows of `a` and the rows of `b`, with their features.

    `allowed(left_rows, right_rows)` may veto pairs (a boolean mask) before their
    features are computed. Pairs more than `params.window` days apart are always
    excluded; pairs with an undated article never for their date. With `only`
    (left rows, right rows), exactly those pairs are returned, candidates or not
    (to fit or inspect the model).
    """
    na, nb = len(a), len(b)
    if na == 0 or nb == 0:
        return Pairs(np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, len(FEATURES))))
    body = _product(a.body, b.body, SMALL)
    title = _product(a.title, b.title, SMALL)
    shingles, shingle_weight = _shared_shingles(a.shingle_w, b.shingle_w, params.shingle_max_df)
    if only is not None:
        keys = only[0].astype(np.int64) * nb + only[1]
    else:
        evidence = as_evidence(evidence)
        linked = (evidence.keys_between(a.arts.ids, b.arts.ids) if evidence
                  else np.empty(0, np.int64))
        keys = np.unique(np.concatenate([
            _keys(body, params.min_body),
            _keys(title, params.min_title),
            _keys(shingles, params.min_shingles),
            linked,
        ]))
    li = keys // nb
    ri = keys % nb
    ta, tb = a.arts.ts[li], b.arts.ts[ri]
    dt = np.abs(ta - tb) / DAY
    keep = ~(dt > params.window) if only is None else np.ones(len(keys), bool)
    # (NaN, undated, compares False: kept)
    if allowed is not None:
        keep &= allowed(li, ri)
    keys, li, ri, dt = keys[keep], li[keep], ri[keep], dt[keep]
    f = np.zeros((len(keys), len(FEATURES)))
    if not len(keys):
        return Pairs(li, ri, f)
    f[:, 0] = _lookup(keys, body)
    cover_ab = _lookup(keys, _product(a.title_idf, b.present))
    cover_ba = _lookup(keys, _product(a.present, b.title_idf))
    ma, mb = a.title_mass[li], b.title_mass[ri]
    c_ab = np.where(ma > 0, cover_ab / np.maximum(ma, 1e-12), 0.0)
    c_ba = np.where(mb > 0, cover_ba / np.maximum(mb, 1e-12), 0.0)
    f[:, 1] = 0.5 * (c_ab + c_ba)
    shared = _lookup(keys, shingle_weight)
    smaller = np.minimum(a.shingle_mass[li], b.shingle_mass[ri])
    copy = np.where(smaller > 0, shared / np.maximum(smaller, 1e-12), 0.0)
    evidence = as_evidence(evidence)
    linked = None
    if evidence:
        ids_a, ids_b = a.arts.ids, b.arts.ids
        ext = np.array([evidence.get(ids_a[i], ids_b[j])
                        for i, j in zip(li.tolist(), ri.tolist(), strict=True)])
        copy = np.maximum(copy, ext)
        linked = np.array([evidence.get(ids_a[i], ids_b[j]) if evidence.certain(
                           ids_a[i], ids_b[j]) else 0.0
                           for i, j in zip(li.tolist(), ri.tolist(), strict=True)])

    f[:, 2] = np.minimum(copy, 1.0)
    shared_n = _lookup(keys, _shared_shingles(a.numbers, b.numbers, 1)[0])
    count_a = np.diff(a.numbers.indptr)[li]
    count_b = np.diff(b.numbers.indptr)[ri]
    f[:, 3] = np.log1p(shared_n)
    f[:, 4] = np.log1p(np.minimum(count_a, count_b) - shared_n)
    f[:, 5] = occasion_conflict(a.arts.occasions[li], b.arts.occasions[ri])
    same_outlet = (a.outlet[li] >= 0) & (a.outlet[li] == b.outlet[ri])
    f[:, 6] = same_outlet * (1.0 - f[:, 2])
    f[:, TIME] = np.exp(-dt / params.time_scale)
    return Pairs(li, ri, f, linked=linked)


def score(pairs: Pairs, model: SimilarityModel) -> Pairs:
    """Fill in `pairs.prob` (the time feature of undated pairs takes `time_unknown`)."""
    f = pairs.features
    undated = np.isnan(f[:, TIME])
    if undated.any():
        f = f.copy()
        f[undated, TIME] = model.time_unknown
    pairs.prob = model.probability(f) if len(f) else np.empty(0)
    if pairs.linked is not None and len(f):
        pairs.prob = np.maximum(pairs.prob, pairs.linked)
    return pairs


# -- fitting ----------------------------------------------------------------------------------


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0,
                 sample_weight: np.ndarray | None = None) -> SimilarityModel:
    """L2-regularized logistic regression on standardized features, returned in raw units.

    Standardizing makes one penalty fair to features of different scales; the
    intercept is not penalized.
    """
    from scipy.optimize import minimize

    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (x - mu) / sd
    n, d = z.shape
    sw = np.ones(n) if sample_weight is None else sample_weight
    zb = np.hstack([z, np.ones((n, 1))])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        t = zb @ w
        p = 1.0 / (1.0 + np.exp(-t))
        value = float(np.sum(sw * (np.logaddexp(0.0, t) - y * t)) + 0.5 * l2 * np.sum(w[:-1] ** 2))
        grad = zb.T @ (sw * (p - y))
        grad[:-1] += l2 * w[:-1]
        return value, grad

    w = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B").x
    raw = w[:-1] / sd
    intercept = float(w[-1] - np.sum(raw * mu))
    return SimilarityModel(tuple(float(v) for v in raw), intercept)
