"""`khabar eval stories`: score story assignments against labelled clusters or pairs.

Defined here and imported by the `eval` group (`khabar/cli/evaluate.py`).
"""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("stories")
@click.option("--gold", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Labelled clusters (JSONL `id, story` or `story, members`, or a key with "
                   "`stories`) or labelled pairs (JSONL `a, b, event[, ambiguous]`).")
@click.option("--pred", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="assignments.jsonl (or stories.jsonl) written by `khabar stories`.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stories(gold: Path, pred: Path, as_json: bool) -> None:
    """Pairwise precision/recall/F1 and B-cubed of predicted stories.

    Against labelled pairs: precision, recall and F1 of putting "same" pairs
    together, and the share of each label's pairs put together (ambiguous
    pairs are left out).
    """
    from khabar.evaluation.clustering import evaluate_files

    scores = evaluate_files(gold, pred)
    if as_json:
        click.echo(json.dumps(scores, ensure_ascii=False))
        return
    if scores["gold"] == "pairs":
        s = scores["same"]
        click.echo(f"labelled pairs: {sum(scores['counts'].values())} scored, "
                   f"{scores['missing']} with an unknown id")
        click.echo(f"same event: precision {s['precision']:.4f}  recall {s['recall']:.4f}  "
                   f"F1 {s['f1']:.4f}")
        for label, share in scores["merged"].items():
            click.echo(f"merged {label}: {share:.4f} of {scores['counts'][label]}")
        return
    click.echo(f"items: {scores['items']} scored, {scores['missing']} missing from --pred")
    for name in ("pairwise", "bcubed"):
        s = scores[name]
        click.echo(f"{name}: precision {s['precision']:.4f}  recall {s['recall']:.4f}  "
                   f"F1 {s['f1']:.4f}")
