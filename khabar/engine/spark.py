"""The Spark engine: the same stage functions, run inside Spark partitions.

    from khabar.engine.spark import SparkEngine
    from khabar.reuse import find_reuse

    with SparkEngine("spark://head:7077") as spark:
        passages = find_reuse(docs, workers=spark)

Batches are shipped to the executors as RDD elements, each partition calls the
stage function on its batches, and results come back in input order, so a
Spark run writes byte-for-byte what a local run writes. Work that needs the
whole collection at once (candidate search, clustering) stays on the driver;
what scales out is the per-document and per-pair work around it.

Executors import `khabar` and its dependencies: install the package on every
node (or ship a packed environment with ``spark.archives``). With
``ship_code=True`` the driver's own copy of the `khabar` source is also sent
with ``addPyFile``, so executors never run a different version of the stages
than the driver.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from khabar.engine.local import _Call
from khabar.errors import KhabarError

MASTER = re.compile(r"local(\[(\d+|\*)(,\s*\d+)?\])?$|(spark|k8s|mesos)://\S+$|yarn$")
"""The master URLs Spark accepts (checked here, before a JVM starts and fails at length)."""
LOG_CONFIG = Path(__file__).resolve().parents[1] / "data" / "spark-log4j2.properties"
"""Errors only: Spark's start-up chatter would bury khabar's own progress and results."""
GROUP_FACTOR = 4
"""Batches in flight per Spark core: enough to keep every executor busy, while the driver
holds only this many batches (and their results) at a time, whatever the input size."""


class SparkEngine:
    """Maps stage functions over batches with Spark; results in input order.

    `master` defaults to ``SPARK_MASTER``, then to what ``spark-submit`` set,
    then to ``local[*]``. Pass `session` to use a SparkSession you already have
    (the engine then never stops it). `conf` adds Spark settings.
    """

    def __init__(self, master: str | None = None, *, app_name: str = "khabar",
                 conf: dict[str, str] | None = None, session: Any = None,
                 ship_code: bool = True) -> None:
        self.master = master or os.environ.get("SPARK_MASTER")
        if self.master and not MASTER.match(self.master):
            raise KhabarError(f"Spark master {self.master!r}: expected local, local[N], "
                              "local[*], spark://HOST:PORT, yarn or k8s://URL")
        self.app_name = app_name
        self.conf = dict(conf or {})
        self.ship_code = ship_code
        self._session = session
        self._own = session is None
        self._shipped: Path | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = self._start()
        return self._session

    def _start(self) -> Any:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise KhabarError("the Spark engine needs pyspark: pip install 'khabar[spark]'"
                              ) from exc
        # under spark-submit the gateway already exists and the master comes from it
        submitted = "PYSPARK_GATEWAY_PORT" in os.environ
        local = (self.master or ("" if submitted else "local")).startswith("local")
        if local:
            # Python workers of a local Spark must be this interpreter (the one that has
            # khabar and numpy), not whatever `python3` comes first on PATH
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = SparkSession.builder.appName(self.app_name)
        if self.master:
            builder = builder.master(self.master)
        quiet = {
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG_CONFIG}",
        }
        for key, value in {**quiet, **self.conf}.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # Java missing, master unreachable: say so in one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise KhabarError(f"could not start Spark ({self.master or 'local[*]'}): {first}"
                              ) from exc
        session.sparkContext.setLogLevel("ERROR")
        if self.ship_code and not local:
            self._ship(session.sparkContext)
        return session

    def _ship(self, sc: Any) -> None:
        package = Path(__file__).resolve().parents[1]
        tmp = Path(tempfile.mkdtemp(prefix="khabar-spark-"))
        archive = tmp / "khabar.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(package.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    zf.write(path, Path("khabar") / path.relative_to(package))
        sc.addPyFile(str(archive))
        self._shipped = archive

    def stop(self) -> None:
        """Stop the Spark session if this engine started it, and remove the shipped code."""
        if self._session is not None and self._own:
            self._session.stop()
        self._session = None
        if self._shipped is not None:
            shutil.rmtree(self._shipped.parent, ignore_errors=True)
            self._shipped = None

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the engine ---------------------------------------------------------------------------

    @property
    def parallelism(self) -> int:
        return max(1, int(self.session.sparkContext.defaultParallelism))

    def map(self, fn: Callable[..., Any], batches: Iterable[Any], *args: Any) -> Iterator[Any]:
        sc = self.session.sparkContext
        call = _Call(fn, args)
        cores = self.parallelism
        group: list[Any] = []
        for batch in batches:
            group.append(batch)
            if len(group) >= GROUP_FACTOR * cores:
                yield from self._run(sc, call, group, cores)
                group = []
        if group:
            yield from self._run(sc, call, group, cores)

    @staticmethod
    def _run(sc: Any, call: _Call, group: list[Any], cores: int) -> list[Any]:
        rdd = sc.parallelize(group, numSlices=min(len(group), cores))
        # collect() returns partitions in order and each partition's results in order
        return rdd.mapPartitions(_Partition(call)).collect()

    def __repr__(self) -> str:
        return f"SparkEngine(master={self.master or 'local[*]'!r})"


class _Partition:
    """Runs a stage call over the batches of one partition (picklable, no closure)."""

    def __init__(self, call: _Call) -> None:
        self.call = call

    def __call__(self, batches: Iterable[Any]) -> Iterator[Any]:
        for batch in batches:
            yield self.call(batch)
