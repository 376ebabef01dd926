"""Reuse detection over a collection, from documents in memory or a store.

    from khabar.reuse import find_reuse
    passages = find_reuse(docs)                  # Documents in memory (or file paths)
    passages = reuse_store(store)                # the documents of a Store; rows kept in it
    passages = load_passages(store)              # what the last run stored

Each runs the ``reuse`` stage (`khabar.reuse.stage`) on a runner: ``workers``
is a number of local processes or a runner such as
`khabar.engine.spark.SparkRunner`. Output never depends on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from khabar.engine import RunnerSpec
from khabar.reuse.options import ReuseOptions
from khabar.reuse.passage import Passage


def find_reuse(docs: Iterable[Any], options: ReuseOptions | None = None, *,
               workers: RunnerSpec = 1, progress: Callable[[int], None] | None = None
               ) -> list[Passage]:
    """Reused passages among `docs` (Documents, or paths of files to read), sorted by pair and
    position. Boilerplate passages are left out unless `options.include_boilerplate`."""
    from khabar.pipeline import Job

    with Job(["reuse"], list(docs), workers=workers,
             params={"reuse": options or ReuseOptions()}) as job:
        job.run()
        return job.collect("passages")


def reuse_store(store: Any, options: ReuseOptions | None = None, *,
                workers: RunnerSpec = 1, progress: Callable[[int], None] | None = None
                ) -> list[Passage]:
    """Find reuse among the documents of `store` and keep the passages in it, boilerplate
    included (the table is replaced as a whole: which strings are rare depends on the whole
    collection). Returns them as `options` asks."""
    from dataclasses import replace

    from khabar.pipeline import Job
    from khabar.storage import save_outputs

    options = options or ReuseOptions()
    with Job(["reuse"], None, store=store, workers=workers,
             params={"reuse": replace(options, include_boilerplate=True)}) as job:
        job.run()
        save_outputs(store, job)
        found = job.collect("passages")
    return found if options.include_boilerplate else [p for p in found if not p.boilerplate]


def load_passages(store: Any, include_boilerplate: bool = False) -> list[Passage]:
    """The passages the last run kept in `store`, sorted like its output."""
    from khabar.reuse.stage import OUTPUTS
    from khabar.storage import load

    found = list(load(store, OUTPUTS[0]))
    return found if include_boilerplate else [p for p in found if not p.boilerplate]


__all__ = ["find_reuse", "load_passages", "reuse_store"]
