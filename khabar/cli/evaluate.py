"""`khabar eval`: scores of khabar's output against annotations.

`khabar eval pan` lives here; other evaluations register themselves in this
group from their own modules (`khabar eval stories` from `evaluate_stories`).
"""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("eval")
def evaluate() -> None:
    """Score khabar's output against annotations."""


@evaluate.command("pan")
@click.option("--truth", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory of PAN annotation XML files (features named `plagiarism`).")
@click.option("--detections", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Directory of PAN detection XML files (`khabar reuse --format pan`).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def pan(truth: Path, detections: Path, as_json: bool) -> None:
    """PAN measures: macro precision and recall, granularity, plagdet.

    Potthast et al. (2010). Recall is also given per obfuscation type when the
    annotations carry one. Only detections in documents that have an
    annotation file are scored, from the viewpoint of those documents.
    """
    from khabar.evaluation.pan import score
    from khabar.reuse.pan import read_pan

    # either file set may use either feature name (`plagiarism` in annotations,
    # `detected-plagiarism` in detections), so one detection run can be scored against another
    cases = read_pan(truth)
    annotated = {p.with_suffix("").name for p in Path(truth).rglob("*.xml")}
    found = [c for c in read_pan(detections)
             if Path(c.doc).with_suffix("").name in annotated]
    result = score(cases, found)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(f"cases {result.cases}, detections {result.detections}")
    click.echo(f"precision   {result.precision:.4f}")
    click.echo(f"recall      {result.recall:.4f}")
    click.echo(f"granularity {result.granularity:.4f}")
    click.echo(f"plagdet     {result.plagdet:.4f}")
    if result.recall_by_obfuscation:
        click.echo("recall by obfuscation:")
        for kind, value in result.recall_by_obfuscation.items():
            click.echo(f"  {kind:<28} {value:.4f}  ({result.cases_by_obfuscation[kind]} cases)")


try:  # `khabar eval stories`, when that stage is installed
    from khabar.cli.evaluate_stories import stories as _stories
except ModuleNotFoundError as exc:
    if exc.name != "khabar.cli.evaluate_stories":
        raise
else:
    evaluate.add_command(_stories)
