"""The Spark runner gives what the local runner gives: op by op, and whole jobs byte for byte.

Every Spark run here uses a bounded driver (``spark.driver.memory=1g``,
``spark.driver.maxResultSize=16m``). One Spark context serves the module (a
JVM start is most of the cost); the command-line tests start their own.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO, SHARED
from test_input_parts import mixed_inputs

from khabar.engine import LocalRunner, cogroup
from khabar.engine.components import local_components

pytestmark = [
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
                       reason="Spark needs Java"),
]
pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")

BOUNDED = {"spark.driver.memory": "1g", "spark.driver.maxResultSize": "16m",
           "spark.ui.enabled": "false"}
SAMPLE_ARTICLES = 150


@pytest.fixture(scope="module")
def spark() -> Iterator:
    from pyspark import cloudpickle

    from khabar.engine.spark import SparkRunner

    # Spark's Python workers cannot import this test module: its steps go by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    runner = SparkRunner("local[2]", conf=BOUNDED)
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRunner]:
    with LocalRunner(2) as runner:
        yield runner


# -- steps used by the op tests (module level: picklable) --------------------------------------


def square(batch: list[int], offset: int) -> list[int]:
    return [x * x + offset for x in batch]


def parity(batch: list[int]) -> tuple[list[int], list[str]]:
    return [x for x in batch if x % 2 == 0], [f"odd {x}" for x in batch if x % 2]


def skewed_keys(batch: list[int]) -> list[tuple[int, int]]:
    # key 0 carries most records: one reduce partition gets far more than the others
    return [(0 if x % 10 < 8 else x % 97 + 1, x) for x in batch]


def total(key: int, values: list[int]) -> list[tuple[int, int, int]]:
    return [(key, len(values), sum(values))]


def first_seen(key: int, values: list[int]) -> list[tuple[int, list[int]]]:
    # an order-sensitive reduction must sort: it may only depend on the multiset
    return [(key, sorted(values)[:3])]


def array_keys(batch: list[int]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(batch, dtype=np.int64)
    keys = np.where(x % 5 == 0, 0, x % 1009 + 1).astype(np.uint64)
    return keys, x


def array_totals(keys: np.ndarray, values: np.ndarray) -> list[tuple[int, int, int]]:
    cut = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate(([0], cut)).astype(np.int64)
    sums = np.add.reduceat(values, starts) if len(values) else values
    sizes = np.diff(np.concatenate((starts, [len(keys)])))
    return [(int(k), int(n), int(s)) for k, n, s in zip(keys[starts].tolist(), sizes.tolist(),
                                                         sums.tolist(), strict=True)]


def left_keys(batch: list[int]) -> list[tuple[int, str]]:
    return [(x, f"L{x}") for x in batch]


def right_keys(batch: list[int]) -> list[tuple[int, str]]:
    return [(x, f"R{x}") for x in batch] + [(x, f"R{x}b") for x in batch if x % 3 == 0]


def joined(key: int, sides: list[list[str]]) -> list[tuple[int, int, int, str]]:
    return [(key, len(sides[0]), len(sides[1]), "|".join(sorted(sides[0] + sides[1])))]


def record_n(r: tuple[int, str]) -> int:
    return r[0]


def doubled(batch: list[tuple[int, str]], suffix: str) -> list[tuple[int, str]]:
    return [(n, text * 2 + suffix) for n, text in batch]


def pair_work(items: list[tuple], tag: str) -> list[tuple[int, int, str, str]]:
    return [(i, j, f"{tag}{payload}", a[1][:3] + b[1][:3]) for i, j, payload, a, b in items]


def counter(batch: list[int]) -> Counter[int]:
    return Counter(x % 7 for x in batch)


def add(a: Counter[int], b: Counter[int]) -> Counter[int]:
    return a + b


def ordered(a: list[int], b: list[int]) -> list[int]:
    return a + b


def as_list(batch: list[int]) -> list[int]:
    return list(batch)


def gated(batch: list[int], allowed: object) -> list[int]:
    keep = allowed.value  # type: ignore[attr-defined]
    return [x for x in batch if x in keep]


def blob(batch: list[int]) -> list[tuple[int, bytes]]:
    return [(x, os.urandom(6000)) for x in batch]


def huge(batch: list[int]) -> list[tuple[int, bytes]]:
    return [(x, os.urandom(20 << 20)) for x in batch]


def by_value(x: int) -> int:
    return -x


def keyed_by_n(record: tuple[int, bytes]) -> int:
    return record[0]


# -- the ops, against LocalRunner ---------------------------------------------------------------


def both(spark, local, items: list, parts: int = 4) -> tuple:
    chunks = [items[k::parts] for k in range(parts)]
    return spark.source(iter(chunks)), local.source(iter(chunks))


def test_maps_keep_records_and_their_order(spark, local) -> None:
    s, lo = both(spark, local, list(range(3000)))
    assert list(s.map(square, 1).records()) == list(lo.map(square, 1).records())
    s_even, s_odd = s.map_multi(parity, 2)
    l_even, l_odd = lo.map_multi(parity, 2)
    assert list(s_even.records()) == list(l_even.records())
    assert list(s_odd.records()) == list(l_odd.records())
    assert s_odd.count() == l_odd.count() == 1500
    allowed = {3, 5, 8}
    assert list(s.map(gated, spark.broadcast(allowed)).records()) == \
        list(lo.map(gated, local.broadcast(allowed)).records())


def test_groups_with_skewed_keys(spark, local) -> None:
    items = list(range(20000))
    s, lo = both(spark, local, items)
    want = sorted(lo.group(skewed_keys, total).records())
    assert sorted(s.group(skewed_keys, total).records()) == want
    assert want[0][:2] == (0, 16000)
    assert sorted(s.group(skewed_keys, first_seen, partitions=3).records()) == \
        sorted(lo.group(skewed_keys, first_seen).records())
    arrays = sorted(s.group_arrays(array_keys, array_totals).records())
    assert arrays == sorted(lo.group_arrays(array_keys, array_totals, partitions=7).records())
    assert arrays[0] == (0, 4000, sum(x for x in items if x % 5 == 0))


def test_cogroup_with_missing_sides(spark, local) -> None:
    s1, l1 = both(spark, local, list(range(0, 100)))
    s2, l2 = both(spark, local, list(range(50, 150)))
    got = sorted(cogroup([s1, s2], [left_keys, right_keys], joined).records())
    want = sorted(cogroup([l1, l2], [left_keys, right_keys], joined).records())
    assert got == want
    sides = {k: (a, b) for k, a, b, _ in got}
    assert sides[10] == (1, 0) and sides[120][0] == 0 and sides[60] == (1, 2)
    assert len(got) == 150


def test_pairs_join_both_sides(spark, local) -> None:
    table = [(n, f"doc{n:04d}") for n in range(0, 600, 2)]
    rng = np.random.default_rng(3)
    pairs = [(0, int(j), f"hub{j}") for j in range(2, 600, 2)]  # one record in many pairs
    pairs += [(int(a), int(b), "") for a, b in rng.choice(300, (400, 2)) * 2 if a != b]
    s_table, l_table = both(spark, local, table, 3)
    s_pairs, l_pairs = both(spark, local, pairs, 5)
    got = sorted(spark.pairs(s_pairs, s_table, record_n, pair_work, ("x",), doubled, ("!",))
                 .records())
    want = sorted(local.pairs(l_pairs, l_table, record_n, pair_work, ("x",), doubled, ("!",))
                  .records())
    assert got == want and len(got) == len(pairs)
    assert got[0][3] == "docdoc"


def test_aggregate_in_a_tree_keeps_partition_order(spark, local) -> None:
    from khabar.engine.spark import FAN_IN, SparkDataset

    items = list(range(5000))
    s, lo = both(spark, local, items)
    assert s.aggregate(counter, add, Counter()) == lo.aggregate(counter, add, Counter())
    # more partitions than one combine task takes: partial results combine in a tree, and
    # an order-sensitive combine still sees them in partition order
    many = SparkDataset(spark, spark.sc.parallelize(items, 3 * FAN_IN + 5))
    assert many.aggregate(as_list, ordered, []) == items
    assert many.aggregate(counter, add, Counter()) == Counter(x % 7 for x in items)


GRAPHS = {
    "chain": [(k, k + 1) for k in range(0, 30)],
    "star": [(500, k) for k in range(501, 530)] + [(k, 500) for k in range(600, 610)],
    "cycle": [(k, (k + 1) % 20 + 100) for k in range(100, 120)],
    "mixed": [(9, 9), (7, 3), (3, 11), (20, 21), (21, 20), (40, 41), (41, 42), (42, 40),
              (1000, 2), (2, 999), (5, 5)],
    "reversed chain": [(k + 1, k) for k in range(3000, 3020)],
}


def test_components_large_and_small_star(spark) -> None:
    # the graphs side by side (apart by 10,000), so one run meets every shape
    edges = [(a + 10_000 * g, b + 10_000 * g)
             for g, name in enumerate(sorted(GRAPHS)) for a, b in GRAPHS[name]]
    want = sorted(x for b in local_components([edges]) for x in b)
    assert len({label for _, label in want}) == 10
    ds = spark.source(iter([edges[k::3] for k in range(3)]))
    saved = spark.components_local_edges
    try:
        spark.components_local_edges = 0  # the star iterations, whatever the size
        assert sorted(spark.components(ds).records()) == want
    finally:
        spark.components_local_edges = saved
    assert sorted(spark.components(ds).records()) == want


def test_streams_to_a_bounded_driver(spark, local) -> None:
    # ~18 MB in one partition: more than spark.driver.maxResultSize allows in one result
    s = spark.source(iter([list(range(3000))])).map(blob)
    one = s.group(_by_mod, _keep_all, partitions=1)
    assert one.rdd.getNumPartitions() == 1
    with pytest.raises(Exception, match="maxResultSize"):
        one.rdd.collect()  # the bound is real: the partition in one result is refused
    got = [r[0] for b in one.batches() for r in b]
    assert sorted(got) == list(range(3000))
    assert [r[0] for r in one.sorted_records(keyed_by_n)] == list(range(3000))
    lo = local.source(iter([list(range(3000))]))
    assert [x for b in spark.source(iter([list(range(3000))])).sorted_batches(by_value)
            for x in b] == [x for b in lo.sorted_batches(by_value) for x in b]
    # one record bigger than a result may be (a fixed-size statistics table): it cannot be
    # cut, so the executors write it into the work folder and the driver reads it there
    big = spark.source(iter([[7]])).map(huge)
    got = [r for b in big.batches() for r in b]
    assert len(got) == 1 and got[0][0] == 7 and len(got[0][1]) == 20 << 20


def test_ranked_numbers_in_key_order(spark, local) -> None:
    s, lo = both(spark, local, list(range(3000)))
    got = sorted(spark.ranked(s, by_value).records())
    assert got == sorted(local.ranked(lo, by_value).records())
    assert got[:2] == [(0, 2999), (1, 2998)] and len(got) == 3000
    assert spark.ranked(spark.source(iter([])), by_value).count() == 0


def _by_mod(batch: list[tuple[int, bytes]]) -> list[tuple[int, tuple[int, bytes]]]:
    return [(0, r) for r in batch]


def _keep_all(_key: int, values: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    return values


def test_read_documents_like_local(spark, local, tmp_path: Path, monkeypatch) -> None:
    from khabar.io.readers import Fields

    monkeypatch.chdir(tmp_path)
    paths = mixed_inputs(tmp_path)
    seen: dict[str, list] = {"spark": [], "local": []}
    s = spark.read_documents(paths, Fields(), seen["spark"].append)
    lo = local.read_documents(paths, Fields(), seen["local"].append)
    s_docs = sorted(s.records(), key=record_n)
    l_docs = sorted(lo.records(), key=record_n)
    assert [d for _, d in s_docs] == [d for _, d in l_docs]
    assert [n for n, _ in s_docs] == list(range(len(s_docs)))  # dense, in input order
    assert seen["spark"] == seen["local"] and len(seen["local"]) >= 5


# -- whole jobs ----------------------------------------------------------------------------------


def _sample(tmp_path: Path) -> Path | None:
    dev = SHARED / "data" / "saudinewsnet" / "dev.jsonl.gz"
    if not dev.exists():
        return None
    out = tmp_path / "sample.jsonl.gz"
    with gzip.open(dev, "rt", encoding="utf-8") as src, \
            gzip.open(out, "wt", encoding="utf-8") as dst:
        for k, line in enumerate(src):
            if k >= SAMPLE_ARTICLES:
                break
            dst.write(line)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _run_both(spark, given: list[Path], out: Path, mode: str = "batch") -> dict[str, tuple]:
    """The whole `khabar run` (every stage, data files and report pages) locally and on
    Spark: the files each wrote, their counts and the problems reported."""
    from khabar.pipeline import PipelineParams, run_pipeline

    outs = {}
    for name, params in (("local", PipelineParams(workers=2, story_mode=mode)),
                         ("spark", PipelineParams(engine=spark, story_mode=mode))):
        problems: list = []
        done = run_pipeline(given, out / name, params=params, on_problem=problems.append)
        counts = json.loads(json.dumps(done.counts, default=str).replace(str(out / name), "OUT"))
        outs[name] = (_files(out / name), counts, problems)
    return outs


def test_the_whole_run_writes_what_local_writes(spark, tmp_path: Path) -> None:
    inputs = [([DEMO], "batch"), ([DEMO], "stream")]
    sample = _sample(tmp_path)
    if sample is not None:
        inputs.append(([sample], "batch"))
    for k, (given, mode) in enumerate(inputs):
        outs = _run_both(spark, given, tmp_path / str(k), mode)
        assert outs["spark"][0].keys() == outs["local"][0].keys()
        assert [f for f, b in outs["local"][0].items() if outs["spark"][0][f] != b] == []
        assert outs["spark"][1:] == outs["local"][1:]
        files = outs["local"][0]
        assert files["data/passages.jsonl"].count(b"\n") > 10
        if given == [DEMO]:  # the demo has copies; a small sample of dev may have none
            assert files["data/pairs.jsonl"].count(b"\n") >= 1
        assert files["data/stories.jsonl"].count(b"\n") >= 3
        assert "index.html" in files and any(f.startswith("stories/") for f in files)


def test_parquet_files_hold_the_local_rows(spark, tmp_path: Path) -> None:
    # executors write Parquet parts, the driver joins them a row group at a time
    import pyarrow.parquet as pq

    from khabar.pipeline import Job

    for name, runner in (("local", 2), ("spark", spark)):
        with Job(["dups", "reuse", "stories"], [DEMO], workers=runner) as job:
            job.run()
            job.write(tmp_path / name, fmt="parquet")
            if name == "spark":
                job.write(tmp_path / "jsonl")
    files = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "spark").iterdir())
    assert "passages.parquet" in files and "stories.parquet" in files
    for f in files:
        want = pq.read_table(tmp_path / "local" / f)
        got = pq.read_table(tmp_path / "spark" / f)
        assert got.schema == want.schema and got.to_pylist() == want.to_pylist(), f
    rows = (tmp_path / "jsonl" / "passages.jsonl").read_text("utf-8").splitlines()
    assert pq.read_table(tmp_path / "spark" / "passages.parquet").num_rows == len(rows) > 10


STAMPS = {"ingested_at", "updated_at", "started", "finished"}
"""Columns of a store that hold the time of the run."""


def _tables(db: Path) -> dict[str, list]:
    import sqlite3

    con = sqlite3.connect(db)
    try:
        out = {}
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cols = [c[1] for c in con.execute(f'PRAGMA table_info("{name}")')
                    if c[1] not in STAMPS]
            select = ", ".join(f'"{c}"' for c in cols)
            out[name] = sorted(map(repr, con.execute(f'SELECT {select} FROM "{name}"')))
        return out
    finally:
        con.close()


def test_a_store_streams_through_the_executors(spark, tmp_path: Path) -> None:
    # with a database the documents come from the driver (ingested there) and the outputs go
    # back to it: both streamed, a group or a partition at a time; a second run over the
    # database alone (no inputs) keeps the story ids
    from khabar.pipeline import PipelineParams, run_pipeline

    for name, params in (("local", PipelineParams(workers=1)),
                         ("spark", PipelineParams(engine=spark))):
        run_pipeline([DEMO], tmp_path / name, tmp_path / f"{name}.db", params=params)
        run_pipeline(None, tmp_path / f"{name}-again", tmp_path / f"{name}.db", params=params)
    for folder in ("", "-again"):
        want, got = _files(tmp_path / f"local{folder}"), _files(tmp_path / f"spark{folder}")
        assert got.keys() == want.keys() and "data/stories.jsonl" in want
        assert [f for f, b in want.items() if got[f] != b] == []
    want, got = _tables(tmp_path / "local.db"), _tables(tmp_path / "spark.db")
    assert got.keys() == want.keys() and len(want["documents"]) > 10
    assert [t for t in want if got[t] != want[t]] == []


# -- the command line: errors in one line, the environment checked first ------------------------


def _khabar(*args: str, env: dict | None = None, timeout: int = 600
            ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "khabar", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def _last_line(res: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in res.stderr.strip().splitlines()
             if not ln.startswith("WARNING: Using incubator modules")]
    assert len(lines) == 1, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    return lines[0]


def test_cli_one_line_errors_before_spark_starts(tmp_path: Path) -> None:
    out = str(tmp_path / "d")
    res = _khabar("dups", str(DEMO), "--out", out, "--engine", "spark:nowhere")
    assert res.returncode != 0 and "Spark master 'nowhere'" in _last_line(res)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    res = _khabar("dups", str(DEMO), "--out", out, "--engine", f"spark:spark://127.0.0.1:{port}")
    assert res.returncode != 0 and "cannot reach the Spark master" in _last_line(res)
    bare = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    bare["PATH"] = str(tmp_path)
    res = _khabar("dups", str(DEMO), "--out", out, "--engine", "spark:local[1]", env=bare)
    assert res.returncode != 0 and "Spark needs Java" in _last_line(res)
    res = _khabar("dups", str(DEMO), "--out", out, "--engine", "spark", "--spark-conf", "nokey")
    assert res.returncode != 0 and "expected KEY=VALUE" in _last_line(res)
    assert not Path(out).exists()


def test_cli_without_pyspark_says_so_in_one_line(tmp_path: Path) -> None:
    # a driver whose Python has no pyspark (imports of it fail as if it were not installed)
    code = ("import sys; sys.modules['pyspark'] = None; from khabar.cli import main; "
            "main(sys.argv[1:])")
    res = subprocess.run([sys.executable, "-c", code, "run", str(DEMO), "--out",
                          str(tmp_path / "r"), "--engine", "spark"], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode != 0
    assert "needs pyspark: pip install 'khabar[spark]'" in _last_line(res)


def test_cli_names_what_the_executors_lack(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"
    res = _khabar("dups", str(DEMO), "--out", str(tmp_path / "d"), "--engine", "spark:local[1]",
                  *[f"--spark-conf={k}={v}" for k, v in BOUNDED.items()],
                  "--spark-conf", f"spark.pyspark.python={python}")
    assert res.returncode != 0
    line = _last_line(res)
    assert "executors cannot import numpy" in line and str(python) in line
    assert "spark.pyspark.python" in line and "spark.archives" in line
    assert not (tmp_path / "d").exists()


# -- a real standalone cluster on loopback -------------------------------------------------------


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator:
    from khabar.engine.spark import LoopbackCluster

    with LoopbackCluster(workers=2, cores=1, memory="1g", folder=tmp_path / "cluster") as c:
        yield c


def test_standalone_cluster_writes_what_local_writes(cluster, tmp_path: Path) -> None:
    # `khabar run`: every stage, the data files and the report's pages, on a master and two
    # workers (separate JVMs, executors with their own Python workers)
    local = tmp_path / "local"
    res = _khabar("run", str(DEMO), "-q", "--out", str(local))
    assert res.returncode == 0, res.stderr[-2000:]
    remote = tmp_path / "shared" / "report"
    conf = {**BOUNDED, "spark.executor.memory": "512m", "spark.cores.max": "2",
            "spark.pyspark.python": sys.executable}
    res = _khabar("run", str(DEMO), "--out", str(remote), "--engine", f"spark:{cluster.master}",
                  *[f"--spark-conf={k}={v}" for k, v in conf.items()], env=cluster.env)
    assert res.returncode == 0, res.stderr[-3000:]
    want, got = _files(local), _files(remote)
    assert got.keys() == want.keys()
    assert [f for f, b in want.items() if got[f] != b] == []
    assert want["data/passages.jsonl"].count(b"\n") > 10 and "index.html" in want
    assert "report:" in res.stderr
    # the executors (not the driver) wrote it: their application folders hold their logs
    assert any((tmp_path / "cluster" / "work").glob("app-*/*/stderr"))
