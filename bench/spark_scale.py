"""Benchmark: the job on Spark from 4k to 31k articles, driver and executors apart, and where
10M articles on 100 cores would stand.

    python bench/spark_scale.py [--sizes 4k,8k,16k,31k] [--modes local,spark,cluster]
                                [--stages run|dups,reuse] [--results FILE]

The job is the whole ``khabar run`` (read, repair, dups, reuse, stories, threads, explain,
report: its data files and every page), from the JSONL corpus of `bench/corpus.py`;
``--stages dups,reuse`` runs only those targets. Each run is its own process:

* ``local``: `LocalRunner` with 2 processes, the baseline (and the reference output);
* ``spark``: `SparkRunner` on ``local[2]`` (driver and executors share one JVM);
* ``cluster``: `SparkRunner` on a standalone cluster on loopback (a master and two workers
  of one core each, started here from the installed pyspark), so the driver's JVM and
  the executors' are separate processes.

Every Spark run uses a bounded driver: ``spark.driver.memory=1g`` and
``spark.driver.maxResultSize=16m``. Memory is sampled every 0.2 s from /proc: the peak
resident set of the driver's Python process and of its JVM (VmHWM, exact), the JVM's peak
heap in use (its memory pools' peak usage), and the peak of the summed resident sets of
the executors' processes. CPU seconds are summed over every process of the run (driver,
JVMs, Python workers, executors), steadier than wall time on a shared machine. Each Spark
run's output files are compared byte for byte with the local run's. The runner also
records what reached the driver: broadcasts, aggregates and streams back, by the stage
step that asked.

Results go to bench/results/spark_scale.json; the table and the projection are printed.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from corpus import DEV, ensure  # noqa: E402

BOUNDED = {"spark.driver.memory": "1g", "spark.driver.maxResultSize": "16m",
           "spark.ui.enabled": "false"}
CLUSTER = {"spark.executor.memory": "1g", "spark.cores.max": "2",
           # the workers' executors run this interpreter (on a real cluster: a packed one)
           "spark.pyspark.python": sys.executable}
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
N_TARGET = 10_000_000
CORES_TARGET = 100


# -- the child: one run ---------------------------------------------------------------------------


def child(args: argparse.Namespace) -> int:
    from khabar.pipeline import Job, cpu_seconds

    conf = dict(kv.split("=", 1) for kv in args.conf)
    problems: list[Any] = []
    if args.child == "local":
        runner: Any = 2
    else:
        from khabar.engine.spark import SparkRunner

        runner = SparkRunner(args.master, conf=conf)
        runner.measure = True
    started = time.perf_counter()
    start_s = 0.0
    if args.child != "local":
        _ = runner.session  # start Spark first: its start-up is not a stage's cost
        start_s = time.perf_counter() - started
    if args.stages == "run":
        # the whole `khabar run`: every stage, the data files and the report's pages
        from khabar.pipeline import PipelineParams, run_pipeline

        params = PipelineParams(workers=2) if args.child == "local" else \
            PipelineParams(engine=runner)
        done = run_pipeline([args.input], args.out, params=params, on_problem=problems.append)
        seconds, cpu, counts = done.seconds, done.cpu, done.counts
    else:
        with Job(args.stages.split(","), [args.input], workers=runner,
                 on_problem=problems.append) as job:
            job.run()
            job.write(args.out)
            seconds, cpu, counts = job.seconds, job.cpu, job.counts
    result = {"seconds": seconds, "cpu_driver": cpu, "counts": counts,
              "wall": time.perf_counter() - started, "start": start_s,
              "problems": len(problems), "driver_python_hwm": _hwm(os.getpid()),
              "driver_cpu": cpu_seconds()}
    if args.child != "local":
        result["driver_heap_peak"] = _heap_peak(runner)
        result["driver_data"] = runner.driver_data
        runner.close()
    print("RESULT " + json.dumps(result))
    return 0


def _heap_peak(runner: Any) -> int:
    """Peak bytes in use of the driver JVM's heap pools (since it started)."""
    jvm = runner.sc._jvm
    total = 0
    for pool in jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans():
        if str(pool.getType()) == "Heap memory":
            total += int(pool.getPeakUsage().getUsed())
    return total


# -- the parent: processes sampled from /proc -----------------------------------------------------


def _hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _stat(pid: int) -> tuple[int, float] | None:
    """(resident bytes, CPU seconds) of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[21]) * PAGE, (int(fields[11]) + int(fields[12])) / TICK


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace")
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:  # a child started by any thread of the process (a JVM starts them from many)
        for task in Path(f"/proc/{pid}/task").iterdir():
            out.extend(int(c) for c in (task / "children").read_text().split())
    except OSError:
        pass
    return out


class Sampler(threading.Thread):
    """Peaks and CPU of the processes of one run, by role."""

    def __init__(self, driver: int, cluster_roots: list[int]) -> None:
        super().__init__(daemon=True)
        self.driver = driver
        self.cluster_roots = cluster_roots
        self.stop = threading.Event()
        self.cpu: dict[int, float] = {}
        self.role: dict[int, str] = {}
        self.hwm: dict[int, int] = {}
        self.peak_sum: dict[str, int] = {}

    def roles(self) -> dict[int, str]:
        found: dict[int, str] = {self.driver: "driver python"}

        def below(pid: int) -> None:
            for c in _children(pid):
                found[c] = "executors"
                below(c)

        for c in _children(self.driver):
            # local[N]: the driver's JVM also runs the tasks, its Python workers are the
            # executors' side; LocalRunner: the pool's processes
            found[c] = "driver jvm" if _cmdline(c).split(" ")[0].endswith("java") \
                else "executors"
            below(c)
        for root in self.cluster_roots:  # master and workers: only what they start counts
            below(root)
        return found

    def run(self) -> None:
        while not self.stop.is_set():
            sums: dict[str, int] = {}
            for pid, role in self.roles().items():
                st = _stat(pid)
                if st is None:
                    continue
                self.role[pid] = role
                self.cpu[pid] = st[1]
                self.hwm[pid] = max(self.hwm.get(pid, 0), _hwm(pid))
                sums[role] = sums.get(role, 0) + st[0]
            for role, total in sums.items():
                self.peak_sum[role] = max(self.peak_sum.get(role, 0), total)
            self.stop.wait(0.2)

    def summary(self) -> dict[str, Any]:
        by_role: dict[str, float] = {}
        for pid, cpu in self.cpu.items():
            by_role[self.role[pid]] = by_role.get(self.role[pid], 0.0) + cpu
        jvm = [self.hwm[p] for p, r in self.role.items() if r == "driver jvm"]
        return {"cpu": by_role, "cpu_total": sum(by_role.values()),
                "driver_jvm_hwm": max(jvm, default=0),
                "driver_python_hwm": self.hwm.get(self.driver, 0),
                "executors_peak": self.peak_sum.get("executors", 0)}


def run_one(mode: str, corpus: Path, out: Path, stages: str, master: str | None,
            env: dict[str, str] | None, cluster_roots: list[int]) -> dict[str, Any]:
    conf = {**BOUNDED, **(CLUSTER if mode == "cluster" else {})}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child",
           "local" if mode == "local" else "spark", "--input", str(corpus), "--out", str(out),
           "--stages", stages, *(["--master", master] if master else []),
           *[f"--conf={k}={v}" for k, v in conf.items()]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    sampler = Sampler(proc.pid, cluster_roots)
    sampler.start()
    stdout, stderr = proc.communicate()
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} on {corpus.name} failed:\n{stderr[-3000:]}")
    line = next(ln for ln in stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    result.update(sampler.summary())
    return result


def same_files(a: Path, b: Path) -> bool:
    """The same files (every folder down), byte for byte."""
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    return names == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and all(
        filecmp.cmp(a / n, b / n, shallow=False) for n in names)


# -- report ---------------------------------------------------------------------------------------


def mb(x: float) -> str:
    return f"{x / 2**20:,.0f}"


def table(results: dict[str, dict[str, dict[str, Any]]], sizes: list[str]) -> str:
    rows = ["| mode | articles | wall s | CPU s (all processes) | stages CPU-s on driver | "
            "driver Python MB | driver JVM MB (heap peak) | executors MB | same files |",
            "|---|---|---|---|---|---|---|---|---|"]
    for mode in results:
        for size in sizes:
            r = results[mode].get(size)
            if r is None:
                continue
            heap = f" ({mb(r['driver_heap_peak'])})" if "driver_heap_peak" in r else ""
            rows.append(
                f"| {mode} | {r['counts']['read']['documents']:,} | {r['wall']:.0f} "
                f"(start {r['start']:.0f}) | {r['cpu_total']:.0f} | "
                f"{sum(r['cpu_driver'].values()):.0f} | {mb(r['driver_python_hwm'])} | "
                f"{mb(r['driver_jvm_hwm']) if r['driver_jvm_hwm'] else '-'}{heap} | "
                f"{mb(r['executors_peak'])} | {r.get('same', '-')} |")
    return "\n".join(rows)


def growth(xs: list[float], ys: list[float]) -> float:
    """Exponent b of y ~ x^b (least squares on logs)."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(max(y, 1e-9)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    den = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / den if den else 1.0


def projection(results: dict[str, dict[str, dict[str, Any]]], sizes: list[str]) -> str:
    mode = "cluster" if "cluster" in results else "spark"
    runs = [results[mode][s] for s in sizes if s in results.get(mode, {})]
    if len(runs) < 2:
        return "(projection needs two sizes of a Spark run)"
    n = [r["counts"]["read"]["documents"] for r in runs]
    cpu = [r["cpu_total"] for r in runs]
    b = growth(n, cpu)
    last = runs[-1]
    cpu_10m = cpu[-1] * (N_TARGET / n[-1]) ** b
    # parallel efficiency measured on the 2-core runs: CPU seconds per wall second per core
    eff = min(1.0, last["cpu_total"] / max(1e-9, (last["wall"] - last["start"]) * 2))
    wall_10m = cpu_10m / (CORES_TARGET * eff)
    lines = [f"Projection from the {mode} runs ({n[0]:,} to {n[-1]:,} articles): CPU grows as "
             f"n^{b:.2f}; at {N_TARGET:,} articles about {cpu_10m / 3600:,.0f} CPU-hours, "
             f"about {wall_10m / 3600:,.1f} h on {CORES_TARGET} cores at the measured "
             f"parallel efficiency ({eff:.0%} of 2 cores busy).",
             "", "Driver: Python peak " + ", ".join(mb(r["driver_python_hwm"]) for r in runs)
             + " MB; JVM heap peak " + ", ".join(mb(r.get("driver_heap_peak", 0)) for r in runs)
             + " MB (growth n^{:.2f} and n^{:.2f}).".format(
                 growth(n, [r["driver_python_hwm"] for r in runs]),
                 growth(n, [max(1, r.get("driver_heap_peak", 1)) for r in runs])),
             "", "What reaches the driver, by step (bytes at each size, growth, projected to "
             f"{N_TARGET:,}):"]
    steps: dict[str, list[int]] = {}
    for k, r in enumerate(runs):
        for kind, where, size in r.get("driver_data", []):
            key = f"{kind} {where.split(':')[0]}"
            steps.setdefault(key, [0] * len(runs))[k] += size
    ranked = []
    for key, sizes_b in steps.items():
        g = growth(n, [max(1, s) for s in sizes_b]) if all(sizes_b) else 0.0
        ranked.append((sizes_b[-1] * (N_TARGET / n[-1]) ** max(g, 0.0), key, sizes_b, g))
    for proj, key, sizes_b, g in sorted(ranked, reverse=True):
        lines.append(f"- {key}: {', '.join(f'{s:,}' for s in sizes_b)} (n^{g:.2f}) -> "
                     f"{proj / 2**20:,.1f} MB")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="4k,8k,16k,31k")
    ap.add_argument("--modes", default="local,spark,cluster")
    ap.add_argument("--stages", default="run",
                    help="run (the whole `khabar run`, report included) or stage targets")
    ap.add_argument("--corpora", type=Path, default=ROOT / "bench" / "results" / "corpora")
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results" /
                    "spark_scale.json")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--input", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--master", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--conf", action="append", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    if not DEV.exists():
        print(f"skipped: {DEV} is absent (the shared corpora are not part of the repository)")
        return 0
    sizes = args.sizes.split(",")
    modes = args.modes.split(",")
    results: dict[str, dict[str, dict[str, Any]]] = {m: {} for m in modes}
    if args.results.exists():
        old = json.loads(args.results.read_text())
        for m in modes:
            results[m].update(old.get("results", {}).get(m, {}))
    work = Path(tempfile.mkdtemp(prefix="khabar-spark-scale-"))
    cluster = None
    try:
        if "cluster" in modes:
            from khabar.engine.spark import LoopbackCluster

            cluster = LoopbackCluster(workers=2, cores=1, memory="1536m", folder=work / "c")
            cluster.__enter__()
        for size in sizes:
            corpus = ensure(size, args.corpora)
            reference = work / f"{size}-local"
            # the local run is the reference output: without `local` in --modes, the Spark
            # runs' files are not compared (the suite compares them on smaller inputs)
            for mode in [*(["local"] if "local" in modes else []),
                         *[m for m in modes if m != "local"]]:
                out = work / f"{size}-{mode}"
                master = None if mode == "local" else (
                    "local[2]" if mode == "spark" else cluster.master)  # type: ignore[union-attr]
                env = cluster.env if mode == "cluster" and cluster else None
                roots = [p.pid for p in cluster.procs] if mode == "cluster" and cluster else []
                r = run_one(mode, corpus, out, args.stages, master, env, roots)
                if mode != "local" and reference.exists():
                    r["same"] = same_files(reference, out)
                if mode in results:
                    results[mode][size] = r
                print(f"{mode} {size}: wall {r['wall']:.0f} s, CPU {r['cpu_total']:.0f} s, "
                      f"driver python {mb(r['driver_python_hwm'])} MB, "
                      f"same {r.get('same', '-')}", flush=True)
                args.results.parent.mkdir(parents=True, exist_ok=True)
                args.results.write_text(json.dumps({"stages": args.stages,
                                                    "results": results}, indent=1))
    finally:
        if cluster is not None:
            cluster.__exit__()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(results, sizes))
    print()
    print(projection(results, sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
