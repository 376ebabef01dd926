"""Exact and near-duplicate detection with verified similarities.

    import khabar
    result = khabar.find_duplicates(docs_or_store, khabar.DupParams(threshold=0.8))
    result.pairs      # [DupPair(a, b, jaccard, containment_a_in_b, containment_b_in_a, kind)]
    result.clusters   # [DupCluster(cluster, representative, members)]
    result.short      # ids too short to judge

Pipeline: shingles of normalized tokens (`shingles`), one-permutation MinHash
with densification and containment samples (`sketch`), candidates by LSH
banding and by a containment sample test (`lsh`), verification on the real
shingle sets (`verify`) and clusters with representatives (`clusters`), as
the steps of the duplicate stage (`stage`). `load_pairs(store)` gives later
stages the pairs a run stored.
"""

from khabar.dups.find import (
    DupCluster,
    DupPair,
    DupResult,
    deduplicated,
    find_duplicates,
    load_pairs,
)
from khabar.dups.params import DupParams

__all__ = ["DupCluster", "DupPair", "DupParams", "DupResult", "deduplicated",
           "find_duplicates", "load_pairs"]
