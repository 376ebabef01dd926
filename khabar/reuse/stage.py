"""The reuse stage as steps: features → postings → candidate pairs → alignment → passages.

1. **features** (map): each prepared article's content stems, n-grams of them,
   token and sentence offsets (`features`), and its postings: every n-gram
   with its position, every distinct stem, every (outlet, n-gram).
2. **document frequencies** (group by key): how many articles carry each stem
   and n-gram within a time bucket; those in more than `max_df` articles are
   formulas, never evidence of copying (passim's filter, Smith et al. 2014).
3. **ordered candidates** (group by n-gram, then by pair): two articles sharing
   a run of rare n-grams in the same order spanning `min_words` words.
4. **bag candidates** (group by stem, then by window pair): two windows
   sharing `bag_min` rare stems (reordered reuse).
5. **align** (pairs): each candidate pair aligned on the two articles'
   features, its direction decided (`direction`), outlet boilerplate flagged.

Time bounds the work: an article is compared only with articles published
within `ReuseOptions.window_days` of it. Postings are keyed by (string, time
bucket of `window_days`), each article posting into its own bucket and, as a
late arrival, into the next, so the document frequencies are those of the
articles around it, the same whatever the length of the collection.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from khabar.corpus import Article
from khabar.dups.lsh import pairs_in_groups
from khabar.engine import Dataset
from khabar.reuse.align import align_pair
from khabar.reuse.direction import decide
from khabar.reuse.features import DocFeatures, _Lexicon, features_from_view
from khabar.reuse.fingerprints import CHAIN_STEP, bag_scales, window_starts
from khabar.reuse.hashing import _mix, stem_hashes
from khabar.reuse.options import ReuseOptions
from khabar.reuse.passage import Passage, passage_key
from khabar.stage import ArticleStep, Context, Output, article_outputs, stage

DAY = 86400.0
UNDATED = -1

_POST = np.dtype([("n", np.int64), ("pos", np.int32), ("lo", np.int32), ("hi", np.int32),
                  ("home", np.bool_), ("ts", np.float64), ("gram", np.uint64)])
_OCC = np.dtype([("code", np.int64), ("pa", np.int32), ("pb", np.int32), ("lo_a", np.int32),
                 ("hi_a", np.int32), ("lo_b", np.int32), ("hi_b", np.int32)])
_KEYDOC = np.dtype([("key", np.uint64), ("n", np.int64)])
_WIN = np.dtype([("n", np.int64), ("win", np.int32), ("home", np.bool_), ("ts", np.float64)])
_WINPAIR = np.dtype([("code", np.int64), ("wa", np.int32), ("wb", np.int32)])
_CAND = np.dtype([("code", np.int64), ("bag", np.bool_)])


def member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Which `values` are in `sorted_set` (sorted, distinct): one binary search each, where
    `np.isin` would sort both arrays on every call."""
    if not len(sorted_set) or not len(values):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def _by(keys: np.ndarray, values: np.ndarray, *fields: str) -> tuple[np.ndarray, np.ndarray]:
    """Keys and values sorted by key, then by the given value fields."""
    order = np.lexsort(tuple(values[f] for f in reversed(fields)) + (keys,))
    return keys[order], values[order]


def _bucket_of(ts: float | None, window: float) -> int:
    return UNDATED if ts is None else math.floor(ts / (window * DAY))


def _keyed(keys: np.ndarray, bucket: np.ndarray) -> np.ndarray:
    """One 64-bit key per (string hash, time bucket)."""
    return _mix(keys ^ (bucket.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)))


# -- 1. features ----------------------------------------------------------------------------------


def features_batch(batch: list[Article], options: ReuseOptions) -> tuple[list[Any], ...]:
    """Article step: the features of each article and its postings (n-grams with positions,
    distinct stems, outlet n-grams), each posted in its time bucket and, as a late arrival,
    the next one. Undated articles' n-grams come apart: the stage posts them in every
    bucket once it knows the buckets."""
    views = [a.view for a in batch]
    lexicon = _Lexicon(views)
    feats = [features_from_view(a.view, a.doc, options.ngram, lexicon) for a in batch]
    for a, f in zip(batch, feats, strict=True):
        f.n = a.n
    window = options.window_days
    grams, undated, stems, outlet = [], [], [], []
    for a, f in zip(batch, feats, strict=True):
        b = _bucket_of(f.ts, window)
        nc = f.n_content
        if len(f.grams):
            pos = np.arange(len(f.grams), dtype=np.int32)
            tok = f.content.astype(np.int32)
            v = np.zeros(len(pos), dtype=_POST)
            v["n"], v["pos"] = a.n, pos
            v["lo"] = tok[np.maximum(pos - 1, 0)]
            v["hi"] = tok[np.minimum(pos + options.ngram, nc - 1)]
            v["ts"], v["gram"] = np.nan if f.ts is None else f.ts, f.grams
            if b == UNDATED:
                v["home"] = True
                undated.append((_keyed(f.grams, np.full(len(pos), b)), v))
            else:
                for bucket, home in ((b, True), (b + 1, False)):
                    w = v.copy()
                    w["home"] = home
                    grams.append((_keyed(f.grams, np.full(len(pos), bucket)), w))
        distinct = np.unique(f.stems)
        if len(distinct):
            v = np.zeros(len(distinct), dtype=_KEYDOC)
            v["key"], v["n"] = distinct, a.n
            stems.append((_keyed(distinct, np.full(len(distinct), b)), v))
        if f.source and len(f.grams):
            keyed = _mix(np.unique(f.grams) ^ stem_hashes([f.source])[0])
            v = np.zeros(len(keyed), dtype=_KEYDOC)
            v["key"], v["n"] = keyed, a.n
            outlet.append((keyed, v))
    return feats, grams, undated, stems, outlet


def _spread(batch: list[tuple[np.ndarray, np.ndarray]], buckets: Any
            ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Undated articles' postings: at home in their own bucket, late arrivals in every other."""
    out = []
    for _keys, v in batch:
        out.append((_keyed(v["gram"], np.full(len(v), UNDATED)), v))
        for bucket in buckets.value:
            w = v.copy()
            w["home"] = False
            out.append((_keyed(v["gram"], np.full(len(v), bucket)), w))
    return out


def _buckets(batch: list[DocFeatures], window: float) -> set[int]:
    return {_bucket_of(f.ts, window) for f in batch} - {UNDATED}


def _union(a: set[int], b: set[int]) -> set[int]:
    return a | b


# -- 2. document frequencies -----------------------------------------------------------------------


def _pairs_of(batch: list[tuple[np.ndarray, np.ndarray]], *_: Any) -> tuple[np.ndarray, np.ndarray]:
    if not batch:
        return np.zeros(0, np.uint64), np.zeros(0, _KEYDOC)
    return np.concatenate([k for k, _ in batch]), np.concatenate([v for _, v in batch])


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not len(keys):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    return starts, np.diff(np.append(starts, len(keys)))


def _common(keys: np.ndarray, values: np.ndarray, limit: int) -> list[np.ndarray]:
    """The strings (values["key"]) carried by more than `limit` documents under one key."""
    keys, values = _by(keys, values, "n")
    starts, sizes = _runs(keys)
    # values are sorted by (n) inside a key: distinct documents are changes of n
    new_doc = np.concatenate([[True], (keys[1:] != keys[:-1]) | (values["n"][1:]
                                                                 != values["n"][:-1])])
    docs = np.add.reduceat(new_doc.astype(np.int64), starts) if len(starts) else starts
    over = starts[docs > limit]
    return [np.unique(values["key"][over])] if len(over) else []


def _concat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.union1d(a, b)


def _arrays(batch: list[np.ndarray]) -> np.ndarray:
    return np.unique(np.concatenate(batch)) if batch else np.zeros(0, np.uint64)


# -- 3. ordered candidates -------------------------------------------------------------------------


def _occurrences(keys: np.ndarray, values: np.ndarray, options: ReuseOptions
                 ) -> list[tuple[str, np.ndarray]]:
    """Every pair of occurrences, in two articles, of an n-gram carried by 2 to `max_df`
    articles of a time bucket (one side at home there), within the time window; and the
    n-grams carried by more (the common ones)."""
    starts, sizes = _runs(keys)
    if not len(starts):
        return []
    ns = values["n"]
    new_doc = np.concatenate([[True], (keys[1:] != keys[:-1]) | (ns[1:] != ns[:-1])])
    docs = np.add.reduceat(new_doc.astype(np.int64), starts)
    out: list[tuple[str, np.ndarray]] = []
    over = starts[docs > options.max_df]
    if len(over):
        out.append(("common", np.unique(values["gram"][over])))
    ok = (docs >= 2) & (docs <= options.max_df) & (sizes <= 4 * options.max_df)
    ia, ib = pairs_in_groups(np.arange(len(keys)), starts[ok], sizes[ok])
    if not len(ia):
        return out
    va, vb = values[ia], values[ib]
    ts_a, ts_b = va["ts"], vb["ts"]
    near = np.isnan(ts_a) | np.isnan(ts_b) | (np.abs(ts_a - ts_b) <= options.window_days * DAY)
    keep = (va["n"] != vb["n"]) & (va["home"] | vb["home"]) & near
    va, vb = va[keep], vb[keep]
    swap = va["n"] > vb["n"]
    first = np.where(swap, vb, va)
    second = np.where(swap, va, vb)
    occ = np.zeros(len(first), dtype=_OCC)
    occ["code"] = (first["n"] << 32) | second["n"]
    occ["pa"], occ["pb"] = first["pos"], second["pos"]
    occ["lo_a"], occ["hi_a"] = first["lo"], first["hi"]
    occ["lo_b"], occ["hi_b"] = second["lo"], second["hi"]
    out.append(("occ", occ))
    return out


def _tagged(batch: list[tuple[str, np.ndarray]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return ([a for tag, a in batch if tag == "occ"], [a for tag, a in batch if tag == "common"])


def _occ_keys(batch: list[np.ndarray], *_: Any) -> tuple[np.ndarray, np.ndarray]:
    occ = np.concatenate(batch) if batch else np.zeros(0, _OCC)
    return occ["code"].astype(np.uint64), occ


def _chains(keys: np.ndarray, occ: np.ndarray, options: ReuseOptions) -> list[np.ndarray]:
    """Pairs sharing a run of n-grams in the same order that spans `min_words` words on both
    sides (consecutive n-grams up to `ngram + CHAIN_STEP - 1` content tokens apart, one
    unmatched word of slack at each end)."""
    if not len(occ):
        return []
    occ = occ[np.lexsort((occ["pb"], occ["pa"], occ["code"]))]
    code, pa, pb = occ["code"], occ["pa"], occ["pb"]
    step = options.ngram + CHAIN_STEP - 1
    dpa, dpb = np.diff(pa.astype(np.int64)), np.diff(pb.astype(np.int64))
    linked = (code[1:] == code[:-1]) & (dpa > 0) & (dpa <= step) & (dpb > 0) & (dpb <= step)
    first = np.flatnonzero(np.concatenate([[True], ~linked]))
    last = np.append(first[1:] - 1, len(code) - 1)
    wa = occ["hi_a"][last].astype(np.int64) - occ["lo_a"][first] + 1
    wb = occ["hi_b"][last].astype(np.int64) - occ["lo_b"][first] + 1
    return [np.unique(code[first[np.minimum(wa, wb) >= options.min_words]])]


# -- 4. bag candidates -----------------------------------------------------------------------------

_BAGPOST = np.dtype([("n", np.int64), ("win", np.int32), ("scale", np.int8),
                     ("home", np.bool_), ("ts", np.float64), ("stem", np.uint64)])


def _bag_postings(batch: list[DocFeatures], options: ReuseOptions, buckets: Any
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """time bucket -> (article, window, scale, stem) for every distinct stem of every window,
    in the article's own bucket and, as a late arrival, the next one."""
    out = []
    for f in batch:
        b = _bucket_of(f.ts, options.window_days)
        targets = [(b, True)] + ([(b + 1, False)] if b != UNDATED else [])
        if b == UNDATED:
            targets += [(x, False) for x in buckets.value]
        parts = []
        for scale, (window, need) in enumerate(bag_scales(options)):
            if f.n_content < need:
                continue
            w = max(window, 2)
            step = max(w // 2, 1)
            n_win = len(window_starts(f.n_content, w))
            pos = np.arange(f.n_content)
            win = pos // step
            both_w = np.concatenate([win, win - 1])
            both_k = np.concatenate([f.stems, f.stems])
            ok = (both_w >= 0) & (both_w < n_win)
            both_w, both_k = both_w[ok], both_k[ok]
            order = np.lexsort((both_k, both_w))  # a stem counts once per window
            both_w, both_k = both_w[order], both_k[order]
            first = np.concatenate([[True], (both_w[1:] != both_w[:-1])
                                    | (both_k[1:] != both_k[:-1])])
            v = np.zeros(int(first.sum()), dtype=_BAGPOST)
            v["win"], v["stem"], v["scale"] = both_w[first], both_k[first], scale
            parts.append(v)
        if not parts:
            continue
        v = np.concatenate(parts)
        v["n"], v["ts"] = f.n, np.nan if f.ts is None else f.ts
        for bucket, home in targets:
            w = v.copy()
            w["home"] = home
            out.append((np.full(len(w), bucket, dtype=np.int64).astype(np.uint64), w))
    return out


def _bag_pairs(keys: np.ndarray, values: np.ndarray, options: ReuseOptions
               ) -> list[np.ndarray]:
    """Article pairs with two windows sharing at least `bag_min` (x4 per scale) stems carried
    by 2 to `max_df` articles of the bucket: per bucket, the window-by-stem incidence matrix
    times itself (the sparse product of the in-memory index, one bucket at a time)."""
    out = []
    starts, sizes = _runs(keys)
    for s0, size in zip(starts.tolist(), sizes.tolist(), strict=True):
        group = values[s0:s0 + size]
        for scale, (_window, need) in enumerate(bag_scales(options)):
            v = group[group["scale"] == scale]
            if len(v):
                out.append(_bag_pairs_at(v, options, need))
    return [o for o in out if len(o)]


def _bag_pairs_at(v: np.ndarray, options: ReuseOptions, need: int) -> np.ndarray:
    stems, col = np.unique(v["stem"], return_inverse=True)
    col = col.ravel()
    # document frequency of each stem in the bucket: distinct (stem, article) pairs
    pair = np.unique(col.astype(np.int64) * (1 << 32) + (v["n"] & 0xFFFFFFFF))
    df = np.bincount((pair >> 32).astype(np.int64), minlength=len(stems))
    keep = (df[col] >= 2) & (df[col] <= options.max_df)
    v, col = v[keep], col[keep]
    if not len(v):
        return np.zeros(0, np.int64)
    wkey = (v["n"] << 20) | v["win"].astype(np.int64)
    windows, row = np.unique(wkey, return_inverse=True)
    row = row.ravel()
    w_ts = np.full(len(windows), np.nan)
    w_ts[row] = v["ts"]
    w_home = np.zeros(len(windows), dtype=bool)
    w_home[row] = v["home"]
    x = sp.csr_matrix((np.ones(len(v), np.int32), (row, col)), shape=(len(windows), len(stems)))
    xt = x.T.tocsr()
    found = []
    for lo in range(0, len(windows), 4096):
        prod = (x[lo:lo + 4096] @ xt).tocoo()
        m = prod.data >= need
        ra, rb = prod.row[m] + lo, prod.col[m]
        da, db = windows[ra] >> 20, windows[rb] >> 20
        ta, tb = w_ts[ra], w_ts[rb]
        near = np.isnan(ta) | np.isnan(tb) | (np.abs(ta - tb) <= options.window_days * DAY)
        ok = (da < db) & near & (w_home[ra] | w_home[rb])
        found.append((da[ok] << 32) | db[ok])
    return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)


# -- 5. candidates and alignment -------------------------------------------------------------------


def _cand(batch: list[np.ndarray], bag: bool) -> list[np.ndarray]:
    codes = np.concatenate(batch) if batch else np.zeros(0, np.int64)
    out = np.zeros(len(codes), dtype=_CAND)
    out["code"], out["bag"] = codes, bag
    return [out]


def _cand_keys(batch: list[np.ndarray], *_: Any) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate(batch) if batch else np.zeros(0, _CAND)
    return rows["code"].astype(np.uint64), rows


def _distinct(keys: np.ndarray, rows: np.ndarray, *_: Any) -> list[tuple[int, int, bool]]:
    starts, sizes = _runs(keys)
    bag = np.logical_or.reduceat(rows["bag"], starts) if len(starts) else np.zeros(0, bool)
    codes = rows["code"][starts]
    return [(c >> 32, c & 0xFFFFFFFF, b) for c, b in zip(codes.tolist(), bag.tolist(),
                                                          strict=True)]


def _feat_n(f: DocFeatures) -> int:
    return f.n


def _marked(f: DocFeatures, marks: Any, options: ReuseOptions) -> DocFeatures:
    """Rarity and boilerplate marks of one article, from the corpus-wide tables."""
    if f.rare is not None:
        return f
    common_stems, common_grams, boiler = marks.value
    f.rare = ~member(f.stems, common_stems)
    f.gram_rare = ~member(f.grams, common_grams)
    f.gram_shared = f.gram_rare
    mask = np.zeros(f.n_content, dtype=bool)
    if f.source and len(f.grams) and len(boiler):
        src = stem_hashes([f.source])[0]
        hit = np.flatnonzero(member(_mix(f.grams ^ src), boiler))
        for k in range(options.ngram):
            mask[np.minimum(hit + k, f.n_content - 1)] = True
    f.boiler = mask
    return f


def _align(items: list[tuple[int, int, bool, DocFeatures, DocFeatures]], options: ReuseOptions,
           marks: Any) -> list[Passage]:
    out: list[Passage] = []
    for _, _, bag, fa, fb in items:
        fa, fb = _marked(fa, marks, options), _marked(fb, marks, options)
        aligned = align_pair(fa, fb, options, bag=bag)
        if aligned:
            out.extend(passages_of(fa, fb, aligned))
    return out


def passages_of(fa: DocFeatures, fb: DocFeatures, aligned: list[Any]) -> list[Passage]:
    """Passages of one aligned pair: one per character range, direction decided once."""
    # Two token-level alignments can widen to the same characters (both reach the edges of
    # one long sentence): one passage per character range, the best-scoring, reuse before
    # boilerplate on a tie.
    best: dict[tuple[int, int, int, int], Any] = {}
    for x in aligned:
        key = (x.a_start, x.a_end, x.b_start, x.b_end)
        old = best.get(key)
        if old is None or (x.score, not x.boilerplate) > (old.score, not old.boilerplate):
            best[key] = x
    aligned = [best[k] for k in sorted(best)]
    real = [x for x in aligned if not x.boilerplate]
    source, rule = decide(fa, fb, [x.a_content for x in real], [x.b_content for x in real])
    out = []
    for x in aligned:
        if fa.id < fb.id:
            out.append(Passage(fa.id, x.a_start, x.a_end, fb.id, x.b_start, x.b_end, x.score,
                               source, rule, x.a_sentences, x.b_sentences, x.boilerplate))
        else:
            out.append(Passage(fb.id, x.b_start, x.b_end, fa.id, x.a_start, x.a_end, x.score,
                               source, rule, x.b_sentences, x.a_sentences, x.boilerplate))
    return out


def _reported(batch: list[Passage], options: ReuseOptions) -> list[Passage]:
    return batch if options.include_boilerplate else [p for p in batch if not p.boilerplate]


OUTPUTS = (Output("passages", "passages.jsonl", Passage, passage_key),)


FEATURES = ArticleStep(("reuse_features", "reuse_grams", "reuse_undated", "reuse_stems",
                        "reuse_outlet"), features_batch)


@stage("reuse", params=ReuseOptions, requires=("articles",), optional=FEATURES.outputs,
       provides=("passages",), outputs=OUTPUTS, article=FEATURES)
def reuse_stage(ctx: Context, data: dict[str, Dataset], options: ReuseOptions
                ) -> dict[str, Dataset]:
    """Passages two articles share, with offsets, direction and boilerplate flags."""
    runner = ctx.runner
    feats, grams, undated, stems, outlet = article_outputs(FEATURES, data, options)
    buckets = runner.broadcast(sorted(feats.aggregate(_buckets, _union, set(),
                                                      options.window_days)))
    grams = runner.union([grams, undated.map(_spread, buckets)])
    common_stems = stems.group_arrays(_pairs_of, _common, options.max_df).aggregate(
        _arrays, _concat, np.zeros(0, np.uint64))
    occ, common = grams.group_arrays(_pairs_of, _occurrences, options).map_multi(_tagged, 2)
    common_grams = common.aggregate(_arrays, _concat, np.zeros(0, np.uint64))
    boiler = outlet.group_arrays(_pairs_of, _common, options.boilerplate_min_docs - 1).aggregate(
        _arrays, _concat, np.zeros(0, np.uint64))
    ordered = occ.group_arrays(_occ_keys, _chains, options)
    candidates = [ordered.map(_cand, False)]
    if options.bag_levels > 0:
        posts = feats.map(_bag_postings, options, buckets)
        candidates.append(posts.group_arrays(_pairs_of, _bag_pairs, options).map(_cand, True))
    pairs = runner.union(candidates).group_arrays(_cand_keys, _distinct)
    marks = runner.broadcast((common_stems, common_grams, _outlet_keys(boiler)))
    found = runner.pairs(pairs, feats, _feat_n, _align, (options, marks))
    ctx.counts["reuse"] = {"candidates": pairs.count()}
    return {"passages": found.map(_reported, options)}


def _outlet_keys(boiler: np.ndarray) -> np.ndarray:
    return boiler


__all__ = ["OUTPUTS", "features_batch", "passages_of", "reuse_stage"]
