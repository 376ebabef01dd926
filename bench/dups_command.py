"""Benchmark: the whole `khabar dups` command against rensa's and datasketch's whole process.

    python bench/dups_command.py [--sizes 16k,31k] [--tools khabar,rensa,datasketch]
                                 [--repeat 2] [--workers 0]

What a user runs, from the JSONL file to the pairs on disk, each tool in its
own process:

* khabar: ``khabar dups CORPUS --out DIR`` (pairs, clusters and short
  documents written; every pair verified on the real shingle sets).
* rensa / datasketch: a script that reads the same file, normalizes each text
  the usual cheap way (harakat and tatweel removed, alef forms folded, `\\w+`
  tokens), builds word 5-gram shingles, MinHash with 128 permutations, LSH at
  threshold 0.8 (rensa: 16 bands; datasketch: its own choice), keeps the
  candidates whose MinHash estimate is ≥ 0.8 and writes them as JSONL.

"CPU s" is user + system time of the process and its children (from
`os.wait4`), steadier than wall time on a shared machine; both are shown, with
peak memory (the process tree's largest resident set). Quality: recall and
precision of each tool's pairs against every pair whose sets of word 5-gram
shingles (khabar's normalized tokens) have Jaccard ≥ 0.8, found exhaustively.
Results go to bench/results/dups_command.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from corpus import DEV, ensure  # noqa: E402

THRESHOLD = 0.8
NUM_PERM = 128

PEER = r'''
import gzip, json, re, sys
path, out, tool = sys.argv[1], sys.argv[2], sys.argv[3]
fold = {c: None for c in range(0x064B, 0x0660)}
fold.update({0x0670: None, 0x0640: None, 0x0623: 0x0627, 0x0625: 0x0627, 0x0622: 0x0627,
             0x0649: 0x064A})
word = re.compile(r"\w+")
ids, shingles = [], []
with gzip.open(path, "rt", encoding="utf-8") as fh:
    for line in fh:
        rec = json.loads(line)
        toks = word.findall((rec.get("text") or "").translate(fold).lower())
        if len(toks) < 10:
            continue
        ids.append(str(rec["id"]))
        shingles.append([" ".join(toks[i:i + 5]) for i in range(len(toks) - 4)])
pairs = []
if tool == "rensa":
    import rensa
    mhs = rensa.RMinHash.from_token_sets(shingles, 128, 1)
    lsh = rensa.RMinHashLSH(0.8, 128, 16)
    lsh.insert_many(mhs)
    for i, js in enumerate(lsh.query_all(mhs)):
        for j in js:
            if j > i and mhs[i].jaccard(mhs[j]) >= 0.8:
                pairs.append((ids[i], ids[j]))
else:
    from datasketch import MinHash, MinHashLSH
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    mhs = []
    for i, sh in enumerate(shingles):
        m = MinHash(num_perm=128, seed=1)
        m.update_batch([s.encode("utf-8") for s in sh])
        mhs.append(m)
        lsh.insert(i, m)
    for i, m in enumerate(mhs):
        for j in lsh.query(m):
            if j > i and m.jaccard(mhs[j]) >= 0.8:
                pairs.append((ids[i], ids[j]))
with open(out, "w", encoding="utf-8") as fh:
    for a, b in sorted((min(p), max(p)) for p in pairs):
        fh.write(json.dumps({"a": a, "b": b}, ensure_ascii=False) + "\n")
'''


def run_tool(tool: str, corpus: Path, tmp: Path, workers: int, khabar_bin: str) -> dict:
    out = tmp / tool
    out.mkdir(exist_ok=True)
    if tool == "khabar":
        cmd = [khabar_bin, "dups", str(corpus), "--out", str(out),
               "--quiet", "--workers", str(workers)]
        pairs_file = out / "pairs.jsonl"
    else:
        pairs_file = out / "pairs.jsonl"
        cmd = [sys.executable, "-c", PEER, str(corpus), str(pairs_file), tool]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{tool} failed: {err[-2000:]}")
    pairs = set()
    with open(pairs_file, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            pairs.add((row["a"], row["b"]))
    return {"tool": tool, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024, "pairs": pairs}


def truth(corpus: Path) -> set[tuple[str, str]]:
    """Every pair with Jaccard ≥ 0.8 on khabar's normalized word 5-gram sets (exhaustive)."""
    import numpy as np
    import scipy.sparse as sp

    from khabar.dups.shingles import batch_shingles

    ids, rows, cols = [], [], []
    texts: list[tuple[str, str]] = []
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            texts.append((str(rec["id"]), rec.get("text") or ""))
    vocab: dict[int, int] = {}
    for start in range(0, len(texts), 1000):
        chunk = texts[start:start + 1000]
        sh = batch_shingles([t for _, t in chunk], "word", 5)
        for k, (doc_id, _) in enumerate(chunk):
            if sh.tokens[k] < 10:
                continue
            hs = np.unique(sh.hashes[sh.offsets[k]:sh.offsets[k + 1]])
            row = len(ids)
            ids.append(doc_id)
            for h in hs.tolist():
                cols.append(vocab.setdefault(h, len(vocab)))
                rows.append(row)
    m = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                      shape=(len(ids), len(vocab)))
    sizes = np.asarray(m.sum(axis=1)).ravel()
    out = set()
    for start in range(0, len(ids), 2000):
        inter = (m[start:start + 2000] @ m.T).tocoo()
        a = inter.row + start
        keep = inter.col > a
        a, b, v = a[keep], inter.col[keep], inter.data[keep]
        jac = v / (sizes[a] + sizes[b] - v)
        for i, j in zip(a[jac >= THRESHOLD].tolist(), b[jac >= THRESHOLD].tolist(), strict=True):
            out.add((min(ids[i], ids[j]), max(ids[i], ids[j])))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="16k,31k")
    ap.add_argument("--tools", default="khabar,rensa,datasketch")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--khabar-bin", default=str(ROOT / ".venv" / "bin" / "khabar"),
                    help="the khabar command to time (e.g. another checkout's, to compare)")
    ap.add_argument("--corpora", type=Path, default=ROOT / "bench" / "results" / "corpora")
    args = ap.parse_args()
    if not DEV.exists():
        print(f"skipped: {DEV} is absent (the shared corpora are not part of the repository)")
        return 0
    results = []
    for size in args.sizes.split(","):
        corpus = ensure(size, args.corpora)
        gold = truth(corpus)
        best: dict[str, dict] = {}
        with tempfile.TemporaryDirectory(prefix="khabar-bench-") as tmp:
            for _ in range(args.repeat):
                for tool in args.tools.split(","):
                    r = run_tool(tool, corpus, Path(tmp), args.workers, args.khabar_bin)
                    if tool not in best or r["cpu_s"] < best[tool]["cpu_s"]:
                        best[tool] = r
        print(f"\n{size}: {corpus.name}, {len(gold)} pairs with Jaccard ≥ {THRESHOLD}")
        print(f"{'tool':<11} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} {'recall':>7} "
              f"{'precision':>9} {'pairs':>7}")
        for tool, r in best.items():
            found = r.pop("pairs")
            hit = len(found & gold)
            r.update(size=size, recall=hit / max(len(gold), 1),
                     precision=hit / max(len(found), 1), found=len(found))
            results.append(r)
            print(f"{tool:<11} {r['wall_s']:7.1f} {r['cpu_s']:7.1f} {r['peak_mb']:8.0f} "
                  f"{r['recall']:7.4f} {r['precision']:9.4f} {r['found']:7d}")
        if "khabar" in best:
            k = best["khabar"]
            for peer in ("rensa", "datasketch"):
                if peer in best:
                    p = best[peer]
                    print(f"khabar vs {peer}: {p['wall_s'] / k['wall_s']:.1f}x wall, "
                          f"{p['cpu_s'] / k['cpu_s']:.1f}x CPU")
    out = ROOT / "bench" / "results" / "dups_command.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
