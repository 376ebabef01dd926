"""The novelty threshold, measured.

    python bench/explain.py

On the 335 non-ambiguous labelled pairs of `dev-pairs.jsonl`: the share of the
later article's sentences marked repeated, by the readers' copy label (yes /
partial / no), at several thresholds; and the Spearman correlation of the
containment measure with the gold scores of SemEval-2017 STS Arabic
(../shared/data/sts17-ar).

Who says what (attributions, credits, mentions) is measured against the gold
standard of careful readers by `bench/attributions.py`. The hand labels this
script used to read were written against the extractor's own output, so they
overstated its precision; they are retired.

Results are printed and written to bench/results/explain.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SNN = SHARED / "saudinewsnet" / "dev.jsonl.gz"
PAIRS = SHARED / "saudinewsnet" / "dev-pairs.jsonl"
STS = SHARED / "sts17-ar"
RESULTS = ROOT / "bench" / "results" / "explain.json"
sys.path.insert(0, str(ROOT))


def _snn_rows(ids: set[str]) -> dict[str, dict]:
    out = {}
    with gzip.open(SNN, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["id"] in ids and (r.get("text") or "").strip():
                out[r["id"]] = r
    return out


def novelty_measurements() -> dict:
    from khabar.document import Document
    from khabar.explain.novelty import NoveltyParams, build_units, containment, novelty
    from khabar.text.view import prepare

    out: dict = {}
    if PAIRS.exists() and SNN.exists():
        pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
        pairs = [p for p in pairs if not p.get("ambiguous")]
        rows = _snn_rows({p["a"] for p in pairs} | {p["b"] for p in pairs})
        docs = {i: Document(id=i, text=r["text"]) for i, r in rows.items()}
        views = dict(zip(docs, prepare(list(docs.values())), strict=True))
        for th in (0.5, 0.6, 0.7, 0.8):
            prm = NoveltyParams(threshold=th)
            rep: Counter = Counter()
            tot: Counter = Counter()
            for p in pairs:
                if p["a"] not in docs or p["b"] not in docs:
                    continue
                a, b = docs[p["a"]], docs[p["b"]]
                later = max(a.id, b.id)  # undated here: story order is by id
                marks = novelty([views[a.id], views[b.id]], [a, b], params=prm)[later]
                rep[p["copy"]] += sum(1 for m in marks if m.status == "repeated")
                tot[p["copy"]] += len(marks)
            out[f"pairs@{th}"] = {k: round(rep[k] / tot[k], 3) for k in sorted(tot)}
    if (STS / "STS.input.track1.ar-ar.txt").exists():
        from scipy.stats import spearmanr

        lines = (STS / "STS.input.track1.ar-ar.txt").read_text(encoding="utf-8-sig").splitlines()
        gold = [float(x) for x in (STS / "STS.gs.track1.ar-ar.txt").read_text().split()]
        sents = [s for line in lines for s in line.split("\t")]
        docs2 = [Document(id=str(i), text=t) for i, t in enumerate(sents)]
        units = build_units(prepare(docs2))
        scores = []
        for i in range(len(lines)):
            ra, rb = list(units.rows(2 * i)), list(units.rows(2 * i + 1))
            if not ra or not rb:
                scores.append(0.0)
                continue
            scores.append(max(containment(units, ra, rb).max(), containment(units, rb, ra).max()))
        out["sts17_spearman"] = round(float(spearmanr(scores, gold).statistic), 3)
    return out


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    if not PAIRS.exists():
        raise SystemExit(f"{PAIRS} is absent: the measurements need ../shared")
    nov = novelty_measurements()
    print("novelty: share of the later article's sentences marked repeated, by copy label")
    for k, v in nov.items():
        print(f"  {k}: {v}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"novelty": nov}, ensure_ascii=False, indent=2),
                       encoding="utf-8")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
