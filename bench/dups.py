"""Benchmark: khabar duplicates vs datasketch and rensa, against exhaustive exact Jaccard.

    python bench/dups.py [--data ../shared/data/saudinewsnet/dev.jsonl.gz] [--workers 2]
                         [--repeat 3] [--tools khabar,rensa,datasketch]

Every tool starts from the same texts in memory and ends with a list of
document pairs; the timed span covers everything in between. datasketch and
rensa are given the same normalized tokens as khabar (khabar's text layer,
timed as part of their run) and the same word 5-gram shingles (Python strings,
built in their timed run); documents under 10 tokens are left out for them as
khabar leaves them out. Both peers report their LSH candidates filtered by
their own MinHash estimate of Jaccard ≥ 0.8 (the usual way to get pairs above
a threshold from them; their raw candidates are scored too).

Ground truth: every pair of documents (10 tokens or more) whose sets of word
5-gram strings have Jaccard ≥ 0.8, found exhaustively with a sparse matrix
product. Containment ground truth: pairs where one set has ≥ 80% of its
shingles in the other.

Each tool runs in its own subprocess; peak memory is that process's peak
resident set (VmHWM: it starts afresh at exec, unlike ru_maxrss), with the
resident set after the texts were loaded ("base") beside it. khabar's workers
are threads, so its process holds everything. "CPU s" is user + system time of
the process and any children: on a shared machine it is steadier than the
wall time. `--repeat N` runs N rounds over all tools and keeps each tool's
fastest. Results are printed as a table and written to bench/results/dups.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "saudinewsnet" / "dev.jsonl.gz"
THRESHOLD = 0.8
NUM_PERM = 128
MIN_TOKENS = 10
SHINGLE = 5
SEED = 1

TOOLS = {
    "khabar": "khabar (default: Jaccard + containment)",
    "khabar-jaccard": "khabar (containment off)",
    "khabar-1w": "khabar (1 worker)",
    "rensa": "rensa RMinHash + RMinHashLSH (16 bands)",
    "datasketch": "datasketch MinHash + MinHashLSH (default bands)",
    "datasketch-16x8": "datasketch MinHash + MinHashLSH (16×8 bands)",
}


def load_texts(path: Path, limit: int | None) -> list[str]:
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line).get("text") or "")
            if limit and len(texts) >= limit:
                break
    return texts


def normalized_tokens(texts: list[str]) -> list[list[str]]:
    """The normalized tokens every tool works on (khabar's text layer, in batches)."""
    from khabar.text.normalize import get_normalizer
    from khabar.text.tokenize import tokenize_many

    normalizer = get_normalizer()
    out: list[list[str]] = []
    for i in range(0, len(texts), 1000):
        normed = [t for t, _ in normalizer.normalize_many(texts[i : i + 1000])]
        out.extend(t.strings for t in tokenize_many(normed))
    return out


def string_shingles(tokens: list[str]) -> list[str]:
    return [" ".join(w) for w in zip(*(tokens[k:] for k in range(SHINGLE)), strict=False)]


# -- the tools, each run inside its own subprocess -------------------------------------------


def run_khabar(texts: list[str], workers: int, containment: float) -> dict:
    from khabar.dups import DupParams, find_duplicates

    params = DupParams(threshold=THRESHOLD, containment=containment, num_perm=NUM_PERM,
                       min_tokens=MIN_TOKENS, seed=SEED)
    result = find_duplicates(texts, params, workers=workers)
    # khabar lists edges (each copy against its group's representative); the peers list
    # every pair above the threshold: compared on every pair the edges stand for
    pairs = [(int(p.a), int(p.b), p.jaccard, max(p.containment_a_in_b, p.containment_b_in_a))
             for p in result.all_pairs()]
    return {"pairs": pairs, "candidates": result.stats.get("candidates", 0),
            "bands": list(params.band_rows())}


def _peer_input(texts: list[str]) -> tuple[list[int], list[list[str]]]:
    tokens = normalized_tokens(texts)
    keep = [i for i, t in enumerate(tokens) if len(t) >= MIN_TOKENS]
    return keep, [string_shingles(tokens[i]) for i in keep]


def run_rensa(texts: list[str]) -> dict:
    import rensa

    keep, shingles = _peer_input(texts)
    bands = 16
    mhs = rensa.RMinHash.from_token_sets(shingles, NUM_PERM, SEED)
    lsh = rensa.RMinHashLSH(THRESHOLD, NUM_PERM, bands)
    lsh.insert_many(mhs)
    found = lsh.query_all(mhs)
    candidates = {(i, j) for i, js in enumerate(found) for j in js if j > i}
    pairs = [(keep[i], keep[j], mhs[i].jaccard(mhs[j])) for i, j in candidates]
    return _peer_result(pairs)


def run_datasketch(texts: list[str], params: tuple[int, int] | None) -> dict:
    from datasketch import MinHash, MinHashLSH

    keep, shingles = _peer_input(texts)
    mhs = MinHash.bulk([[s.encode("utf-8") for s in sh] for sh in shingles],
                       num_perm=NUM_PERM, seed=SEED)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=params)
    with lsh.insertion_session() as session:
        for i, m in enumerate(mhs):
            session.insert(i, m)
    pairs = []
    for i, m in enumerate(mhs):
        for j in lsh.query(m):
            if j > i:
                pairs.append((keep[i], keep[j], m.jaccard(mhs[j])))
    return _peer_result(pairs)


def _peer_result(candidates: list[tuple[int, int, float]]) -> dict:
    return {"pairs": [(a, b, est, est) for a, b, est in candidates if est >= THRESHOLD],
            "raw": [(a, b) for a, b, _ in candidates], "candidates": len(candidates)}


def sketch_memory(texts: list[str]) -> dict:
    """Bytes of khabar's sketches per document, and a million of them held in memory."""
    from khabar.dups import DupParams
    from khabar.dups.core import SketchTable
    from khabar.dups.sketch import sketch_texts

    params = DupParams()
    batches = [sketch_texts(texts[i : i + 1000], params) for i in range(0, len(texts), 1000)]
    table = SketchTable.concat(batches, params.num_perm)
    parts = {"signatures": table.signatures.nbytes, "samples": table.samples.nbytes,
             "sample_offsets": table.sample_offsets.nbytes, "exact": table.exact.nbytes,
             "tokens": table.tokens.nbytes, "new": table.new.nbytes}
    per_doc = sum(parts.values()) / len(texts)
    before = _rss_now()
    million = 1_000_000
    reps = -(-million // len(texts))
    held = SketchTable(
        np.resize(table.tokens, million), np.resize(table.exact, (million, 16)),
        np.resize(table.signatures, (million, params.num_perm)),
        np.tile(table.samples, reps), np.zeros(million + 1, np.int64),
        np.ones(million, dtype=bool))
    held.signatures[0, 0] ^= 1  # touch the arrays so their pages are resident
    after = _rss_now()
    return {"bytes_per_doc": per_doc, "parts_per_doc": {k: v / len(texts) for k, v in
                                                        parts.items()},
            "projected_1m_mb": per_doc * million / 2**20,
            "measured_1m_mb": (after - before) / 2**20}


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _hwm() -> int:
    """This process's peak resident memory in bytes (VmHWM: unlike ru_maxrss, it starts
    afresh at exec, so the benchmark parent's own memory is not counted)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(tool: str, data: Path, limit: int | None, workers: int, out: Path) -> None:
    texts = load_texts(data, limit)
    if tool == "memory":
        out.write_text(json.dumps(sketch_memory(texts)))
        return
    # one-time tables of the text layer, shared by every tool, are built before timing
    normalized_tokens(["تهيئة"])
    base = _hwm()
    cpu0 = _cpu()
    t0 = time.perf_counter()
    if tool == "khabar":
        res = run_khabar(texts, workers, THRESHOLD)
    elif tool == "khabar-jaccard":
        res = run_khabar(texts, workers, 0.0)
    elif tool == "khabar-1w":
        res = run_khabar(texts, 1, THRESHOLD)
    elif tool == "rensa":
        res = run_rensa(texts)
    elif tool == "datasketch":
        res = run_datasketch(texts, None)
    elif tool == "datasketch-16x8":
        res = run_datasketch(texts, (16, 8))
    else:
        raise SystemExit(f"unknown tool {tool}")
    res["seconds"] = time.perf_counter() - t0
    res["cpu_seconds"] = _cpu() - cpu0
    res["docs"] = len(texts)
    res["rss_base_mb"] = base / 2**20
    res["rss_peak_mb"] = _hwm() / 2**20
    # forked workers count the pages they share with this process too: an upper bound
    res["workers_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out.write_text(json.dumps(res))


# -- ground truth and scoring -----------------------------------------------------------------


def ground_truth(texts: list[str]) -> dict:
    import scipy.sparse as sp

    tokens = normalized_tokens(texts)
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    sizes = np.zeros(len(texts), dtype=np.int64)
    for i, toks in enumerate(tokens):
        if len(toks) < MIN_TOKENS:
            continue
        ids = {vocab.setdefault(s, len(vocab)) for s in string_shingles(toks)}
        sizes[i] = len(ids)
        rows.extend([i] * len(ids))
        cols.extend(ids)
    x = sp.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)),
                      shape=(len(texts), len(vocab)))
    df = np.asarray(x.sum(axis=0)).ravel()
    x = x[:, df > 1].tocsr()  # a shingle in one document cannot be shared
    c = sp.triu(x @ x.T, k=1).tocoo()
    a, b, inter = c.row, c.col, c.data.astype(np.float64)
    jac = inter / (sizes[a] + sizes[b] - inter)
    cont = inter / np.minimum(sizes[a], sizes[b])
    small = np.minimum(np.array([len(t) for t in tokens])[a], np.array([len(t) for t in
                                                                        tokens])[b])
    return {
        "jaccard": {(int(p), int(q)) for p, q in zip(a[jac >= THRESHOLD], b[jac >= THRESHOLD],
                                                     strict=True)},
        "containment": {(int(p), int(q)): int(s) for p, q, s in
                        zip(a[cont >= THRESHOLD], b[cont >= THRESHOLD],
                            small[cont >= THRESHOLD], strict=True)},
        "eligible": int((sizes > 0).sum()),
    }


def score(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> tuple[float, float]:
    hit = len(found & truth)
    return hit / max(len(truth), 1), hit / max(len(found), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None, help="first N documents only")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds over all tools; each tool's fastest run is reported")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.data, args.limit, args.workers, args.out)
        return
    if not args.data.exists():
        raise SystemExit(f"{args.data}: not found (the shared corpora live in ../shared)")
    texts = load_texts(args.data, args.limit)
    print(f"{len(texts)} documents from {args.data}", flush=True)
    truth = ground_truth(texts)
    print(f"ground truth: {len(truth['jaccard'])} pairs with Jaccard ≥ {THRESHOLD}, "
          f"{len(truth['containment'])} with containment ≥ {THRESHOLD} "
          f"({truth['eligible']} documents of {MIN_TOKENS}+ tokens)", flush=True)
    results: dict[str, dict] = {}
    tools = args.tools.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        # rounds over all tools, keeping each tool's fastest run: load from other
        # processes on a shared machine then hits every tool alike
        for round_ in range(args.repeat):
            for tool in [*tools, *(["memory"] if round_ == 0 else [])]:
                out = Path(tmp) / f"{tool}.json"
                cmd = [sys.executable, __file__, "--child", tool, "--data", str(args.data),
                       "--workers", str(args.workers), "--out", str(out)]
                if args.limit:
                    cmd += ["--limit", str(args.limit)]
                subprocess.run(cmd, check=True)
                res = json.loads(out.read_text())
                if tool != "memory":
                    print(f"  {tool}: {res['seconds']:.2f} s", flush=True)
                    res["runs"] = [*results.get(tool, {}).get("runs", []), res["seconds"]]
                    if tool in results and results[tool]["seconds"] <= res["seconds"]:
                        results[tool]["runs"] = res["runs"]
                        continue
                results[tool] = res

    rows = []
    for tool, res in results.items():
        if tool == "memory":
            continue
        pairs = {(min(a, b), max(a, b)) for a, b, j, _ in res["pairs"] if j >= THRESHOLD}
        recall, precision = score(pairs, truth["jaccard"])
        row = {"tool": TOOLS[tool], "seconds": res["seconds"], "runs": res["runs"],
               "cpu_seconds": res["cpu_seconds"],
               "docs_per_s": res["docs"] / res["seconds"], "recall": recall,
               "precision": precision, "pairs": len(pairs), "candidates": res["candidates"],
               "peak_mb": res["rss_peak_mb"], "workers_peak_mb": res["workers_peak_mb"],
               "base_mb": res["rss_base_mb"]}
        if "raw" in res:
            raw = {(min(a, b), max(a, b)) for a, b in res["raw"]}
            row["raw_recall"], row["raw_precision"] = score(raw, truth["jaccard"])
        if tool.startswith("khabar"):
            every = {(min(a, b), max(a, b)) for a, b, _, _ in res["pairs"]}
            cont = truth["containment"]
            row["containment_recall"] = len(every & set(cont)) / max(len(cont), 1)
            by_size = {}
            for lo, hi in ((10, 50), (50, 100), (100, 300), (300, 10**9)):
                group = {p for p, s in cont.items() if lo <= s < hi}
                by_size[f"{lo}-{hi if hi < 10**9 else ''}"] = (
                    len(every & group) / max(len(group), 1), len(group))
            row["containment_recall_by_smaller_tokens"] = by_size
            # every reported pair must really pass one of the two tests
            row["all_pairs_verified"] = all(j >= THRESHOLD or c >= THRESHOLD
                                            for _, _, j, c in res["pairs"])
            row["bands"] = res.get("bands")
        rows.append(row)

    print()
    print("| tool | docs/s | time s | CPU s | recall | precision | peak MB (base; workers) | "
          "candidates |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        extra = f"; +{r['workers_peak_mb']:.0f}" if r["workers_peak_mb"] else ""
        print(f"| {r['tool']} | {r['docs_per_s']:,.0f} | {r['seconds']:.2f} | "
              f"{r['cpu_seconds']:.2f} | {r['recall']:.4f} | {r['precision']:.4f} | "
              f"{r['peak_mb']:.0f} ({r['base_mb']:.0f}{extra}) | {r['candidates']:,} |")
    print()
    for r in rows:
        if "raw_recall" in r:
            print(f"{r['tool']}: raw LSH candidates recall {r['raw_recall']:.4f}, "
                  f"precision {r['raw_precision']:.4f}")
        if "containment_recall" in r:
            sizes = ", ".join(f"{k}: {v[0]:.3f} of {v[1]}" for k, v in
                              r["containment_recall_by_smaller_tokens"].items())
            print(f"{r['tool']}: containment ≥ {THRESHOLD} recall "
                  f"{r['containment_recall']:.4f} (by tokens of the smaller: {sizes}); "
                  f"all pairs verified: {r['all_pairs_verified']}; bands×rows {r['bands']}")
    by = {r["tool"]: r for r in rows}
    k, rn, ds = TOOLS["khabar"], TOOLS["rensa"], TOOLS["datasketch"]
    if k in by and rn in by and ds in by:
        print(f"khabar speed: {by[k]['docs_per_s'] / by[rn]['docs_per_s']:.1f}× rensa, "
              f"{by[k]['docs_per_s'] / by[ds]['docs_per_s']:.1f}× datasketch")
    mem = results["memory"]
    print(f"sketch memory: {mem['bytes_per_doc']:.0f} bytes per document "
          f"({', '.join(f'{k} {v:.0f}' for k, v in mem['parts_per_doc'].items())}); "
          f"1M documents: {mem['projected_1m_mb']:.0f} MB projected, "
          f"{mem['measured_1m_mb']:.0f} MB measured")
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "dups.json").write_text(json.dumps(
        {"data": str(args.data), "documents": len(texts), "workers": args.workers,
         "truth_jaccard": len(truth["jaccard"]), "truth_containment": len(truth["containment"]),
         "rows": rows, "memory": mem}, indent=2, ensure_ascii=False))
    print(f"written {out_dir / 'dups.json'}")


if __name__ == "__main__":
    main()
