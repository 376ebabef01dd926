"""An English or French report joins the Arabic story it tells, on names and figures.

No translation model: what two reports of one event in two scripts share is
what cannot be translated, only transliterated or copied: the names of the
people and places, and the figures. Both sides are reduced to consonant
skeletons, the letters a transliteration keeps:

* Arabic: the article ال and the one-letter conjunctions and prepositions
  before it are dropped, long vowels inside a word (ا و ي) and ع ء ة are
  dropped, each consonant becomes its usual Latin letter (ح and ه → h, ق and
  ك → k, ش and س → s…): تل الريحان → tl ryhn, نبيل السراج → nbl srj;
* Latin: a capitalized word that is not a sentence's usual function word is a
  name; digraphs become one letter (sh, kh, th, gh, dh, ch, ph), the vowels
  and a final -at/-ah (the Arabic ة) are dropped, doubled letters count once:
  Tal al-Rayhan → tl ryhn, Nabil al-Sarraj → nbl srj.

A name is matched alone when its skeleton has three letters or more, and as
the pair it makes with the next name (Tal + Rayhan), which keeps short names
(Tal, Ras) from matching any Arabic word that happens to share two letters.
Figures are the specific numbers the story stage already reads (no single
digits, no years). A Latin-script article and an Arabic one within the story
window are linked only when both kinds agree (a name alone is a topic, a
figure alone a coincidence), with a probability that grows with how many do
(`CORROBORATION`); the story stage takes it as the pair's least probability.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

SKELETON_DIM = 1 << 24
CORROBORATION = 4
"""How many agreeing names and figures make a pair more likely one report than not: the
pair's probability is agree / (agree + CORROBORATION / 2), 0.5 for one name and one
figure, 0.67 for four, 0.75 for six, so that among the stories it matches, a report joins
the one whose articles agree most (average linkage). Chosen on the examples written for
it (tests/test_crosslingual.py), not fitted: no labelled pair crosses scripts."""

_AR = {
    "ب": "b", "ت": "t", "ث": "t", "ج": "j", "ح": "h", "خ": "k", "د": "d", "ذ": "d",
    "ر": "r", "ز": "z", "س": "s", "ش": "s", "ص": "s", "ض": "d", "ط": "t", "ظ": "z",
    "غ": "g", "ف": "f", "ق": "k", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h",
    "و": "w", "ي": "y", "پ": "b", "چ": "j", "ڤ": "f", "گ": "g",
}
_AR_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال")
_LATIN_DIGRAPHS = (("sh", "s"), ("ch", "s"), ("kh", "k"), ("gh", "g"), ("th", "t"),
                   ("dh", "d"), ("ph", "f"), ("ou", "w"))
_LATIN_MAP = str.maketrans({"q": "k", "c": "k", "v": "f", "p": "b", "g": "j", "x": "k",
                            "é": "", "è": "", "ê": "", "à": "", "â": "", "î": "", "ô": "",
                            "û": "", "ç": "s", "ï": "", "ë": ""})
_ARTICLES = {"al", "el", "ad", "ar", "as", "at", "az", "ash", "an", "ath"}
# capitalized words that are not names (sentence openers, titles, months, days)
_NOT_NAMES = frozenset("""
the a an and or but in on at of to for from by with as is was were be been has have had
it its this that these those he she they we his her their our after before when while
during about over under into than then there here what which who whom whose where why how
mr mrs ms dr minister ministry president prime king prince sheikh general colonel said
says told reported according monday tuesday wednesday thursday friday saturday sunday
january february march april may june july august september october november december
le la les un une des du de et ou mais dans sur pour par avec au aux est sont été ce cette
ces il elle ils elles nous vous selon lundi mardi mercredi jeudi vendredi samedi dimanche
janvier février mars avril mai juin juillet août septembre octobre novembre décembre
ministre président roi one two three four five six seven eight nine ten un deux trois quatre
cinq sept huit neuf dix
""".split())
_NAME = re.compile(r"[A-ZÀ-Ý][\w'’-]*")
_WORD = re.compile(r"[\w'’-]+")


def arabic_skeleton(token: str) -> str:
    """Consonant skeleton of a normalized Arabic token ('' when none)."""
    for p in _AR_PREFIXES:
        if token.startswith(p) and len(token) - len(p) >= 2:
            token = token[len(p):]
            break
    out = []
    for k, ch in enumerate(token):
        letter = _AR.get(ch)
        if letter is None or (letter in "wy" and k > 0):
            continue  # vowels, ع ء ة, and long vowels inside the word
        if out and out[-1] == letter:
            continue
        out.append(letter)
    return "".join(out)


def latin_skeleton(word: str) -> str:
    """Consonant skeleton of a Latin-script name ('' when none)."""
    w = word.lower().replace("’", "").replace("'", "")
    for end in ("at", "ah", "eh"):
        if w.endswith(end) and len(w) > 3:
            w = w[:-1]
    for a, b in _LATIN_DIGRAPHS:
        w = w.replace(a, b)
    w = w.translate(_LATIN_MAP)
    out = []
    for k, ch in enumerate(w):
        if not ("a" <= ch <= "z") or ch in "aeiou" or (ch in "wy" and k > 0):
            continue
        if out and out[-1] == ch:
            continue
        out.append(ch)
    return "".join(out)


def latin_names(text: str) -> list[list[str]]:
    """Runs of consecutive name words (capitalized, not function words), as skeletons:
    "Transport Minister Nabil al-Sarraj" → [["nbl", "srj"]]."""
    runs: list[list[str]] = []
    current: list[str] = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        parts = [p for p in re.split(r"[-’']", word) if p]
        capital = bool(_NAME.fullmatch(word)) or (
            len(parts) > 1 and parts[0].lower() in _ARTICLES and parts[-1][:1].isupper())
        if not capital or word.lower() in _NOT_NAMES:
            if current:
                runs.append(current)
                current = []
            continue
        for p in parts:
            if p.lower() in _ARTICLES:
                continue
            sk = latin_skeleton(p)
            if sk:
                current.append(sk)
    if current:
        runs.append(current)
    return runs


def _hash(s: str) -> int:
    return zlib.crc32(s.encode("ascii")) & (SKELETON_DIM - 1)


def latin_keys(text: str) -> set[int]:
    """Hashed name keys of a Latin-script text: each skeleton of 3+ letters, and each pair
    of consecutive names."""
    keys: set[int] = set()
    for run in latin_names(text):
        for k, sk in enumerate(run):
            if len(sk) >= 3:
                keys.add(_hash(sk))
            if k + 1 < len(run):
                keys.add(_pair_key(zlib.crc32(sk.encode("ascii")) | 1,
                                   zlib.crc32(run[k + 1].encode("ascii")) | 1))
    return keys


_SKELETON_KEYS: dict[str, tuple[int, int]] = {}
"""Token -> (its skeleton's key or 0, its skeleton's hash for pairs or 0): news vocabularies
are Zipfian, so nearly every token is a dictionary lookup."""


def _token_keys(tok: str) -> tuple[int, int]:
    sk = arabic_skeleton(tok) if tok and "\u0600" <= tok[0] <= "\u06ff" else ""
    if not sk:
        return 0, 0
    return (_hash(sk) if len(sk) >= 3 else 0), zlib.crc32(sk.encode("ascii")) | 1


def arabic_keys(tokens: Sequence[str]) -> set[int]:
    """Hashed skeleton keys of normalized Arabic tokens, as `latin_keys` makes them."""
    cache = _SKELETON_KEYS
    if len(cache) > 500_000:  # bounded on an endless stream
        cache.clear()
    keys: set[int] = set()
    prev = 0
    for tok in tokens:
        found = cache.get(tok)
        if found is None:
            found = cache[tok] = _token_keys(tok)
        single, pair = found
        if single:
            keys.add(single)
        if prev and pair:
            keys.add(_pair_key(prev, pair))
        prev = pair
    return keys


def _pair_key(first: int, second: int) -> int:
    """The key of two consecutive names, from their skeletons' hashes (as `latin_keys`)."""
    return ((first * 0x9E3779B1) ^ second) & (SKELETON_DIM - 1)


def key_matrix(keys: Sequence[set[int]]) -> sp.csr_matrix:
    lengths = [len(k) for k in keys]
    cols = np.fromiter((c for k in keys for c in sorted(k)), dtype=np.int64,
                       count=sum(lengths))
    indptr = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return sp.csr_matrix((np.ones(len(cols)), cols, indptr), shape=(len(keys), SKELETON_DIM))


def crosslingual_evidence(arts, window_days: float) -> dict[tuple[str, str], float]:
    """Evidence (id pair -> strength) between the Latin-script and Arabic articles of
    `arts` (the story stage's `Articles`) published within `window_days` of each other."""
    latin = np.flatnonzero(arts.latin)
    arabic = np.flatnonzero(~arts.latin)
    if not len(latin) or not len(arabic):
        return {}
    names = (arts.skeletons[latin] @ arts.skeletons[arabic].T).tocsr()
    out: dict[tuple[str, str], float] = {}
    for r, li in enumerate(latin.tolist()):
        row = names[r]
        for c, n_names in zip(row.indices.tolist(), row.data.tolist(), strict=True):
            ai = int(arabic[c])
            dt = abs(arts.ts[li] - arts.ts[ai]) / 86400.0
            if dt > window_days:  # (NaN, undated, compares False: kept)
                continue
            figures = len(arts.numbers[li] & arts.numbers[ai])
            if n_names < 1 or figures < 1:
                continue
            agree = n_names + figures
            strength = agree / (agree + CORROBORATION / 2)
            a, b = arts.ids[li], arts.ids[ai]
            out[(a, b) if a < b else (b, a)] = strength
    return out
