"""`khabar ingest`, `khabar show`, `khabar stats`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from khabar.cli.common import (
    Progress,
    db_option,
    echo_problem,
    field_options,
    fields_from,
    quiet_option,
)
from khabar.errors import KhabarError


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option
@field_options
@click.option("--batch-size", default=500, show_default=True,
              help="Documents per transaction (a killed run loses at most one batch).")
@quiet_option
def ingest(inputs: tuple[Path, ...], db_path: Path, batch_size: int, quiet: bool, **kw) -> None:
    """Read, repair and store articles from INPUTS.

    INPUTS are files (.txt .jsonl .json .csv .tsv .parquet, optionally .gz) ,
    .zip archives, or directories of them. Bad records are reported with their
    file and line, skipped, and counted; the run goes on.
    """
    from khabar.ingest import ingest as run_ingest

    fields = fields_from(kw)
    progress = Progress("ingest", enabled=not quiet)
    try:
        report = run_ingest(list(inputs), db_path, fields=fields, batch_size=batch_size,
                            on_problem=echo_problem(quiet), progress=progress)
    finally:
        progress.close()
    click.echo(f"{db_path}: {report.summary()}")
    if report.repaired_in_context:
        click.echo(f"{report.repaired_in_context} documents repaired with corpus knowledge")
    if report.read == 0:
        raise KhabarError("no documents could be read from the inputs given")


@click.command()
@click.argument("doc_id")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show(doc_id: str, db_path: Path, as_json: bool) -> None:
    """Show one stored document: original text, repairs made, normalized text."""
    from khabar.store import Store
    from khabar.text.view import prepare

    with Store(db_path, readonly=True) as store, store.snapshot():
        found = store.get(doc_id)
        versions = store.versions(doc_id) if found else []
    if found is None:
        raise KhabarError(f"{doc_id}: no such document in {db_path}")
    doc, rep = found
    view = prepare([doc], [rep])[0]
    if as_json:
        click.echo(json.dumps({
            "id": doc.id, "title": doc.title, "probable_title": rep.title,
            "source": doc.source, "date": doc.date.isoformat() if doc.date else None,
            "date_raw": doc.date_raw, "url": doc.url, "meta": doc.meta, "origin": doc.origin,
            "text": doc.text, "repairs": [a.to_dict() for a in rep.actions],
            "repaired": rep.text, "normalized": view.normalized,
            "tokens": len(view.tokens), "sentences": len(view.sentences[0]),
            "old_versions": [v["version"] for v in versions],
        }, ensure_ascii=False, indent=2))
        return
    head = click.style
    click.echo(head(f"{doc.id}", bold=True))
    for label, value in (("title", doc.title), ("probable title", rep.title),
                         ("source", doc.source),
                         ("date", doc.date.isoformat() if doc.date else doc.date_raw),
                         ("url", doc.url), ("read from", doc.origin)):
        if value:
            click.echo(f"  {label}: {value}")
    if versions:
        click.echo(f"  older versions: {', '.join(str(v['version']) for v in versions)}")
    click.echo(f"  {len(doc.text)} characters, {len(view.tokens)} tokens, "
               f"{len(view.sentences[0])} sentences")
    click.echo(head("\noriginal", bold=True))
    click.echo(doc.text)
    click.echo(head("\nrepairs", bold=True))
    if not rep.actions:
        click.echo("  none")
    for a in rep.actions:
        where = f"[{a.start}:{a.end}]"
        extra = f" {a.detail!r}" if a.detail else ""
        link = f" -> title of {a.link}" if a.link else ""
        click.echo(f"  {a.kind} {where}{extra}{link}")
    if rep.text != doc.text:
        click.echo(head("\nrepaired", bold=True))
        click.echo(rep.text)
    click.echo(head("\nnormalized", bold=True))
    click.echo(view.normalized)


@click.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(db_path: Path, as_json: bool) -> None:
    """Counts of what the database holds."""
    from khabar.store import Store

    with Store(db_path, readonly=True) as store:
        data = store.stats()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo(f"{key}: {value}")
