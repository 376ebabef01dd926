"""`khabar serve`: the live service (ingest over HTTP, search, story pages, feeds, JSON API)."""

from __future__ import annotations

import click

from khabar.errors import KhabarError


@click.command()
@click.option("--db", "db", default="khabar.db", show_default=True,
              type=click.Path(dir_okay=False),
              help="The database (created if absent); everything the service keeps is in it.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback unless you say otherwise).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token", envvar="KHABAR_TOKEN", default=None,
              help="Writes need 'Authorization: Bearer TOKEN' (or set KHABAR_TOKEN).")
@click.option("--watch", "watch", multiple=True, type=click.Path(file_okay=False),
              help="Ingest new files that appear in this folder (repeatable).")
@click.option("--feed", "feeds", multiple=True,
              help="Poll this RSS/Atom feed and ingest its new entries (repeatable).")
@click.option("--feed-interval", default=300.0, show_default=True,
              type=click.FloatRange(1.0), help="Seconds between two polls of a feed.")
@click.option("--max-body", default=32, show_default=True, type=click.IntRange(1, 1024),
              help="Largest request body, in MB.")
def serve(db: str, host: str, port: int, token: str | None, watch: tuple[str, ...],
          feeds: tuple[str, ...], feed_interval: float, max_body: int) -> None:
    """Run the live service until SIGTERM or Ctrl-C: POST articles, search, follow stories."""
    try:
        from khabar.service.server import serve as run
    except ModuleNotFoundError as exc:
        raise KhabarError(f"khabar serve needs {exc.name}: pip install 'khabar[serve]'") \
            from None
    run(db, host, port, token=token or None, watch=watch, feeds=feeds,
        feed_interval=feed_interval, max_body=max_body * 1024 * 1024)
