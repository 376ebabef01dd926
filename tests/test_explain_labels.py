"""The hand-labelled precision sample stays well-formed (bench/explain.py reads it)."""

from __future__ import annotations

import json
from pathlib import Path

LABELS = Path(__file__).resolve().parents[1] / "bench" / "data" / "explain-labels.jsonl"
KINDS = {"quote", "report", "credit", "person", "place", "organization", "agency"}


def test_labels_are_well_formed_and_short():
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    assert len(rows) >= 150
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"id", "doc", "start", "end", "kind", "text", "correct", "note"}
        assert r["kind"] in KINDS
        assert isinstance(r["correct"], bool)
        assert 0 <= r["start"] < r["end"]
        # only short extracted spans, never article text
        assert len(r["text"]) <= 200 and len(r["note"]) <= 200
    # every kind is represented in the sample
    assert {r["kind"] for r in rows} == KINDS
