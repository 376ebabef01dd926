"""Engines drive stage functions over batches; the stages never know which engine runs them.

A stage is a plain top-level function ``fn(batch, *args) -> result`` (picklable,
no global state). `LocalEngine` runs it in this process or in a process pool;
`SparkEngine` (``khabar.engine.spark``, needs the ``spark`` extra) runs the same
function inside Spark partitions, on one machine or a cluster. Every engine
returns results in input order, so output never depends on which one ran.

Functions that take ``workers`` accept a number of local processes or an
engine; `get_engine` turns either (or a name such as ``"spark"``) into an engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

from khabar.engine.local import LocalEngine, batched, default_workers


@runtime_checkable
class Engine(Protocol):
    """Anything that maps a stage function over batches and yields results in order."""

    def map(self, fn: Callable[..., Any], batches: Iterable[Any], *args: Any
            ) -> Iterator[Any]: ...


def get_engine(spec: int | str | Engine | None = None) -> Engine:
    """An engine from a worker count, a name, or an engine (returned as is).

    * ``None`` or ``0``: local processes on all cores; ``n``: ``n`` local processes;
    * ``"local"``, ``"local:4"``: the same, by name;
    * ``"spark"``: Spark with the master of ``SPARK_MASTER`` or ``spark-submit``
      (``local[*]`` when neither says); ``"spark:URL"``: that master, e.g.
      ``"spark:spark://host:7077"`` or ``"spark:local[2]"``.
    """
    if spec is None:
        return LocalEngine(None)
    if isinstance(spec, bool):
        raise TypeError("an engine spec cannot be a bool")
    if isinstance(spec, int):
        return LocalEngine(spec)
    if isinstance(spec, str):
        name, _, rest = spec.strip().partition(":")
        if name == "local":
            if not rest:
                return LocalEngine(None)
            if not rest.isdigit():
                raise ValueError(f"engine {spec!r}: expected local or local:N")
            return LocalEngine(int(rest))
        if name == "spark":
            from khabar.engine.spark import SparkEngine

            return SparkEngine(master=rest or None)
        raise ValueError(f"engine {spec!r}: expected local, local:N, spark or spark:MASTER")
    if isinstance(spec, Engine):
        return spec
    raise TypeError(f"not an engine: {spec!r}")


__all__ = ["Engine", "LocalEngine", "batched", "default_workers", "get_engine"]
