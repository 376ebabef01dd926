"""Reuse: which passages two articles share, where exactly, and who likely copied whom.

    from khabar.reuse import find_reuse, ReuseOptions
    for p in find_reuse(docs, ReuseOptions(min_words=10)):
        print(p.a, docs_by_id[p.a].text[p.a_start:p.a_end], "<->", p.b, p.source, p.rule)

Modules: `features` (what is kept of each document), `fingerprints` (candidate
pairs through two inverted indexes), `align` (passages of one pair),
`direction` (likely source), `boilerplate` (outlet boilerplate), `pan`
(PAN XML files), `api` (the whole run, over documents or a `Store`).
"""

from khabar.reuse.align import Alignment, align_pair
from khabar.reuse.api import find_reuse, load_passages, reuse_store
from khabar.reuse.features import DocFeatures, extract_features
from khabar.reuse.options import ReuseOptions
from khabar.reuse.pan import read_pan, write_pan
from khabar.reuse.passage import Passage

__all__ = [
    "Alignment",
    "DocFeatures",
    "Passage",
    "ReuseOptions",
    "align_pair",
    "extract_features",
    "find_reuse",
    "load_passages",
    "read_pan",
    "reuse_store",
    "write_pan",
]
