"""Results never depend on the partitioning: reductions that need an order sort their values."""

from __future__ import annotations

import json
import random
from pathlib import Path

from khabar.dups import DupParams
from khabar.dups.stage import MAX_BUCKET
from khabar.pipeline import Job


def near_copies(path: Path, copies: int = 150) -> Path:
    """`copies` near copies of one text (three words changed in each) among other texts."""
    rng = random.Random(5)
    words = [f"كلمة{k}" for k in range(3000)]
    base = [rng.choice(words) for _ in range(300)]
    records = []
    for k in range(copies):
        text = list(base)
        for _ in range(3):
            text[rng.randrange(len(text))] = rng.choice(words)
        records.append({"id": f"copy{k:03d}", "text": " ".join(text)})
    records += [{"id": f"other{k:03d}", "text": " ".join(rng.choice(words) for _ in range(80))}
                for k in range(200)]
    rng.shuffle(records)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def test_a_bucket_too_big_to_pair_in_full_pairs_the_same_members(tmp_path: Path) -> None:
    # prepared articles reach dups partitioned by a hash of their number, so the members
    # of an LSH bucket arrive in an order that depends on the partitioning; a bucket over
    # MAX_BUCKET pairs each member with its smallest, whatever that order
    corpus = near_copies(tmp_path / "copies.jsonl")
    params = {"dups": DupParams(containment=0)}  # band buckets alone make the candidates
    outs = []
    for workers in (1, 2):
        with Job(["prepare", "dups"], [corpus], workers=workers, params=params) as job:
            assert [s.name for s in job.stages] == ["read", "prepare", "dups"]
            job.run()
            job.write(tmp_path / f"w{workers}")
            outs.append((tmp_path / f"w{workers}" / "pairs.jsonl").read_bytes())
            counts = job.counts["dups"]
    assert counts["clusters"] == 1 and counts["dropped"] == 149
    assert 149 < counts["near"] < 150 * 149 // 2  # big buckets were paired star-wise
    assert MAX_BUCKET < 150
    assert outs[0] == outs[1]
