"""Benchmark: khabar reuse on AraPlagDet (PAN measures, direction, cost) and SaudiNewsNet (kinds).

    python bench/reuse.py [--araplagdet ../shared/data/araplagdet]
                          [--news ../shared/data/saudinewsnet] [--workers 2]
                          [--tools khabar,khabar-1w,khabar-ordered,khabar-before]
                          [--before REV] [--sweep] [--no-news] [--no-araplagdet]
                          [--sample-kinds N]

Everything the reuse issue asks for is printed by one run.

**AraPlagDet** (570 source + 300 suspicious documents, PAN annotations) is
read as ONE corpus: khabar is not told which documents are suspicious or
sources, nor which pairs to compare. Of the passages it reports, the copies
(what `khabar reuse --format pan` writes) linking a suspicious and a source
document are scored with khabar's PAN measures (macro precision and recall,
granularity, plagdet; recall per obfuscation type) on a fixed split of the
suspicious documents: **dev** = suspicious-document0001-0150 (the half any
constant was looked at on), **test** = 0151-0300 (reported, never tuned on).
The sources are shared by both halves; only the scoring is split.

* Cost: the timed span is everything from the file names to the passages
  (reading, text layer, candidate search, alignment, kinds, direction). Tools:
  `khabar` (default, `--workers` processes), `khabar-1w` (one process: the
  cost of the work itself), `khabar-ordered` (bag index off), `khabar-before`
  (one process, the code of `--before`, by default the commit this branch
  started from, extracted with `git archive`: the CPU-time ratio of
  `khabar-1w` to it is the price of this version, measured in the same run).
* Direction: for every copy passage between a suspicious document and a source
  it was really built from, whether `source` names the true source, names the
  suspicious document, or is null, by rule.

**SaudiNewsNet dev** (16,111 articles) as one corpus, against the labelled
pairs of `dev-pairs.jsonl`: the share of pairs labelled copy yes/partial, and
of pairs labelled copy no, that are linked by at least one `copy` passage,
over the unambiguous pairs, on the tuning half (even pair numbers: the half
the rules were looked at on) and the reporting half (odd), and counting only
passages that start within the first 1,800 characters of both articles (the
part the labellers were shown). Also: passages by kind, and copies by
direction rule.

**Kind precision**: `bench/data/reuse-kinds.jsonl` holds passages of
SaudiNewsNet dev drawn at random (seeded) among those the rules called copy
and among those they called template or formula, each labelled by hand
(criteria below) by reading both sides. Precision of a kind = labelled that
kind / called that kind. A labelled passage is matched to the current passage of
its pair that covers at least half of it on both sides (boundaries move by a word when the
rules change); one with no such passage is counted apart. `--sample-kinds N` draws a new
sample of N of each into bench/results/ (with the texts, to read; never committed).

Labelling criteria (a reader's judgement of the two sides, nothing else):

* copy: the same text, one taken from the other or both from one source,
  edited or not: the facts (names, figures, places, dates) agree; rewording,
  cutting and reordering allowed.
* template: the same frame, other content in its slots: other figures, names,
  dates, places, occasions (a report of another day, a cable to another head
  of state, a toll with other numbers).
* formula: a fixed phrase used as such across many texts (a protocol title, an
  honorific, a standard opening or closing), with nothing of the story shared.

Each run is its own subprocess; peak memory is that process's VmHWM plus the
largest worker (RUSAGE_CHILDREN). "CPU s" is user + system of the process and
its workers. Results are printed and written to bench/results/reuse.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
KIND_LABELS = ROOT / "bench" / "data" / "reuse-kinds.jsonl"
TOOLS = {
    "khabar": "khabar reuse (default options)",
    "khabar-1w": "khabar reuse, one process",
    "khabar-ordered": "khabar reuse, bag index off (bag_levels=0)",
    "khabar-before": "khabar reuse as it was at --before, one process",
}
VISIBLE = 1800
"""The labellers saw the first 1800 characters of each article (LABELING.md)."""
DEV_LAST = 150
"""Suspicious documents 1-150 are the dev half of AraPlagDet, 151-300 the test half."""
SWEEP = {
    "min_words": [10, 12, 20],
    "core_words": [6, 10],
    "max_gap": [4, 12],
    "max_df": [25, 100],
    "min_coverage": [0.4, 0.6],
    "max_substituted": [0, 1, 3],
    "extend_similarity": [0.0, 0.3, 0.5],
    "bag_min": [4, 8],
}
NEWS_SWEEP = {
    "formula_days": [4, 6],
    "formula_outlets": [2, 4],
    "template_span": [15, 40],
    "min_words": [10, 20],
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


def _half(doc: str) -> str:
    return "dev" if int("".join(ch for ch in doc if ch.isdigit())) <= DEV_LAST else "test"


def _kind(p) -> str:
    return getattr(p, "kind", "copy")


def _is_copy(p) -> bool:
    return _kind(p) == "copy" and not p.boilerplate


# -- children ---------------------------------------------------------------------------------


def child_araplagdet(data: Path, tool: str, workers: int, out: Path, sweep: bool) -> None:
    from khabar.io.readers import read
    from khabar.reuse.api import find_reuse
    from khabar.reuse.features import extract_features
    from khabar.reuse.fingerprints import candidate_pairs
    from khabar.reuse.options import ReuseOptions

    options = ReuseOptions(bag_levels=0) if tool == "khabar-ordered" else ReuseOptions()
    w = 1 if tool in ("khabar-1w", "khabar-before") else workers
    t0, c0 = time.perf_counter(), _cpu()
    docs = list(read([data / "source-documents", data / "suspicious-documents"]))
    t_read = time.perf_counter()
    # the stage as `khabar reuse` runs it: text layer, candidates and alignment in one job
    passages = find_reuse(docs, options, workers=w)
    t_end, c_end = time.perf_counter(), _cpu()
    res = {
        "tool": tool, "documents": len(docs), "seconds": t_end - t0, "cpu": c_end - c0,
        "read_s": t_read - t0, "passages_s": t_end - t_read,
        "peak_mb": _hwm_mb(),
        "workers_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "passages": len(passages),
        "kinds": Counter(("boilerplate" if p.boilerplate else _kind(p)) for p in passages),
        "detections": [_detection(p) for p in passages if _is_copy(p) and _is_pair(p.a, p.b)],
        "directions": [[*_is_pair(p.a, p.b), p.source, p.rule] for p in passages
                       if _is_copy(p) and _is_pair(p.a, p.b)],
    }
    # candidate pairs (the in-memory reference of the stage's candidate search, outside the
    # timed span)
    feats = extract_features(docs)
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
                found = find_reuse(docs, opt, workers=w)
                res["sweep"].append({
                    "param": name, "value": value, "seconds": time.perf_counter() - t,
                    "detections": [_detection(p) for p in found
                                   if _is_copy(p) and _is_pair(p.a, p.b)],
                })
    out.write_text(json.dumps(res), encoding="utf-8")


def _detection(p) -> list:
    """[suspicious id, offset, length, source id, offset, length] of a passage."""
    if p.a.startswith("suspicious"):
        return [p.a, p.a_start, p.a_end - p.a_start, p.b, p.b_start, p.b_end - p.b_start]
    return [p.b, p.b_start, p.b_end - p.b_start, p.a, p.a_start, p.a_end - p.a_start]


def _key(p) -> str:
    return f"{p.a}\t{p.a_start}\t{p.a_end}\t{p.b}\t{p.b_start}\t{p.b_end}"


def child_news(data: Path, workers: int, out: Path, sample: int, sweep: bool) -> None:
    from khabar.io.readers import read
    from khabar.reuse import ReuseOptions
    from khabar.reuse.api import find_reuse

    everything = ReuseOptions(include_boilerplate=True, include_formulaic=True)
    t0, c0 = time.perf_counter(), _cpu()
    docs = list(read([data / "dev.jsonl.gz"]))
    passages = find_reuse(docs, everything, workers=workers)
    t_end, c_end = time.perf_counter(), _cpu()
    res = {
        "documents": len(docs), "seconds": t_end - t0, "cpu": c_end - c0,
        "peak_mb": _hwm_mb(),
        "workers_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "passages": len(passages),
        "kinds": Counter(("boilerplate" if p.boilerplate else _kind(p)) for p in passages),
        "copy_rules": Counter(p.rule for p in passages if _is_copy(p)),
        "pairs_linked": len({(p.a, p.b) for p in passages if _is_copy(p)}),
        "linked": _linked(passages),
    }
    if KIND_LABELS.exists():
        want = [json.loads(line)["key"] for line in
                KIND_LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
        res["labelled_now"] = _labelled_now(want, passages)
    if sample:
        res["sample"] = _sample(passages, docs, sample)
    if sweep:
        res["sweep"] = []
        for name, values in NEWS_SWEEP.items():
            for value in values:
                opt = ReuseOptions(include_boilerplate=True, include_formulaic=True,
                                   **{name: value})
                found = find_reuse(docs, opt, workers=workers)
                res["sweep"].append({"param": name, "value": value, "linked": _linked(found)})
    out.write_text(json.dumps(res), encoding="utf-8")


def _labelled_now(keys: list[str], passages) -> dict[str, str]:
    """The kind the current rules give each labelled passage: that of the passage of the same
    pair overlapping it most, when the overlap is at least half of the labelled span on both
    sides (a boundary moved by a word is still the passage that was labelled)."""
    by_pair: dict[tuple[str, str], list] = {}
    for p in passages:
        by_pair.setdefault((p.a, p.b), []).append(p)
    now = {}
    for key in keys:
        a, a0, a1, b, b0, b1 = key.split("\t")
        a0, a1, b0, b1 = int(a0), int(a1), int(b0), int(b1)
        best, best_share = None, 0.5
        for p in by_pair.get((a, b), ()):
            share = min((min(a1, p.a_end) - max(a0, p.a_start)) / max(a1 - a0, 1),
                        (min(b1, p.b_end) - max(b0, p.b_start)) / max(b1 - b0, 1))
            if share >= best_share:
                best, best_share = p, share
        if best is not None:
            now[key] = "boilerplate" if best.boilerplate else _kind(best)
    return now


def _linked(passages) -> dict[str, list[int]]:
    """Per pair: copy passages, copy passages within the visible part, templates and
    formulas (boilerplate included)."""
    linked: dict[str, list[int]] = {}
    for p in passages:
        row = linked.setdefault(f"{p.a}\t{p.b}", [0, 0, 0])
        if _is_copy(p):
            row[0] += 1
            row[1] += p.a_start < VISIBLE and p.b_start < VISIBLE
        else:
            row[2] += 1
    return linked


def _sample(passages, docs, n: int) -> list[dict]:
    """N passages called copy and N called template or formula (outlet boilerplate left
    out), drawn with a fixed seed, with their texts to read."""
    text = {d.id: d.text for d in docs}
    rng = random.Random(15)
    copies = sorted((p for p in passages if _is_copy(p)), key=_key)
    others = sorted((p for p in passages if not p.boilerplate and _kind(p) != "copy"),
                    key=_key)
    out = []
    for group in (copies, others):
        for p in rng.sample(group, min(n, len(group))):
            out.append({"key": _key(p), "called": _kind(p), "score": p.score,
                        "a_text": text[p.a][p.a_start : p.a_end],
                        "b_text": text[p.b][p.b_start : p.b_end]})
    return out


def _spawn(args: list[str], pythonpath: Path = ROOT) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        subprocess.run([sys.executable, __file__, *args, "--child-out", str(out)], check=True,
                       env={**os.environ, "PYTHONPATH": str(pythonpath)})
        return json.loads(out.read_text(encoding="utf-8"))


def _extract(rev: str, into: Path) -> Path:
    """The khabar package as it was at `rev` (git archive), for the before/after timing."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "khabar"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _base_rev() -> str:
    for ref in ("main", "origin/main"):
        found = subprocess.run(["git", "-C", str(ROOT), "merge-base", "HEAD", ref],
                               capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.strip()
    return "HEAD"


# -- scoring ----------------------------------------------------------------------------------


def _score(truth, detections: list[list]) -> dict:
    from khabar.evaluation.pan import Case, score

    dets = [Case(d[0], d[1], d[2], d[3], d[4], d[5]) for d in detections]
    return score(truth, dets).as_dict()


def _halves(truth, detections: list[list]) -> dict:
    out = {"all": _score(truth, detections)}
    for h in ("dev", "test"):
        out[h] = _score([c for c in truth if _half(c.doc) == h],
                        [d for d in detections if _half(d[0]) == h])
    return out


def _direction(truth, directions: list[list]) -> dict:
    true_pairs = {(c.doc, c.source_doc) for c in truth}
    by_rule: dict[str, Counter] = {}
    total: Counter = Counter()
    for susp, src, said, rule in directions:
        if (susp, src) not in true_pairs:
            continue
        verdict = "right" if said == src else "wrong" if said == susp else "none"
        total[verdict] += 1
        by_rule.setdefault(rule, Counter())[verdict] += 1
    n = sum(total.values())
    return {"passages": n, **{k: total[k] / n if n else 0.0 for k in ("right", "wrong", "none")},
            "by_rule": {k: dict(v) for k, v in sorted(by_rule.items())}}


def araplagdet(args) -> dict:
    from khabar.reuse.pan import read_pan

    truth = read_pan(args.araplagdet / "plagiarism-annotation")
    true_pairs = {(c.doc, c.source_doc) for c in truth}
    by_kind: dict[str, set] = {}
    for c in truth:
        by_kind.setdefault(c.obfuscation or "?", set()).add((c.doc, c.source_doc))
    out: dict = {"cases": len(truth), "true_pairs": len(true_pairs), "tools": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for tool in args.tools:
            path = ROOT
            if tool == "khabar-before":
                path = _extract(args.before, Path(tmp))
            res = _spawn(["--child", "araplagdet", "--tool", tool, "--data",
                          str(args.araplagdet), "--workers", str(args.workers)]
                         + (["--sweep"] if args.sweep and tool == "khabar" else []), path)
            cands = {tuple(p) for p in res.pop("candidate_pairs")}
            entry = {k: v for k, v in res.items() if k not in ("detections", "sweep",
                                                               "directions")}
            entry["scores"] = _halves(truth, res["detections"])
            entry["direction"] = _direction(truth, res["directions"])
            entry["candidate_pair_recall"] = len(true_pairs & cands) / len(true_pairs)
            entry["candidate_pair_recall_by_obfuscation"] = {
                k: len(v & cands) / len(v) for k, v in sorted(by_kind.items())}
            if "sweep" in res:
                entry["sweep"] = [{"param": s["param"], "value": s["value"],
                                   "seconds": s["seconds"],
                                   **_halves(truth, s["detections"])["dev"]}
                                  for s in res["sweep"]]
            out["tools"][tool] = entry
    if "khabar-1w" in out["tools"] and "khabar-before" in out["tools"]:
        out["cpu_ratio"] = (out["tools"]["khabar-1w"]["cpu"]
                            / out["tools"]["khabar-before"]["cpu"])
    out["before"] = args.before
    return out


def _label_counts(linked: dict[str, list[int]], rows: list[dict]) -> dict:
    counts: dict[str, Counter] = {}
    for r in rows:
        if r.get("ambiguous"):
            continue
        a, b = sorted((r["a"], r["b"]))
        copies, visible, other = linked.get(f"{a}\t{b}", [0, 0, 0])
        n = int(r["pair"][1:])
        group = "no" if r["copy"] == "no" else "yes+partial"
        for half in ("tune" if n % 2 == 0 else "report", "all"):
            c = counts.setdefault(f"{group}/{half}", Counter())
            c["pairs"] += 1
            c["linked"] += copies > 0
            c["linked_visible"] += visible > 0
            c["formulaic_only"] += copies == 0 and other > 0
    return {k: {**v, "share_linked": v["linked"] / v["pairs"],
                "share_linked_visible": v["linked_visible"] / v["pairs"]}
            for k, v in sorted(counts.items())}


def news(args) -> dict:
    res = _spawn(["--child", "news", "--data", str(args.news), "--workers", str(args.workers),
                  "--sample-kinds", str(args.sample_kinds)] + (["--sweep"] if args.sweep else []))
    rows = [json.loads(line) for line in
            (args.news / "dev-pairs.jsonl").read_text(encoding="utf-8").splitlines() if line]
    res["labelled"] = _label_counts(res.pop("linked"), rows)
    if "sweep" in res:
        res["sweep"] = [{"param": s["param"], "value": s["value"],
                         "labelled": _label_counts(s["linked"], rows)} for s in res["sweep"]]
    if KIND_LABELS.exists():
        res["kind_precision"] = _kind_precision(res.pop("labelled_now", {}))
    if "sample" in res:
        path = ROOT / "bench" / "results" / "reuse-kind-sample.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for row in res.pop("sample"):
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        res["sample_written"] = str(path)
    return res


def _kind_precision(now: dict[str, str]) -> dict:
    labels = [json.loads(line) for line in KIND_LABELS.read_text(encoding="utf-8").splitlines()
              if line.strip()]
    out: dict = {"labelled": len(labels),
                 "not_produced_now": sum(1 for lab in labels if lab["key"] not in now)}
    called: dict[str, list[str]] = {}
    for lab in labels:
        kind = now.get(lab["key"])
        if kind is not None:
            called.setdefault(kind, []).append(lab["label"])
            if kind in ("template", "formula"):
                called.setdefault("template or formula", []).append(lab["label"])
    for kind, got in sorted(called.items()):
        right = sum(1 for g in got if g == kind or (kind == "template or formula"
                                                     and g in ("template", "formula")))
        out[kind] = {"called": len(got), "right": right, "precision": right / len(got),
                     "labels": dict(Counter(got))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--araplagdet", type=Path, default=SHARED / "araplagdet")
    ap.add_argument("--news", type=Path, default=SHARED / "saudinewsnet")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--before", default=None,
                    help="git revision timed as khabar-before (default: where this branch "
                         "left main)")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--no-news", action="store_true")
    ap.add_argument("--no-araplagdet", action="store_true")
    ap.add_argument("--sample-kinds", type=int, default=0)
    ap.add_argument("--child", choices=["araplagdet", "news"])
    ap.add_argument("--child-out", type=Path)
    ap.add_argument("--tool", default="khabar")
    ap.add_argument("--data", type=Path)
    args = ap.parse_args()
    if args.child == "araplagdet":
        child_araplagdet(args.data, args.tool, args.workers, args.child_out, args.sweep)
        return
    if args.child == "news":
        child_news(args.data, args.workers, args.child_out, args.sample_kinds, args.sweep)
        return
    args.tools = [t for t in args.tools.split(",") if t]
    unknown = set(args.tools) - set(TOOLS)
    if unknown:
        ap.error(f"unknown tools: {', '.join(sorted(unknown))}")
    args.before = args.before or _base_rev()
    results: dict = {"workers": args.workers, "cpus": os.cpu_count()}
    if not args.no_araplagdet:
        if not args.araplagdet.is_dir():
            print(f"skipped AraPlagDet: {args.araplagdet} not found")
        else:
            results["araplagdet"] = araplagdet(args)
            report_araplagdet(results["araplagdet"])
    if not args.no_news:
        if not (args.news / "dev.jsonl.gz").exists():
            print(f"skipped SaudiNewsNet: {args.news} not found")
        else:
            results["news"] = news(args)
            report_news(results["news"])
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "reuse.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nwritten {out_dir / 'reuse.json'}")


def report_araplagdet(r: dict) -> None:
    print(f"\nAraPlagDet as one corpus: {r['cases']} cases in {r['true_pairs']} "
          f"(suspicious, source) pairs; dev = suspicious 1-{DEV_LAST}, test = the rest")
    head = (f"{'tool':<16}{'half':<6}{'plagdet':>8}{'prec':>7}{'rec':>7}{'gran':>7}"
            f"{'wall s':>8}{'CPU s':>7}{'peak MB':>9}{'cands':>7}{'cand rec':>9}")
    print(head)
    for tool, e in r["tools"].items():
        peak = e["peak_mb"] + e["workers_peak_mb"]
        for half in ("dev", "test", "all"):
            s = e["scores"][half]
            cost = (f"{e['seconds']:>8.1f}{e['cpu']:>7.1f}{peak:>9.0f}{e['candidates']:>7}"
                    f"{e['candidate_pair_recall']:>9.3f}" if half == "dev" else "")
            print(f"{tool:<16}{half:<6}{s['plagdet']:>8.4f}{s['precision']:>7.3f}"
                  f"{s['recall']:>7.3f}{s['granularity']:>7.3f}{cost}")
    if "cpu_ratio" in r:
        print(f"CPU time, one process, this version / {r['before'][:10]}: "
              f"{r['cpu_ratio']:.2f}x")
    for tool, e in r["tools"].items():
        print(f"\n{tool}: recall by obfuscation, dev / test (cases; candidate-pair recall)")
        dev, test = e["scores"]["dev"], e["scores"]["test"]
        for kind in e["scores"]["all"]["recall_by_obfuscation"]:
            print(f"  {kind:<28}{dev['recall_by_obfuscation'].get(kind, 0):>7.4f} "
                  f"({dev['cases_by_obfuscation'].get(kind, 0):>3}) / "
                  f"{test['recall_by_obfuscation'].get(kind, 0):>7.4f} "
                  f"({test['cases_by_obfuscation'].get(kind, 0):>3}); "
                  f"{e['candidate_pair_recall_by_obfuscation'].get(kind, 0):.3f}")
        print(f"  time: read {e['read_s']:.1f} s, text layer, candidates and alignment "
              f"{e['passages_s']:.1f} s; passages by kind "
              f"{dict(e['kinds'])}")
        d = e["direction"]
        print(f"  direction of {d['passages']} copy passages between a suspicious document "
              f"and its true source: source right {d['right']:.3f}, wrong {d['wrong']:.3f}, "
              f"null {d['none']:.3f}; by rule {d['by_rule']}")
        if "sweep" in e:
            print("  sensitivity on dev (one parameter moved, others default):")
            print(f"  {'param':<18}{'value':>7}{'plagdet':>9}{'prec':>7}{'rec':>7}{'gran':>7}"
                  f"{'para':>7}{'syn':>7}{'w.shuf':>7}")
            for row in e["sweep"]:
                rb = row["recall_by_obfuscation"]
                print(f"  {row['param']:<18}{row['value']:>7}{row['plagdet']:>9.4f}"
                      f"{row['precision']:>7.3f}{row['recall']:>7.3f}{row['granularity']:>7.3f}"
                      f"{rb.get('manual paraphrasing', 0):>7.3f}"
                      f"{rb.get('manual synonym substitution', 0):>7.3f}"
                      f"{rb.get('word shuffling', 0):>7.3f}")


def _news_table(labelled: dict) -> None:
    print(f"  {'labelled pairs (unambiguous)':<28}{'pairs':>7}{'linked':>8}{'share':>8}"
          f"{'formulaic only':>16}{'share in first 1800 chars':>27}")
    for key, v in labelled.items():
        print(f"  {key:<28}{v['pairs']:>7}{v['linked']:>8}{v['share_linked']:>8.3f}"
              f"{v['formulaic_only']:>16}{v['share_linked_visible']:>27.3f}")


def report_news(r: dict) -> None:
    print(f"\nSaudiNewsNet dev as one corpus: {r['documents']} articles, {r['passages']} "
          f"passages {dict(r['kinds'])}; copies between {r['pairs_linked']} pairs; "
          f"{r['seconds']:.1f} s wall, {r['cpu']:.1f} s CPU, "
          f"peak {r['peak_mb'] + r['workers_peak_mb']:.0f} MB")
    print(f"  copies by direction rule: {dict(r['copy_rules'])}")
    print("  linked = at least one copy passage; tune = even pair numbers, report = odd")
    _news_table(r["labelled"])
    for row in r.get("sweep", []):
        print(f"  sensitivity: {row['param']} = {row['value']}")
        _news_table({k: v for k, v in row["labelled"].items() if k.endswith("/all")})
    if "kind_precision" in r:
        k = r["kind_precision"]
        print(f"\nKind precision on {k['labelled']} hand-labelled passages "
              f"({k['not_produced_now']} no longer produced):")
        for kind in ("copy", "template or formula", "template", "formula"):
            if kind in k:
                v = k[kind]
                print(f"  called {kind:<20}{v['called']:>4}  right {v['right']:>4}  "
                      f"precision {v['precision']:.3f}  labels {v['labels']}")
    if "sample_written" in r:
        print(f"  sample to label written to {r['sample_written']}")


if __name__ == "__main__":
    main()
