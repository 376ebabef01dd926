"""Benchmark: khabar reuse on AraPlagDet (PAN measures) and on SaudiNewsNet (labelled pairs).

    python bench/reuse.py [--araplagdet ../shared/data/araplagdet]
                          [--news ../shared/data/saudinewsnet] [--workers 2]
                          [--tools khabar,khabar-1w,khabar-ordered] [--sweep] [--no-news]

**AraPlagDet** (570 source + 300 suspicious documents, PAN annotations) is
read as ONE corpus: khabar is not told which documents are suspicious or which
pairs to compare; it finds the pairs itself. From the passages it reports, the
ones linking a suspicious and a source document are written as PAN detection
files from the suspicious document's viewpoint and scored with khabar's PAN
measures (macro precision and recall, granularity, plagdet; recall per
obfuscation type). The timed span is everything from the file names to the
passages: reading, text layer, candidate search, alignment. Also reported:
how many true (suspicious, source) pairs are among the candidate pairs.

There is no other open text-alignment tool to run beside it, so the peers are
khabar variants: `khabar` (default, `--workers` processes), `khabar-1w` (one
process: the cost of the work itself), `khabar-ordered` (the bag index off:
what the reordered-word channel adds).

`--sweep` re-runs alignment (features computed once) with each parameter
moved away from its default, to show the result does not hinge on a value
fitted to this corpus.

**News reuse check**: all of SaudiNewsNet dev (16,111 articles) as one corpus;
for the labelled pairs of `dev-pairs.jsonl`, the share linked by at least one
non-boilerplate passage, by `copy` label (yes / partial should be linked, no
should not), with and without the pairs the labellers marked ambiguous; and
the same counting only passages that start within the first 1,800 characters
of both articles, the part the labellers were shown.

Each run is its own subprocess; peak memory is that process's VmHWM plus the
largest worker (RUSAGE_CHILDREN). "CPU s" is user + system of the process and
its workers. Results are printed and written to bench/results/reuse.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TOOLS = {
    "khabar": "khabar reuse (default options)",
    "khabar-1w": "khabar reuse, one process",
    "khabar-ordered": "khabar reuse, bag index off (bag_levels=0)",
}
VISIBLE = 1800
"""The labellers saw the first 1800 characters of each article (LABELING.md)."""
SWEEP = {
    "min_words": [6, 10, 12],
    "max_gap": [4, 12, 16],
    "max_df": [25, 100],
    "min_coverage": [0.4, 0.6],
    "bag_min": [4, 8],
    "bag_window": [48, 96],
}


def _hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _is_pair(a: str, b: str) -> tuple[str, str] | None:
    """(suspicious, source) when the two ids are one of each, else None."""
    if a.startswith("suspicious") and b.startswith("source"):
        return a, b
    if b.startswith("suspicious") and a.startswith("source"):
        return b, a
    return None


# -- children ---------------------------------------------------------------------------------


def child_araplagdet(data: Path, tool: str, workers: int, out: Path, sweep: bool) -> None:
    from khabar.io.readers import read
    from khabar.reuse.api import features, passages_from_features
    from khabar.reuse.fingerprints import candidate_pairs
    from khabar.reuse.options import ReuseOptions

    options = ReuseOptions(bag_levels=0) if tool == "khabar-ordered" else ReuseOptions()
    w = 1 if tool == "khabar-1w" else workers
    t0, c0 = time.perf_counter(), _cpu()
    docs = list(read([data / "source-documents", data / "suspicious-documents"]))
    t_read = time.perf_counter()
    feats = features(docs, options, w)
    t_feat = time.perf_counter()
    passages = passages_from_features(feats, options, w)
    t_end, c_end = time.perf_counter(), _cpu()
    res = {
        "tool": tool, "documents": len(docs), "seconds": t_end - t0, "cpu": c_end - c0,
        "read_s": t_read - t0, "features_s": t_feat - t_read, "passages_s": t_end - t_feat,
        "peak_mb": _hwm_mb(),
        "workers_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "passages": len(passages), "boilerplate": sum(p.boilerplate for p in passages),
        "detections": [_detection(p) for p in passages
                       if not p.boilerplate and _is_pair(p.a, p.b)],
    }
    # candidate pairs (already computed inside; recomputed here outside the timed span)
    cand = candidate_pairs(feats, options)
    ids = [f.id for f in feats]
    res["candidates"] = len(cand)
    res["candidate_pairs"] = [
        list(pair) for i, j in zip(cand.i.tolist(), cand.j.tolist(), strict=True)
        if (pair := _is_pair(ids[i], ids[j]))
    ]
    if sweep:
        res["sweep"] = []
        for name, values in SWEEP.items():
            for value in values:
                opt = ReuseOptions(**{name: value})
                t = time.perf_counter()
                found = passages_from_features(feats, opt, w)
                res["sweep"].append({
                    "param": name, "value": value, "seconds": time.perf_counter() - t,
                    "detections": [_detection(p) for p in found
                                   if not p.boilerplate and _is_pair(p.a, p.b)],
                })
    out.write_text(json.dumps(res), encoding="utf-8")


def _detection(p) -> list:
    """[suspicious id, offset, length, source id, offset, length] of a passage."""
    if p.a.startswith("suspicious"):
        return [p.a, p.a_start, p.a_end - p.a_start, p.b, p.b_start, p.b_end - p.b_start]
    return [p.b, p.b_start, p.b_end - p.b_start, p.a, p.a_start, p.a_end - p.a_start]


def child_news(data: Path, workers: int, out: Path) -> None:
    from khabar.io.readers import read
    from khabar.reuse import ReuseOptions, find_reuse

    t0, c0 = time.perf_counter(), _cpu()
    docs = list(read([data / "dev.jsonl.gz"]))
    passages = find_reuse(docs, ReuseOptions(include_boilerplate=True), workers=workers)
    t_end, c_end = time.perf_counter(), _cpu()
    # per linked pair: passages that are reuse, boilerplate, and reuse starting within the
    # first VISIBLE characters of both texts (what the labellers were shown)
    linked: dict[tuple[str, str], list[int]] = {}
    for p in passages:
        row = linked.setdefault((p.a, p.b), [0, 0, 0])
        row[1 if p.boilerplate else 0] += 1
        row[2] += (not p.boilerplate and p.a_start < VISIBLE and p.b_start < VISIBLE)
    res = {
        "documents": len(docs), "seconds": t_end - t0, "cpu": c_end - c0,
        "peak_mb": _hwm_mb(),
        "workers_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "passages": len(passages), "boilerplate": sum(p.boilerplate for p in passages),
        "pairs_linked": len(linked),
        "linked": {f"{a}\t{b}": v for (a, b), v in linked.items()},
    }
    out.write_text(json.dumps(res), encoding="utf-8")


def _spawn(args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        subprocess.run([sys.executable, __file__, *args, "--child-out", str(out)], check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        return json.loads(out.read_text(encoding="utf-8"))


# -- scoring ----------------------------------------------------------------------------------


def _score(truth, detections: list[list]) -> dict:
    from khabar.evaluation.pan import Case, score

    dets = [Case(d[0], d[1], d[2], d[3], d[4], d[5]) for d in detections]
    return score(truth, dets).as_dict()


def araplagdet(args) -> dict:
    from khabar.reuse.pan import read_pan

    truth = read_pan(args.araplagdet / "plagiarism-annotation")
    true_pairs = {(c.doc, c.source_doc) for c in truth}
    by_kind: dict[str, set] = {}
    for c in truth:
        by_kind.setdefault(c.obfuscation or "?", set()).add((c.doc, c.source_doc))
    out: dict = {"cases": len(truth), "true_pairs": len(true_pairs), "tools": {}}
    for tool in args.tools:
        res = _spawn(["--child", "araplagdet", "--tool", tool, "--data", str(args.araplagdet),
                      "--workers", str(args.workers)] + (["--sweep"] if args.sweep and
                                                          tool == "khabar" else []))
        cands = {tuple(p) for p in res.pop("candidate_pairs")}
        entry = {k: v for k, v in res.items() if k not in ("detections", "sweep")}
        entry["scores"] = _score(truth, res["detections"])
        entry["candidate_pair_recall"] = len(true_pairs & cands) / len(true_pairs)
        entry["candidate_pair_recall_by_obfuscation"] = {
            k: len(v & cands) / len(v) for k, v in sorted(by_kind.items())}
        if "sweep" in res:
            entry["sweep"] = [{"param": s["param"], "value": s["value"],
                               "seconds": s["seconds"], **_score(truth, s["detections"])}
                              for s in res["sweep"]]
        out["tools"][tool] = entry
    return out


def news(args) -> dict:
    res = _spawn(["--child", "news", "--data", str(args.news), "--workers", str(args.workers)])
    linked = res.pop("linked")
    rows = [json.loads(line) for line in
            (args.news / "dev-pairs.jsonl").read_text(encoding="utf-8").splitlines() if line]
    counts: dict[str, Counter] = {}
    for r in rows:
        a, b = sorted((r["a"], r["b"]))
        real, boiler, visible = linked.get(f"{a}\t{b}", [0, 0, 0])
        for group in (r["copy"], "yes+partial" if r["copy"] in ("yes", "partial") else None):
            if group is None:
                continue
            for amb in ("all", "unambiguous"):
                if amb == "unambiguous" and r.get("ambiguous"):
                    continue
                c = counts.setdefault(f"{group}/{amb}", Counter())
                c["pairs"] += 1
                c["linked"] += real > 0
                c["boilerplate_only"] += real == 0 and boiler > 0
                c["linked_visible"] += visible > 0
    res["labelled"] = {k: {**v, "share_linked": v["linked"] / v["pairs"],
                           "share_linked_visible": v["linked_visible"] / v["pairs"]}
                       for k, v in sorted(counts.items())}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--araplagdet", type=Path, default=SHARED / "araplagdet")
    ap.add_argument("--news", type=Path, default=SHARED / "saudinewsnet")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--no-news", action="store_true")
    ap.add_argument("--no-araplagdet", action="store_true")
    ap.add_argument("--child", choices=["araplagdet", "news"])
    ap.add_argument("--child-out", type=Path)
    ap.add_argument("--tool", default="khabar")
    ap.add_argument("--data", type=Path)
    args = ap.parse_args()
    if args.child == "araplagdet":
        child_araplagdet(args.data, args.tool, args.workers, args.child_out, args.sweep)
        return
    if args.child == "news":
        child_news(args.data, args.workers, args.child_out)
        return
    args.tools = [t for t in args.tools.split(",") if t]
    unknown = set(args.tools) - set(TOOLS)
    if unknown:
        ap.error(f"unknown tools: {', '.join(sorted(unknown))}")
    results: dict = {"workers": args.workers, "cpus": os.cpu_count()}
    if not args.no_araplagdet:
        results["araplagdet"] = araplagdet(args)
        report_araplagdet(results["araplagdet"])
    if not args.no_news:
        results["news"] = news(args)
        report_news(results["news"])
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "reuse.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nwritten {out_dir / 'reuse.json'}")


def report_araplagdet(r: dict) -> None:
    print(f"\nAraPlagDet as one corpus: {r['cases']} cases in {r['true_pairs']} "
          "(suspicious, source) pairs")
    head = (f"{'tool':<16}{'plagdet':>8}{'prec':>7}{'rec':>7}{'gran':>7}{'wall s':>8}"
            f"{'CPU s':>7}{'peak MB':>9}{'cands':>7}{'cand rec':>9}")
    print(head)
    for tool, e in r["tools"].items():
        s = e["scores"]
        peak = e["peak_mb"] + e["workers_peak_mb"]
        print(f"{tool:<16}{s['plagdet']:>8.4f}{s['precision']:>7.3f}{s['recall']:>7.3f}"
              f"{s['granularity']:>7.3f}{e['seconds']:>8.1f}{e['cpu']:>7.1f}{peak:>9.0f}"
              f"{e['candidates']:>7}{e['candidate_pair_recall']:>9.3f}")
    for tool, e in r["tools"].items():
        print(f"\n{tool}: recall by obfuscation (cases; candidate-pair recall)")
        s = e["scores"]
        for kind, value in s["recall_by_obfuscation"].items():
            print(f"  {kind:<28}{value:>7.4f}  ({s['cases_by_obfuscation'][kind]:>3}; "
                  f"{e['candidate_pair_recall_by_obfuscation'].get(kind, 0):.3f})")
        print(f"  time: read {e['read_s']:.1f} s, text layer {e['features_s']:.1f} s, "
              f"candidates + alignment {e['passages_s']:.1f} s")
        if "sweep" in e:
            print("  sensitivity (one parameter moved, others default):")
            print(f"  {'param':<14}{'value':>7}{'plagdet':>9}{'prec':>7}{'rec':>7}{'gran':>7}"
                  f"{'none':>7}{'w.shuf':>7}")
            for row in e["sweep"]:
                rb = row["recall_by_obfuscation"]
                print(f"  {row['param']:<14}{row['value']:>7}{row['plagdet']:>9.4f}"
                      f"{row['precision']:>7.3f}{row['recall']:>7.3f}{row['granularity']:>7.3f}"
                      f"{rb.get('none', 0):>7.3f}{rb.get('word shuffling', 0):>7.3f}")


def report_news(r: dict) -> None:
    print(f"\nSaudiNewsNet dev as one corpus: {r['documents']} articles, {r['passages']} "
          f"passages ({r['boilerplate']} boilerplate) between {r['pairs_linked']} pairs; "
          f"{r['seconds']:.1f} s wall, {r['cpu']:.1f} s CPU, "
          f"peak {r['peak_mb'] + r['workers_peak_mb']:.0f} MB")
    print(f"{'labelled pairs':<26}{'pairs':>7}{'linked':>8}{'share':>8}{'boiler-only':>12}"
          f"{'share in first 1800 chars':>27}")
    for key, v in r["labelled"].items():
        print(f"{key:<26}{v['pairs']:>7}{v['linked']:>8}{v['share_linked']:>8.3f}"
              f"{v['boilerplate_only']:>12}{v['share_linked_visible']:>27.3f}")


if __name__ == "__main__":
    main()
