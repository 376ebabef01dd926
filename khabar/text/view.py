"""One document's text in all its forms, with the way back to the original.

A `TextView` holds the original text, the repaired text, the normalized text
and its tokens and sentences. Offsets inside the view are in normalized
coordinates; `to_original` (and the `*_original` helpers) give exact ranges of
the original text, which is what every report shows.

Build views in batches with `prepare`: normalization and tokenization are
vectorized over the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from khabar.document import Document
from khabar.repair import Repair, RepairContext, repair
from khabar.text.normalize import NormalizeOptions, get_normalizer
from khabar.text.offsets import OffsetMap
from khabar.text.sentences import sentence_arrays
from khabar.text.stem import stem, stopwords
from khabar.text.tokenize import Tokens, tokenize_many


@dataclass(slots=True, eq=False)
class TextView:
    id: str
    original: str
    repaired: Repair
    normalized: str
    norm_map: OffsetMap
    """Normalized text -> ORIGINAL text (already composed through the repair)."""
    tokens: Tokens
    """Tokens of the normalized text, offsets in normalized coordinates."""
    _sentences: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _stems: list[str] | None = field(default=None, repr=False)

    def __reduce__(self) -> tuple:
        # positional rebuild: much faster than the slots dataclass default (fields() per call)
        return (TextView, (self.id, self.original, self.repaired, self.normalized, self.norm_map,
                          self.tokens, self._sentences, self._stems))

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original range of the normalized span ``[start, end)``."""
        return self.norm_map.span(start, end)

    def token_spans_original(self) -> tuple[np.ndarray, np.ndarray]:
        return self.norm_map.spans(self.tokens.starts, self.tokens.ends)

    @property
    def sentences(self) -> tuple[np.ndarray, np.ndarray]:
        """Sentence (starts, ends) in normalized coordinates."""
        if self._sentences is None:
            self._sentences = sentence_arrays(self.normalized)
        return self._sentences

    def sentence_spans_original(self) -> list[tuple[int, int]]:
        starts, ends = self.sentences
        if len(starts) == 0:
            return []
        a, b = self.norm_map.spans(starts, ends)
        return list(zip(a.tolist(), b.tolist(), strict=True))

    def sentence_of_tokens(self) -> np.ndarray:
        """Index of the sentence each token falls in."""
        starts, _ = self.sentences
        if len(starts) == 0:
            return np.zeros(len(self.tokens), dtype=np.int32)
        return np.maximum(np.searchsorted(starts, self.tokens.starts, side="right") - 1, 0)

    @property
    def stems(self) -> list[str]:
        if self._stems is None:
            self._stems = stem(self.tokens.strings)
        return self._stems

    def content_mask(self) -> np.ndarray:
        """True for tokens that are not stopwords."""
        sw = stopwords()
        return np.fromiter((t not in sw for t in self.tokens.strings), dtype=bool,
                           count=len(self.tokens))


def prepare(
    docs: Sequence[Document],
    repairs: Sequence[Repair | None] | None = None,
    context: RepairContext | None = None,
    options: NormalizeOptions | None = None,
) -> list[TextView]:
    """Repair (unless `repairs` are given), normalize and tokenize a batch of documents."""
    if repairs is None:
        repairs = [None] * len(docs)
    reps = [
        r if r is not None else repair(d.text, d.id, d.source, context)
        for d, r in zip(docs, repairs, strict=True)
    ]
    normalizer = get_normalizer(options)
    normed = normalizer.normalize_many([r.text for r in reps])
    toks = tokenize_many([n for n, _ in normed])
    return [
        TextView(d.id, d.text, r, n, r.map.compose(m), t)
        for d, r, (n, m), t in zip(docs, reps, normed, toks, strict=True)
    ]


def view(doc: Document | str, options: NormalizeOptions | None = None) -> TextView:
    """A `TextView` of one document or one bare string (handy in a notebook)."""
    if isinstance(doc, str):
        doc = Document(id="text", text=doc)
    return prepare([doc], options=options)[0]
