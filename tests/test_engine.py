"""Runners by name; the local runner's results never depend on its worker count.

The Spark runner has its own tests (tests/test_spark.py): op by op against `LocalRunner`,
whole jobs byte for byte, and a standalone cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import DEMO

from khabar.engine import LocalRunner, get_runner, owns


def square_all(batch: list[int], offset: int) -> list[int]:
    return [x * x + offset for x in batch]


def pid_of(batch: list[int]) -> list[int]:
    return [os.getpid()] * len(batch)


def test_get_runner_specs() -> None:
    assert get_runner(3).workers == 3
    assert get_runner("local:2").workers == 2
    assert get_runner("local").workers >= 1
    assert get_runner(0).workers >= 1
    with LocalRunner(1) as mine:
        assert get_runner(mine) is mine
        assert not owns(mine) and owns("local:2")
    for bad in ("local:x", "dask", "spark-ish"):
        with pytest.raises(ValueError):
            get_runner(bad)


def test_local_runner_keeps_order_across_processes() -> None:
    batches = [list(range(i, i + 5)) for i in range(0, 200, 5)]
    want = [x * x + 1 for b in batches for x in b]
    for workers in (1, 2):
        with LocalRunner(workers) as runner:
            assert list(runner.source(iter(batches)).map(square_all, 1).records()) == want
    with LocalRunner(2) as runner:
        pids = set(runner.source(iter(batches)).map(pid_of).records())
    assert os.getpid() not in pids


def test_cli_rejects_unknown_engine(tmp_path) -> None:
    res = subprocess.run([sys.executable, "-m", "khabar", "reuse", str(DEMO), "--engine", "dask",
                          "--out", str(tmp_path / "p.jsonl")], capture_output=True, text=True)
    assert res.returncode != 0
    assert "--engine" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
