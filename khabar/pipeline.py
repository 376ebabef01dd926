"""Runs registered stages over a runner: the main job and every stage command.

    import khabar
    result = khabar.run_pipeline(["articles.jsonl.gz"], "out/")     # the main job
    print(result.index)                                             # out/index.html

    from khabar.pipeline import Job
    with Job(["dups"], inputs=["articles.jsonl"], workers=2) as job:
        job.run()
        job.write("dups/")                                          # pairs.jsonl, …

A `Job` plans the stages its targets need from what each stage requires and
provides (`khabar.stage`), runs them in that order on one runner, and writes
the outputs of the stages it ran, each file in its canonical order. Nothing
is kept in the driver but dataset handles and counts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khabar.engine import Dataset, RunnerSpec, get_runner, owns
from khabar.errors import KhabarError, Problem
from khabar.stage import Context, Output, Stage, plan

Echo = Callable[[str], None]


def cpu_seconds() -> float:
    """CPU time of this process and of its live and finished children (Linux: from /proc)."""
    return sum(os.times()[:4]) + children_cpu(os.getpid())


def children_cpu(pid: int) -> float:
    """CPU time of the live children of process `pid` (0 where /proc cannot tell)."""
    total = 0.0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                for child in fh.read().split():
                    total += _proc_cpu(int(child))
    except OSError:
        pass
    return total


def _proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Row:
    """A record's JSON line, numbered by its rank when its output says so (picklable, for
    runners whose executors write the files)."""

    def __init__(self, number: str | None) -> None:
        self.number = number

    def __call__(self, record: Any, rank: int) -> dict[str, Any]:
        if self.number is not None:
            from dataclasses import replace

            record = replace(record, **{self.number: rank})
        return record.to_dict()


def _unique(inputs: Any) -> Any:
    """In-memory documents must have distinct ids (a caller's mistake, not bad data: files
    with repeated ids keep the later record and report a problem)."""
    from khabar.document import Document

    if isinstance(inputs, list) and inputs and isinstance(inputs[0], Document):
        seen: set[str] = set()
        for d in inputs:
            if isinstance(d, Document):
                if d.id in seen:
                    raise KhabarError(f"document ids must be unique: {d.id!r} is repeated")
                seen.add(d.id)
    return inputs


class Job:
    """One run of the stages `targets` need, over `inputs` (files, documents) or a store."""

    def __init__(self, targets: Sequence[str], inputs: Any = None, *, store: Any = None,
                 out: str | Path | None = None, workers: RunnerSpec = None,
                 params: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
                 echo: Echo | None = None, on_problem: Callable[[Problem], None] | None = None,
                 workdir: str | Path | None = None) -> None:
        self.stages: list[Stage] = plan(targets)
        self._own_runner = owns(workers)
        try:
            self.runner = get_runner(workers, workdir=workdir)
        except ValueError as exc:
            raise KhabarError(f"--engine: {exc}") from exc
        self.ctx = Context(self.runner, dict(params or {}), store,
                           Path(out) if out is not None else None,
                           echo or (lambda _line: None), on_problem,
                           options=dict(options or {}))
        self.ctx.options["inputs"] = _unique(inputs)
        # per-article steps of the planned stages, run in the pass that prepares articles
        self.ctx.options["article_steps"] = [
            (st.article, self.ctx.params_of(st.name)) for st in self.stages
            if st.article is not None and any(s.name == "prepare" for s in self.stages)]
        self.data: dict[str, Dataset] = {}
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_runner:
            close = getattr(self.runner, "close", None) or getattr(self.runner, "stop", None)
            if close is not None:
                close()

    @property
    def counts(self) -> dict[str, dict[str, Any]]:
        return self.ctx.counts

    def run(self) -> dict[str, Dataset]:
        for st in self.stages:
            given = {name: self.data[name] for name in st.requires}
            if "articles" in self.data:
                given.setdefault("articles", self.data["articles"])
            given.update({name: self.data[name] for name in st.optional if name in self.data})
            wall, cpu = time.perf_counter(), cpu_seconds()
            made = st.build(self.ctx, given, self.ctx.params_of(st.name))
            missing = set(st.provides) - set(made)
            if missing:
                raise RuntimeError(f"stage {st.name} did not provide {sorted(missing)}")
            self.data.update(made)
            self.seconds[st.name] = time.perf_counter() - wall
            self.cpu[st.name] = cpu_seconds() - cpu
            counts = self.ctx.counts.get(st.name) or {}
            line = ", ".join(f"{v} {k}" for k, v in counts.items()
                             if isinstance(v, int | float | str))
            took = f"{self.seconds[st.name]:.1f} s, {self.cpu[st.name]:.1f} CPU s"
            self.ctx.echo(f"{st.name}: {line} ({took})" if line else f"{st.name}: done ({took})")
        return self.data

    def outputs(self) -> list[Output]:
        return [o for st in self.stages for o in st.outputs if o.dataset in self.data]

    def rows(self, output: Output) -> Iterator[Any]:
        """The records of one output, in its canonical order (numbered when it says so)."""
        records = self.data[output.dataset].sorted_records(output.key)
        if output.number is None:
            yield from records
            return
        from dataclasses import replace

        for k, rec in enumerate(records):
            yield replace(rec, **{output.number: k})

    def write(self, folder: str | Path, names: Iterable[str] | None = None,
              fmt: str = "jsonl") -> dict[str, int]:
        """Write the outputs (all, or those of the datasets `names`) into `folder`, as JSON
        lines (``NAME.jsonl``) or Parquet (``fmt="parquet"``: ``NAME.parquet``, the same
        rows; spans as ``[start, end]`` lists, JSON fields as JSON text)."""
        check_format(fmt)
        target = Path(folder)
        if target.exists() and not target.is_dir():
            raise KhabarError(f"{target}: exists and is not a directory")
        wanted = set(names) if names is not None else None
        written = {}
        for output in self.outputs():
            if wanted is not None and output.dataset not in wanted:
                continue
            ds, row = self.data[output.dataset], Row(output.number)
            if fmt == "parquet":
                name = str(Path(output.file).with_suffix(".parquet"))
                written[name] = self.runner.write_parquet(
                    ds, output.key, target / name, row, output.record.schema())
            else:
                written[output.file] = self.runner.write_jsonl(
                    ds, output.key, target / output.file, row)
        return written

    def collect(self, name: str) -> list[Any]:
        """Every record of a provided dataset, in its output order when it is an output."""
        for output in self.outputs():
            if output.dataset == name:
                return list(self.rows(output))
        return list(self.data[name].records())


# -- the main job ---------------------------------------------------------------------------------


OUT_FORMATS = ("jsonl", "parquet")
"""Formats of the data files (`Job.write`)."""


def check_format(fmt: str) -> None:
    if fmt not in OUT_FORMATS:
        raise KhabarError(f"output format {fmt!r}: use one of {', '.join(OUT_FORMATS)}")

RUN_STAGES = ("dups", "reuse", "stories", "threads", "explain", "report")
"""What `khabar run` runs (each stage brings what it requires)."""


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
    out_format: str = "jsonl"
    """Data files as JSON lines ("jsonl") or Parquet ("parquet"); the report is the same."""
    workers: int = 0
    """Local processes for the parallel steps; 0 = all cores."""
    engine: Any = None
    """A runner, or anything `khabar.engine.get_runner` takes ("spark:spark://head:7077");
    None for `workers` local processes."""


@dataclass
class PipelineResult:
    index: Path
    data_dir: Path
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)


def run_pipeline(
    inputs: Iterable[str | Path] | None,
    out_dir: str | Path,
    db: str | Path | None = None,
    *,
    params: PipelineParams | None = None,
    fields: Any = None,
    echo: Echo | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    progress: Any = None,
) -> PipelineResult:
    """Run the whole job over `inputs` and write the report into `out_dir`.

    Without `db` nothing but the report folder is written; with `db` the
    documents and every stage's results are kept in that database too (a later
    run adds to it and keeps story ids).
    """
    from khabar.store import Store

    params = params or PipelineParams()
    check_format(params.out_format)  # before the job runs, not after
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise KhabarError(f"{out}: exists and is not a directory")
    from khabar.report.stage import ReportParams

    stage_params = {"dups": params.dups, "reuse": params.reuse, "stories": params.stories,
                    "explain": params.explain,
                    "report": ReportParams(min_story_size=params.min_story_size)}
    options = {"fields": fields, "story_mode": params.story_mode,
               "min_story_size": params.min_story_size}
    spec = params.engine if params.engine is not None else params.workers
    store = Store(db) if db is not None else None
    try:
        with Job(list(RUN_STAGES), list(inputs) if inputs else None, store=store, out=out,
                 workers=spec, params=stage_params, options=options, echo=echo,
                 on_problem=on_problem) as job:
            job.run()
            data_dir = out / "data"
            wall, cpu = time.perf_counter(), cpu_seconds()
            job.write(data_dir, fmt=params.out_format)
            if store is not None:
                from khabar.storage import save_outputs

                save_outputs(store, job)
            job.seconds["write"] = time.perf_counter() - wall
            job.cpu["write"] = cpu_seconds() - cpu
            if echo is not None:
                echo(f"write: data files{' and database' if store is not None else ''} "
                     f"({job.seconds['write']:.1f} s, {job.cpu['write']:.1f} CPU s)")
            return PipelineResult(out / "index.html", data_dir, dict(job.counts),
                                  dict(job.seconds), dict(job.cpu))
    finally:
        if store is not None:
            store.close()


__all__ = ["Job", "PipelineParams", "PipelineResult", "cpu_seconds", "run_pipeline"]
