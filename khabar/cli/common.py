"""Options and helpers shared by the sub-commands."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from khabar.store import DEFAULT_DB

db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
    show_default=True, help="SQLite database to use.",
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress, no problem lines.")


def min_story_size_option(func: Callable) -> Callable:
    """--min-story-size (alias --min-size): one option, one bound, for `run` and `report`."""
    return click.option(
        "--min-story-size", "--min-size", "min_story_size", type=click.IntRange(min=1),
        default=1, show_default=True,
        help="Leave stories with fewer articles out of the report (they stay in the data).",
    )(func)


def field_options(func: Callable) -> Callable:
    """--id-field … --url-field: names of the input fields (JSONL, JSON, CSV, Parquet)."""
    for name in reversed(("id", "text", "title", "source", "date", "url")):
        func = click.option(
            f"--{name}-field", f"{name}_field", default=name, show_default=True,
            help=f"Input field holding the article's {name}.",
        )(func)
    return func


def fields_from(kwargs: dict[str, Any]) -> Any:
    from khabar.io.readers import Fields

    return Fields(**{k[: -len("_field")]: kwargs.pop(k) for k in list(kwargs)
                     if k.endswith("_field")})


class Progress:
    """A one-line progress display on stderr, only when it is a terminal."""

    def __init__(self, label: str, total: int | None = None, enabled: bool = True) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled and sys.stderr.isatty()
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2 and (self.total is None or done < self.total):
            return
        self._last = now
        rate = done / max(now - self.started, 1e-9)
        of = f"/{self.total}" if self.total else ""
        click.echo(f"\r{self.label}: {done}{of} ({rate:,.0f}/s)   ", err=True, nl=False)

    def close(self) -> None:
        if self.enabled:
            click.echo("", err=True)


def echo_problem(quiet: bool) -> Callable[[Any], None]:
    def show(problem: Any) -> None:
        if not quiet:
            click.echo(f"khabar: skipped {problem}", err=True)

    return show


def corpus_options(func: Callable) -> Callable:
    """INPUT... or --db: the documents a stage command works on, plus field names and --quiet.

    With INPUTs and no --db, the inputs are read straight from the files (nothing else is
    written); with --db they are added to the database first and the stage's results are
    kept in it; with --db alone the stored documents are used.
    """
    func = quiet_option(func)
    func = field_options(func)
    func = click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help=f"SQLite database to read and update [default: {DEFAULT_DB} when no INPUT is "
             "given; with INPUT, none: the files are read directly].",
    )(func)
    return click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))(func)


def out_format_option(func: Callable) -> Callable:
    """`--out-format jsonl|parquet` for the data files of a folder output."""
    return click.option(
        "--out-format", "out_format", type=click.Choice(["jsonl", "parquet"]),
        default="jsonl", show_default=True,
        help="Data files as JSON lines (NAME.jsonl) or Parquet (NAME.parquet; the same rows).",
    )(func)


def engine_options(func: Callable) -> Callable:
    """`--workers N`, `--engine local|spark[:MASTER]` and `--spark-conf KEY=VALUE`."""
    func = click.option(
        "--spark-conf", "spark_conf", multiple=True, metavar="KEY=VALUE",
        help="A Spark setting for --engine spark (repeatable), e.g. spark.executor.memory=4g.",
    )(func)
    func = click.option(
        "--engine", "engine_spec", default="local", show_default=True, metavar="NAME",
        help="local (processes on this machine) or spark / spark:MASTER (e.g. "
             "spark:spark://head:7077; needs the spark extra). Results never depend on it.",
    )(func)
    return click.option(
        "--workers", type=int, default=0, show_default=True,
        help="Local worker processes (0: all cores); results never depend on it.",
    )(func)


def runner_from(engine_spec: str, workers: int, spark_conf: tuple[str, ...] = ()) -> Any:
    """What `Job` takes as `workers`: a worker count for local, a runner for Spark."""
    from khabar.errors import KhabarError

    if workers < 0:
        raise KhabarError(f"--workers {workers}: must be 0 (all cores) or more")
    name = engine_spec.strip()
    if name == "local" or name.startswith("local:"):
        if spark_conf:
            raise KhabarError("--spark-conf needs --engine spark")
        return workers if name == "local" else name
    conf = {}
    for item in spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise KhabarError(f"--spark-conf {item!r}: expected KEY=VALUE")
        conf[key.strip()] = value.strip()
    from khabar.engine import get_runner

    try:
        return get_runner(name, spark_conf=conf)
    except ValueError as exc:
        raise KhabarError(f"--engine: {exc}") from exc


@contextmanager
def stage_job(targets: list[str], inputs: tuple[Path, ...], db_path: Path | None,
              kwargs: dict[str, Any], quiet: bool, runner: Any = 0,
              params: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
              out: Path | None = None) -> Iterator[Any]:
    """A `khabar.pipeline.Job` for the documents named by INPUT... / --db; with --db the
    outputs of its stages are kept in the database when it ends without error."""
    from khabar.errors import KhabarError
    from khabar.pipeline import Job
    from khabar.store import Store

    fields = fields_from(kwargs)
    if db_path is None and not inputs:
        db_path = Path(DEFAULT_DB)
    if db_path is not None and not inputs and not db_path.exists():
        raise KhabarError(f"{db_path}: no such database; give INPUT files or --db")
    store = Store(db_path) if db_path is not None else None
    try:
        job = Job(targets, list(inputs) if inputs else None, store=store, out=out,
                  workers=runner, params=params, options={"fields": fields, **(options or {})},
                  echo=(lambda _line: None) if quiet else (lambda line: click.echo(line, err=True)),
                  on_problem=echo_problem(quiet))
        try:
            yield job
            if store is not None:
                from khabar.storage import save_outputs

                save_outputs(store, job)
        finally:
            job.close()
    finally:
        if store is not None:
            store.close()
        stop = getattr(runner, "close", None) or getattr(runner, "stop", None)
        if stop is not None:
            stop()
