"""`khabar reuse`: reused passages between articles, with exact offsets and likely source."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from khabar.cli.common import corpus_options, engine_options, runner_from, stage_job
from khabar.errors import KhabarError


@click.command()
@corpus_options
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="File of passages: JSON lines, or Parquet when it ends in .parquet "
                   "(default: JSON lines on standard output); with --format pan the "
                   "directory for the XML files.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "pan"]), default="jsonl",
              show_default=True,
              help="jsonl: one passage per line; pan: PAN detection XML files, one per "
                   "document that has passages.")
@click.option("--min-words", type=int, default=15, show_default=True,
              help="Shortest passage reported, in words on each side (about one short "
                   "sentence).")
@click.option("--max-df", type=int, default=50, show_default=True,
              help="Fingerprints in more documents than this are formulas and do not make "
                   "candidate pairs.")
@click.option("--window", "window_days", type=float, default=30.0, show_default=True,
              help="Days: articles are compared only with articles published this close to "
                   "them (undated ones with all); keeps the cost linear in the collection.")
@click.option("--include-boilerplate", is_flag=True,
              help="Also report passages an outlet repeats in many of its own documents "
                   "(flagged boilerplate: true).")
@click.option("--include-formulaic", is_flag=True,
              help="Also report templates (the same frame with other figures or names) and "
                   "formulas (phrases many outlets use in unrelated stories), flagged by "
                   "their kind.")
@engine_options
def reuse(inputs: tuple[Path, ...], db_path: Path | None, quiet: bool, out: Path | None,
          fmt: str, min_words: int, max_df: int, window_days: float,
          include_boilerplate: bool,
          include_formulaic: bool, workers: int, engine_spec: str,
          spark_conf: tuple[str, ...], **kw) -> None:
    """Find passages reused between articles of INPUT files or the database.

    Each passage gives both documents (`a` < `b` by id) with half-open ORIGINAL
    character offsets, a similarity score, the sentences it covers on each
    side, its kind (copy, template or formula; only copies are reported unless
    --include-formulaic), the likely source of a copy (`source`, or null) and the
    rule that decided it. With --db the passages are also kept in the database.
    """
    from khabar.reuse.options import ReuseOptions
    from khabar.reuse.pan import write_pan

    if min_words < 1:
        raise KhabarError(f"--min-words {min_words}: must be at least 1")
    if max_df < 2:
        raise KhabarError(f"--max-df {max_df}: must be at least 2 (a pair needs two documents)")
    if not window_days > 0:
        raise KhabarError(f"--window {window_days}: must be a positive number of days")
    if fmt == "pan":
        if out is None:
            raise KhabarError("--format pan needs --out DIR")
        if out.exists() and not out.is_dir():
            raise KhabarError(f"{out}: exists and is not a directory")
    elif out is not None and out.is_dir():
        raise KhabarError(f"{out}: is a directory; give a .jsonl file (or --format pan)")
    base = ReuseOptions()
    # a passage shorter than the default core is anchored by a core as short as itself;
    # the minimum in content words follows the core in words (about 6 in 10 words of
    # Arabic news are content words)
    core = min(base.core_words, min_words)
    options = ReuseOptions(min_words=min_words, max_df=max_df, core_words=core,
                           min_content=max(2, round(core * base.min_content
                                                    / base.core_words)),
                           include_boilerplate=include_boilerplate,
                           include_formulaic=include_formulaic, window_days=window_days)
    with stage_job(["reuse"], inputs, db_path, kw, quiet,
                   runner_from(engine_spec, workers, spark_conf),
                   params={"reuse": options}) as job:
        job.run()
        if fmt == "jsonl" and out is not None:
            # written by the runner (by the executors, on Spark): nothing per passage here
            from khabar.pipeline import Row
            from khabar.reuse.passage import passage_key

            found = job.data["passages"]
            if out.name.lower().endswith(".parquet"):
                from khabar.reuse.passage import Passage

                count = job.runner.write_parquet(found, passage_key, out, Row(None),
                                                 Passage.schema())
            else:
                count = job.runner.write_jsonl(found, passage_key, out, Row(None))
            if not quiet:
                pairs = found.group(_pair_keys, _pair).count()
                click.echo(f"reuse: {count} passages between {pairs} pairs of documents "
                           f"-> {out}", err=True)
            return
        passages = job.collect("passages")
    pairs = len({(p.a, p.b) for p in passages})
    if fmt == "pan":
        assert out is not None
        files = write_pan(passages, out)
        written = f"{len(files)} files in {out}"
    elif out is None:
        for p in passages:
            sys.stdout.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
        written = "standard output"
    else:
        from khabar.io.writers import write_jsonl

        write_jsonl((p.to_dict() for p in passages), out)
        written = str(out)
    if not quiet:
        click.echo(f"reuse: {len(passages)} passages between {pairs} pairs of documents "
                   f"-> {written}", err=True)


def _pair_keys(batch: list) -> list:
    return [((p.a, p.b), None) for p in batch]


def _pair(key: tuple, _values: list) -> list:
    return [key]
