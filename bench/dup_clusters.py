"""Benchmark: huge clusters of copies, through `khabar dups` and `khabar report`.

    python bench/dup_clusters.py [--sizes 1000,2000,10000] [--kinds exact,near]
                                 [--real 300] [--code DIR] [--skip-report]

One real article of SaudiNewsNet dev (../shared) is copied N times, each copy
with its own id, outlet, date and URL, among `--real` other real articles of
the corpus. Copies are either `exact` (the very same text) or `near` (each with
a dateline line of its own, so no two are identical and every one is a near
duplicate of every other).

Measured, each command in its own process, for every N:

* `khabar dups INPUT --out DIR` (the whole command: reading, a temporary
  database, repair, sketches, candidates, verification, files): wall time, CPU
  seconds (user + system of that process), peak resident memory, the rows and
  bytes of pairs.jsonl;
* `khabar report --db DB --out DIR` over a database where the copies make one
  story (the stories stage is bypassed: the copies are written as one stored
  story, the case the stories stage has to produce): wall time, CPU seconds,
  peak memory, the size of the story page. Exact copies only (near copies are
  different texts: the report shows each).

Linear growth shows as a constant cost per copy: the table gives CPU seconds
and megabytes per 1,000 copies above the smallest size, between consecutive
sizes. `--code DIR` runs the commands with the khabar found in DIR (e.g. a
checkout of an older revision) for a before/after comparison; the input files
are made by this checkout. Results are printed and written to
bench/results/dup_clusters.json.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "saudinewsnet" / "dev.jsonl.gz"
sys.path.insert(0, str(ROOT))


def load(path: Path, real: int) -> tuple[dict, list[dict]]:
    """The article to copy (the first of 150 words or more) and `real` others after it."""
    picked: dict | None = None
    others: list[dict] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            text = rec.get("text") or ""
            if picked is None:
                if len(text.split()) >= 150:
                    picked = rec
                continue
            if text.strip():
                others.append(rec)
            if len(others) >= real:
                break
    if picked is None:
        raise SystemExit(f"{path}: no article of 150 words")
    return picked, others


def write_input(path: Path, article: dict, others: list[dict], n: int, kind: str) -> None:
    day = datetime(2015, 7, 21, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for k in range(n):
            text = article["text"]
            if kind == "near":
                # a dateline of its own: every copy differs from every other in a few words
                text = f"الرياض - {k} - واس\n{text}"
            # an outlet of its own per copy: an outlet repeating one text in many of its
            # articles has it removed as boilerplate by the repair step
            rec = {"id": f"copy-{k:05d}", "source": f"outlet-{k:05d}",
                   "date": (day + timedelta(seconds=7 * k)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "url": f"https://outlet-{k:05d}.example/news/1", "title": article.get("title"),
                   "text": text}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        for k, rec in enumerate(others):
            out.write(json.dumps({"id": f"real-{k:05d}", "source": rec.get("source"),
                                  "date": rec.get("date"), "title": rec.get("title"),
                                  "text": rec["text"]}, ensure_ascii=False) + "\n")


def measure(cmd: list[str], env: dict[str, str]) -> dict:
    """Wall time, CPU seconds and peak memory of one command, in its own process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024, "stdout": out.strip()[-300:]}


def one_story(db: Path, code: Path | None) -> None:
    """Write the copies as one stored story (and every other article as its own)."""
    script = f"""
import sys
sys.path.insert(0, {str(code or ROOT)!r})
from khabar.store import Store
from khabar.stories import db as storydb
from khabar.stories.result import Story, StoryResult
with Store({str(db)!r}) as store:
    storydb.declare(store)
    rows = store.db.execute("SELECT id, source FROM documents ORDER BY ts, id").fetchall()
    copies = [i for i, _ in rows if i.startswith("copy-")]
    stories = [Story(1, "copies", None, None, copies, [1.0] * len(copies),
                     sorted({{s for i, s in rows if i.startswith("copy-")}}))]
    for k, (i, s) in enumerate(r for r in rows if not r[0].startswith("copy-")):
        stories.append(Story(k + 2, i, None, None, [i], [1.0], [s] if s else []))
    numbers = dict(store.db.execute("SELECT id, n FROM documents").fetchall())
    storydb.save(store, StoryResult(stories), numbers)
"""
    subprocess.run([sys.executable, "-c", script], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sizes", default="1000,2000,10000")
    ap.add_argument("--kinds", default="exact,near")
    ap.add_argument("--real", type=int, default=300, help="real articles around the copies")
    ap.add_argument("--code", type=Path, default=None,
                    help="run the commands with the khabar package found in this directory")
    ap.add_argument("--skip-report", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if not args.data.exists():
        print(f"{args.data}: not found (the shared corpora live in ../shared); skipped")
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    article, others = load(args.data, args.real)
    env = dict(os.environ)
    # the code directory first on the path: it wins over an installed (editable) khabar
    boot = f"import sys; sys.path.insert(0, {str(args.code or ROOT)!r}); "
    khabar = [sys.executable, "-c", boot + "from khabar.cli import main; main(sys.argv[1:])"]
    used = subprocess.run([sys.executable, "-c", boot + "import khabar; print(khabar.__file__)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    print(f"copies of one article of {len(article['text'].split())} words, among "
          f"{len(others)} real articles; code: {used}", flush=True)
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="khabar-bench-") as tmp:
        for kind in kinds:
            for n in sizes:
                work = Path(tmp) / f"{kind}-{n}"
                work.mkdir()
                src = work / "in.jsonl"
                write_input(src, article, others, n, kind)
                row: dict = {"kind": kind, "copies": n, "documents": n + len(others)}
                dups = measure([*khabar, "dups", str(src), "--out", str(work / "dups"),
                                "--workers", str(args.workers), "--quiet"], env)
                pairs = work / "dups" / "pairs.jsonl"
                with pairs.open("rb") as f:
                    dups["pairs"] = sum(1 for _ in f)
                dups["pairs_mb"] = pairs.stat().st_size / 2**20
                row["dups"] = dups
                print(f"{kind} {n}: dups {dups['seconds']:.1f} s, {dups['cpu_seconds']:.1f} "
                      f"CPU s, {dups['peak_mb']:.0f} MB, {dups['pairs']} pairs", flush=True)
                if kind == "exact" and not args.skip_report:
                    db = work / "k.db"
                    row["ingest"] = measure([*khabar, "ingest", str(src), "--db", str(db),
                                             "--quiet"], env)
                    one_story(db, args.code)
                    rep = measure([*khabar, "report", "--db", str(db), "--out",
                                   str(work / "report"), "--quiet"], env)
                    pages = sorted((work / "report" / "stories").glob("*.html"),
                                   key=lambda p: p.stat().st_size)
                    rep["largest_page_mb"] = pages[-1].stat().st_size / 2**20
                    rep["pages"] = len(pages)
                    row["report"] = rep
                    print(f"{kind} {n}: report {rep['seconds']:.1f} s, "
                          f"{rep['cpu_seconds']:.1f} CPU s, {rep['peak_mb']:.0f} MB, largest "
                          f"page {rep['largest_page_mb']:.2f} MB", flush=True)
                results.append(row)

    print()
    print("| copies | kind | dups CPU s | dups peak MB | pairs | pairs.jsonl MB "
          "| report CPU s | report peak MB | story page MB |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        rep = r.get("report")
        tail = (f"{rep['cpu_seconds']:.1f} | {rep['peak_mb']:.0f} | {rep['largest_page_mb']:.3f}"
                if rep else "– | – | –")
        d = r["dups"]
        print(f"| {r['copies']:,} | {r['kind']} | {d['cpu_seconds']:.1f} | {d['peak_mb']:.0f} "
              f"| {d['pairs']:,} | {d['pairs_mb']:.2f} | {tail} |")
    print()
    print("Growth per 1,000 more copies, between consecutive sizes (constant = linear):")
    for kind in kinds:
        rows = [r for r in results if r["kind"] == kind]
        for a, b in itertools.pairwise(rows):
            k = (b["copies"] - a["copies"]) / 1000
            parts = [f"dups {(b['dups']['cpu_seconds'] - a['dups']['cpu_seconds']) / k:.2f} CPU s, "
                     f"{(b['dups']['peak_mb'] - a['dups']['peak_mb']) / k:.1f} MB"]
            if "report" in a and "report" in b:
                parts.append(
                    f"report {(b['report']['cpu_seconds'] - a['report']['cpu_seconds']) / k:.2f}"
                    f" CPU s, {(b['report']['peak_mb'] - a['report']['peak_mb']) / k:.1f} MB")
            print(f"  {kind} {a['copies']:,} -> {b['copies']:,}: " + "; ".join(parts))
    out = ROOT / "bench" / "results" / "dup_clusters.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"code": used, "results": results}, indent=1))
    print(f"written {out}")


if __name__ == "__main__":
    main()
