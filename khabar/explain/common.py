"""Token-level helpers shared by the explanation modules.

The rules of `entities` and `attribution` read a document as a list of
normalized tokens plus the characters between them (commas, colons, quote
marks, parentheses), which decide where a name or a speaker phrase may
continue. `Prepared` holds exactly that for one `TextView`, with the way back
to ORIGINAL offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from khabar.document import Document
from khabar.explain.gazetteer import norm, words
from khabar.text.view import TextView

_LINKISH = re.compile(r"https?://|www\.|\S+@\S+\.\w+|\bNext\b|\bPrevious\b")


def boilerplate(text: str, key: str | None = None) -> bool:
    """A sentence about the page, not the news: link footers, tag lists, "follow us",
    contact lines, navigation words (rules that hold for any outlet, cues.txt). `key` is
    the sentence's normalized tokens joined by spaces, when known (see `gazetteer.norm`)."""
    if _LINKISH.search(text) or text.lstrip().startswith("سمات "):
        return True  # a link, or a page's tag list (سمات X Y Z)
    if key is None:
        key = norm(text)
    return any(cue in key for cue in words("cues.txt", "boilerplate"))


_HARAKAT = re.compile("[\u064B-\u065F\u0670\u0640\u0610-\u061A]")
_SPACES = re.compile(r"\s+")


def display(text: str) -> str:
    """A name as shown in reports: original spelling, no harakat, tatweel or extra spaces."""
    return _SPACES.sub(" ", _HARAKAT.sub("", text)).strip(" \"'«»“”()-،,")


@dataclass(slots=True)
class Prepared:
    view: TextView
    toks: list[str]
    starts: list[int]
    ends: list[int]
    gaps: list[str]
    """gaps[i]: normalized text between token i-1 and token i (gaps[len] = the tail)."""
    joinable: list[bool]
    """Token i may continue a name started before it (only a space, quote or hyphen between)."""
    sent_of: list[int]
    sent_first: list[int]
    """Index of the first token of each sentence."""
    line_pos: list[int]
    """Position of each token in its line (0 = first token after a line break)."""

    @classmethod
    def of(cls, view: TextView) -> Prepared:
        text = view.normalized
        toks = list(view.tokens.strings)
        starts = view.tokens.starts.tolist()
        ends = view.tokens.ends.tolist()
        n = len(toks)
        gaps = [text[(ends[i - 1] if i else 0):(starts[i] if i < n else len(text))]
                for i in range(n + 1)]
        joinable = [False] * n
        for i in range(1, n):
            g = gaps[i]
            core = g.replace(" ", "").replace('"', "").replace("'", "")
            # a hyphen may sit inside a name (المنارة - رأس العنبر); a dot only with no space
            # around it (السورية.نت), since ". " ends a sentence
            joinable[i] = "\n" not in g and (core == "" or (core == "-" and len(g) <= 3)
                                             or g == ".")
        sent_of = view.sentence_of_tokens().tolist() if n else []
        sent_first: list[int] = []
        for i, s in enumerate(sent_of):
            while len(sent_first) <= s:
                sent_first.append(i)
        line_pos = [0] * n
        for i in range(1, n):
            line_pos[i] = 0 if "\n" in gaps[i] else line_pos[i - 1] + 1
        return cls(view, toks, starts, ends, gaps, joinable, sent_of, sent_first, line_pos)

    def __len__(self) -> int:
        return len(self.toks)

    def orig(self, nstart: int, nend: int) -> tuple[int, int]:
        """ORIGINAL span of the normalized span [nstart, nend)."""
        return self.view.to_original(nstart, nend)

    def tok_orig(self, i: int, j: int, cut: int = 0) -> tuple[int, int]:
        """ORIGINAL span of tokens [i, j), skipping `cut` leading characters of token i."""
        return self.orig(self.starts[i] + cut, self.ends[j - 1])

    def original_text(self, start: int, end: int) -> str:
        return self.view.original[start:end]

    def sentence_end_tok(self, i: int) -> int:
        """One past the last token of token i's sentence."""
        s = self.sent_of[i]
        return self.sent_first[s + 1] if s + 1 < len(self.sent_first) else len(self.toks)


def time_key(doc: Document) -> tuple:
    """Sort key for story order: dated articles by date, then undated ones, ties by id.

    Undated articles go last: nothing says they came first, and a pointer to
    "where it was seen first" should prefer an article known to be earlier.
    """
    if doc.date is None:
        return (1, datetime.max.replace(tzinfo=UTC), doc.id)
    return (0, doc.date, doc.id)


def outlet(doc: Document) -> str:
    """The outlet an article is credited to: its source, else its id (unknown ones differ)."""
    return doc.source or doc.id
