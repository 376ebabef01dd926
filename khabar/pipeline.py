"""The main job: raw articles in, the story report out.

    ingest -> repair -> duplicates -> reuse -> stories -> explanations -> report

    import khabar
    result = khabar.run_pipeline(["articles.jsonl.gz"], "out/")
    print(result.index)          # out/index.html

Every stage keeps its results in the database (a temporary one unless `db` is
given), so running again over a grown collection only adds to what is there:
stored articles come back unchanged, duplicates are checked incrementally,
and stories keep their ids. The machine-readable results are written next to
the report under ``data/``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khabar.store import Store

Echo = Callable[[str], None]
ProgressFactory = Callable[[str, int | None], Any]


@dataclass
class PipelineParams:
    """Parameters of every stage; each defaults to that stage's own defaults."""

    dups: Any = None
    """`khabar.DupParams`."""
    reuse: Any = None
    """`khabar.reuse.ReuseOptions`."""
    stories: Any = None
    """`khabar.StoryParams`."""
    story_mode: str = "batch"
    """"batch" (whole collection) or "stream" (articles in time order)."""
    explain: Any = None
    """`khabar.explain.ExplainParams`."""
    min_story_size: int = 1
    """Stories with fewer articles are left out of the report (they stay in the data)."""
    workers: int = 0
    """Local processes (threads for duplicates) for the parallel stages; 0 = all cores."""
    engine: Any = None
    """Engine of reuse, stories, explanations and report pages: None for `workers` local
    processes, else anything `khabar.engine.get_engine` takes (a worker count, an engine,
    or a name such as "spark:spark://head:7077")."""


@dataclass
class PipelineResult:
    index: Path
    data_dir: Path
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def run_pipeline(
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    db: str | Path | None = None,
    *,
    params: PipelineParams | None = None,
    fields: Any = None,
    echo: Echo | None = None,
    progress: ProgressFactory | None = None,
    on_problem: Callable[[Any], None] | None = None,
) -> PipelineResult:
    """Run the whole job over `inputs` and write the report into `out_dir`.

    `echo` receives one line per finished stage; `progress(label, total)`
    returns a callable taking a count (and optionally having `close()`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="khabar-") as tmp:
        db_path = Path(db) if db is not None else Path(tmp) / "khabar.db"
        with Store(db_path) as store:
            return _run(list(inputs), out, store, params or PipelineParams(), fields,
                        echo or (lambda _line: None), progress, on_problem)


def _run(inputs, out: Path, store: Store, params: PipelineParams, fields, echo: Echo,
         progress: ProgressFactory | None, on_problem) -> PipelineResult:
    from khabar.dups import DupParams, find_duplicates
    from khabar.engine import default_workers, get_engine
    from khabar.errors import KhabarError
    from khabar.explain import ExplainParams
    from khabar.explain import run as explain_run
    from khabar.explain.export import write_explanation_files
    from khabar.ingest import ingest
    from khabar.io.writers import write_jsonl
    from khabar.report import write_report
    from khabar.reuse import ReuseOptions, reuse_store
    from khabar.stories import StoryParams, cluster_stories

    workers = params.workers or default_workers()
    engine = workers if params.engine is None else get_engine(params.engine)
    result = PipelineResult(index=out / "index.html", data_dir=out / "data")
    result.data_dir.mkdir(parents=True, exist_ok=True)

    def stage(name: str, total: int | None = None):
        bar = progress(name, total) if progress is not None else None
        return bar, time.perf_counter()

    def done(name: str, bar: Any, started: float, line: str) -> None:
        if bar is not None and hasattr(bar, "close"):
            bar.close()
        result.seconds[name] = time.perf_counter() - started
        echo(f"{name}: {line} ({result.seconds[name]:.1f} s)")

    bar, t = stage("ingest")
    report = ingest(inputs, store, fields=fields, progress=bar, on_problem=on_problem)
    result.counts["ingest"] = report.as_dict()
    done("ingest", bar, t, report.summary())
    n_docs = store.count()
    if n_docs == 0:
        raise KhabarError("no documents could be read from the inputs given")

    bar, t = stage("duplicates", n_docs)
    dups = find_duplicates(store, params.dups or DupParams(), workers=workers, progress=bar)
    write_jsonl((p.to_dict() for p in dups.pairs), result.data_dir / "pairs.jsonl")
    write_jsonl((c.to_dict() for c in dups.clusters), result.data_dir / "clusters.jsonl")
    exact = sum(1 for p in dups.pairs if p.kind == "exact")
    result.counts["duplicates"] = {"pairs": len(dups.pairs), "exact": exact,
                                   "clusters": len(dups.clusters)}
    done("duplicates", bar, t, f"{len(dups.pairs)} verified pairs ({exact} exact) in "
         f"{len(dups.clusters)} clusters")

    bar, t = stage("reuse", n_docs)
    # every stage reads one snapshot of the collection (`Store.snapshot`); dups, stories
    # and the report take theirs themselves
    with store.snapshot():
        passages = reuse_store(store, params.reuse or ReuseOptions(), workers=engine,
                               progress=bar)
    write_jsonl((p.to_dict() for p in passages), result.data_dir / "passages.jsonl")
    linked = {(p.a, p.b) for p in passages}
    result.counts["reuse"] = {"passages": len(passages), "pairs": len(linked)}
    done("reuse", bar, t, f"{len(passages)} reused passages between {len(linked)} pairs")

    bar, t = stage("stories", n_docs)
    stories = cluster_stories(store, params.stories or StoryParams(), mode=params.story_mode,
                              progress=bar, workers=engine)
    write_jsonl((s.to_dict() for s in stories.stories), result.data_dir / "stories.jsonl")
    write_jsonl(stories.assignments(), result.data_dir / "assignments.jsonl")
    threads = stories.threads.threads if stories.threads is not None else []
    write_jsonl((t.to_dict() for t in threads), result.data_dir / "threads.jsonl")
    multi = sum(1 for s in stories.stories if len(s.members) > 1)
    linked = sum(1 for t in threads if len(t.stories) > 1)
    result.counts["stories"] = {"stories": len(stories.stories), "with_several": multi,
                                "threads_of_several": linked}
    done("stories", bar, t, f"{len(stories.stories)} stories, {multi} with several articles, "
         f"{linked} threads of several stories")

    bar, t = stage("explain", len(stories.stories))
    with store.snapshot():
        counts = explain_run(
            store, [(str(s.story), list(s.members)) for s in stories.stories], passages,
            params.explain or ExplainParams(), workers=engine,
        )
    result.counts["explain"] = counts
    write_explanation_files(store, result.data_dir)
    done("explain", bar, t, ", ".join(f"{v} {k}" for k, v in counts.items()))

    bar, t = stage("report")
    result.index = write_report(store, out, workers=engine, echo=echo,
                                min_size=params.min_story_size)
    done("report", bar, t, str(result.index))
    return result
