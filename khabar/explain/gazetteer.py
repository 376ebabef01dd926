"""The word lists that ship with khabar (`khabar/data/gazetteers/`) and a matcher over tokens.

Everything is compared in normalized form (the default `NormalizeOptions`:
alef forms folded, ى → ي, harakat removed, Latin lower-cased), the same form
the tokens of a `TextView` have, so one list entry matches every spelling that
normalization folds together.

Arabic attaches conjunctions and prepositions to the next word (وسوريا،
بالعراق، للمرصد). The matcher tries a token as written and then with one such
clitic removed; the clitic stays outside the matched span (except ل before
ال, where the ال itself is gone: للمرصد keeps its whole token).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from khabar.pickling import fast_pickle
from khabar.text.normalize import get_normalizer
from khabar.text.tokenize import tokenize

_DIR = "data/gazetteers"

# clitics stripped from the front of a token before a lookup, longest first;
# each maps to what the bare word starts with afterwards ("" = nothing restored)
_CLITICS: tuple[tuple[str, str], ...] = (
    ("وبال", "ال"), ("فبال", "ال"), ("وال", "ال"), ("فال", "ال"), ("بال", "ال"), ("كال", "ال"),
    ("ولل", "ال"), ("فلل", "ال"), ("لل", "ال"),
    ("وب", ""), ("ول", ""), ("فب", ""), ("فل", ""), ("وك", ""),
    ("و", ""), ("ف", ""), ("ب", ""), ("ل", ""), ("ك", ""),
)


@lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """The normalized form of a word or phrase (tokens joined by single spaces)."""
    normalized, _ = get_normalizer().normalize(text)
    return " ".join(tokenize(normalized).strings)


@lru_cache(maxsize=262144)
def variants(token: str) -> tuple[tuple[str, int], ...]:
    """`token` and its clitic-stripped forms, with how many leading characters were cut.

    The cut is what to skip in the token's span so that the mention starts at the
    word itself (وسوريا → سوريا). For ل+ال the cut is 0: the article is not in
    the text, so the whole token is the word.
    """
    out = [(token, 0)]
    for clitic, restore in _CLITICS:
        if len(token) > len(clitic) + 1 and token.startswith(clitic):
            bare = restore + token[len(clitic):]
            cut = len(clitic) - len(restore) if restore else len(clitic)
            if restore and clitic.endswith("لل"):
                cut = 0
            out.append((bare, cut))
    return tuple(out)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Entry:
    canonical: str
    kind: str
    """person | place | organization | agency"""
    credit_only: bool = False
    """Ambiguous word: only inside parentheses or beside a dateline dash."""
    needs_cue: bool = False
    """Ambiguous word: only right after a place cue word."""


class Gazetteer:
    """Multi-token entries indexed by their first token; longest match wins."""

    def __init__(self) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}

    def add(self, phrase: str, entry: Entry) -> None:
        toks = tuple(norm(phrase).split())
        if not toks:
            return
        bucket = self._by_first.setdefault(toks[0], [])
        if any(t == toks for t, _ in bucket):
            return  # the first entry listed keeps a spelling (files list the usual sense first)
        bucket.append((toks, entry))
        bucket.sort(key=lambda te: -len(te[0]))

    def __contains__(self, phrase: str) -> bool:
        toks = tuple(norm(phrase).split())
        return any(t == toks for t, _ in self._by_first.get(toks[0] if toks else "", []))

    def lookup(self, phrase: str) -> Entry | None:
        toks = tuple(norm(phrase).split())
        for t, e in self._by_first.get(toks[0] if toks else "", []):
            if t == toks:
                return e
        return None

    def match(
        self, tokens: Sequence[str], i: int, joinable: Sequence[bool]
    ) -> tuple[int, int, Entry] | None:
        """Longest entry starting at token `i`: (number of tokens, characters cut, entry).

        `joinable[j]` says whether tokens j-1 and j may belong to one name (only
        spaces, quotes or a hyphen between them, no comma or sentence mark).
        """
        for first, cut in variants(tokens[i]):
            for toks, entry in self._by_first.get(first, ()):
                n = len(toks)
                if i + n > len(tokens):
                    continue
                if all(tokens[i + k] == toks[k] and joinable[i + k] for k in range(1, n)):
                    return n, cut, entry
        return None


def _read(name: str) -> str:
    return resources.files("khabar").joinpath(f"{_DIR}/{name}").read_text("utf-8")


def _entry_lines(name: str) -> list[list[str]]:
    rows = []
    for line in _read(name).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append([p.strip() for p in line.split("|") if p.strip()])
    return rows


@lru_cache(maxsize=1)
def entities() -> Gazetteer:
    """Places, organizations and agencies in one matcher (agencies first: their
    names win where an outlet and a place share a spelling)."""
    gaz = Gazetteer()
    for fname, kind in (("agencies.txt", "agency"), ("organizations.txt", "organization"),
                        ("places.txt", "place")):
        for parts in _entry_lines(fname):
            canonical = parts[0].lstrip("!?")
            for v in parts:
                flag = v[0] if v[0] in "!?" else ""
                gaz.add(v.lstrip("!?"),
                        Entry(canonical, kind, credit_only=flag == "!", needs_cue=flag == "?"))
    return gaz


@cache
def words(fname: str, section: str) -> frozenset[str]:
    """Normalized words of one `[section]` of a word file; `a_b` entries become "a b"."""
    out: set[str] = set()
    current = None
    for line in _read(fname).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        if current != section:
            continue
        if section.endswith("_multi") or section == "boilerplate":
            out.add(norm(line))
        else:
            out.update(w for w in (norm(x.replace("_", " ")) for x in line.split()) if w)
    return frozenset(out)
