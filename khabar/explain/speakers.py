"""Who says what across stories: every speaker's statements, grouped by story and time.

A speaker is a person or a body (a ministry, an agency, "مصادر أمنية"). The same
person is named in many ways across a collection: "توفيق الربيعة" in one
article, "الربيعة" in the next, "الدكتور توفيق الربيعة" or "وزير الصحة توفيق
الربيعة" in a third. `speaker_key` reduces a name to its key: the normalized
words without titles, clitics or harakat. Names are then joined in two keyed
steps, each of which a runner can execute as a group-by:

1. **by key** — every statement whose speaker reduces to the same words;
2. **by family name** — keys sharing their last word: a key of that one word
   (الربيعة) joins the longer key when exactly one longer key has it (one
   توفيق الربيعة in the collection); with two (two people of one family), it
   stays on its own rather than be given to the wrong one. A longer key
   whose words all belong to another (عبدالعزيز آل الشيخ ⊂ عبدالعزيز بن عبدالله
   آل الشيخ) joins it on the same condition.

The entry is shown under its most frequent full spelling.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from khabar.explain.gazetteer import norm, variants, words


@dataclass(frozen=True, slots=True)
class Statement:
    doc: str
    story: str | None
    date: datetime | None
    kind: str
    """quote | report"""
    speaker: str
    """The speaker as named in this statement's article."""
    start: int
    end: int
    """ORIGINAL offsets of what is said."""
    text: str


@dataclass(slots=True)
class SpeakerEntry:
    key: str
    """The normalized name without titles (stable across runs: an id for the service)."""
    name: str
    """The most frequent spelling among the longest variants."""
    variants: Counter = field(default_factory=Counter)
    statements: list[Statement] = field(default_factory=list)
    """In story order (the story first quoted earliest first), then by time."""

    @property
    def stories(self) -> list[str | None]:
        seen: list[str | None] = []
        for s in self.statements:
            if s.story not in seen:
                seen.append(s.story)
        return seen

    def by_story(self) -> list[tuple[str | None, list[Statement]]]:
        groups: dict[str | None, list[Statement]] = defaultdict(list)
        for s in self.statements:
            groups[s.story].append(s)
        return [(sid, groups[sid]) for sid in self.stories]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "variants": dict(self.variants),
                "stories": [{"story": sid, "statements": [
                    {"doc": s.doc, "date": s.date.isoformat() if s.date else None,
                     "kind": s.kind, "speaker": s.speaker, "content": [s.start, s.end],
                     "text": s.text} for s in items]} for sid, items in self.by_story()]}


@lru_cache(maxsize=1)
def _titles() -> frozenset[str]:
    return words("titles.txt", "honorific") | words("titles.txt", "role")


_LINKS = frozenset("بن ابن بنت ال ابو".split())


@lru_cache(maxsize=65536)
def speaker_key(name: str) -> str:
    """A speaker's name reduced to what identifies them: normalized, without titles or a
    title's definite complement (وزير الصحة توفيق الربيعة -> توفيق الربيعة), without a
    leading clitic (ولوزارة الصحة -> وزارة الصحة)."""
    toks = norm(name).split()
    titles = _titles()
    k = 0
    # a title chain first: titles and the definite words that complete them
    while k < len(toks) - 1:
        t = toks[k]
        bare = next((v for v, _ in variants(t) if v in titles), None)
        if bare is None and t not in titles:
            break
        k += 1
        while k < len(toks) - 1 and toks[k].startswith("ال") and toks[k] not in _LINKS \
                and toks[k + 1:] and not _name_start(toks[k:]):
            k += 1
    rest = toks[k:] if k < len(toks) else toks
    if rest and (rest[0].startswith("ال") or rest[0] in titles) and k:
        rest = toks  # وزير الصحة: titles only, no name: the title is the name
    if rest:
        rest = [_strip_clitic(rest[0]), *rest[1:]]
    return " ".join(rest)


def _name_start(toks: list[str]) -> bool:
    """The definite word is a family name closing the name (… توفيق الربيعة)? Only when it
    is the last word and the word before it is not definite (a title's complement)."""
    return len(toks) == 1


_PREPOSITIONS = frozenset("في من عن على الى لدى مع".split())


def _personal(key: str) -> bool:
    """A key that reads as a person's name (given name first, no preposition, no word
    that opens a body's or a source's name): only those are joined by family name, so
    that "مصادر في الشركة X" never becomes the company X."""
    toks = key.split()
    first = toks[0]
    bodies = words("cues.txt", "org_trigger") | words("cues.txt", "outlet_trigger") \
        | words("reporting.txt", "source") | _titles()
    if first.startswith("ال") and len(toks) > 1:
        return False
    return first not in bodies and not any(t in _PREPOSITIONS for t in toks)


def _strip_clitic(tok: str) -> str:
    """ولوزارة -> وزارة, والمرصد -> المرصد: only to a word known to start a name."""
    known = _titles() | words("cues.txt", "org_trigger") | words("cues.txt", "outlet_trigger")
    for v, cut in variants(tok):
        if cut and len(v) >= 3 and (v.startswith("ال") or v in known):
            return v
    return tok


def statements(
    attributions: Iterable[Any],
    texts: Mapping[str, str],
    story_of: Mapping[str, str] | None = None,
    dates: Mapping[str, datetime | None] | None = None,
) -> Iterable[Statement]:
    """The map step: one `Statement` per quotation or report with a speaker."""
    for a in attributions:
        if a.kind == "credit" or not a.speaker or a.quote_start is None:
            continue
        text = texts.get(a.doc, "")
        yield Statement(a.doc, (story_of or {}).get(a.doc), (dates or {}).get(a.doc), a.kind,
                        a.speaker, a.quote_start, a.quote_end,
                        text[a.quote_start:a.quote_end].strip())


def who_says_what(
    attributions: Iterable[Any],
    texts: Mapping[str, str],
    story_of: Mapping[str, str] | None = None,
    dates: Mapping[str, datetime | None] | None = None,
) -> list[SpeakerEntry]:
    """Every speaker of the collection with their statements, grouped by story and time;
    name variants of one speaker joined in one entry (module docstring). Most quoted first.

    `attributions` are `khabar.explain.Attribution`s (or anything with their fields),
    `texts` the original text of each document, `story_of` the story of each document and
    `dates` its publication time.
    """
    return group_statements(statements(attributions, texts, story_of, dates))


def group_statements(found: Iterable[Statement]) -> list[SpeakerEntry]:
    """The grouping steps of `who_says_what`, over statements already made."""
    # step 1: group by key
    by_key: dict[str, list[Statement]] = defaultdict(list)
    for s in found:
        key = speaker_key(s.speaker)
        if key:
            by_key[key].append(s)
    # step 2: group keys by their last word; a shorter key whose words all belong to
    # exactly one longer key of its group joins it
    by_family: dict[str, list[str]] = defaultdict(list)
    for key in by_key:
        if _personal(key):
            by_family[key.split()[-1]].append(key)
    target: dict[str, str] = {}
    for keys in by_family.values():
        for key in keys:
            mine = set(key.split())
            longer = [k for k in keys if k != key and mine < set(k.split())]
            maximal = [k for k in longer if not any(set(k.split()) < set(o.split())
                                                    for o in longer if o != k)]
            if len(maximal) == 1:
                target[key] = maximal[0]
    entries: dict[str, SpeakerEntry] = {}
    for key, items in by_key.items():
        root = target.get(key, key)
        e = entries.setdefault(root, SpeakerEntry(root, ""))
        e.statements.extend(items)
        e.variants.update(s.speaker for s in items)
    for root, e in entries.items():
        full = [v for v in e.variants if speaker_key(v) == root] or list(e.variants)
        e.name = max(full, key=lambda v: (e.variants[v], len(v), v))
        first: dict[str | None, tuple] = {}
        for s in e.statements:
            t = _time(s.date)
            if s.story not in first or t < first[s.story]:
                first[s.story] = t
        e.statements.sort(key=lambda s: (first[s.story], str(s.story), _time(s.date),
                                         s.doc, s.start))
    out = list(entries.values())
    out.sort(key=lambda e: (-len(e.statements), -len(e.stories), e.key))
    return out


def _time(d: datetime | None) -> tuple[int, float]:
    return (1, 0.0) if d is None else (0, d.timestamp())


__all__ = ["SpeakerEntry", "Statement", "group_statements", "speaker_key", "statements",
           "who_says_what"]
