"""Benchmark: `khabar serve` under load, on 127.0.0.1 only, with bounded request loops.

    python bench/serve.py [--articles 3000] [--batch 250] [--interval 20] [--clients 8]

What a newsroom's use looks like: articles arrive in batches (POSTed at a steady
rate, one batch every `--interval` seconds) while `--clients` readers search
without pause. Measured:

* search latency (p50/p95, ms) with one client, then the clients, searching while
  nothing arrives (idle, after a first batch), and while the batches stream in (loaded);
* seconds from a POST's answer to its articles being in their story
  (`GET /api/articles/{id}` shows a story), p50/p95 over every article (each batch is
  looked at through its last article every half second, then its others once);
* sustained ingest: articles analysed per wall second, from the first POST to
  the last article in its story; and the CPU seconds of the server (searches, ingest)
  and of the analysis worker, per article, with the machine's load average (on a
  shared machine wall times depend on it; CPU seconds much less).

Articles: SaudiNewsNet (`../shared/data/saudinewsnet/dev.jsonl.gz`, in its order).
Every request goes to a server this script starts on a free loopback port and
stops at the end; each loop is bounded by a count and a deadline. Results go to
bench/results/serve.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "saudinewsnet" / "dev.jsonl.gz"
QUERIES = ["وزارة الصحة", "الرياض", "ولي العهد", "مجلس الوزراء", "النفط", "الأمير",
           "المملكة", "مستشفى", '"الأمن العام"', "الحوثيين OR اليمن", "السعودية -النفط",
           "التعليم", "المرور", "جدة", "الاتفاق النووي", "أسعار"]
MAX_SEARCHES = 200_000


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the server process and of its children (the analysis worker)."""
    from khabar.pipeline import _proc_cpu, children_cpu

    return _proc_cpu(pid), children_cpu(pid)


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def story_of(url: str, doc: str) -> Any:
    return get(url + "api/articles/" + urllib.parse.quote(doc, safe=""))["story"]


def post(url: str, rows: list[dict]) -> dict:
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    req = urllib.request.Request(url + "api/articles", data=body, method="POST",
                                 headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


class Searchers:
    """`n` clients searching in a loop until stopped; latencies in ms."""

    def __init__(self, url: str, n: int) -> None:
        self.url = url
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.errors = 0
        self.threads = [threading.Thread(target=self._run, args=(k,), daemon=True)
                        for k in range(n)]

    def _run(self, k: int) -> None:
        i = k
        while not self.stop.is_set() and len(self.latencies) < MAX_SEARCHES:
            q = QUERIES[i % len(QUERIES)]
            i += 1
            t = time.perf_counter()
            try:
                get(self.url + "api/search?" + urllib.parse.urlencode({"q": q, "limit": 20}))
                self.latencies.append((time.perf_counter() - t) * 1000)
            except OSError:
                self.errors += 1

    def run_for(self, seconds: float) -> list[float]:
        self.start()
        time.sleep(seconds)
        return self.finish()

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> list[float]:
        self.stop.set()
        for t in self.threads:
            t.join(60)
        return self.latencies


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--interval", type=float, default=20.0,
                    help="seconds between two POSTed batches")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--idle-seconds", type=float, default=15.0)
    ap.add_argument("--deadline", type=float, default=3600.0,
                    help="give up waiting for the analysis after this many seconds")
    args = ap.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} is absent (the shared data sits beside the project)")
        return 0
    sys.path.insert(0, str(ROOT))
    from khabar.service.server import Running

    rows = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if (r.get("text") or "").strip():
                rows.append({k: r.get(k) for k in ("id", "title", "source", "date", "url",
                                                   "text")})
            if len(rows) >= args.articles + args.batch:
                break
    warm, stream = rows[:args.batch], rows[args.batch:args.batch + args.articles]
    out: dict[str, Any] = {"articles": len(stream), "batch": args.batch,
                           "interval": args.interval, "clients": args.clients}
    with tempfile.TemporaryDirectory(prefix="khabar-bench-serve-") as tmp:
        srv = Running(Path(tmp) / "bench.db")
        try:
            url = srv.url
            job = post(url, warm)["job"]
            while not get(url + f"api/jobs/{job}")["done"]:
                time.sleep(0.5)
            single = Searchers(url, 1).run_for(args.idle_seconds / 3)
            out["idle_search_ms_one_client"] = {"p50": pct(single, 0.5),
                                                "p95": pct(single, 0.95),
                                                "requests": len(single)}
            idle = Searchers(url, args.clients).run_for(args.idle_seconds)
            out["idle_search_ms"] = {"p50": pct(idle, 0.5), "p95": pct(idle, 0.95),
                                     "requests": len(idle)}
            cpu0 = tree_cpu(srv.proc.pid)
            load0 = list(os.getloadavg())
            loaded = Searchers(url, args.clients)
            loaded.start()
            visible: dict[str, float] = {}
            answered: dict[str, float] = {}
            first = time.monotonic()
            pending: list[list[str]] = []
            posted = 0
            deadline = first + args.deadline
            next_post = first
            while time.monotonic() < deadline:
                now = time.monotonic()
                if posted < len(stream) and now >= next_post:
                    chunk = stream[posted:posted + args.batch]
                    post(url, chunk)
                    t = time.monotonic()
                    for r in chunk:
                        answered[r["id"]] = t
                    pending.append([r["id"] for r in chunk])
                    posted += len(chunk)
                    next_post += args.interval
                # one request per POSTed batch and look: its last article (a batch is
                # placed in one transaction, or two when it straddles two of the worker's);
                # once that is in its story, the others of the batch are looked at once
                still = []
                for chunk in pending:
                    last = chunk[-1]
                    if story_of(url, last) is None:
                        still.append(chunk)
                        continue
                    t = time.monotonic()
                    rest = [d for d in chunk[:-1] if story_of(url, d) is None]
                    for d in chunk:
                        if d not in rest:
                            visible[d] = t - answered[d]
                    if rest:
                        still.append(rest)
                pending = still
                if posted >= len(stream) and not pending:
                    break
                time.sleep(0.5)
            wall = time.monotonic() - first
            lat = loaded.finish()
            cpu1 = tree_cpu(srv.proc.pid)
            server_cpu, worker_cpu = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
            cpu = server_cpu + worker_cpu
            out["loaded_search_ms"] = {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95),
                                       "requests": len(lat), "errors": loaded.errors}
            seen = list(visible.values())
            out["post_to_story_s"] = {"p50": pct(seen, 0.5), "p95": pct(seen, 0.95),
                                      "articles": len(seen),
                                      "missing": sum(len(c) for c in pending)}
            out["ingest"] = {"wall_s": round(wall, 1),
                             "articles_per_s": round(len(seen) / wall, 2),
                             "server_cpu_s": round(server_cpu, 1),
                             "worker_cpu_s": round(worker_cpu, 1),
                             "worker_cpu_s_per_article": round(worker_cpu / max(len(seen), 1),
                                                               4),
                             "cpu_s_per_article": round(cpu / max(len(seen), 1), 4)}
            out["load_average"] = {"start": load0, "end": list(os.getloadavg())}
            out["stats"] = get(url + "api/stats")
        finally:
            srv.stop()
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "serve.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(out, indent=1, ensure_ascii=False))
    print(f"search p95: idle {out['idle_search_ms']['p95']:.0f} ms, loaded "
          f"{out['loaded_search_ms']['p95']:.0f} ms; POST->story p50/p95 "
          f"{out['post_to_story_s']['p50']:.1f}/{out['post_to_story_s']['p95']:.1f} s; "
          f"{out['ingest']['articles_per_s']} articles/s sustained")
    return 0


if __name__ == "__main__":
    sys.exit(main())
