"""`khabar stories`: group articles reporting the same event."""

from __future__ import annotations

from pathlib import Path

import click

from khabar.cli.common import (
    corpus_options,
    engine_options,
    out_format_option,
    runner_from,
    stage_job,
)
from khabar.errors import KhabarError


@click.command()
@corpus_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None,
              help="Directory for stories, assignments and threads (.jsonl, or .parquet with "
                   "--out-format parquet).")
@click.option("--mode", type=click.Choice(["batch", "stream"]), default="batch",
              show_default=True,
              help="batch: cluster the whole collection; stream: assign articles one by one "
                   "in time order (with --db, only articles without a story yet).")
@click.option("--threshold", type=float, default=None,
              help="Least average same-event probability to join a story [default: 0.5].")
@click.option("--window", type=float, default=None,
              help="Days an article stays comparable (and a story active) [default: 3].")
@click.option("--time-scale", type=float, default=None,
              help="Days over which time proximity decays by e [default: 2].")
@click.option("--thread-threshold", type=float, default=None,
              help="Least average probability for stories to be linked into one thread "
                   "[default: 0.5]; lower links more follow-ups and more happenings of one "
                   "kind (see the README).")
@click.option("--no-evidence", is_flag=True,
              help="Leave the reuse stage's passages out of the evidence (copies found by the "
                   "duplicate stage always share a story).")
@out_format_option
@engine_options
def stories(inputs: tuple[Path, ...], db_path: Path | None, quiet: bool, out_dir: Path | None,
            mode: str, threshold: float | None, window: float | None,
            time_scale: float | None, thread_threshold: float | None, no_evidence: bool,
            out_format: str,
            workers: int, engine_spec: str, spark_conf: tuple[str, ...], **kw) -> None:
    """Group articles from INPUT files or the database into stories.

    A story is every article reporting one event. With --db, story ids are kept
    in the database: re-running changes nothing, and new articles join stored
    stories or start new ones without renumbering the old.
    """
    from khabar.stories import StoryParams

    for name, value, low in (("--threshold", threshold, 0.0), ("--window", window, 0.0),
                             ("--time-scale", time_scale, 0.0),
                             ("--thread-threshold", thread_threshold, 0.0)):
        if value is not None and not value > low:
            raise KhabarError(f"{name} {value}: must be more than {low:g}")
    for name, value in (("--threshold", threshold), ("--thread-threshold", thread_threshold)):
        if value is not None and value > 1:
            raise KhabarError(f"{name} {value}: a probability, at most 1")
    if inputs and db_path is None and out_dir is None:
        raise KhabarError("nothing would be kept: give --out DIR or --db")
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise KhabarError(f"{out_dir}: exists and is not a directory")
    params = StoryParams.make(threshold=threshold, window=window, time_scale=time_scale)
    if thread_threshold is not None:
        from dataclasses import replace

        from khabar.stories import ThreadParams

        params = replace(params, threads=ThreadParams(threshold=thread_threshold))
    targets = ["stories"] + ([] if params.threads is None else ["threads"])
    if not no_evidence:
        targets.insert(0, "reuse")
    with stage_job(targets, inputs, db_path, kw, quiet,
                   runner_from(engine_spec, workers, spark_conf),
                   params={"stories": params, "threads": params},
                   options={"story_mode": mode}) as job:
        job.run()
        if out_dir is not None:
            job.write(out_dir, names=("stories", "assignments", "threads"), fmt=out_format)
        stories_ = job.collect("stories")
        threads_ = job.collect("threads") if "threads" in job.data else []
    sizes = [len(s.members) for s in stories_]
    multi = sum(1 for n in sizes if n > 1)
    linked = sum(1 for t in threads_ if len(t.stories) > 1)
    click.echo(f"stories ({mode}): {sum(sizes)} articles in {len(sizes)} stories, "
               f"{multi} with more than one article, largest {max(sizes, default=0)}; "
               f"{linked} threads of several stories")
    if out_dir is not None:
        click.echo(f"written {out_dir}/stories.jsonl, assignments.jsonl, threads.jsonl")
