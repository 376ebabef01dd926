"""Reuse: which passages two articles share, where exactly, and who likely copied whom.

    from khabar.reuse import find_reuse, ReuseOptions
    for p in find_reuse(docs, ReuseOptions(min_words=10)):
        print(p.a, docs_by_id[p.a].text[p.a_start:p.a_end], "<->", p.b, p.source, p.rule)

Modules: `features` (what is kept of each document), `fingerprints` (candidate
pairs through two inverted indexes), `phrases` (formulas and outlet
boilerplate, from keyed counts over the collection), `align` (passages of one
pair), `kinds` (copy, template or formula), `direction` (likely source),
`numbers` (figures as a reader compares them), `pan` (PAN XML files), `api`
(the whole run, over documents or a `Store`).
"""

from khabar.reuse.align import Alignment, align_pair
from khabar.reuse.api import find_reuse, load_passages, reuse_store
from khabar.reuse.features import DocFeatures, extract_features
from khabar.reuse.kinds import COPY, FORMULA, KINDS, TEMPLATE, passage_kind
from khabar.reuse.options import ReuseOptions
from khabar.reuse.pan import read_pan, write_pan
from khabar.reuse.passage import Passage
from khabar.reuse.phrases import PhraseCounts, PhraseTables, mark_phrases

__all__ = [
    "COPY",
    "FORMULA",
    "KINDS",
    "TEMPLATE",
    "Alignment",
    "DocFeatures",
    "Passage",
    "PhraseCounts",
    "PhraseTables",
    "ReuseOptions",
    "align_pair",
    "extract_features",
    "find_reuse",
    "load_passages",
    "mark_phrases",
    "passage_kind",
    "read_pan",
    "reuse_store",
    "write_pan",
]
