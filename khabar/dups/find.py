"""`find_duplicates`: exact and near duplicates of documents in memory, in files or in a store.

Runs the ``dups`` stage (`khabar.dups.stage`: sketches, exact groups, LSH and
containment candidates, verification on the real shingle sets, clusters) on a
runner; `workers` is a number of local processes or a runner, and the result
never depends on it. With a store, the pairs and clusters are kept in it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khabar.document import Document
from khabar.dups.params import DupParams
from khabar.dups.records import DupCluster, DupPair
from khabar.dups.stage import DECIMALS
from khabar.engine import RunnerSpec
from khabar.errors import KhabarError


@dataclass
class DupResult:
    pairs: list[DupPair]
    """Verified duplicate edges, sorted by (a, b): every exact copy against its group's
    representative, and near pairs between group representatives (see `all_pairs`)."""
    clusters: list[DupCluster]
    """Clusters of two or more documents, largest first (then by representative id)."""
    short: list[str]
    """Ids of documents with fewer than `min_tokens` tokens: never called duplicates."""
    stats: dict[str, int] = field(default_factory=dict)
    exact_groups: list[tuple[str, ...]] = field(default_factory=list)
    """Groups of exact copies (identical normalized tokens), each its representative first,
    then the other copies by id; sorted by representative."""

    def all_pairs(self) -> list[DupPair]:
        """Every pair of documents the edges stand for, sorted by (a, b).

        Inside an exact group every two copies; for a near pair between two group
        representatives, every copy of one against every copy of the other (copies
        have identical shingles, so identical similarities). Quadratic in the size of
        the groups: for comparison with tools that list all pairs, not for large
        clusters.
        """
        group = {g[0]: g for g in self.exact_groups}
        out: list[DupPair] = []
        for g in self.exact_groups:
            ordered = sorted(g)
            out.extend(DupPair(x, y, 1.0, 1.0, 1.0, "exact")
                       for i, x in enumerate(ordered) for y in ordered[i + 1 :])
        for p in self.pairs:
            if p.kind == "exact":
                continue
            for x in group.get(p.a, (p.a,)):
                for y in group.get(p.b, (p.b,)):
                    out.append(DupPair(x, y, p.jaccard, p.containment_a_in_b,
                                       p.containment_b_in_a, "near") if x < y else
                               DupPair(y, x, p.jaccard, p.containment_b_in_a,
                                       p.containment_a_in_b, "near"))
        out.sort(key=lambda p: (p.a, p.b))
        return out

    def dropped(self) -> set[str]:
        """Ids a deduplicated corpus leaves out: every cluster member but its representative."""
        return {m for c in self.clusters for m in c.members if m != c.representative}

    def write(self, out_dir: str | os.PathLike[str]) -> dict[str, int]:
        """Write pairs.jsonl, clusters.jsonl and short.jsonl (`{"id": …}` rows) to `out_dir`.

        Rows are sorted (pairs by a then b, clusters largest first), so equal inputs give
        byte-identical files. Returns the
        number of rows written per file.
        """
        from khabar.io.writers import write_jsonl

        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise KhabarError(f"{out}: exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        return {
            "pairs.jsonl": write_jsonl((p.to_dict() for p in self.pairs), out / "pairs.jsonl"),
            "clusters.jsonl": write_jsonl((c.to_dict() for c in self.clusters),
                                          out / "clusters.jsonl"),
            "short.jsonl": write_jsonl(({"id": i} for i in self.short), out / "short.jsonl"),
        }

    def summary(self) -> str:
        exact = sum(p.kind == "exact" for p in self.pairs)
        dupes = sum(len(c.members) - 1 for c in self.clusters)
        new = (f", {self.stats['new']} new or changed" if "new" in self.stats else "")
        return (f"{self.stats.get('documents', 0)} documents ({len(self.short)} too short"
                f"{new}), {exact} exact and {len(self.pairs) - exact} near pairs, "
                f"{len(self.clusters)} clusters, {dupes} duplicates to drop")


def find_duplicates(
    corpus: Any,
    params: DupParams | None = None,
    *,
    workers: RunnerSpec = 1,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> DupResult:
    """Exact and near duplicates among documents, as verified pairs and clusters.

    `corpus` is a `Store` (its documents; the results are kept in it), documents or
    plain texts in memory (texts get ids "0", "1", …), or paths of input files.
    Stored documents are read in their repaired form. The result is the same for any
    `workers`.
    """
    from khabar.pipeline import Job
    from khabar.store import Store

    params = params or DupParams()
    store = corpus if isinstance(corpus, Store) else None
    inputs = None
    if store is None:
        items = list(corpus)
        if items and all(isinstance(x, str) for x in items) and not all(
                _is_file(x) for x in items):
            items = [Document(id=str(k), text=t) for k, t in enumerate(items)]
        inputs = items
    with Job(["dups"], inputs, store=store, workers=workers,
             params={"dups": params}) as job:
        job.run()
        if store is not None:
            from khabar.storage import save_outputs

            save_outputs(store, job)
        pairs = job.collect("dup_pairs")
        clusters = job.collect("dup_clusters")
        short = [s.id for s in job.collect("dup_short")]
        groups = sorted(tuple(g) for g in job.collect("dup_exact_groups"))
        stats = dict(job.counts.get("dups", {}))
    return DupResult(pairs, clusters, short, stats, groups)


def _is_file(text: str) -> bool:
    if "\n" in text or len(text) > 4096:
        return False
    try:
        return Path(text).is_file()
    except OSError:  # a text too long for a file name
        return False


def load_pairs(store: Any, params: DupParams | None = None, *, update: bool = True,
               workers: RunnerSpec = 1) -> list[DupPair]:
    """The verified duplicate edges of a store (found again first, unless `update=False`:
    then those the last run kept)."""
    if update:
        return find_duplicates(store, params, workers=workers).pairs
    from khabar.dups.stage import OUTPUTS
    from khabar.storage import load

    return list(load(store, OUTPUTS[0]))


def deduplicated(docs: Iterable[Document], result: DupResult) -> Iterator[Document]:
    """`docs` without the non-representative members of duplicate clusters."""
    drop = result.dropped()
    return (d for d in docs if d.id not in drop)


__all__ = ["DECIMALS", "DupCluster", "DupPair", "DupResult", "deduplicated", "find_duplicates",
           "load_pairs"]
