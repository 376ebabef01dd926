"""Benchmark: the whole `khabar run` command, from the JSONL file to the report, by size.

    python bench/run_scale.py [--sizes 4k,8k,16k,31k] [--workers 0] [--khabar-bin PATH]

Each size is one `khabar run CORPUS --out DIR` process (corpora from
bench/corpus.py: SaudiNewsNet dev, its first 4k/8k records, and dev read twice
or four times with shifted dates and one extra sentence per text).

* CPU s: user + system time of the whole process tree (from `os.wait4`, which
  counts every child the command waited for: the worker pool included).
* peak MB: the largest sum of resident memory over the process tree, sampled
  every 0.1 s from /proc (ru_maxrss would only give the largest single process).
* by stage: the CPU seconds each stage reports on stderr (the stage's own
  process and its workers), plus writing the data files.
* articles/CPU s: records read divided by the tree's CPU seconds.

The table is printed as Markdown (for the README) and saved as
bench/results/run_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from corpus import DEV, ensure  # noqa: E402

STAGE_LINE = re.compile(r"^(\w+): .*\(([\d.]+) s, ([\d.]+) CPU s\)$")
READ_LINE = re.compile(r"^read: (\d+) documents")


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and all its descendants, in MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_one(khabar_bin: str, corpus: Path, out: Path, workers: int) -> dict:
    cmd = [khabar_bin, "run", str(corpus), "--out", str(out), "--workers", str(workers)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_mb(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    err = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    stages: dict[str, float] = {}
    read = 0
    for line in err.splitlines():
        m = STAGE_LINE.match(line.strip())
        if m:
            stages[m.group(1)] = float(m.group(3))
        r = READ_LINE.match(line.strip())
        if r:
            read = int(r.group(1))
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": wall, "cpu_s": cpu, "peak_mb": peak[0], "articles": read,
            "per_cpu_s": read / cpu if cpu else 0.0, "stages": stages}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="4k,8k,16k,31k")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--khabar-bin", default=str(ROOT / ".venv" / "bin" / "khabar"))
    ap.add_argument("--corpora", type=Path, default=ROOT / "bench" / "results" / "corpora")
    ap.add_argument("--save", type=Path, default=ROOT / "bench" / "results" / "run_scale.json")
    args = ap.parse_args()
    if not DEV.exists():
        print(f"skipped: {DEV} is absent (the shared corpora are not part of the repository)")
        return 0
    results: dict[str, dict] = {}
    for size in args.sizes.split(","):
        corpus = ensure(size, args.corpora)
        with tempfile.TemporaryDirectory(prefix="khabar-run-scale-") as tmp:
            r = run_one(args.khabar_bin, corpus, Path(tmp) / "report", args.workers)
        results[size] = r
        # saved after every size: a long run stopped at 31k keeps the smaller sizes' figures
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(results, indent=2), "utf-8")
        print(f"{size}: {r['articles']} articles, {r['cpu_s']:.1f} CPU s, {r['wall_s']:.1f} s, "
              f"peak {r['peak_mb']:.0f} MB, {r['per_cpu_s']:.0f} articles/CPU s", flush=True)
    sizes = list(results)
    stage_names: list[str] = []
    for r in results.values():
        stage_names += [s for s in r["stages"] if s not in stage_names]
    print("\n| CPU s | " + " | ".join(sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for name in stage_names:
        print(f"| {name} | " + " | ".join(f"{results[s]['stages'].get(name, 0):.1f}"
                                          for s in sizes) + " |")
    print("| **whole process tree** | " + " | ".join(f"**{results[s]['cpu_s']:.1f}**"
                                                    for s in sizes) + " |")
    print("| articles per CPU s | " + " | ".join(f"{results[s]['per_cpu_s']:.0f}"
                                                for s in sizes) + " |")
    print("| peak memory (MB, tree) | " + " | ".join(f"{results[s]['peak_mb']:.0f}"
                                                   for s in sizes) + " |")
    if len(sizes) >= 2:
        a, b = sizes[-2], sizes[-1]
        print(f"\nCPU growth {a} → {b}: {results[b]['cpu_s'] / results[a]['cpu_s']:.2f}x for "
              f"{results[b]['articles'] / max(1, results[a]['articles']):.2f}x the articles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
