"""Benchmark corpora of 4k to 62k articles built honestly from SaudiNewsNet dev.

    python bench/corpus.py --out bench/results/corpora        # writes 1k, 4k, … 31k, 62k

SaudiNewsNet dev (../shared) has 16,327 records from 9 days, in date order.

* ``1k`` / ``4k`` / ``8k`` are its first 1,000 / 4,000 / 8,000 records: the first days, so the
  density of news per day is that of the real collection.
* ``16k`` is all of dev.
* ``31k`` is dev and dev read a second time: every id suffixed with ``#2``,
  every date moved 12 days later (after the last day of dev, so the copy reads
  as twelve more days of news rather than as a burst on the same days), and
  every text given one extra sentence of its own (a number and five words
  drawn with a seeded generator from the collection's vocabulary), so no copy
  is an exact duplicate of its original.
* ``62k`` is dev read four times the same way (shifts of 12, 24 and 36 days).

Records without text stay (they are part of what a user's input holds).
The files are JSONL, gzip-compressed like the original.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "saudinewsnet" / "dev.jsonl.gz"
SIZES = {"1k": (1000, 1), "4k": (4000, 1), "8k": (8000, 1), "16k": (None, 1), "31k": (None, 2),
         "62k": (None, 4)}
SHIFT_DAYS = 12
SEED = 20261203


def load(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def vocabulary(records: list[dict], limit: int = 20000) -> list[str]:
    counts: dict[str, int] = {}
    for r in records[:3000]:
        for w in (r.get("text") or "").split():
            if w.isalpha() and len(w) > 3:
                counts[w] = counts.get(w, 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))[:limit]


def shifted(record: dict, copy: int, rng: random.Random, words: list[str]) -> dict:
    out = dict(record)
    out["id"] = f"{record['id']}#{copy + 1}"
    if record.get("date"):
        try:
            when = datetime.strptime(record["date"], "%Y-%m-%d %H:%M:%S")
            out["date"] = (when + timedelta(days=SHIFT_DAYS * copy)).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            pass
    if record.get("text"):
        extra = " ".join(rng.choice(words) for _ in range(5))
        out["text"] = f"{record['text']}\nوبلغ الرقم {rng.randrange(10**6, 10**7)} {extra}."
    return out


def build(records: list[dict], size: str, out_dir: Path) -> Path:
    limit, copies = SIZES[size]
    rng = random.Random(SEED)
    words = vocabulary(records)
    path = out_dir / f"saudinewsnet-{size}.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=4) as fh:
        base = records[:limit] if limit else records
        for copy in range(copies):
            for r in base:
                rec = r if copy == 0 else shifted(r, copy, rng, words)
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def ensure(size: str, out_dir: Path) -> Path:
    """The corpus of `size`, built when missing (for the other bench scripts)."""
    path = out_dir / f"saudinewsnet-{size}.jsonl.gz"
    if not path.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        build(load(DEV), size, out_dir)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "corpora")
    ap.add_argument("--sizes", default=",".join(SIZES))
    args = ap.parse_args()
    if not DEV.exists():
        print(f"skipped: {DEV} is absent (the shared corpora are not part of the repository)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    records = load(DEV)
    for size in args.sizes.split(","):
        path = build(records, size, args.out)
        with gzip.open(path, "rt") as fh:
            print(f"{size}: {path} ({sum(1 for _ in fh)} records)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
