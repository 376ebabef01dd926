"""`khabar report`: the static HTML report from a database built earlier."""

from __future__ import annotations

from pathlib import Path

import click

from khabar.cli.common import min_story_size_option, quiet_option
from khabar.store import DEFAULT_DB


@click.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_DB, show_default=True,
              help="Database holding the stories (from `khabar stories` or `khabar run`).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder to write the report into (created if needed).")
@min_story_size_option
@quiet_option
def report(db_path: Path, out_dir: Path, min_story_size: int, quiet: bool) -> None:
    """Write the HTML report (an index of stories, a page per story) of a database into --out.

    The pages are static and self-contained: open index.html in a browser,
    no server or network needed. Prints the path of index.html.
    """
    from khabar.errors import KhabarError
    from khabar.pipeline import PipelineParams, run_pipeline

    if not db_path.exists():
        raise KhabarError(f"{db_path}: no such database; build one with "
                          "`khabar run INPUT... --out DIR --db DB` (or `khabar ingest`)")
    # the stages run again over the stored articles (stories and threads keep their ids)
    result = run_pipeline(None, out_dir, db_path,
                          params=PipelineParams(min_story_size=min_story_size),
                          echo=(lambda line: None) if quiet
                          else (lambda line: click.echo(line, err=True)))
    if not quiet:
        pages = result.counts.get("report", {}).get("pages", 0)
        click.echo(f"report: {pages} stories", err=True)
    click.echo(str(result.index))
