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

    Shows the stories the database holds (from `khabar stories --db` or `khabar run
    --db`); articles stored since are placed as a stream would place them. The
    pages are static and self-contained: open index.html in a browser, no server
    or network needed. Prints the path of index.html.
    """
    from khabar.errors import KhabarError
    from khabar.pipeline import PipelineParams, run_pipeline
    from khabar.store import Store
    from khabar.stories import db as storydb

    again = ("build one with `khabar stories --db DB` or `khabar run INPUT... --out DIR "
             "--db DB`")
    if not db_path.exists():
        raise KhabarError(f"{db_path}: no such database; {again}")
    with Store(db_path) as store:
        storydb.declare(store)
        if not storydb.stored_members(store):
            raise KhabarError(f"{db_path}: no stories stored yet; {again}")
    # the stored stories as they are (articles stored since are placed by the stream); the
    # explanations are made again from the stored articles
    result = run_pipeline(None, out_dir, db_path,
                          params=PipelineParams(min_story_size=min_story_size,
                                                story_mode="stream"),
                          echo=(lambda line: None) if quiet
                          else (lambda line: click.echo(line, err=True)))
    if not quiet:
        pages = result.counts.get("report", {}).get("pages", 0)
        click.echo(f"report: {pages} stories", err=True)
    click.echo(str(result.index))
