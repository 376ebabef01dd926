"""Ingest throughput: read -> repair -> normalize -> tokenize, and the text layer alone.

    python bench/ingest.py [--data PATH] [--batch 500]

Measures on SaudiNewsNet (../shared/data/saudinewsnet/dev.jsonl.gz):

1. the whole front of the pipeline, streaming from the gzip file: documents/s,
   MB/s of text (UTF-8), characters/s;
2. normalize + tokenize with offsets kept (token spans mapped back to the
   original), single core, in characters/s, next to plain
   ``re.findall(r"\\w+")`` over the same texts in the same run (the ceiling);
3. peak memory (max RSS of a fresh subprocess) for the streaming pipeline over
   the corpus once and over the corpus four times in a row: streaming means the
   two peaks are about equal.

Results are printed and written to bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "saudinewsnet" / "dev.jsonl.gz"
sys.path.insert(0, str(ROOT))


def _batches(it, size):
    batch = []
    for x in it:
        batch.append(x)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def pipeline(path: Path, batch: int, repeat: int = 1) -> dict:
    """Stream the file through read, repair, normalize, tokenize (offsets mapped)."""
    from khabar.io.readers import read
    from khabar.text.view import prepare

    docs = chars = nbytes = tokens = 0
    t0 = time.perf_counter()
    for _ in range(repeat):
        for group in _batches(read([path]), batch):
            for v in prepare(group):
                v.token_spans_original()
                tokens += len(v.tokens)
            docs += len(group)
            chars += sum(len(d.text) for d in group)
            nbytes += sum(len(d.text.encode("utf-8")) for d in group)
    dt = time.perf_counter() - t0
    return {"docs": docs, "chars": chars, "bytes": nbytes, "tokens": tokens, "seconds": dt,
            "docs_per_s": docs / dt, "mb_per_s": nbytes / dt / 1e6, "chars_per_s": chars / dt}


def text_layer(path: Path, batch: int, rounds: int = 3) -> dict:
    """Normalize + tokenize + offsets back to the original, vs re.findall, CPU time."""
    from khabar.io.readers import read
    from khabar.text.normalize import get_normalizer
    from khabar.text.tokenize import tokenize_many

    texts = [d.text for d in read([path])]
    n_chars = sum(map(len, texts))
    norm = get_normalizer()
    tokenize_many(["warm up"])
    word = re.compile(r"\w+")
    best_k = best_re = 0.0
    for _ in range(rounds):
        t = time.process_time()
        for i in range(0, len(texts), batch):
            chunk = texts[i : i + batch]
            normed = norm.normalize_many(chunk)
            for (_, m), toks in zip(normed, tokenize_many([n for n, _ in normed]), strict=True):
                if len(toks):
                    m.spans(toks.starts, toks.ends)
        best_k = max(best_k, n_chars / (time.process_time() - t))
        t = time.process_time()
        for x in texts:
            word.findall(x)
        best_re = max(best_re, n_chars / (time.process_time() - t))
    return {"chars": n_chars, "khabar_chars_per_s": best_k, "findall_chars_per_s": best_re,
            "ratio": best_k / best_re}


def peak_rss(path: Path, batch: int, repeat: int) -> float:
    """Max RSS (MB) of a fresh process streaming the corpus `repeat` times."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.ingest import pipeline; "
        f"from pathlib import Path; pipeline(Path({str(path)!r}), {batch}, {repeat})"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-c", code], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    if not args.data.exists():
        print(f"skipped: {args.data} is absent (the shared corpora are not in the repository)")
        return
    res = {"data": str(args.data), "batch": args.batch}
    res["pipeline"] = pipeline(args.data, args.batch)
    res["text_layer"] = text_layer(args.data, args.batch)
    # separate processes, smallest first, so each max RSS is its own
    res["peak_rss_mb_1x"] = peak_rss(args.data, args.batch, 1)
    res["peak_rss_mb_4x"] = peak_rss(args.data, args.batch, 4)

    p, t = res["pipeline"], res["text_layer"]
    print(f"corpus: {p['docs']:,} documents, {p['chars'] / 1e6:.1f} M characters, "
          f"{p['bytes'] / 1e6:.1f} MB UTF-8, {p['tokens']:,} tokens")
    print("read -> repair -> normalize -> tokenize (streaming from .jsonl.gz, one core):")
    print(f"  {p['docs_per_s']:,.0f} documents/s, {p['mb_per_s']:.1f} MB/s, "
          f"{p['chars_per_s'] / 1e6:.1f} M chars/s")
    print("normalize + tokenize with offsets kept (CPU time, best of 3, one core):")
    print(f"  khabar  {t['khabar_chars_per_s'] / 1e6:.1f} M chars/s")
    print(f"  re.findall(r'\\w+')  {t['findall_chars_per_s'] / 1e6:.1f} M chars/s "
          f"(khabar at {t['ratio']:.0%} of it)")
    print(f"peak memory: {res['peak_rss_mb_1x']:.0f} MB for the corpus once, "
          f"{res['peak_rss_mb_4x']:.0f} MB for it four times in a row")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
