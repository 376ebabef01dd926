"""Engines: the same stage functions give the same results locally and in Spark partitions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import DEMO

from khabar.engine import Engine, LocalEngine, get_engine
from khabar.io.readers import read


def square_all(batch: list[int], offset: int) -> list[int]:
    return [x * x + offset for x in batch]


def pid_of(batch: list[int]) -> list[int]:
    return [os.getpid()] * len(batch)


def test_get_engine_specs() -> None:
    assert get_engine(3).workers == 3
    assert get_engine("local:2").workers == 2
    assert get_engine("local").workers >= 1
    assert get_engine(0).workers >= 1
    mine = LocalEngine(1)
    assert get_engine(mine) is mine
    assert isinstance(mine, Engine)
    for bad in ("local:x", "dask", "spark-ish"):
        with pytest.raises(ValueError):
            get_engine(bad)


def test_local_engine_keeps_order_across_processes() -> None:
    batches = [list(range(i, i + 5)) for i in range(0, 200, 5)]
    want = [square_all(b, 1) for b in batches]
    assert list(LocalEngine(1).map(square_all, batches, 1)) == want
    assert list(LocalEngine(2).map(square_all, iter(batches), 1)) == want
    pids = {p for part in LocalEngine(2).map(pid_of, batches) for p in part}
    assert os.getpid() not in pids


def test_cli_rejects_unknown_engine(tmp_path) -> None:
    res = subprocess.run([sys.executable, "-m", "khabar", "reuse", str(DEMO), "--engine", "dask",
                          "--db", str(tmp_path / "k.db")], capture_output=True, text=True)
    assert res.returncode != 0
    assert "--engine" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


# -- Spark -----------------------------------------------------------------------------------

needs_spark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java")


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")
    from pyspark import cloudpickle

    from khabar.engine.spark import SparkEngine

    # Spark's Python workers cannot import this test module: send its functions by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])

    engine = SparkEngine("local[2]", conf={"spark.ui.enabled": "false"})
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def demo_docs():
    return list(read([DEMO]))


@needs_spark
def test_spark_map_runs_in_python_workers_in_order(spark) -> None:
    batches = [list(range(i, i + 3)) for i in range(0, 90, 3)]
    assert list(spark.map(square_all, batches, 7)) == [square_all(b, 7) for b in batches]
    # the stage really ran in Spark's Python workers, not in this process
    pids = {p for part in spark.map(pid_of, batches) for p in part}
    assert pids and os.getpid() not in pids
    assert get_engine(spark) is spark


@needs_spark
def test_spark_reuse_equals_local(spark, demo_docs) -> None:
    from khabar.reuse import find_reuse

    local = find_reuse(demo_docs, workers=1)
    remote = find_reuse(demo_docs, workers=spark)
    assert local, "the demo corpus has reused passages"
    assert [p.to_dict() for p in remote] == [p.to_dict() for p in local]


@needs_spark
def test_spark_stories_equal_local(spark, demo_docs) -> None:
    from khabar.stories import cluster_stories

    local = cluster_stories(demo_docs, workers=1)
    remote = cluster_stories(demo_docs, workers=spark)
    assert [s.to_dict() for s in remote.stories] == [s.to_dict() for s in local.stories]
    assert list(remote.assignments()) == list(local.assignments())


@needs_spark
def test_cli_spark_engine_writes_what_local_writes(tmp_path) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")
    outs = {}
    for name in ("local", "spark:local[2]"):
        out = tmp_path / f"{name.replace(':', '-')}.jsonl"
        res = subprocess.run([sys.executable, "-m", "khabar", "reuse", str(DEMO), "-q",
                              "--engine", name, "--out", str(out)],
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        outs[name] = out.read_bytes()
    assert outs["local"].count(b"\n") > 5
    assert outs["spark:local[2]"] == outs["local"]


@needs_spark
def test_spark_pipeline_writes_what_local_writes(spark, tmp_path) -> None:
    from khabar.pipeline import PipelineParams, run_pipeline

    outs = {}
    for name, engine in (("local", None), ("spark", spark)):
        out = tmp_path / name
        run_pipeline([DEMO], out, params=PipelineParams(workers=1, engine=engine))
        outs[name] = {p.relative_to(out).as_posix(): p.read_bytes()
                      for p in sorted(out.rglob("*")) if p.is_file()}
    assert set(outs["spark"]) == set(outs["local"])
    assert any(k.startswith("stories/") for k in outs["local"])
    for rel, content in outs["local"].items():
        assert outs["spark"][rel] == content, rel
