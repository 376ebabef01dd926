"""`khabar dups`: exact and near-duplicate articles."""

from __future__ import annotations

from pathlib import Path

import click

from khabar.cli.common import (
    corpus_options,
    engine_options,
    fields_from,
    out_format_option,
    runner_from,
    stage_job,
)
from khabar.errors import KhabarError

_DOC_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")


@click.command()
@corpus_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None,
              help="Directory for pairs, clusters and short (.jsonl, or .parquet with "
                   "--out-format parquet).")
@click.option("--dedup-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the corpus keeping one representative per duplicate cluster; the "
                   "format follows the extension (.jsonl[.gz], .parquet, .json, .csv, .tsv).")
@click.option("--threshold", type=float, default=0.8, show_default=True,
              help="Jaccard similarity of shingle sets that makes a near duplicate.")
@click.option("--containment", type=float, default=0.8, show_default=True,
              help="Share of the smaller text found in the other that makes a duplicate "
                   "(0 turns containment off).")
@click.option("--shingle", default="word:5", show_default=True,
              help="Shingles: word:N (N-token windows) or char:N (N-character windows).")
@click.option("--num-perm", type=int, default=128, show_default=True,
              help="Length of the MinHash sketch.")
@click.option("--bands", type=int, default=None,
              help="LSH bands (with --rows) [default: chosen from --threshold].")
@click.option("--rows", type=int, default=None, help="LSH rows per band (with --bands).")
@click.option("--min-tokens", type=int, default=10, show_default=True,
              help="Shorter documents are never duplicates; they are listed in short.jsonl.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the sketches.")
@out_format_option
@engine_options
def dups(inputs: tuple[Path, ...], db_path: Path | None, quiet: bool, out_dir: Path | None,
         dedup_out: Path | None, threshold: float, containment: float, shingle: str,
         num_perm: int, bands: int | None, rows: int | None, min_tokens: int, seed: int,
         out_format: str,
         workers: int, engine_spec: str, spark_conf: tuple[str, ...], **kw) -> None:
    """Find exact and near-duplicate articles in INPUT files or the database.

    Every reported pair is verified on the real shingle sets (Jaccard and both
    containments). With --db, INPUTS are added to the database first, the
    duplicates of everything it holds are found and the results stored (a
    re-run that finds the same writes nothing).
    """
    from khabar.dups import DupParams

    params = DupParams(threshold=threshold, containment=containment, shingle=shingle,
                       num_perm=num_perm, bands=bands, rows=rows, min_tokens=min_tokens,
                       seed=seed)
    params.band_rows()
    if inputs and db_path is None and out_dir is None and dedup_out is None:
        raise KhabarError("nothing would be kept: give --out DIR, --dedup-out FILE or --db")
    if dedup_out is not None:
        name = dedup_out.name.lower().removesuffix(".gz")
        if not name.endswith(_DOC_SUFFIXES):
            raise KhabarError(f"{dedup_out}: use .jsonl, .jsonl.gz, .parquet, .json, .csv or "
                              ".tsv (the format follows the extension)")
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise KhabarError(f"{out_dir}: exists and is not a directory")
    fields = fields_from(dict(kw))
    with stage_job(["dups"], inputs, db_path, kw, quiet,
                   runner_from(engine_spec, workers, spark_conf),
                   params={"dups": params}) as job:
        job.run()
        if out_dir is not None:
            job.write(out_dir, fmt=out_format)
        if dedup_out is not None:
            from khabar.dups.stage import deduplicated
            from khabar.io.writers import write_documents

            kept = write_documents(deduplicated(job), dedup_out, fields)
        counts = job.counts["dups"]
    b, r = params.band_rows()
    click.echo(f"dups: {summary(counts)} (bands {b} × rows {r})")
    if out_dir is not None:
        click.echo(f"written {out_dir}/pairs.jsonl, clusters.jsonl, short.jsonl")
    if dedup_out is not None:
        click.echo(f"written {dedup_out}: {kept} documents")


def summary(c: dict) -> str:
    return (f"{c['documents']} documents ({c['short']} too short), {c['exact']} exact and "
            f"{c['near']} near pairs, {c['clusters']} clusters, {c['dropped']} duplicates "
            "to drop")
