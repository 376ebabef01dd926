"""Repair of scraping artifacts, as its own step that says what it did.

Scrapers damage articles in a few recurring ways. Each repair below is
reported as a `RepairAction` with ORIGINAL offsets; the original text is
never touched, and the repaired text carries an `OffsetMap` back to it.

* ``dot_comma`` — paragraphs joined with ``.,`` or ``،,`` (a list of
  paragraphs serialized with a comma): the comma becomes a line break.
* ``whitespace`` — runs of spaces and tabs, Windows line ends, spaces at line
  ends and three or more blank lines are folded.
* ``boilerplate`` — lines that one outlet repeats in many of its documents
  (signatures, "follow us on…"): removed; needs corpus `RepairContext`.
* ``glued_headline`` — a headline glued to the end of the body with no
  separator (the scraper took the next article's headline along). With a
  `RepairContext` that knows another document carrying that headline (as its
  title, or as the start of its text), the headline is cut from the body and
  linked to that document as its probable title. Without confirmation, a
  fragment that is typographically glued (a sentence mark directly followed by
  it, no end mark of its own) is only moved to its own line and reported as
  ``suspected_glued_headline``.
* ``headline`` — the text starts with a short unpunctuated line followed by
  a line break: recorded as the document's probable title (kept in the text).
* ``truncated_lead`` — the text starts mid-sentence (its first word can only
  continue a sentence, e.g. أن، التي، الذي): flagged only, nothing to restore.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from khabar.text.normalize import get_normalizer
from khabar.text.offsets import OffsetMap, apply_edits


@dataclass(frozen=True, slots=True)
class RepairOptions:
    """Thresholds of the repair step."""

    boilerplate_min_docs: int = 3
    """A line is an outlet's boilerplate only if at least this many of its documents have it…"""
    boilerplate_min_share: float = 0.1
    """…and in at least this share of them…"""
    boilerplate_max_tokens: int = 30
    """…and is no longer than this (long shared paragraphs are reuse, not boilerplate)."""
    headline_min_tokens: int = 3
    """Shortest fragment taken for a headline."""
    headline_max_tokens: int = 25
    """Longest fragment taken for a headline."""


@dataclass(frozen=True, slots=True)
class RepairAction:
    kind: str
    start: int
    """Original offset where the repaired artifact begins."""
    end: int
    detail: str = ""
    link: str | None = None
    """Another document this repair points to (e.g. whose title a glued headline is)."""

    def __reduce__(self) -> tuple:
        # positional rebuild: much faster than the slots dataclass default (fields() per call)
        return (RepairAction, (self.kind, self.start, self.end, self.detail, self.link))

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "start": self.start, "end": self.end}
        if self.detail:
            d["detail"] = self.detail
        if self.link is not None:
            d["link"] = self.link
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RepairAction:
        return cls(d["kind"], d["start"], d["end"], d.get("detail", ""), d.get("link"))


@dataclass(slots=True)
class Repair:
    """The repaired text of one document and what was done to get it."""

    text: str
    map: OffsetMap
    """Repaired text -> original text."""
    actions: list[RepairAction] = field(default_factory=list)
    title: str | None = None
    """A probable title found in the text itself (leading headline line), if any."""

    def __reduce__(self) -> tuple:
        # positional rebuild: much faster than the slots dataclass default (fields() per call)
        return (Repair, (self.text, self.map, self.actions, self.title))

    @property
    def changed(self) -> bool:
        return bool(self.actions)


# -- keys for matching lines and headlines across documents --------------------------------------


@lru_cache(maxsize=1)
def _key_table() -> dict[int, int | None]:
    # the BMP part of the default normalization as a str.translate table: lines and
    # headlines are short, where plain str methods beat NumPy's per-call cost
    lut = get_normalizer()._lut
    table: dict[int, int | None] = {}
    for cp in np.flatnonzero(lut[:0x10000] != np.arange(0x10000)).tolist():
        v = int(lut[cp])
        table[cp] = v if v < 0x110000 else None
    return table


_KEY_TOKEN = re.compile(r"[^\W_]+")


def line_key(text: str) -> str:
    """Normalized word tokens joined by spaces: how lines and headlines are compared."""
    return " ".join(_KEY_TOKEN.findall(text.translate(_key_table())))


def key_hash(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


# -- corpus knowledge ------------------------------------------------------------------------------


class TitleIndex:
    """Headline keys of a corpus: titles, first lines and first sentences, by document.

    Looks up a fragment by exact key or as a prefix of a key (a glued headline
    is sometimes cut short). Kept sorted so prefix search is a bisection.
    """

    def __init__(self, entries: Iterable[tuple[str, str]] = ()) -> None:
        self._entries = sorted(set(entries))

    def add(self, key: str, doc_id: str) -> None:
        bisect.insort(self._entries, (key, doc_id))

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: str, exclude: str | None = None) -> list[str]:
        """Ids of documents whose headline key equals `key` or starts with it."""
        if not key:
            return []
        lo = bisect.bisect_left(self._entries, (key, ""))
        out: list[str] = []
        for k, doc_id in self._entries[lo:]:
            if not k.startswith(key):
                break
            if (k == key or k[len(key)] == " ") and doc_id != exclude and doc_id not in out:
                out.append(doc_id)
        return out


@dataclass(slots=True)
class RepairContext:
    """What the corpus knows that one document alone cannot: boilerplate and headlines."""

    boilerplate: dict[str, set[str]] = field(default_factory=dict)
    """Outlet -> hashes of its boilerplate line keys."""
    titles: TitleIndex = field(default_factory=TitleIndex)

    def is_boilerplate(self, source: str | None, line: str) -> bool:
        hashes = self.boilerplate.get(source or "")
        return bool(hashes) and key_hash(line_key(line)) in hashes

    @classmethod
    def build(
        cls,
        docs: Iterable[tuple[str, str, str | None, str | None]],
        options: RepairOptions | None = None,
    ) -> RepairContext:
        """Build from ``(id, text, title, source)`` tuples (one pass, in memory)."""
        opts = options or RepairOptions()
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        per_source: dict[str, int] = defaultdict(int)
        entries: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for doc_id, text, title, source in docs:
            src = source or ""
            entries.extend((k, doc_id) for k in headline_keys(text, title, opts))
            # copies of one text count once: republishing an article is not boilerplate
            digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"),
                                     digest_size=16).hexdigest()
            if (src, digest) in seen:
                continue
            seen.add((src, digest))
            per_source[src] += 1
            for h in document_line_hashes(text, opts):
                counts[src][h] += 1
        boiler = {
            src: boilerplate_hashes(c, per_source[src], opts) for src, c in counts.items() if src
        }
        return cls({s: h for s, h in boiler.items() if h}, TitleIndex(entries))


def boilerplate_hashes(counts: dict[str, int], n_docs: int, opts: RepairOptions) -> set[str]:
    need = max(opts.boilerplate_min_docs, opts.boilerplate_min_share * n_docs)
    return {h for h, c in counts.items() if c >= need}


def document_line_hashes(text: str, options: RepairOptions | None = None) -> set[str]:
    """Hashes of the short lines of a document (candidates for outlet boilerplate)."""
    opts = options or RepairOptions()
    out = set()
    # a paragraph is never boilerplate: lines of many more words than the longest
    # boilerplate are skipped before they are normalized (most lines of news are such)
    words = 3 * opts.boilerplate_max_tokens
    for line in text.splitlines():
        if len(line.split(None, words)) > words:
            continue
        key = line_key(line)
        if key and len(key.split(" ")) <= opts.boilerplate_max_tokens:
            out.add(key_hash(key))
    return out


def headline_keys(text: str, title: str | None, options: RepairOptions | None = None) -> set[str]:
    """Keys under which this document can be found by a headline glued elsewhere."""
    opts = options or RepairOptions()
    keys = set()
    if title:
        k = line_key(title)
        if len(k.split(" ")) >= opts.headline_min_tokens:
            keys.add(k)
    stripped = text.lstrip()
    first_line = stripped.split("\n", 1)[0]
    m = _FIRST_SENTENCE.match(first_line)
    words = 6 * opts.headline_max_tokens
    for piece in (first_line, m.group(0) if m else None):
        if piece and len(piece.split(None, words)) <= words:
            k = line_key(piece)
            n = len(k.split(" "))
            if opts.headline_min_tokens <= n <= opts.headline_max_tokens * 2:
                keys.add(k)
    return keys


# -- the repairs -------------------------------------------------------------------------------

# a comma right after a sentence mark (closing quotes between allowed) or after an Arabic
# comma: a list of paragraphs serialized with "," as separator. The regex starts at the
# comma (cheap to reject everywhere else); `_joined_after` checks what precedes it.
_DOT_COMMA = re.compile(r"(?<=[.!?؟؛\"'”»’)،])[,،][ \t]*(?=\S|$)")
_CLOSERS = "\"'”»’)]"
# any run of two or more whitespace characters (or a lone CR): folded in Python below, which
# is much faster than asking the regex engine to tell the cases apart at every position
_SPACES = re.compile(r"[ \t\u00A0\r\n]{2,}|\r")
_HARAKAT = re.compile("[\u064B-\u065F\u0670\u0640]")
_LEADING_SPACE = re.compile(r"\s*")
_FIRST_LINE = re.compile(r"([^\n]+)\n")
_FIRST_SENTENCE = re.compile(r"[^.!?؟؛\n]+")
_END_MARK = re.compile(r"[.!?؟؛…][\"'”»’)\]]*\s*$")
# words that can only continue a sentence, never start one
_CONTINUATION_WORDS = frozenset(
    "أن التي الذي الذين اللذين اللتين اللواتي اللاتي والتي والذي وأن لأن بأن".split()
)


def repair(
    text: str,
    doc_id: str | None = None,
    source: str | None = None,
    context: RepairContext | None = None,
    options: RepairOptions | None = None,
) -> Repair:
    """Repair one document's text; `context` adds the corpus-level repairs."""
    opts = options or RepairOptions()
    actions: list[RepairAction] = []
    # candidate edits (start, end, replacement, priority); where two overlap the one with
    # the lower priority number wins: a glued headline over boilerplate over the rest
    candidates: list[tuple[int, int, str, int]] = []

    # glued headline first: it decides where the body ends
    body_end = len(text)
    m = find_tail(text, opts)
    if m:
        frag = m.group("frag")
        fs, fe = m.start("frag"), m.start("frag") + len(frag.rstrip())
        gap_start = m.start("gap")
        links = context.titles.lookup(line_key(frag), exclude=doc_id) if context else []
        if links:
            candidates.append((gap_start, len(text), "", 0))
            actions.append(RepairAction("glued_headline", fs, fe, frag.strip(), links[0]))
            body_end = gap_start
        elif m.group("gap") == "" and _starts_arabic_word(frag):
            # typographically glued but unconfirmed: give it its own line, keep the text
            candidates.append((gap_start, gap_start, "\n", 0))
            actions.append(RepairAction("suspected_glued_headline", fs, fe, frag.strip()))

    if context is not None and source and context.boilerplate.get(source):
        pos = 0
        for line in text[:body_end].split("\n"):
            start, end = pos, pos + len(line)
            pos = end + 1
            if line.strip() and context.is_boilerplate(source, line):
                candidates.append((start, min(end + 1, body_end), "", 1))  # with its line break
                actions.append(RepairAction("boilerplate", start, end, line.strip()))

    for dm in _DOT_COMMA.finditer(text, 0, body_end):
        s, e = dm.span()
        if not _joined_after(text, s):
            continue
        candidates.append((s, e, "\n", 2))
        actions.append(RepairAction("dot_comma", s, s + 1))

    n_ws = 0
    for wm in _SPACES.finditer(text, 0, body_end):
        new = _fold_space(wm.group(0))
        if new != wm.group(0):
            candidates.append((wm.start(), wm.end(), new, 3))
            n_ws += 1
    if n_ws:
        actions.append(RepairAction("whitespace", 0, body_end, f"{n_ws} runs folded"))
    edits = _non_overlapping(candidates)

    title = None
    lead_ws = _LEADING_SPACE.match(text).end()
    first = _FIRST_LINE.match(text, lead_ws, text.find("\n", lead_ws) + 1)
    # cheap tests first: most first lines are long or end with a sentence mark
    if first and len(first.group(1)) < 20 * opts.headline_max_tokens \
            and not _END_MARK.search(first.group(1)):
        line = first.group(1)
        k = line_key(line)
        n = len(k.split(" ")) if k else 0
        rest = text[first.end():].strip()
        if opts.headline_min_tokens <= n <= opts.headline_max_tokens and len(rest) > len(line):
            title = line.strip()
            actions.append(RepairAction("headline", first.start(1), first.end(1), title))

    lead = _lead_word(text, first.end() if title and first else 0)
    if lead is not None:
        word, ws, we = lead
        if _HARAKAT.sub("", word) in _CONTINUATION_WORDS:
            actions.append(RepairAction("truncated_lead", ws, we, word))

    new_text, omap = apply_edits(text, edits)
    actions.sort(key=lambda a: (a.start, a.kind))
    return Repair(new_text, omap, actions, title)


def _last_mark(text: str, lo: int) -> int:
    """Position of the last sentence mark at or after `lo` (a "." inside 3.5 is none), or -1."""
    hi = len(text)
    while True:
        pos = max(text.rfind(c, lo, hi) for c in ".!?؟؛")
        if pos < 0:
            return -1
        if not (text[pos] == "." and 0 < pos < len(text) - 1 and text[pos - 1].isdigit()
                and text[pos + 1].isdigit()):
            return pos
        hi = pos


def _joined_after(text: str, comma: int) -> bool:
    i = comma - 1
    while i >= 0 and text[i] in _CLOSERS:
        i -= 1
    return i >= 0 and text[i] in ".!?؟؛،"


def _fold_space(run: str) -> str:
    """A whitespace run as it should be: one space, one line break, or one blank line."""
    breaks = run.count("\n") + run.count("\r") - run.count("\r\n")
    if breaks == 0:
        return " "
    return "\n" if breaks == 1 else "\n\n"


def _non_overlapping(candidates: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str]]:
    """Keep the candidate edits that do not overlap a higher-priority one."""
    starts: list[int] = []
    kept: list[tuple[int, int, str]] = []
    for s, e, new, _ in sorted(candidates, key=lambda c: (c[3], c[0], c[1])):
        i = bisect.bisect_left(starts, e)
        clash = False
        # accepted edits do not overlap each other, so their ends grow with their starts
        while i > 0 and kept[i - 1][1] > s:
            a, b, _ = kept[i - 1]
            if s < b and a < e:
                clash = True
                break
            i -= 1
        if not clash:
            j = bisect.bisect_right(starts, s)
            starts.insert(j, s)
            kept.insert(j, (s, e, new))
    return kept


_FRAGMENT = re.compile(r"(?P<gap>[ \t]*\n?[ \t]*)(?P<frag>[^\n]+?)\s*$")


def find_tail(text: str, options: RepairOptions | None = None) -> re.Match | None:
    """The unpunctuated fragment after the last sentence mark, if it could be a headline."""
    opts = options or RepairOptions()
    mark = _last_mark(text, max(0, len(text) - 400))
    if mark < 0:
        return None
    end = mark + 1
    while end < len(text) and text[end] in _CLOSERS:
        end += 1
    m = _FRAGMENT.match(text, end)
    if not m:
        return None
    frag = m.group("frag")
    n_tokens = len(line_key(frag).split()) if frag.strip() else 0
    if opts.headline_min_tokens <= n_tokens <= opts.headline_max_tokens:
        return m
    return None


def _lead_word(text: str, start: int) -> tuple[str, int, int] | None:
    m = re.compile(r"\s*(\w+)").match(text, start)
    if not m:
        return None
    return m.group(1), m.start(1), m.end(1)


def _starts_arabic_word(fragment: str) -> bool:
    return bool(fragment) and "\u0621" <= fragment[0] <= "\u064A"
