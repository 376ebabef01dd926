"""Runners execute the steps of the stages; the stages never know which runner runs them.

A stage describes its work as steps over datasets (`khabar.engine.dataset`):
per-record maps, keyed groupings with per-group reductions, work on pairs of
records, small aggregates. `LocalRunner` executes them in this process or a
pool of processes on one machine, with every intermediate dataset in files on
disk; `SparkRunner` (``khabar.engine.spark``, needs the ``spark`` extra)
executes the very same step functions as Spark transformations on a cluster.

Functions that take ``workers`` accept a number of local processes or a
runner; `get_runner` turns either (or a name such as ``"spark"``) into a runner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from khabar.engine.dataset import Broadcast, Dataset, Runner, cogroup
from khabar.engine.local import LocalRunner, batched, default_workers

RunnerSpec = int | str | Runner | None
"""What a `workers` argument may be: a number of local processes (0/None = all cores), a
name (``"local"``, ``"local:4"``, ``"spark"``, ``"spark:MASTER"``), or a runner."""


def get_runner(spec: RunnerSpec = None, *, workdir: str | Path | None = None,
               spark_conf: dict[str, str] | None = None) -> Runner:
    """A runner from a worker count, a name, or a runner (returned as is).

    * ``None`` or ``0``: local processes on all cores; ``n``: ``n`` local processes;
    * ``"local"``, ``"local:4"``: the same, by name;
    * ``"spark"``: Spark with the master of ``SPARK_MASTER`` or ``spark-submit``
      (``local[*]`` when neither says); ``"spark:URL"``: that master, e.g.
      ``"spark:spark://host:7077"`` or ``"spark:local[2]"``.

    `workdir` is where a local runner keeps its intermediate files.
    """
    if spec is None:
        return LocalRunner(None, workdir=workdir)
    if isinstance(spec, bool):
        raise TypeError("a runner spec cannot be a bool")
    if isinstance(spec, int):
        return LocalRunner(spec, workdir=workdir)
    if isinstance(spec, str):
        name, _, rest = spec.strip().partition(":")
        if name == "local":
            if not rest:
                return LocalRunner(None, workdir=workdir)
            if not rest.isdigit():
                raise ValueError(f"engine {spec!r}: expected local or local:N")
            return LocalRunner(int(rest), workdir=workdir)
        if name == "spark":
            from khabar.engine.spark import SparkRunner

            return SparkRunner(master=rest or None, conf=spark_conf)
        raise ValueError(f"engine {spec!r}: expected local, local:N, spark or spark:MASTER")
    if hasattr(spec, "shuffle") and hasattr(spec, "map"):
        return spec
    raise TypeError(f"not a runner: {spec!r}")


def owns(spec: Any) -> bool:
    """Whether `get_runner(spec)` makes a new runner (that the caller must close)."""
    return not (hasattr(spec, "shuffle") and hasattr(spec, "map"))


__all__ = ["Broadcast", "Dataset", "LocalRunner", "Runner", "RunnerSpec", "batched", "cogroup",
           "default_workers", "get_runner", "owns"]
