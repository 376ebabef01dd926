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
from typing import Any

import numpy as np
import scipy.sparse as sp

from khabar.corpus import Article
from khabar.dups.lsh import pairs_in_groups
from khabar.engine import Dataset, cogroup
from khabar.reuse.align import align_pair
from khabar.reuse.direction import FORMULAIC, decide
from khabar.reuse.features import DocFeatures, _Lexicon, features_from_view
from khabar.reuse.fingerprints import CHAIN_STEP, bag_scales, window_starts
from khabar.reuse.hashing import _mix
from khabar.reuse.kinds import COPY
from khabar.reuse.options import ReuseOptions
from khabar.reuse.passage import Passage, passage_key
from khabar.reuse.phrases import NO_DAY, NO_OUTLET, PhraseTables, day_of, outlet_key
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
_DF = np.dtype([("n", np.int64), ("pos", np.int32), ("df", np.int32)])
_PHRASE = np.dtype([("outlet", np.uint64), ("day", np.int64)])


def member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Which `values` are in `sorted_set` (sorted, distinct): one binary search each, where
    `np.isin` would sort both arrays on every call."""
    if not len(sorted_set) or not len(values):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def _by(keys: np.ndarray, values: np.ndarray, *fields: str) -> tuple[np.ndarray, np.ndarray]:
    """Keys and values sorted by key, then by the given value fields."""
    order = np.lexsort((*tuple(values[f] for f in reversed(fields)), keys))
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
    grams, undated, stems = [], [], []
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
    return feats, grams, undated, stems


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


# -- 2. document frequencies ----------------------------------------------------------------------


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
    starts, _sizes = _runs(keys)
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


def _phrase_keys(batch: list[DocFeatures], *_: Any) -> tuple[np.ndarray, np.ndarray]:
    """n-gram -> (outlet, day) once per article holding it (keyed counts, see `phrases`)."""
    keys, values = [np.zeros(0, np.uint64)], [np.zeros(0, _PHRASE)]
    for f in batch:
        g = np.unique(f.grams)
        v = np.zeros(len(g), dtype=_PHRASE)
        v["outlet"], v["day"] = outlet_key(f.source), day_of(f.ts)
        keys.append(g)
        values.append(v)
    return np.concatenate(keys), np.concatenate(values)


def _phrase_tables(keys: np.ndarray, values: np.ndarray, options: ReuseOptions
                   ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The formula n-grams (many outlets on many days, or more than `max_df` articles) and
    the (outlet, n-gram) pairs an outlet repeats in `boilerplate_min_docs` articles."""
    keys, values = _by(keys, values, "outlet", "day")
    starts, sizes = _runs(keys)
    if not len(starts):
        return []
    outlet, day = values["outlet"], values["day"]
    new_outlet = np.concatenate([[True], (keys[1:] != keys[:-1]) | (outlet[1:] != outlet[:-1])])
    outlets = np.add.reduceat((new_outlet & (outlet != NO_OUTLET)).astype(np.int64), starts)
    order = np.lexsort((day, keys))
    k2, d2 = keys[order], day[order]
    new_day = np.concatenate([[True], (k2[1:] != k2[:-1]) | (d2[1:] != d2[:-1])])
    days = np.add.reduceat((new_day & (d2 != NO_DAY)).astype(np.int64), starts)
    wide = ((outlets >= options.formula_outlets) & (days >= options.formula_days)) | (
        sizes > options.max_df)
    out = [("formula", keys[starts[wide]], np.zeros(0, np.uint64))]
    # (n-gram, outlet) runs: rows are sorted by outlet inside an n-gram
    run = np.flatnonzero(new_outlet)
    count = np.diff(np.append(run, len(keys)))
    own = (count >= options.boilerplate_min_docs) & (outlet[run] != NO_OUTLET)
    out.append(("own", keys[run[own]], outlet[run[own]]))
    return out


def _tables_of(batch: list[tuple[str, np.ndarray, np.ndarray]]
               ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    return ([g for t, g, _ in batch if t == "formula"], [g for t, g, _ in batch if t == "own"],
            [o for t, _, o in batch if t == "own"])


def _concat_tables(a: tuple[list, list, list], b: tuple[list, list, list]
                   ) -> tuple[list, list, list]:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def phrase_tables(tables: tuple[list, list, list]) -> PhraseTables:
    formula = np.unique(np.concatenate(tables[0])) if tables[0] else np.zeros(0, np.uint64)
    grams = np.concatenate(tables[1]) if tables[1] else np.zeros(0, np.uint64)
    outlets = np.concatenate(tables[2]) if tables[2] else np.zeros(0, np.uint64)
    order = np.lexsort((grams, outlets))
    return PhraseTables(formula, outlets[order], grams[order])


# -- 3. ordered candidates ------------------------------------------------------------------------


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
    # how many articles of the bucket carry each n-gram an article holds at home (the
    # direction rule "phrasing" asks which side's phrases occur elsewhere)
    df_all = np.repeat(docs, sizes)
    home = values["home"] & (df_all >= 2)
    if home.any():
        rec = np.zeros(int(home.sum()), dtype=_DF)
        rec["n"], rec["pos"], rec["df"] = values["n"][home], values["pos"][home], df_all[home]
        out.append(("df", rec))
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


def _tagged(batch: list[tuple[str, np.ndarray]]
            ) -> tuple[list[np.ndarray], list[np.ndarray], list[tuple[int, np.ndarray]]]:
    dfs = [a for tag, a in batch if tag == "df"]
    per_doc: list[tuple[int, np.ndarray]] = []
    if dfs:
        rec = np.concatenate(dfs)
        rec = rec[np.argsort(rec["n"], kind="stable")]
        starts, _ = _runs(rec["n"])
        for part in np.split(rec, starts[1:]):
            per_doc.append((int(part["n"][0]), part))
    return ([a for tag, a in batch if tag == "occ"], [a for tag, a in batch if tag == "common"],
            per_doc)


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
    return [np.unique(code[first[np.minimum(wa, wb) >= options.core_words]])]


# -- 4. bag candidates ----------------------------------------------------------------------------

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
    for lo, hi in _product_chunks(x, xt):
        prod = (x[lo:hi] @ xt).tocoo()
        m = prod.data >= need
        ra, rb = prod.row[m] + lo, prod.col[m]
        da, db = windows[ra] >> 20, windows[rb] >> 20
        ta, tb = w_ts[ra], w_ts[rb]
        near = np.isnan(ta) | np.isnan(tb) | (np.abs(ta - tb) <= options.window_days * DAY)
        ok = (da < db) & near & (w_home[ra] | w_home[rb])
        found.append((da[ok] << 32) | db[ok])
    return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)


PRODUCT_BUDGET = 4_000_000
"""Most (window, window) products one step of the bag index computes at once: what a
chunk of rows of the incidence matrix times its transpose may hold, so that the memory
of a bucket's product stays the same however many articles the bucket has."""


def _product_chunks(x: sp.csr_matrix, xt: sp.csr_matrix) -> list[tuple[int, int]]:
    """Row ranges of `x` whose products with `xt` hold at most `PRODUCT_BUDGET` entries
    each (bounded from above: every stem of a row meets every window that has it); a single
    row over the budget is a range of its own."""
    per_row = x @ np.diff(xt.indptr).astype(np.int64)
    ends = np.cumsum(per_row)
    out, lo, base = [], 0, 0
    while lo < len(per_row):
        hi = int(np.searchsorted(ends, base + PRODUCT_BUDGET, side="right"))
        hi = max(hi, lo + 1)
        out.append((lo, hi))
        base = int(ends[hi - 1])
        lo = hi
    return out


# -- 5. candidates and alignment ------------------------------------------------------------------


def _cand(batch: list[np.ndarray], bag: bool) -> list[np.ndarray]:
    codes = np.concatenate(batch) if batch else np.zeros(0, np.int64)
    out = np.zeros(len(codes), dtype=_CAND)
    out["code"], out["bag"] = codes, bag
    return [out]


def _cand_keys(batch: list[np.ndarray], *_: Any) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate(batch) if batch else np.zeros(0, _CAND)
    return rows["code"].astype(np.uint64), rows


def _distinct(keys: np.ndarray, rows: np.ndarray, *_: Any) -> list[tuple[int, int, bool]]:
    starts, _sizes = _runs(keys)
    bag = np.logical_or.reduceat(rows["bag"], starts) if len(starts) else np.zeros(0, bool)
    codes = rows["code"][starts]
    return [(c >> 32, c & 0xFFFFFFFF, b) for c, b in zip(codes.tolist(), bag.tolist(),
                                                          strict=True)]


def _feat_n(f: DocFeatures) -> int:
    return f.n


def _marked(f: DocFeatures, marks: Any, options: ReuseOptions) -> DocFeatures:
    """Rarity, formula and boilerplate marks of one article, from the corpus-wide tables."""
    if f.rare is not None:
        return f
    common_stems, common_grams, tables = marks.value
    f.rare = ~member(f.stems, common_stems)
    f.gram_rare = ~member(f.grams, common_grams)
    f.gram_shared = f.gram_rare
    tables.mark(f, options.ngram)
    return f


def _with_df(n: int, sides: list[list[Any]]) -> list[DocFeatures]:
    """An article's features with the document frequency of each of its n-grams."""
    feats, dfs = sides
    if not feats:
        return []
    f = feats[0]
    df = np.ones(len(f.grams), dtype=np.int32)
    for rec in dfs:
        df[rec["pos"]] = rec["df"]
    f.gram_df = df
    return [f]


def _feat_key(batch: list[DocFeatures]) -> list[tuple[int, DocFeatures]]:
    return [(f.n, f) for f in batch]


def _df_key(batch: list[tuple[int, np.ndarray]]) -> list[tuple[int, np.ndarray]]:
    return batch


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
    # one long sentence): one passage per character range, a copy before anything else,
    # then the best-scoring, reuse before boilerplate on a tie.
    best: dict[tuple[int, int, int, int], Any] = {}
    for x in aligned:
        key = (x.a_start, x.a_end, x.b_start, x.b_end)
        old = best.get(key)
        if old is None or _rank(x) > _rank(old):
            best[key] = x
    aligned = [best[k] for k in sorted(best)]
    # only copied text says who copied whom: boilerplate, templates and formulas are
    # shared without anyone copying anyone
    real = [x for x in aligned if x.kind == COPY and not x.boilerplate]
    source, rule = decide(fa, fb, [x.a_content for x in real], [x.b_content for x in real])
    out = []
    for x in aligned:
        src, why = (source, rule) if x.kind == COPY and not x.boilerplate else (None, FORMULAIC)
        if fa.id < fb.id:
            out.append(Passage(fa.id, x.a_start, x.a_end, fb.id, x.b_start, x.b_end, x.score,
                               src, why, x.a_sentences, x.b_sentences, x.boilerplate, x.kind))
        else:
            out.append(Passage(fb.id, x.b_start, x.b_end, fa.id, x.a_start, x.a_end, x.score,
                               src, why, x.b_sentences, x.a_sentences, x.boilerplate, x.kind))
    return out


def _rank(x: Any) -> tuple[bool, float, bool]:
    return (x.kind == COPY and not x.boilerplate, x.score, not x.boilerplate)


def keep(p: Passage, options: ReuseOptions) -> bool:
    """Is `p` reported under `options`? Copies always; boilerplate with
    `include_boilerplate`; other templates and formulas with `include_formulaic`."""
    if p.boilerplate:
        return options.include_boilerplate
    return p.kind == COPY or options.include_formulaic


def _reported(batch: list[Passage], options: ReuseOptions) -> list[Passage]:
    return [p for p in batch if keep(p, options)]


OUTPUTS = (Output("passages", "passages.jsonl", Passage, passage_key),)


FEATURES = ArticleStep(("reuse_features", "reuse_grams", "reuse_undated", "reuse_stems"),
                       features_batch)


@stage("reuse", params=ReuseOptions, requires=("articles",), optional=FEATURES.outputs,
       provides=("passages",), outputs=OUTPUTS, article=FEATURES)
def reuse_stage(ctx: Context, data: dict[str, Dataset], options: ReuseOptions
                ) -> dict[str, Dataset]:
    """Passages two articles share, with offsets, direction and boilerplate flags."""
    runner = ctx.runner
    feats, grams, undated, stems = article_outputs(FEATURES, data, options)
    buckets = runner.broadcast(sorted(feats.aggregate(_buckets, _union, set(),
                                                      options.window_days)))
    grams = runner.union([grams, undated.map(_spread, buckets)])
    common_stems = stems.group_arrays(_pairs_of, _common, options.max_df).aggregate(
        _arrays, _concat, np.zeros(0, np.uint64))
    occ, common, dfs = grams.group_arrays(_pairs_of, _occurrences, options).map_multi(_tagged, 3)
    common_grams = common.aggregate(_arrays, _concat, np.zeros(0, np.uint64))
    tables = phrase_tables(feats.group_arrays(_phrase_keys, _phrase_tables, options).aggregate(
        _tables_of, _concat_tables, ([], [], [])))
    ordered = occ.group_arrays(_occ_keys, _chains, options)
    candidates = [ordered.map(_cand, False)]
    if options.bag_levels > 0:
        posts = feats.map(_bag_postings, options, buckets)
        candidates.append(posts.group_arrays(_pairs_of, _bag_pairs, options).map(_cand, True))
    pairs = runner.union(candidates).group_arrays(_cand_keys, _distinct)
    marks = runner.broadcast((common_stems, common_grams, tables))
    with_df = cogroup([feats, dfs], [_feat_key, _df_key], _with_df)
    found = runner.pairs(pairs, with_df, _feat_n, _align, (options, marks))
    ctx.counts["reuse"] = {"candidates": pairs.count()}
    return {"passages": found.map(_reported, options)}


__all__ = ["OUTPUTS", "features_batch", "passages_of", "reuse_stage"]
