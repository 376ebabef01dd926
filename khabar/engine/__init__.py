"""Engines drive stage functions over batches; the stages never know which engine runs them.

A stage is a plain top-level function ``fn(batch, *args) -> list`` (picklable,
no global state). `LocalEngine` runs it in-process or in a process pool;
`khabar.engine.spark` runs the same function inside Spark partitions.
"""

from khabar.engine.local import LocalEngine, default_workers

__all__ = ["LocalEngine", "default_workers"]
