"""What reuse detection keeps of each document: compact arrays, not the whole `TextView`.

Building a `TextView` is the expensive part of reading text (normalization,
tokens, stems, sentences), so it happens once per document, in batches, and
only the arrays that candidate search and alignment need are kept:
content-stem hashes with their token positions, token and sentence offsets
in the ORIGINAL text, and the wire agencies the text credits. About 30 bytes
per token, so a corpus of a few million tokens fits in memory comfortably.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from khabar.document import Document
from khabar.repair import Repair
from khabar.reuse.hashing import ngram_hashes, stem_hashes, unique
from khabar.reuse.numbers import number_values
from khabar.text.stem import stem, stopwords
from khabar.text.view import TextView, prepare

# Wire agencies as they are credited in Arabic copy, matched on NORMALIZED text (alef
# folded, Arabic punctuation made ASCII). Credits are parenthesized datelines "(واس)",
# or "وكالة … للأنباء" style mentions; a bare word such as "واسع" must not count.
_AGENCIES: dict[str, str] = {
    "واس": "spa", "ا ف ب": "afp", "اف ب": "afp", "فرانس برس": "afp", "رويترز": "reuters",
    "د ب ا": "dpa", "اسوشيتد برس": "ap", "ا ب": "ap", "يو بي اي": "upi", "شينخوا": "xinhua",
    "الاناضول": "anadolu", "قنا": "qna", "وام": "wam", "كونا": "kuna", "بنا": "bna",
    "سانا": "sana", "ارنا": "irna", "تسنيم": "tasnim", "ونا": "wana", "مينا": "mena",
}
_PAREN = re.compile(r"\(\s*(" + "|".join(sorted(map(re.escape, _AGENCIES), key=len,
                                                   reverse=True)) + r")\s*\)")
_NAMED = re.compile(
    r"(?:وكالة|لوكالة|ووكالة|بوكالة)\s+(?:الانباء\s+)?\"?\s*("
    + "|".join(sorted(map(re.escape, (k for k in _AGENCIES if " " not in k or k == "فرانس برس")),
                      key=len, reverse=True))
    + r")(?![\w])"
)
_GENERIC = re.compile(r"(?:وكالة|لوكالة)\s+(?:الانباء|انباء)\s+(\w+)|(?:وكالة)\s+(\w+)\s+للانباء")
# Outlet names (the `source` field) that are themselves wire agencies.
_AGENCY_OUTLETS = {
    "spa": "spa", "واس": "spa", "afp": "afp", "reuters": "reuters", "رويترز": "reuters",
    "dpa": "dpa", "ap": "ap", "xinhua": "xinhua", "anadolu": "anadolu", "qna": "qna",
    "wam": "wam", "kuna": "kuna", "bna": "bna", "sana": "sana", "irna": "irna",
    "tasnim": "tasnim", "mena": "mena",
}


def credited_agencies(normalized: str) -> frozenset[str]:
    """Wire agencies a normalized text credits: "(واس)", "وكالة رويترز", "وكالة الأنباء X"."""
    found = {_AGENCIES[m.group(1)] for m in _PAREN.finditer(normalized)}
    found |= {_AGENCIES[m.group(1)] for m in _NAMED.finditer(normalized)}
    for m in _GENERIC.finditer(normalized):
        found.add("agency:" + (m.group(1) or m.group(2)))
    return frozenset(found)


def outlet_agency(source: str | None) -> str | None:
    """The wire agency an outlet name denotes (`spa`, `reuters`…), if it is one."""
    if not source:
        return None
    key = source.strip().lower()
    for part in re.split(r"[\s./_-]+", key):
        if part in _AGENCY_OUTLETS:
            return _AGENCY_OUTLETS[part]
    return None


@dataclass(slots=True, eq=False)
class DocFeatures:
    """The arrays of one document that reuse detection works on."""

    id: str
    source: str | None
    ts: float | None
    """Publication time (unix seconds) or None."""
    length: int
    """Length of the original text."""
    tok_start: np.ndarray
    """ORIGINAL start offset of every token (int32)."""
    tok_end: np.ndarray
    tok_sent: np.ndarray
    """Sentence index of every token (int32)."""
    sent_start: np.ndarray
    """ORIGINAL (start, end) of every sentence (int32)."""
    sent_end: np.ndarray
    content: np.ndarray
    """Token index of every content token (int32): not a stopword, not a lone letter."""
    stems: np.ndarray
    """64-bit hash of the stem of every content token (uint64), aligned with `content`."""
    stem_count: np.ndarray
    """How often each content token's stem occurs in this document (int32)."""
    credits: frozenset[str]
    """Wire agencies the text credits (see `credited_agencies`)."""
    grams: np.ndarray
    """Hash of the n-gram of content stems starting at each content token (uint64)."""
    rare: np.ndarray | None = None
    """Per content token: is its stem in at most `max_df` documents of the corpus? Set by
    the corpus pass (`mark_rare`); None means unknown (every stem counts as rare)."""
    gram_rare: np.ndarray | None = None
    """The same for the n-gram starting at each content token."""
    gram_shared: np.ndarray | None = None
    """…and whether that n-gram is also in some other document (and rare)."""
    gram_df: np.ndarray | None = None
    """…and in how many documents of the collection it is (int32)."""
    num_at: np.ndarray | None = None
    """Content-token position of every number value (int32; a token may carry several:
    "15.8" is 15 and 8)…"""
    num_val: np.ndarray | None = None
    """…and the value (int64; see `khabar.reuse.numbers`)."""
    boiler: np.ndarray | None = None
    """Per content token: inside text its outlet repeats in many documents (set by
    `PhraseTables.mark`); None when unknown."""
    formula: np.ndarray | None = None
    """Per content token: inside a phrase carried by many outlets on many days (set by
    `PhraseTables.mark`); None when unknown."""
    seed_keys: np.ndarray | None = None
    """The rare n-grams, sorted (uint64), for fast intersection with another document…"""
    seed_pos: np.ndarray | None = None
    """…the content-token position of each…"""
    seed_unique: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    """…and the distinct keys with the index of their first entry and their count."""
    n: int = -1
    """The article's number in the run (set by the reuse stage)."""

    def __reduce__(self) -> tuple:
        # positional rebuild: the slots-dataclass default calls fields() per record
        return (DocFeatures, tuple(getattr(self, f) for f in _FIELDS))

    def seeds(self) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Sorted rare n-gram hashes, their positions, and the distinct ones (first, count).

        All n-grams count as rare when rarity is unknown (a pair aligned on its own)."""
        if self.seed_keys is None or self.seed_pos is None or self.seed_unique is None:
            pos = (np.flatnonzero(self.gram_rare) if self.gram_rare is not None
                   else np.arange(len(self.grams)))
            order = np.argsort(self.grams[pos], kind="stable")
            self.seed_pos = pos[order].astype(np.int64)
            self.seed_keys = self.grams[self.seed_pos]
            self.seed_unique = np.unique(self.seed_keys, return_index=True, return_counts=True)
        return self.seed_keys, self.seed_pos, self.seed_unique

    @property
    def n_content(self) -> int:
        return len(self.content)


_FIELDS = tuple(f for f in DocFeatures.__dataclass_fields__)


def is_content(token: str, stop: frozenset[str]) -> bool:
    """Does a (normalized) token carry evidence of copying? Not a stopword, not a lone
    letter; digits count (a figure copied with its sentence is strong evidence)."""
    return token not in stop and (len(token) > 1 or token.isdigit())


class _Lexicon:
    """The distinct tokens of a batch, each classified and stemmed once.

    Arabic news is Zipfian: a batch of 200 articles has a few hundred thousand
    tokens but some tens of thousands of distinct ones, so deciding content /
    stopword and hashing the stem per distinct token is most of the saving.
    """

    def __init__(self, views: Sequence[TextView]) -> None:
        stop = stopwords()
        distinct = list(dict.fromkeys(t for v in views for t in v.tokens.strings))
        self.code = {t: k for k, t in enumerate(distinct)}
        self.content = np.fromiter((is_content(t, stop) for t in distinct), dtype=bool,
                                   count=len(distinct))
        self.hash = np.zeros(len(distinct), dtype=np.uint64)
        words = [t for t, c in zip(distinct, self.content.tolist(), strict=True) if c]
        self.hash[self.content] = stem_hashes(stem(words))
        # the few distinct tokens that are numbers, with their values
        self.numbers = {k: v for k, t in enumerate(distinct) if (v := number_values(t))}
        self.is_number = np.zeros(len(distinct), dtype=bool)
        self.is_number[list(self.numbers)] = True

    def codes(self, strings: list[str]) -> np.ndarray:
        return np.fromiter(map(self.code.__getitem__, strings), dtype=np.int64,
                           count=len(strings))


def features_from_view(view: TextView, doc: Document, ngram: int = 3,
                       lexicon: _Lexicon | None = None) -> DocFeatures:
    lex = lexicon or _Lexicon([view])
    codes = lex.codes(view.tokens.strings)
    content = np.flatnonzero(lex.content[codes]).astype(np.int32)
    hashes = lex.hash[codes[content]]
    if len(hashes):
        _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
        stem_count = counts[inverse].astype(np.int32)
    else:
        stem_count = np.empty(0, np.int32)
    num_pos = np.flatnonzero(lex.is_number[codes[content]])
    num_at: list[int] = []
    num_val: list[int] = []
    for k, code in zip(num_pos.tolist(), codes[content[num_pos]].tolist(), strict=True):
        for value in lex.numbers[code]:
            num_at.append(k)
            num_val.append(value)
    tok_start, tok_end = view.token_spans_original()
    s_starts, _ = view.sentences
    if len(s_starts):
        spans = np.asarray(view.sentence_spans_original(), dtype=np.int32).reshape(-1, 2)
        sent_start, sent_end = spans[:, 0].copy(), spans[:, 1].copy()
    else:
        sent_start = sent_end = np.empty(0, np.int32)
    return DocFeatures(
        id=doc.id, source=doc.source, ts=doc.timestamp, length=len(doc.text),
        tok_start=np.asarray(tok_start, np.int32), tok_end=np.asarray(tok_end, np.int32),
        tok_sent=view.sentence_of_tokens().astype(np.int32),
        sent_start=sent_start, sent_end=sent_end,
        content=content, stems=hashes, stem_count=stem_count,
        credits=credited_agencies(view.normalized),
        grams=ngram_hashes(hashes, ngram),
        num_at=np.asarray(num_at, np.int32), num_val=np.asarray(num_val, np.int64),
    )


def extract_features(batch: Sequence[Document | tuple[Document, Repair | None]],
                     ngram: int = 3) -> list[DocFeatures]:
    """Stage function: documents (or (document, stored repair) pairs) -> `DocFeatures`."""
    docs: list[Document] = []
    reps: list[Repair | None] = []
    for item in batch:
        if isinstance(item, Document):
            docs.append(item)
            reps.append(None)
        else:
            docs.append(item[0])
            reps.append(item[1])
    views = prepare(docs, reps)
    lexicon = _Lexicon(views)
    return [features_from_view(v, d, ngram, lexicon) for v, d in zip(views, docs, strict=True)]


def _document_frequencies(per_doc: Sequence[np.ndarray]) -> list[np.ndarray]:
    """For every key of every document: in how many documents of the collection it is.

    One sort of all keys of the collection (not one lookup per document, whose
    scattered accesses into a large vocabulary are slow)."""
    if not per_doc:
        return []
    lengths = [len(k) for k in per_doc]
    keys = np.concatenate(per_doc)
    if len(keys) == 0:
        return [np.zeros(0, np.int64) for _ in per_doc]
    doc = np.repeat(np.arange(len(per_doc)), lengths)
    _, key_id = np.unique(keys, return_inverse=True)
    # documents per key: distinct (key, document) pairs counted per key
    pair = unique(key_id.astype(np.int64) * len(per_doc) + doc)
    df = np.bincount(pair // len(per_doc), minlength=int(key_id.max()) + 1)
    return np.split(df[key_id], np.cumsum(lengths)[:-1])


def mark_rare(feats: Sequence[DocFeatures], max_df: int) -> None:
    """Set `rare` and `gram_rare` on every document from corpus document frequencies.

    A stem or n-gram is rare when at most `max_df` documents have it (the cap of
    the fingerprint index: anything that common is a formula and locates nothing).
    """
    for f, df in zip(feats, _document_frequencies([f.stems for f in feats]), strict=True):
        f.rare = df <= max_df
    for f, df in zip(feats, _document_frequencies([f.grams for f in feats]), strict=True):
        f.gram_df = df.astype(np.int32)
        f.gram_rare = df <= max_df
        f.gram_shared = (df >= 2) & f.gram_rare
        f.seed_keys = f.seed_pos = f.seed_unique = None
