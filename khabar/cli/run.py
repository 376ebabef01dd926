"""`khabar run`: the main job, raw articles to the story report."""

from __future__ import annotations

from pathlib import Path

import click

from khabar.cli.common import (
    echo_problem,
    engine_options,
    field_options,
    fields_from,
    min_story_size_option,
    out_format_option,
    quiet_option,
    runner_from,
)


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for the report (index.html) and the data files (data/).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep the articles and every stage's results in this database: a later "
                   "run adds to it and keeps story ids; without INPUTS, run over what it "
                   "holds. [default: none, nothing written but --out]")
@click.option("--mode", type=click.Choice(["batch", "stream"]), default="batch",
              show_default=True, help="Story clustering over the whole collection or as a stream.")
@min_story_size_option
@out_format_option
@engine_options
@field_options
@quiet_option
def run(inputs: tuple[Path, ...], out_dir: Path, db_path: Path | None, mode: str,
        min_story_size: int, out_format: str, workers: int, engine_spec: str,
        spark_conf: tuple[str, ...],
        quiet: bool, **kw) -> None:
    """Run the whole job on INPUTS (or on the articles of --db) and write the story report
    to --out.

    read → repair → duplicates → reuse → stories → threads → explanations → report.
    The report is static HTML: open OUT/index.html in any browser. The data
    behind it is in OUT/data/ (pairs, clusters, passages, stories, assignments, threads,
    attributions, credits, mentions, novelty, summaries).
    """
    from khabar.errors import KhabarError
    from khabar.pipeline import PipelineParams, run_pipeline

    if not inputs and db_path is None:
        raise KhabarError("give INPUT files, or --db DB to run over the articles it holds")
    if db_path is not None:
        inside = db_path.parent.resolve() == out_dir.resolve()
        # checked before the report folder is made (the one folder this command creates)
        if not inside and not db_path.parent.is_dir():
            raise KhabarError(f"{db_path}: the folder {db_path.parent} does not exist; "
                              "create it first")
        if inside and not quiet:
            click.echo(f"khabar: note: the database {db_path} is inside the report folder "
                       f"{out_dir}: copying or mailing the report copies it too", err=True)

    runner = runner_from(engine_spec, workers, spark_conf)
    try:
        params = PipelineParams(story_mode=mode, min_story_size=min_story_size,
                                workers=workers, engine=runner, out_format=out_format)
        result = run_pipeline(
            list(inputs) or None, out_dir, db_path, params=params, fields=fields_from(kw),
            echo=(lambda line: None) if quiet else (lambda line: click.echo(line, err=True)),
            on_problem=echo_problem(quiet),
        )
    finally:
        stop = getattr(runner, "close", None) or getattr(runner, "stop", None)
        if stop is not None:
            stop()
    click.echo(f"report: {result.index}")
