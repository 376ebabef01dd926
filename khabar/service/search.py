"""Arabic search over SQLite FTS5, on khabar's own normalized and stemmed forms.

FTS5's own tokenizers cannot do Arabic: unicode61 splits a word at its harakat
and never folds أ/إ/آ, ى/ي, ة/ه or the attached و/ب/ل/ال. So khabar indexes,
for each token of an article, one *search key*: the token normalized by the
text layer (harakat, tatweel, alef forms, Eastern digits…, plus ة→ه and the
hamza carriers, which matching across outlets wants too), its leading article
and particles cut (وال، بال، فال، كال، لل، ال), then stemmed (Snowball, as the
rest of khabar). Key k of the indexed column is token k of the text, so a hit's
highlights map back to exact ranges of the ORIGINAL text through the token
offsets stored beside it.

A query is read the same way: words, ``"phrases in quotes"``, ``OR`` between
two terms, ``-word`` to exclude; every term becomes the search keys of its
words, so a query spelt one way finds the articles spelt another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from khabar.errors import KhabarError
from khabar.text.normalize import NormalizeOptions
from khabar.text.stem import stem
from khabar.text.view import TextView, prepare

SEARCH_NORMALIZE = NormalizeOptions(teh_marbuta=True)
"""The text layer's folds, and ة→ه, which it leaves off for analysis: a search for مدرسه
must find مدرسة. The hamza carriers are folded below (ؤ ئ → ء, so مسؤول finds مسئول)."""

_ARTICLE = ("وبال", "فبال", "وكال", "وال", "بال", "فال", "كال", "ولل", "فلل", "لل", "ال")
_PARTICLES = "وفبل"
"""Conjunctions and prepositions written onto the next word. Cut, after the article, for as
long as more than three letters stay, even from a word that begins with one of these
letters (وزير, لبنان): the same cuts are made in the query, and since they go on until the
word is short or begins otherwise, a word with a particle attached gets the key of the
word alone (ولبنان and بلبنان meet لبنان; وبالوزارة meets وزارة). Snowball alone cuts و
from وزارة but not from بوزارة."""
_HAMZA = str.maketrans({"ؤ": "ء", "ئ": "ء"})
MAX_QUERY_TERMS = 32


def _strip(token: str) -> str:
    token = token.translate(_HAMZA)
    for prefix in _ARTICLE:
        # a word of its own must be left: "الا", "للي" are no article plus a stem
        if token.startswith(prefix) and len(token) - len(prefix) >= 2:
            token = token[len(prefix):]
            break
    while len(token) > 3 and token[0] in _PARTICLES:
        token = token[1:]
    return token


@lru_cache(maxsize=1 << 16)
def _key(token: str) -> str:
    base = _strip(token)
    out = stem([base])[0] if base else base
    # FTS5 (unicode61) splits at anything but letters and digits: keep one FTS token per
    # khabar token, so that positions in the index are token numbers
    return re.sub(r"[^\w]|_", "", out) or "_"


def keys_of(tokens: Sequence[str]) -> list[str]:
    """The search key of each (normalized) token."""
    return [_key(t) for t in tokens]


def views(texts: Sequence[tuple[str, str]]) -> list[TextView]:
    """Views of (id, text) pairs normalized for search (no repair: offsets are the text's)."""
    from khabar.document import Document
    from khabar.repair import Repair
    from khabar.text.offsets import OffsetMap

    docs = [Document(id=i, text=t) for i, t in texts]
    reps = [Repair(t, OffsetMap.identity(len(t)), [], None) for _, t in texts]
    return prepare(docs, reps, options=SEARCH_NORMALIZE)


@dataclass(slots=True)
class Indexed:
    """What the index holds of one text: its keys and where each token is in the original."""

    keys: str
    starts: bytes
    ends: bytes


def index_text(view: TextView) -> Indexed:
    starts, ends = view.token_spans_original()
    return Indexed(" ".join(keys_of(view.tokens.strings)),
                   np.asarray(starts, dtype=np.int32).tobytes(),
                   np.asarray(ends, dtype=np.int32).tobytes())


def query_keys(words: str) -> list[str]:
    """The search keys of the words of a query term."""
    v = views([("q", words)])[0]
    return keys_of(v.tokens.strings)


# -- queries ----------------------------------------------------------------------------------

_TERM = re.compile(r'(-?)"([^"]*)"|(\S+)')


@dataclass(frozen=True, slots=True)
class Query:
    fts: str
    """The FTS5 MATCH expression."""
    phrases: tuple[tuple[str, ...], ...]
    """The positive terms as key sequences (a quoted phrase is one): what highlights mark."""


@lru_cache(maxsize=4096)
def parse(q: str) -> Query:
    """A user's query as an FTS5 expression; `KhabarError` for one it cannot run. (Cached:
    the same searches come again and again, from people and from feed readers, and turning
    a query's words into keys runs the whole text layer on them.)"""
    return _parse(q)


def _parse(q: str) -> Query:
    """A user's query as an FTS5 expression; `KhabarError` for one it cannot run."""
    q = (q or "").strip()
    if not q:
        raise KhabarError("empty query")
    groups: list[list[str]] = [[]]  # OR-joined alternatives of each AND position
    negative: list[str] = []
    pending_or = False
    phrases: list[tuple[str, ...]] = []
    count = 0
    for m in _TERM.finditer(q):
        minus, phrase, word = m.group(1), m.group(2), m.group(3)
        if word is not None and word == "OR":
            pending_or = bool(groups[-1])
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            minus, word = "-", word[1:]
        text = phrase if phrase is not None else word
        keys = [k for k in query_keys(text or "") if k != "_"]
        if not keys:
            continue
        count += 1
        if count > MAX_QUERY_TERMS:
            raise KhabarError(f"too many terms in the query (at most {MAX_QUERY_TERMS})")
        expr = '"' + " ".join(keys) + '"'
        if minus:
            negative.append(expr)
        elif pending_or and groups[-1]:
            groups[-1].append(expr)
            phrases.append(tuple(keys))
        else:
            if groups[-1]:
                groups.append([])
            groups[-1].append(expr)
            phrases.append(tuple(keys))
        pending_or = False
    positive = [g for g in groups if g]
    if not positive:
        raise KhabarError("the query needs at least one word to look for (not only -words)")
    parts = [g[0] if len(g) == 1 else "(" + " OR ".join(g) + ")" for g in positive]
    # the body column only: a title is searched through its own column below
    expr = " AND ".join(parts)
    for n in negative:
        expr = f"({expr}) NOT {n}"
    return Query(expr, tuple(dict.fromkeys(phrases)))


# -- highlights -------------------------------------------------------------------------------

def phrase_tokens(keys: str, phrases: Sequence[tuple[str, ...]]) -> list[int]:
    """Token numbers (0-based) of every occurrence of the phrases in an indexed key string:
    what FTS5's ``highlight()`` marks for them, found here without running the match again
    per row. Keys are joined by single spaces, so a token's number is the count of spaces
    before it (counted by `str.count`, and the occurrences found by `re`: no split of a
    long text into a list)."""
    marked: set[int] = set()
    for phrase in phrases:
        if not phrase:
            continue
        pattern = _phrase_pattern(phrase)
        token = pos = 0
        for m in pattern.finditer(keys):
            token += keys.count(" ", pos, m.start())
            pos = m.start()
            marked.update(range(token, token + len(phrase)))
    return sorted(marked)


@lru_cache(maxsize=1024)
def _phrase_pattern(phrase: tuple[str, ...]) -> re.Pattern[str]:
    # whole keys only (a space or an end on both sides); a lookahead, so that occurrences
    # may overlap as FTS5's do ("a a" twice in "a a a")
    return re.compile(r"(?<![^ ])(?=" + re.escape(" ".join(phrase)) + r"(?![^ ]))")


def highlights(tokens: list[int], starts: bytes, ends: bytes) -> list[list[int]]:
    """ORIGINAL [start, end] ranges of the marked tokens, consecutive ones joined."""
    s = np.frombuffer(starts, dtype=np.int32)
    e = np.frombuffer(ends, dtype=np.int32)
    out: list[list[int]] = []
    last = -2
    for t in tokens:
        if t >= len(s):
            continue
        if t == last + 1 and out:
            out[-1][1] = int(e[t])
        else:
            out.append([int(s[t]), int(e[t])])
        last = t
    return out


def snippet(text: str, spans: list[list[int]], width: int = 220) -> tuple[str, int]:
    """A passage of `text` around the first highlight, and where it starts in the text."""
    if not text:
        return "", 0
    centre = spans[0][0] if spans else 0
    start = max(0, centre - width // 3)
    # start and end at spaces, so no word is cut
    if start > 0:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 40 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.find(" ", end)
        end = space if 0 <= space - end < 40 else end
    return text[start:end], start


__all__ = ["SEARCH_NORMALIZE", "Indexed", "Query", "highlights", "index_text", "keys_of",
           "parse", "phrase_tokens", "query_keys", "snippet", "views"]
