"""Precision of attributions and mentions, and the novelty threshold, measured.

    python bench/explain.py                 # precision from the labels + novelty measurements
    python bench/explain.py sample --n 200  # draw a fresh sample to label (to stdout)

1. **Precision** per kind, from `bench/data/explain-labels.jsonl`: items that
   khabar extracted from a seeded random sample of SaudiNewsNet dev articles
   (../shared/data/saudinewsnet/dev.jsonl.gz) and of the demo corpus, each
   judged correct or not by a reader of the Arabic (criteria below). The
   extraction is run again on the same articles; if any labelled item is no
   longer produced exactly (same document, offsets, kind and text), the labels
   are stale and the script stops with an error naming them, instead of
   reporting a figure about code that no longer exists. Items no longer
   extracted at all (a later rule filtered them out) leave the sample, and
   the script says how many and how many of them were labelled wrong.

   Criteria. An attribution is correct when its kind is right (a quotation in
   marks or after a colon is a quote, indirect speech a report, an agency or
   outlet named as a source a credit), its speaker is the right one (resolved
   pronouns and anaphors included; a missing speaker is wrong), and the quoted
   span is what is said (a few words of slack at the end are tolerated). A
   mention is correct when the span is a name of that kind, with at most a
   clitic or a quotation mark of slack at its edges.

2. **Novelty threshold**, on the 335 non-ambiguous labelled pairs of
   `dev-pairs.jsonl`: share of the later article's sentences marked repeated,
   by the readers' copy label (yes / partial / no), at several thresholds; and
   the Spearman correlation of the containment measure with the gold scores of
   SemEval-2017 STS Arabic (../shared/data/sts17-ar).

Results are printed and written to bench/results/explain.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SNN = SHARED / "saudinewsnet" / "dev.jsonl.gz"
PAIRS = SHARED / "saudinewsnet" / "dev-pairs.jsonl"
STS = SHARED / "sts17-ar"
DEMO = ROOT / "examples" / "demo"
LABELS = ROOT / "bench" / "data" / "explain-labels.jsonl"
RESULTS = ROOT / "bench" / "results" / "explain.json"
sys.path.insert(0, str(ROOT))

ATTRIBUTION_KINDS = ("quote", "report", "credit")
MENTION_KINDS = ("person", "place", "organization", "agency")
SEED = 20250611


def _snn_rows(ids: set[str] | None = None) -> dict[str, dict]:
    out = {}
    with gzip.open(SNN, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if (ids is None or r["id"] in ids) and (r.get("text") or "").strip():
                out[r["id"]] = r
    return out


def _documents(ids: set[str] | None, snn_sample: int | None = None):
    """SaudiNewsNet and demo documents by id (all of the demo; SNN by id or a seeded sample)."""
    from khabar.document import Document
    from khabar.io.readers import read

    rows = _snn_rows(ids)
    if snn_sample is not None:
        rng = random.Random(SEED)
        keys = sorted(rows)
        rows = {k: rows[k] for k in rng.sample(keys, min(snn_sample, len(keys)))}
    docs = [Document(id=k, text=r["text"], title=r.get("title"), source=r.get("source"))
            for k, r in sorted(rows.items())]
    docs += [d for d in sorted(read([str(DEMO)]), key=lambda d: d.id)
             if ids is None or d.id in ids]
    return docs


def extract(docs) -> list[dict]:
    """Every attribution and mention of `docs`, as label items (without judgement)."""
    from khabar.explain.attribution import attributions
    from khabar.explain.entities import mentions
    from khabar.text.view import prepare

    items = []
    for start in range(0, len(docs), 200):
        batch = docs[start:start + 200]
        for v, d in zip(prepare(batch), batch, strict=True):
            for a in attributions(v, d):
                text = f"{a.cue} | {a.speaker or '-'} | {(a.quote or '-')[:60]}"
                items.append({"doc": d.id, "start": a.start, "end": a.end, "kind": a.kind,
                              "text": text, "_context": _context(d.text, a.start, a.end)})
            for m in mentions(v, d):
                items.append({"doc": d.id, "start": m.start, "end": m.end, "kind": m.kind,
                              "text": m.text, "_context": _context(d.text, m.start, m.end)})
    return items


def _context(text: str, s: int, e: int, width: int = 160) -> str:
    return (text[max(0, s - width):s] + "⟦" + text[s:e] + "⟧" + text[e:e + width]).replace(
        "\n", " / ")


def sample(n: int, snn_articles: int = 400) -> None:
    """Print a seeded, kind-stratified sample of extracted items as JSONL (for labelling)."""
    items = extract(_documents(None, snn_sample=snn_articles))
    rng = random.Random(SEED)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for it in items:
        by_kind[it["kind"]].append(it)
    kinds = ATTRIBUTION_KINDS + MENTION_KINDS
    quota = {k: n // len(kinds) for k in kinds}
    for k in kinds[: n - sum(quota.values())]:
        quota[k] += 1
    out = []
    for k in kinds:
        pool = by_kind.get(k, [])
        out += rng.sample(pool, min(quota[k], len(pool)))
    for i, it in enumerate(out, 1):
        it = {"id": f"e{i:03d}", **it}
        print(json.dumps(it, ensure_ascii=False))


def precision() -> dict:
    labels = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()
              if line.strip()]
    docs = _documents({lab["doc"] for lab in labels})
    produced = {(it["doc"], it["start"], it["end"], it["kind"]): it["text"]
                for it in extract(docs)}
    now = {lab["id"]: produced.get((lab["doc"], lab["start"], lab["end"], lab["kind"]))
           for lab in labels}
    # an item no longer extracted at all was filtered out by a later rule: it leaves the
    # sample (what remains is still a random sample of what is extracted); an item that is
    # extracted differently has to be labelled again
    dropped = [lab for lab in labels if now[lab["id"]] is None]
    stale = [lab["id"] for lab in labels if now[lab["id"]] not in (None, lab["text"])]
    labels = [lab for lab in labels if now[lab["id"]] is not None]
    if stale:
        raise SystemExit(
            f"{len(stale)} labelled item(s) are no longer extracted as labelled: "
            f"{', '.join(stale[:20])}{' …' if len(stale) > 20 else ''}\n"
            "The extraction changed: relabel those items (python bench/explain.py sample) "
            "before quoting a precision.")
    table: dict[str, dict] = {}
    table["_dropped"] = {"n": len(dropped),
                         "labelled_wrong": sum(1 for lab in dropped if not lab["correct"]),
                         "ids": [lab["id"] for lab in dropped]}
    for group, kinds in (("attribution", ATTRIBUTION_KINDS), ("mention", MENTION_KINDS)):
        for k in (*kinds, group):
            sel = [lab for lab in labels
                   if lab["kind"] == k or (k == group and lab["kind"] in kinds)]
            for name, subset in ((k, sel),
                                 (f"{k} (SaudiNewsNet only)",
                                  [lab for lab in sel if lab["doc"].startswith("snn-")])):
                n = len(subset)
                ok = sum(1 for lab in subset if lab["correct"])
                table[name] = {"n": n, "correct": ok, "precision": ok / n if n else None,
                               "wilson95": _wilson(ok, n)}
    return table


def _wilson(k: int, n: int, z: float = 1.96) -> list[float] | None:
    """95% Wilson score interval of a proportion (samples of ~30 are wide: say so)."""
    if n == 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return [round(centre - half, 2), round(centre + half, 2)]


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
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    sp = sub.add_parser("sample", help="print a fresh sample to label")
    sp.add_argument("--n", type=int, default=200)
    sp.add_argument("--articles", type=int, default=400)
    ap.add_argument("--no-novelty", action="store_true", help="skip the novelty measurements")
    args = ap.parse_args()
    if not SNN.exists():
        raise SystemExit(f"{SNN} is absent: the measurements need ../shared")
    if args.cmd == "sample":
        sample(args.n, args.articles)
        return
    table = precision()
    dropped = table.pop("_dropped")
    if dropped["n"]:
        print(f"{dropped['n']} labelled items are no longer extracted (filtered by later rules; "
              f"{dropped['labelled_wrong']} of them were labelled wrong): "
              f"{', '.join(dropped['ids'])}")
    print(f"{'kind':36} {'n':>4} {'correct':>8} {'precision':>9}  95% interval")
    for name, row in table.items():
        p = "-" if row["precision"] is None else f"{row['precision']:.2f}"
        ci = "" if row["wilson95"] is None else "{:.2f}-{:.2f}".format(*row["wilson95"])
        print(f"{name:36} {row['n']:4d} {row['correct']:8d} {p:>9}  {ci}")
    result = {"precision": table, "dropped": dropped}
    if not args.no_novelty:
        nov = novelty_measurements()
        print("\nnovelty: share of the later article's sentences marked repeated, by copy label")
        for k, v in nov.items():
            print(f"  {k}: {v}")
        result["novelty"] = nov
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
