"""Benchmark and calibration of story clustering on SaudiNewsNet dev days.

    python bench/stories.py [--data ../shared/data/saudinewsnet/dev.jsonl.gz]
                            [--pairs ../shared/data/saudinewsnet/dev-pairs.jsonl]
                            [--sts ../shared/data/sts17-ar] [--fit] [--quick]

What it reports (table on stdout, JSON in bench/results/stories.json):

* speed: articles/s of batch clustering and of streaming (features included,
  from documents in memory), each in its own subprocess with its peak resident
  memory; streaming is also run over the collection replayed 1x and 4x (each
  replay 12 days later) to show that its memory follows the window, not the
  length of the stream;
* quality on the labelled pairs (non-ambiguous), CROSS-VALIDATED: for each fold
  the pair model is fitted on the other folds' pairs only, the whole collection
  is clustered with it, and the fold's pairs are scored: F1 on "same", share of
  "related" and of "different" pairs merged. Two splits: 5 folds by pair (3
  seeds) and 3 folds by day (a pair goes with the day of its earlier article).
  The peer is a plain TF-IDF cosine (whole text) with average linkage, its
  threshold chosen on the training folds for the best F1;
* batch/stream agreement (adjusted Rand index, and the pairwise precision and
  recall of the stream's co-assignments against batch's);
* the story-size distribution and a sample of stories for a human to judge;
* Spearman correlation of the pair score with the STS-2017 Arabic gold.

`--fit` prints the model fitted on all labelled pairs, to paste as
`DEFAULT_MODEL` in khabar/stories/similarity.py, and the thread model, to paste
as `DEFAULT_THREAD_MODEL` in khabar/stories/threads.py.

Threads are judged on the same pairs, as `dev-threads.jsonl` defines them
(THREAD-LABELING.md): a pair is in one thread when its event is "same", or
"related" with `thread: yes`. Printed next to the story figures: thread F1, the
share of `thread: yes` pairs joined, of `thread: no` pairs joined, and of all
pairs that are not one thread (`thread: no` and "different") joined. In each
fold the thread model is fitted on the training pairs whose articles that
fold's stories keep apart.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_DATA = SHARED / "saudinewsnet" / "dev.jsonl.gz"
DEFAULT_PAIRS = SHARED / "saudinewsnet" / "dev-pairs.jsonl"
DEFAULT_STS = SHARED / "sts17-ar"
DEFAULT_THREADS = SHARED / "saudinewsnet" / "dev-threads.jsonl"

RELATED_WEIGHT = 3.0
"""In fitting, a "related" pair weighs this many "same" pairs: the target tolerates one
merged related pair in ten but wants most same pairs, so merging one costs more. Heavier
weights trade same-event recall for purity (cross-validated mean over the splits: 3 -> F1
0.939, related merged 0.120; 4 -> 0.930, 0.109; 5 -> 0.925, 0.099), and at 5 a story that
grows over three days (tests/test_stories.py) already splits in streaming: 3 is kept."""
L2 = 1.0
"""Ridge penalty on standardized features (the intercept is free)."""
T_DEFAULT = 0.5
"""`ThreadParams().threshold`."""
SWEEP = (0.4, 0.3, 0.2)
"""Lower thread thresholds, printed to show what more follow-ups would cost."""
THREAD_NO_WEIGHT = 5.0
"""In fitting the thread model, a `thread: no` pair weighs this many others: threading two
happenings of one kind (two attacks, two days' market reports) misleads a reader more than
a follow-up left apart, and the target allows 5 % of them against 70 % of follow-ups. Chosen
by the cross-validated figures (see the README): 1 -> 'no' pairs joined 0.29, 3 -> 0.15, 5
-> see the README."""


# -- data -----------------------------------------------------------------------------------------


def load_docs(path: Path, limit: int | None = None) -> list:
    from khabar.io.readers import read

    docs = []
    for d in read([str(path)]):
        docs.append(d)
        if limit and len(docs) >= limit:
            break
    return docs


def load_pairs(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- measures -------------------------------------------------------------------------------------


def ari(x: list, y: list) -> float:
    """Adjusted Rand index of two labelings of the same items."""
    n = len(x)
    comb = lambda k: k * (k - 1) / 2  # noqa: E731
    sij = sum(comb(v) for v in Counter(zip(x, y, strict=True)).values())
    sa = sum(comb(v) for v in Counter(x).values())
    sb = sum(comb(v) for v in Counter(y).values())
    expected = sa * sb / comb(n) if n > 1 else 0.0
    top = 0.5 * (sa + sb) - expected
    return (sij - expected) / top if top else 1.0


def pair_quality(merged: np.ndarray, lab: np.ndarray) -> dict:
    same = lab == "same"
    tp = int((merged & same).sum())
    together = int(merged.sum())
    p = tp / together if together else 1.0
    r = tp / int(same.sum()) if same.any() else 1.0
    share = lambda name: float((merged & (lab == name)).sum() / max((lab == name).sum(), 1))  # noqa: E731
    return {"f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r,
            "related_merged": share("related"), "different_merged": share("different"),
            "different_merged_n": int((merged & (lab == "different")).sum())}


def thread_quality(merged: np.ndarray, tlab: np.ndarray) -> dict:
    """Pairs judged as threads: `tlab` is same / rel-yes / rel-no / different."""
    pos = np.isin(tlab, ["same", "rel-yes"])
    tp = int((merged & pos).sum())
    together = int(merged.sum())
    p = tp / together if together else 1.0
    r = tp / int(pos.sum()) if pos.any() else 1.0
    share = lambda name: float((merged & (tlab == name)).sum() / max((tlab == name).sum(), 1))  # noqa: E731
    others = np.isin(tlab, ["rel-no", "different"])
    return {"f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r,
            "yes_joined": share("rel-yes"), "no_joined": share("rel-no"),
            "different_joined": share("different"),
            "others_joined": float((merged & others).sum() / max(others.sum(), 1))}


# -- children (timed in their own process) --------------------------------------------------------


def child(kind: str, data: Path, limit: int | None, out: Path, replays: int = 1,
          workers: int = 1) -> None:
    import resource

    from khabar.stories import StoryParams, StoryStream, cluster_stories
    from khabar.stories.stream import stream_stories

    def cpu() -> float:
        # this process and its finished worker processes: a load-independent measure
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    docs = load_docs(data, limit)
    base = peak_rss_mb()
    cpu0 = cpu()
    report: dict = {"articles": len(docs), "rss_base_mb": base, "workers": workers}
    if kind == "batch":
        t = time.perf_counter()
        result = cluster_stories(docs, StoryParams(), workers=workers)
        report["seconds"] = time.perf_counter() - t
        labels = result.labels()
        report["labels"] = [labels[d.id] for d in docs]
    else:
        docs.sort(key=lambda d: (d.date is None, d.timestamp or 0.0))
        stream = StoryStream(StoryParams())
        labels = {}
        t = time.perf_counter()
        shift_days = 12
        from datetime import timedelta

        def replayed():
            for k in range(replays):
                for d in docs:
                    if k == 0:
                        yield d
                    else:
                        yield replace(d, id=f"{d.id}#{k}", date=d.date + timedelta(
                            days=shift_days * k) if d.date else None)

        merges = []
        for a in stream_stories(replayed(), stream=stream):
            if "#" not in a.id:
                labels[a.id] = a.story
            if len(stream._merges) > 10_000:  # a live consumer drains them as it goes
                merges.extend(stream.pop_merges())
        merges.extend(stream.pop_merges())
        report["seconds"] = time.perf_counter() - t
        report["articles_streamed"] = len(docs) * replays
        report["active_articles_at_end"] = stream.active_articles
        report["active_stories_at_end"] = stream.active_stories
        from khabar.stories.stream import resolve

        ids = sorted(d.id for d in docs)
        report["labels"] = resolve(np.array([labels[i] for i in ids]), merges).tolist()
        report["ids"] = ids
    report["rss_peak_mb"] = peak_rss_mb()
    report["cpu_seconds"] = cpu() - cpu0
    out.write_text(json.dumps(report))


def run_child(kind: str, args: argparse.Namespace, replays: int = 1) -> dict:
    out = Path(f"/tmp/khabar-bench-stories-{os.getpid()}-{kind}-{replays}.json")
    cmd = [sys.executable, __file__, "--child", kind, "--data", str(args.data), "--out",
           str(out), "--replays", str(replays), "--workers", str(args.workers)]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    subprocess.run(cmd, check=True)
    report = json.loads(out.read_text())
    out.unlink()
    return report


# -- calibration and cross-validation -------------------------------------------------------------


def fit(x: np.ndarray, lab: np.ndarray):
    from khabar.stories.similarity import fit_logistic

    y = (lab == "same").astype(float)
    weight = np.where(lab == "related", RELATED_WEIGHT, 1.0)
    return fit_logistic(x, y, L2, weight)


def folds_by_pair(n: int, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n) % k


def folds_by_day(days: list[str], k: int) -> np.ndarray:
    order = sorted(set(days))
    return np.array([order.index(d) % k for d in days])


def cosine_baseline(arts, stats, params, a, b, lab, fold):
    """Plain TF-IDF cosine of the whole (lead) text with average linkage, threshold by CV."""
    from khabar.stories.batch import collection_pairs
    from khabar.stories.linkage import average_linkage, cut

    # the candidate pairs of khabar's own search, scored by one plain cosine of title + lead
    pairs = collection_pairs(arts, params, stats)
    idf = stats.idf()
    m = (arts.title_tf + arts.body_tf) @ sp.diags(idf)
    m = sp.csr_matrix(m)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    m = sp.diags(1 / norms) @ m
    cos = np.asarray(m[pairs.left].multiply(m[pairs.right]).sum(axis=1)).ravel()
    grid = np.round(np.arange(0.2, 0.95, 0.05), 2)
    _, merges = average_linkage(len(arts), pairs.left, pairs.right, cos, float(grid[0]))
    cuts = {t: cut(len(arts), merges, float(t)) for t in grid}
    merged = np.zeros(len(a), dtype=bool)
    chosen = []
    for k in sorted(set(fold.tolist())):
        tr, te = fold != k, fold == k
        best = max(grid, key=lambda t: (pair_quality((cuts[t][a] == cuts[t][b])[tr],
                                                     lab[tr])["f1"], -t))
        chosen.append(float(best))
        merged[te] = (cuts[best][a] == cuts[best][b])[te]
    return merged, chosen


class Setup:
    """Everything the cross-validation needs, computed once: features, copies, candidates."""

    def __init__(self, arts, copies, params, pairs, tlab, evidence=None):
        from khabar.stories.batch import collection_pairs, labelled_pair_features
        from khabar.stories.copies import must_labels
        from khabar.stories.memory import _units
        from khabar.stories.similarity import make_space

        self.arts, self.params = arts, params
        self.copies = copies
        self.units, self.stats = _units(arts, params, self.copies)
        self.must = must_labels(self.units, arts.ids, self.copies.groups)
        self.reps = arts.take(self.units.reps)
        self.space = make_space(arts, self.stats, params.pairs)
        pos = {d: i for i, d in enumerate(arts.ids)}
        self.a = np.array([pos[p["a"]] for p in pairs])
        self.b = np.array([pos[p["b"]] for p in pairs])
        self.lab = np.array([p["event"] for p in pairs])
        self.tlab = tlab
        ua, ub = self.units.unit[self.a], self.units.unit[self.b]
        from khabar.stories.copies import unit_evidence

        self.evidence = evidence
        # the model is fitted as `--fit` fits DEFAULT_MODEL, without evidence, and the
        # collection is clustered with whatever evidence the run has (as `khabar run`)
        self.x_pairs = labelled_pair_features(self.reps, ua, ub, params, self.stats)
        ev = unit_evidence(evidence, arts.ids, self.units)
        self.cand = collection_pairs(self.reps, params, self.stats, ev, self.must)

    def batch_labels(self, model) -> np.ndarray:
        from khabar.stories.linkage import average_linkage
        from khabar.stories.similarity import score

        scored = score(replace(self.cand), model)
        ul, _ = average_linkage(len(self.reps), self.cand.left, self.cand.right, scored.prob,
                                self.params.threshold, self.units.weight, self.must)
        return ul[self.units.unit]

    def stream_labels(self, model) -> np.ndarray:
        from khabar.stories.memory import stream_order
        from khabar.stories.stream import StoryStream, stream_labels

        p = replace(self.params, model=model)
        sl, _, _ = stream_labels(StoryStream(p, self.stats, self.evidence, self.copies),
                                 self.arts, stream_order(self.arts))
        return sl

    def thread_rows(self, labels: np.ndarray):
        """Profiles of the stories `labels` makes, and the profile row of each pair's sides."""
        from khabar.stories import threads as T

        prof = T.story_profiles(self.space, labels)
        row = {s: i for i, s in enumerate(prof.stories)}
        sa = np.array([row[int(labels[i])] for i in self.a])
        sb = np.array([row[int(labels[i])] for i in self.b])
        return prof, sa, sb

    def fit_threads(self, labels: np.ndarray, train: np.ndarray):
        from khabar.stories import threads as T

        prof, sa, sb = self.thread_rows(labels)
        use = train & (sa != sb)
        x = T.labelled_features(prof, sa[use], sb[use], T.ThreadParams())
        return fit_threads(x, self.tlab[use])

    def thread_merged(self, labels: np.ndarray, tmodel) -> np.ndarray:
        return self.thread_sweep(labels, tmodel, (T_DEFAULT,))[T_DEFAULT]

    def thread_sweep(self, labels: np.ndarray, tmodel, thresholds) -> dict[float, np.ndarray]:
        """Thread co-assignments of the pairs at several thread thresholds (one linkage)."""
        from khabar.stories import threads as T
        from khabar.stories.linkage import average_linkage, cut

        prof, sa, sb = self.thread_rows(labels)
        tp = T.ThreadParams(model=tmodel)
        pairs = T.score_pairs(prof, tp)
        _, merges = average_linkage(len(prof), pairs.left, pairs.right, pairs.prob,
                                    min(thresholds))
        out = {}
        for t in thresholds:
            tl = cut(len(prof), merges, t)
            out[t] = tl[sa] == tl[sb]
        return out


def fit_threads(x: np.ndarray, tlab: np.ndarray):
    from khabar.stories.similarity import fit_logistic
    from khabar.stories.threads import ThreadModel

    y = np.isin(tlab, ["same", "rel-yes"]).astype(float)
    weight = np.where(tlab == "rel-no", THREAD_NO_WEIGHT, 1.0)
    m = fit_logistic(x, y, L2, weight)
    return ThreadModel(m.weights, m.intercept)


def cross_validate(setup: Setup, fold: np.ndarray, stream_too: bool) -> dict[str, np.ndarray]:
    """Story and thread co-assignments of the labelled pairs, each fold's pairs judged by
    models fitted on the other folds only."""
    n = len(setup.a)
    out = {k: np.zeros(n, dtype=bool) for k in
           ("batch", "stream", "batch threads", "stream threads",
            *(f"threads at {t}" for t in SWEEP))}
    a, b = setup.a, setup.b
    for k in sorted(set(fold.tolist())):
        tr, te = fold != k, fold == k
        model = fit(setup.x_pairs[tr], setup.lab[tr])
        labels = setup.batch_labels(model)
        out["batch"][te] = (labels[a] == labels[b])[te]
        tmodel = setup.fit_threads(labels, tr)
        swept = setup.thread_sweep(labels, tmodel, (T_DEFAULT, *SWEEP))
        out["batch threads"][te] = swept[T_DEFAULT][te]
        for t in SWEEP:
            out[f"threads at {t}"][te] = swept[t][te]
        if stream_too:
            sl = setup.stream_labels(model)
            out["stream"][te] = (sl[a] == sl[b])[te]
            out["stream threads"][te] = setup.thread_merged(sl, tmodel)[te]
    return out


# -- STS ------------------------------------------------------------------------------------------


def sts_spearman(sts_dir: Path, params) -> dict:
    from scipy.stats import spearmanr

    from khabar.document import Document
    from khabar.stories.features import TermStats, extract
    from khabar.stories.similarity import make_space, pair_features, score

    inputs = (sts_dir / "STS.input.track1.ar-ar.txt").read_text(encoding="utf-8-sig")
    gold = [float(x) for x in (sts_dir / "STS.gs.track1.ar-ar.txt").read_text().split()]
    left, right = [], []
    for k, line in enumerate(inputs.splitlines()):
        s1, s2 = line.split("\t")[:2]
        # a sentence is both the title and the text of a dateless "article"
        left.append(Document(id=f"l{k}", text=s1, title=s1))
        right.append(Document(id=f"r{k}", text=s2, title=s2))
    arts = extract(left + right, params=params.features)
    stats = TermStats(params.features.dim)
    stats.add(arts)
    space = make_space(arts, stats, params.pairs)
    n = len(left)
    idx = np.arange(n)
    pairs = score(pair_features(space.take(idx), space.take(idx + n), params.pairs,
                                only=(idx, idx)), params.model)
    out = {"pairs": n,
           "spearman_probability": float(spearmanr(pairs.prob, gold).statistic),
           "spearman_body_cosine": float(spearmanr(pairs.features[:, 0], gold).statistic)}
    return out


def _print_speed(results: dict, args: argparse.Namespace, n: int) -> None:
    from khabar.engine.local import LocalEngine

    sp_ = results["speed"]
    print(f"\nkhabar stories on {args.data.name}: {n} articles "
          f"(features in {LocalEngine(args.workers).workers} processes)\n")
    print(f"{'run':28s} {'articles/s':>11s} {'per CPU-s':>10s} {'seconds':>8s} {'peak MB':>8s} "
          f"{'base MB':>8s}")
    for key, label in (("batch", "batch (features+cluster)"),
                       ("stream", "stream (features+assign)"),
                       ("stream_replayed_4x", "stream, collection 4x")):
        r = sp_[key]
        secs = r.get("seconds", r.get("articles", 0) / r["articles_per_s"])
        print(f"{label:28s} {r['articles_per_s']:11,.0f} {r['articles_per_cpu_s']:10,.0f} "
              f"{secs:8.1f} {r['rss_peak_mb']:8.0f} {r['rss_base_mb']:8.0f}")


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--sts", type=Path, default=DEFAULT_STS)
    ap.add_argument("--threads", type=Path, default=DEFAULT_THREADS)
    ap.add_argument("--evidence", action="store_true",
                    help="Give the story stage the duplicate and reuse stages' evidence, as "
                         "`khabar run` does (runs the reuse stage first).")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--fit", action="store_true", help="Print the model fitted on all pairs.")
    ap.add_argument("--quick", action="store_true", help="Skip the stream cross-validation.")
    ap.add_argument("--speed", action="store_true", help="Only the speed and memory runs.")
    ap.add_argument("--child", choices=["batch", "stream"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--replays", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=0,
                    help="Processes computing features [default: all cores]; results never "
                         "depend on it.")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.data, args.limit, args.out, args.replays, args.workers)
        return
    for path in (args.data, args.pairs, args.threads):
        if not path.exists():
            sys.exit(f"{path}: absent (the shared corpora live in ../shared)")

    from khabar.stories import FEATURES, StoryParams
    from khabar.stories.memory import _features
    results: dict = {"data": str(args.data)}
    params = StoryParams()

    # speed and memory, each in its own process
    batch_run = run_child("batch", args)
    stream_run = run_child("stream", args)
    stream_4x = run_child("stream", args, replays=4)
    n = batch_run["articles"]
    results["speed"] = {
        "batch": {"articles_per_s": n / batch_run["seconds"], "seconds": batch_run["seconds"],
                  "articles_per_cpu_s": n / batch_run["cpu_seconds"],
                  "rss_peak_mb": batch_run["rss_peak_mb"], "rss_base_mb": batch_run["rss_base_mb"]},
        "stream": {"articles_per_s": n / stream_run["seconds"],
                   "articles_per_cpu_s": n / stream_run["cpu_seconds"],
                   "seconds": stream_run["seconds"], "rss_peak_mb": stream_run["rss_peak_mb"],
                   "rss_base_mb": stream_run["rss_base_mb"],
                   "active_articles_at_end": stream_run["active_articles_at_end"]},
        "stream_replayed_4x": {
            "articles": stream_4x["articles_streamed"],
            "articles_per_s": stream_4x["articles_streamed"] / stream_4x["seconds"],
            "articles_per_cpu_s": stream_4x["articles_streamed"] / stream_4x["cpu_seconds"],
            "rss_peak_mb": stream_4x["rss_peak_mb"], "rss_base_mb": stream_4x["rss_base_mb"],
            "active_articles_at_end": stream_4x["active_articles_at_end"]},
    }

    if args.speed:
        _print_speed(results, args, n)
        return

    # features once, for everything below
    docs = load_docs(args.data, args.limit)
    t = time.perf_counter()
    arts = _features(((d, None) for d in docs), params, None)
    results["speed"]["features_per_s"] = len(docs) / (time.perf_counter() - t)
    # copies, from the duplicate stage (as `khabar stories` asks it)
    from khabar.stories.copies import Copies

    copies = Copies.from_duplicates(docs, args.workers)

    # agreement with batch: the live stream (cold start, from the child) and the replay of
    # the collection as a stream (word statistics known from the start, as the CLI does)
    from khabar.evaluation.clustering import cluster_scores
    from khabar.stories.memory import _stream

    ids = [d.id for d in docs]
    batch_labels = dict(zip(ids, batch_run["labels"], strict=True))
    live_labels = dict(zip(stream_run["ids"], stream_run["labels"], strict=True))
    t = time.perf_counter()
    replay, _, _ = _stream(arts, params, None, copies)
    replay_seconds = time.perf_counter() - t
    replay_labels = dict(zip(ids, replay.tolist(), strict=True))
    xb = [batch_labels[i] for i in ids]
    results["agreement"] = {}
    for name, labels in (("live stream", live_labels), ("replayed stream", replay_labels)):
        agree = cluster_scores(labels, batch_labels)
        results["agreement"][name] = {
            "adjusted_rand": ari(xb, [labels[i] for i in ids]),
            "stream_pairs_vs_batch": agree.pairwise.to_dict(), "bcubed": agree.bcubed.to_dict()}
    results["speed"]["replayed_stream_assign_per_s"] = len(ids) / replay_seconds

    # sizes and a sample
    sizes = Counter(Counter(xb).values())
    results["story_sizes"] = {str(k): v for k, v in sorted(sizes.items())}
    by_story: dict[int, list[int]] = {}
    for row, lab in enumerate(xb):
        by_story.setdefault(lab, []).append(row)
    multi = [rows for rows in by_story.values() if len(rows) > 1]
    rng = random.Random(7)
    sample = rng.sample(multi, min(8, len(multi)))

    # labelled pairs
    pairs = [p for p in load_pairs(args.pairs) if not p.get("ambiguous")]
    pos = {d: i for i, d in enumerate(ids)}
    pairs = [p for p in pairs if p["a"] in pos and p["b"] in pos]
    thread_of = {(t["a"], t["b"]): t["thread"] for t in load_pairs(args.threads)}
    tlab = np.array([p["event"] if p["event"] != "related"
                     else "rel-" + thread_of.get((p["a"], p["b"]), "no") for p in pairs])
    evidence = None
    if args.evidence:
        # what `khabar run` gives the story stage: the duplicate and reuse stages' evidence
        from khabar.dups import find_duplicates
        from khabar.reuse import find_reuse
        from khabar.stories.api import evidence_from

        t = time.perf_counter()
        evidence = evidence_from(find_duplicates(docs, workers=args.workers).pairs,
                                 find_reuse(docs, workers=args.workers),
                                 {d.id: len(d.text) for d in docs})
        results["evidence"] = {"pairs": len(evidence), "seconds": time.perf_counter() - t}
    setup = Setup(arts, copies, params, pairs, tlab, evidence)
    a, b, lab = setup.a, setup.b, setup.lab
    days = [min(p["a"], p["b"])[4:14] for p in pairs]
    results["candidate_pairs"] = len(setup.cand.left)
    results["copy_groups"] = len(set(setup.copies.groups.values()))
    full = fit(setup.x_pairs, lab)
    results["model_all_pairs"] = full.describe()
    full_labels = setup.batch_labels(full)
    full_threads = setup.fit_threads(full_labels, np.ones(len(a), dtype=bool))
    results["thread_model_all_pairs"] = full_threads.describe()

    quality: dict = {}
    thread_q: dict = {}
    splits = [(f"5-fold by pair, seed {s}", folds_by_pair(len(a), 5, s)) for s in range(3)]
    splits.append(("3 folds by day", folds_by_day(days, 3)))
    pooled: dict[str, list] = {"khabar batch": [], "khabar stream": [], "tf-idf cosine": []}
    pooled_t: dict[str, list] = {"batch threads": [], "stream threads": [],
                                 "stories as threads": []}
    # (the stream in cross-validation is the replayed one, as `khabar stories --mode stream`)
    for name, fold in splits:
        got = cross_validate(setup, fold, stream_too=not args.quick)
        base, chosen = cosine_baseline(arts, setup.stats, params, a, b, lab, fold)
        quality[name] = {"khabar batch": pair_quality(got["batch"], lab),
                         "tf-idf cosine": {**pair_quality(base, lab), "thresholds": chosen}}
        thread_q[name] = {"batch threads": thread_quality(got["batch threads"], tlab),
                          "stories as threads": thread_quality(got["batch"], tlab),
                          **{f"threads at {t}": thread_quality(got[f"threads at {t}"], tlab)
                             for t in SWEEP}}
        if not args.quick:
            quality[name]["khabar stream"] = pair_quality(got["stream"], lab)
            thread_q[name]["stream threads"] = thread_quality(got["stream threads"], tlab)
    results["quality_cv"] = quality
    results["threads_cv"] = thread_q
    results["default_model_in_sample"] = {}
    lb = setup.batch_labels(params.model)
    results["default_model_in_sample"]["batch"] = pair_quality(lb[a] == lb[b], lab)
    for name, labels in (("live stream", live_labels), ("replayed stream", replay_labels)):
        sl = np.array([labels[i] for i in ids])
        results["default_model_in_sample"][name] = pair_quality(sl[a] == sl[b], lab)
    from khabar.stories.threads import DEFAULT_THREAD_MODEL

    results["default_thread_model_in_sample"] = thread_quality(
        setup.thread_merged(lb, DEFAULT_THREAD_MODEL), tlab)

    if args.sts.exists():
        results["sts17_ar"] = sts_spearman(args.sts, params)

    # -- print ----------------------------------------------------------------------------------
    _print_speed(results, args, n)
    sp_ = results["speed"]
    print(f"features alone: {sp_['features_per_s']:,.0f} articles/s; active articles at the end "
          f"of the 1x / 4x streams: {sp_['stream']['active_articles_at_end']} / "
          f"{sp_['stream_replayed_4x']['active_articles_at_end']}")
    print(f"replayed stream, assignment only (features done): "
          f"{sp_['replayed_stream_assign_per_s']:,.0f} articles/s")
    for name, ag in results["agreement"].items():
        print(f"batch/{name} agreement: ARI {ag['adjusted_rand']:.3f}; stream co-assignments "
              f"vs batch: precision {ag['stream_pairs_vs_batch']['precision']:.3f} recall "
              f"{ag['stream_pairs_vs_batch']['recall']:.3f}")
    print(f"\nstory sizes (size: stories): {results['story_sizes']}")
    print("\nstory stage given the duplicate and reuse stages' evidence (as `khabar run`): "
          + ("yes" if args.evidence else "no (as `khabar stories FILE`)"))
    print(f"\nlabelled pairs: {len(a)} non-ambiguous ({dict(Counter(lab.tolist()))}), "
          "cross-validated (fit on the other folds, cluster everything, score the fold)")
    print(f"{'split':26s} {'system':15s} {'F1 same':>8s} {'P':>6s} {'R':>6s} {'related':>8s} "
          f"{'different':>9s}")
    for name, rows in quality.items():
        for system, q in rows.items():
            pooled.setdefault(system, []).append(q)
            print(f"{name:26s} {system:15s} {q['f1']:8.3f} {q['precision']:6.3f} "
                  f"{q['recall']:6.3f} {q['related_merged']:8.3f} {q['different_merged']:9.3f}")
    print("\nmean over the splits:")
    for system, qs in pooled.items():
        if qs:
            print(f"  {system:15s} F1 {np.mean([q['f1'] for q in qs]):.3f}  related merged "
                  f"{np.mean([q['related_merged'] for q in qs]):.3f}  different merged "
                  f"{np.mean([q['different_merged'] for q in qs]):.3f}")
    print(f"\nthreads on the same pairs ({dict(Counter(tlab.tolist()))}), cross-validated:")
    print(f"{'split':26s} {'system':19s} {'F1':>6s} {'P':>6s} {'R':>6s} {'yes':>6s} {'no':>6s} "
          f"{'diff':>6s} {'others':>7s}")
    for name, rows in thread_q.items():
        for system, q in rows.items():
            pooled_t.setdefault(system, []).append(q)
            print(f"{name:26s} {system:19s} {q['f1']:6.3f} {q['precision']:6.3f} "
                  f"{q['recall']:6.3f} {q['yes_joined']:6.3f} {q['no_joined']:6.3f} "
                  f"{q['different_joined']:6.3f} {q['others_joined']:7.3f}")
    print("\nmean over the splits:")
    for system, qs in pooled_t.items():
        if qs:
            print(f"  {system:19s} thread F1 {np.mean([q['f1'] for q in qs]):.3f}  yes joined "
                  f"{np.mean([q['yes_joined'] for q in qs]):.3f}  no joined "
                  f"{np.mean([q['no_joined'] for q in qs]):.3f}  different joined "
                  f"{np.mean([q['different_joined'] for q in qs]):.3f}  all others joined "
                  f"{np.mean([q['others_joined'] for q in qs]):.3f}")
    tq = results["default_thread_model_in_sample"]
    print(f"default thread model, in sample: F1 {tq['f1']:.3f}, yes {tq['yes_joined']:.3f}, "
          f"no {tq['no_joined']:.3f}, different {tq['different_joined']:.3f}")
    ins = results["default_model_in_sample"]
    print("default model, in sample (not a validation): " + "; ".join(
        f"{k} F1 {v['f1']:.3f} related {v['related_merged']:.3f} different "
        f"{v['different_merged']:.3f}" for k, v in ins.items()))
    if "sts17_ar" in results:
        s = results["sts17_ar"]
        print(f"\nSTS-2017 ar-ar ({s['pairs']} pairs): Spearman {s['spearman_probability']:.3f} "
              f"(pair probability), {s['spearman_body_cosine']:.3f} (TF-IDF cosine)")
    print(f"\nmodel fitted on all {len(a)} pairs (related weight {RELATED_WEIGHT}, L2 {L2}):")
    print("  " + ", ".join(f"{k} {v:+.2f}" for k, v in full.describe().items()))
    print(f"thread model fitted on all pairs (no weight {THREAD_NO_WEIGHT}, L2 {L2}):")
    print("  " + ", ".join(f"{k} {v:+.2f}" for k, v in full_threads.describe().items()))
    if args.fit:
        from khabar.stories.threads import THREAD_FEATURES

        weights = ", ".join(f"{w:.2f}" for w in full.weights)
        print(f"\nDEFAULT_MODEL = SimilarityModel(  # {', '.join(FEATURES)}\n"
              f"    weights=({weights}),\n    intercept={full.intercept:.2f},\n)")
        weights = ", ".join(f"{w:.2f}" for w in full_threads.weights)
        print(f"\nDEFAULT_THREAD_MODEL = ThreadModel(  # {', '.join(THREAD_FEATURES)}\n"
              f"    weights=({weights}),\n    intercept={full_threads.intercept:.2f},\n)")
    print("\nsample of stories (batch):")
    for rows in sample:
        rows = sorted(rows, key=lambda r: arts.ts[r])
        print(f"- {len(rows)} articles, {len({arts.sources[r] for r in rows})} outlets")
        for r in rows[:6]:
            when = time.strftime("%m-%d %H:%M", time.gmtime(arts.ts[r])) if not math.isnan(
                arts.ts[r]) else "undated"
            print(f"    {when} {arts.sources[r] or '?':12s} {arts.titles[r][:90]}")
        if len(rows) > 6:
            print(f"    … {len(rows) - 6} more")
    results["sample"] = [[arts.ids[r] for r in rows] for rows in sample]
    out = ROOT / "bench" / "results" / ("stories-evidence.json" if args.evidence
                                        else "stories.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=float))
    print(f"\nwritten {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
