"""The machine-readable "who says what": three JSONL files beside the report.

* ``attributions.jsonl`` — ``{"doc", "kind": "quote"|"reported", "cue": [s, e],
  "speaker", "speaker_span": [s, e] | null, "content": [s, e]}``;
* ``credits.jsonl`` — ``{"doc", "span": [s, e], "agency"}``;
* ``mentions.jsonl`` — ``{"doc", "type": "person"|"place"|"organization",
  "span": [s, e], "text", "canonical"}``.

Offsets are half-open into the ORIGINAL text. A news outlet named in the text
is an organization here (newspapers and agencies are bodies); that it is an
outlet stays visible in the credits. The record functions are pure, so a
runner can call them per document and write the rows wherever it likes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from khabar.explain.attribution import Attribution
from khabar.explain.entities import Mention

FILES = ("attributions.jsonl", "credits.jsonl", "mentions.jsonl")

_MENTION_TYPE = {"person": "person", "place": "place", "organization": "organization",
                 "agency": "organization"}


def attribution_record(a: Attribution) -> dict[str, Any] | None:
    """The row of a quotation or reported statement (None for a credit or a statement
    without content)."""
    if a.kind == "credit" or a.quote_start is None or a.quote_end is None:
        return None
    span = [a.speaker_start, a.speaker_end] if a.speaker_start is not None \
        and a.speaker_end is not None else None
    return {"doc": a.doc, "kind": "quote" if a.kind == "quote" else "reported",
            "cue": [a.start, a.end], "speaker": a.speaker, "speaker_span": span,
            "content": [a.quote_start, a.quote_end]}


def credit_record(a: Attribution) -> dict[str, Any] | None:
    """The row of an agency credit (None for anything else)."""
    if a.kind != "credit":
        return None
    return {"doc": a.doc, "span": [a.start, a.end], "agency": a.speaker}


def mention_record(m: Mention) -> dict[str, Any]:
    return {"doc": m.doc, "type": _MENTION_TYPE.get(m.kind, m.kind), "span": [m.start, m.end],
            "text": m.text, "canonical": m.canonical}


def records(
    attributions: Iterable[Attribution], mentions: Iterable[Mention]
) -> dict[str, list[dict[str, Any]]]:
    """The rows of the three files, sorted by document and offset."""
    out: dict[str, list[dict[str, Any]]] = {f: [] for f in FILES}
    for a in attributions:
        row = attribution_record(a)
        if row is not None:
            out["attributions.jsonl"].append(row)
        row = credit_record(a)
        if row is not None:
            out["credits.jsonl"].append(row)
    out["mentions.jsonl"] = [mention_record(m) for m in mentions]
    out["attributions.jsonl"].sort(key=lambda r: (r["doc"], r["content"], r["cue"]))
    out["credits.jsonl"].sort(key=lambda r: (r["doc"], r["span"]))
    out["mentions.jsonl"].sort(key=lambda r: (r["doc"], r["span"], r["type"]))
    return out


def write_who_says_what(
    data_dir: str | Path, attributions: Iterable[Attribution], mentions: Iterable[Mention]
) -> dict[str, int]:
    """Write the three files into `data_dir`; returns the number of rows of each."""
    from khabar.io.writers import write_jsonl

    rows = records(attributions, mentions)
    d = Path(data_dir)
    d.mkdir(parents=True, exist_ok=True)
    for name, items in rows.items():
        write_jsonl(items, d / name)
    return {name.split(".")[0]: len(items) for name, items in rows.items()}


def write_explanation_files(store: Any, data_dir: str | Path) -> dict[str, int]:
    """The three files from the explanations kept in a `Store` (what `khabar run` writes
    under report/data/ after the explanation stage)."""
    from khabar.explain.db import load_attributions, load_mentions

    return write_who_says_what(data_dir, load_attributions(store), load_mentions(store))


__all__ = ["FILES", "attribution_record", "credit_record", "mention_record", "records",
           "write_explanation_files", "write_who_says_what"]
