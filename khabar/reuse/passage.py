"""The record reuse detection hands to the rest of khabar: one reused passage."""

from __future__ import annotations

from dataclasses import dataclass

from khabar.records import DocRef, Record


@dataclass(frozen=True, slots=True)
class Passage(Record):
    """A passage found in two documents, with ORIGINAL half-open character offsets.

    `a` and `b` are document ids with ``a < b`` (plain string order), so a pair
    always appears the same way round whatever the order of the input; which
    side is the likely origin is `source` (an id, or None when undecided) and
    `rule` says what decided it (see `khabar.reuse.direction`). Templates and formulas
    have no direction: `source` is None and `rule` is ``formulaic``.
    """

    a: DocRef
    a_start: int
    a_end: int
    b: DocRef
    b_start: int
    b_end: int
    score: float
    """Share of the passage's content words (both sides together) whose stem occurs on the
    other side: 1.0 for a verbatim or reordered copy, about 0.5 for a heavy rewrite."""
    source: DocRef | None
    rule: str
    a_sentences: tuple[int, ...]
    """Indices of the sentences of `a` (as `TextView.sentences` splits them) the passage covers."""
    b_sentences: tuple[int, ...]
    boilerplate: bool = False
    """Text one outlet repeats in many of its documents (not reported by default)."""
    kind: str = "copy"
    """`copy` (the same text, edited or not), `template` (the same frame with other figures
    or names) or `formula` (a phrase many outlets use in unrelated stories); see
    `khabar.reuse.kinds`. Only copies have a direction and count as evidence of copying."""

    @property
    def is_copy(self) -> bool:
        """Evidence that one text was copied from the other (not a template, formula or
        boilerplate)."""
        return self.kind == "copy" and not self.boilerplate

    @property
    def key(self) -> tuple:
        """Sort key: by pair, then position (the order of every output)."""
        return (self.a, self.b, self.a_start, self.b_start, self.a_end, self.b_end)


def passage_key(p: Passage) -> tuple:
    """The order of every passage output: by pair, then position."""
    return p.key
