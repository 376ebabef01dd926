"""What story clustering knows about each article: weighted words, numbers, time.

An article becomes

* two bags of stemmed content words, one for the title and one for the
  lead of the body (the first `FeatureParams.body_tokens` tokens: an event is
  told in the first paragraphs; the rest of a long article is background that
  two different events of one topic share);
* the set of specific numbers it mentions (counts, scores, prices, dates of
  the month: different figures are the best sign of a different event of the
  same kind, such as two daily market reports);
* its publication time, outlet and display title.

Words are hashed into a fixed space of `FeatureParams.dim` columns with a
stable hash, so document frequencies of an endless stream live in one array
of fixed size (memory bounded by the window, not the stream), and results
never depend on Python's per-process string hashing.

Speed: the text is folded with the normalizer's lookup table and blanked with
the tokenizer's classes in one NumPy pass over the whole batch; no offset map
is built (story features never point back into the text).
"""

from __future__ import annotations

import html
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
import scipy.sparse as sp

from khabar.document import Document
from khabar.repair import Repair
from khabar.stories.crosslingual import arabic_keys, key_matrix, latin_keys
from khabar.text.normalize import get_normalizer
from khabar.text.sentences import split_sentences
from khabar.text.stem import stem, stopwords
from khabar.text.tokenize import OTHER, _classes

_UNICODE = 0x110000
_SEPARATOR = 0xE000  # a private-use character between the texts of a batch
DEFAULT_DIM = 1 << 20
_YEAR_LIKE = re.compile(r"(?:19[5-9]\d|20[0-4]\d|14[0-9]\d)")  # Gregorian and Hijri years


@dataclass(frozen=True, slots=True)
class FeatureParams:
    """How articles are turned into features."""

    body_tokens: int = 250
    """Tokens of the body (from its start) that count: the lead tells the event. Default 250."""
    dim: int = DEFAULT_DIM
    """Columns of the hashed word space (a power of two). Default 2**20."""


@lru_cache(maxsize=1)
def _blank_table() -> np.ndarray:
    """Normalization then tokenization in one table: token characters kept, others a space.

    Deleted characters (harakat, tatweel, controls) become the sentinel `_UNICODE` and are
    removed; `.` and `,` survive so that 3.5 and 1,200 can be told from punctuation.
    """
    lut = get_normalizer()._lut.astype(np.int64)  # int64: room for the sentinels below
    classes = _classes()
    out = lut.copy()
    normal = lut < _UNICODE
    out[normal & (classes.take(np.minimum(lut, _UNICODE - 1)) == OTHER)] = 0x20
    out[~normal] = _UNICODE
    # multi-character expansions (rare ligatures) become a space rather than vanish,
    # so the words around them stay apart
    out[lut == 0x110002] = 0x20
    for ch in ".,":
        out[ord(ch)] = ord(ch)
    out[_SEPARATOR] = _SEPARATOR
    # uint32 keeps the table small (4 MB), which matters for cache-bound lookups
    out[out > _UNICODE] = _UNICODE
    return out.astype(np.uint32)


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text


_DOT, _COMMA, _SPACE, _ZERO, _NINE = ord("."), ord(","), 0x20, ord("0"), ord("9")


def _folded_texts(texts: Sequence[str]) -> list[str]:
    """Normalized texts as space-separated tokens, ready for `str.split`.

    Tokens are runs of letters or of digits, as `khabar.text.tokenize` has them:
    `.` and `,` stay only between two digits (3.5, 1,200) and a letter run and a
    digit run that touch (2015م) are cut apart. All of it is array work over the
    whole batch, so splitting the result is the only per-document step.
    """
    sep = chr(_SEPARATOR)
    joined = sep.join(t.replace(sep, " ") if sep in t else t for t in texts)
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    mapped = _blank_table().take(cps)
    mapped = mapped[mapped < _UNICODE]
    digit = (mapped >= _ZERO) & (mapped <= _NINE)
    marks = np.flatnonzero((mapped == _DOT) | (mapped == _COMMA))
    if marks.size:
        inner = (marks > 0) & (marks < len(mapped) - 1)
        inner[inner] = digit[marks[inner] - 1] & digit[marks[inner] + 1]
        mapped[marks[~inner]] = _SPACE
        digit[marks[inner]] = True  # a kept mark belongs to its number
    word = (mapped != _SPACE) & (mapped != _SEPARATOR) & ~digit
    touch = np.flatnonzero((digit[:-1] & word[1:]) | (word[:-1] & digit[1:])) + 1
    if touch.size:
        mapped = np.insert(mapped, touch, _SPACE)
    return mapped.tobytes().decode("utf-32-le", "surrogatepass").split(sep)


NUMBER = -2
OCCASION = -3


class _Lexicon:
    """Token -> hashed term id (or -1 for stopwords and stray letters), memoized.

    News vocabularies are Zipfian, so a dictionary of the tokens seen makes
    stemming and hashing a lookup for nearly every token. It is cleared when it
    grows past `limit`, which bounds memory on an endless stream.
    """

    def __init__(self, dim: int, limit: int = 1_000_000) -> None:
        self.dim = dim
        self.limit = limit
        self.ids: dict[str, int] = {}
        self.hashes: dict[str, int] = {}
        """Token -> a 32-bit hash of the token itself (no stemming), for shingles."""
        self.numbers: dict[str, str | None] = {}
        self.occasions: dict[str, int] = {}
        self._stop = stopwords()

    def lookup(self, tokens: list[str]) -> list[int]:
        """Term ids of `tokens`, in order."""
        self._learn(set(tokens))
        return list(map(self.ids.__getitem__, tokens))

    def analyse(self, tokens: list[str]) -> tuple[list[int], list[int], set[str], int]:
        """(term ids, counts, specific numbers, occasion bits) of a text's tokens.

        Term ids are -1 for words that carry no topic weight, NUMBER and OCCASION for
        numbers and ordinal/weekday words (callers drop ids below 0): those few are
        looked at one by one, the rest never leave C-level dictionary calls.
        """
        counter = Counter(tokens)
        found = list(map(self.ids.get, counter))
        if None in found:
            self._learn([k for k, v in zip(counter, found, strict=True) if v is None])
            found = list(map(self.ids.__getitem__, counter))
        numbers: set[str] = set()
        occasion = 0
        if found and min(found) < -1:
            for tok, i in zip(counter, found, strict=True):
                if i == NUMBER:
                    form = self.numbers[tok]
                    if form is not None:
                        numbers.add(form)
                elif i == OCCASION:
                    occasion |= self.occasions[tok]
        return found, list(counter.values()), numbers, occasion

    def token_hash_list(self, tokens: list[str]) -> list[int]:
        """The hash of each token, in order (tokens must have been seen by `analyse`)."""
        return list(map(self.hashes.__getitem__, tokens))

    def _learn(self, tokens: Iterable[str]) -> None:
        ids = self.ids
        missing = [t for t in tokens if t not in ids]
        if not missing:
            return
        if len(ids) + len(missing) > self.limit:
            ids.clear()
            self.hashes.clear()
            self.numbers.clear()
            self.occasions.clear()
        mask = self.dim - 1
        hashes = self.hashes
        for tok, st in zip(missing, stem(missing), strict=True):
            hashes[tok] = zlib.crc32(tok.encode("utf-8"))
            if tok[0].isdigit():
                ids[tok] = NUMBER
                self.numbers[tok] = _specific(tok)
            elif (bits := _occasions([tok])) != 0:
                ids[tok] = OCCASION
                self.occasions[tok] = bits
            elif tok in self._stop or len(st) < 2:
                ids[tok] = -1
            else:
                ids[tok] = zlib.crc32(st.encode("utf-8")) & mask


@lru_cache(maxsize=4)
def _lexicon(dim: int) -> _Lexicon:
    return _Lexicon(dim)


def term_id(word: str, dim: int = DEFAULT_DIM) -> int:
    """The hashed column of one word (after normalization and stemming), or -1."""
    folded = _folded_texts([word])[0].split()
    ids = _lexicon(dim).lookup(folded)
    return ids[0] if ids else -1


SHINGLE = 4
"""Words per shingle: long enough that a shared one means copied text, short enough to
survive light edits."""
SAMPLE = 4
SHINGLE_DIM = 1 << 24
"""Hashed shingle space: chance collisions between two leads are ~1e-5 per shingle."""


# Ordinals and weekdays name WHICH occurrence of a recurring happening an article is
# about (the second relief flight, the third batch; Monday's session, Tuesday's): two
# reports naming different ones are almost never one event. Normalized forms.
_ORDINALS = {
    "الاول": 1, "الاولي": 1, "الثاني": 2, "الثانية": 2, "الثالث": 3, "الثالثة": 3,
    "الرابع": 4, "الرابعة": 4, "الخامس": 5, "الخامسة": 5, "السادس": 6, "السادسة": 6,
    "السابع": 7, "السابعة": 7, "الثامن": 8, "الثامنة": 8, "التاسع": 9, "التاسعة": 9,
    "العاشر": 10, "العاشرة": 10,
}
_WEEKDAYS = {
    "السبت": 5, "الاحد": 6, "الاثنين": 0, "الثلاثاء": 1, "الاربعاء": 2, "الخميس": 3,
    "الجمعة": 4,
}


ORDINAL_BITS = (1 << 10) - 1
WEEKDAY_BITS = ((1 << 7) - 1) << 10


def _occasions(tokens: list[str]) -> int:
    """Ordinals (bits 0-9) and weekdays (bits 10-16, Monday first) a text mentions."""
    found = 0
    for tok in tokens:
        if len(tok) < 5 or "ال" not in tok[:4]:
            continue
        core = tok[1:] if tok[0] in "وف" and tok[1:3] in ("ال", "با", "لل", "كا") else tok
        if core.startswith(("بال", "كال")):
            core = core[1:]
        elif core.startswith("لل"):
            core = "ا" + core[1:]
        if core in _ORDINALS:
            found |= 1 << (_ORDINALS[core] - 1)
        elif core in _WEEKDAYS:
            found |= 1 << (10 + _WEEKDAYS[core])
    return found


def occasion_conflict(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How many kinds (ordinal, weekday) both mention without any in common (0-2)."""
    out = np.zeros(np.broadcast(a, b).shape, dtype=np.float64)
    for bits in (ORDINAL_BITS, WEEKDAY_BITS):
        x, y = a & bits, b & bits
        out += (x != 0) & (y != 0) & ((x & y) == 0)
    return out


def _shingles(flat: np.ndarray, lengths: np.ndarray, k: int = SHINGLE) -> sp.csr_matrix:
    """Binary matrix of the hashed k-word shingles of each document's token hashes, given
    as one flat array and the documents' lengths (one pass over the batch)."""
    n_docs = len(lengths)
    m = len(flat) - k + 1
    if m <= 0:
        return sp.csr_matrix((n_docs, SHINGLE_DIM), dtype=np.float64)
    h = flat[:m].copy()
    with np.errstate(over="ignore"):
        for j in range(1, k):
            h = h * np.uint64(0x100000001B3) + flat[j : j + m]
    doc = np.repeat(np.arange(n_docs), lengths)
    ok = doc[:m] == doc[k - 1 : k - 1 + m]  # no shingle across two documents
    # keep the shingles whose hash is 0 mod SAMPLE: both articles keep the same ones, so
    # shares are estimated from a fixed quarter of the text at a quarter of the cost
    ok &= (h % np.uint64(SAMPLE)) == 0
    rows = doc[:m][ok]
    cols = ((h[ok] >> np.uint64(24)) & np.uint64(SHINGLE_DIM - 1)).astype(np.int64)
    out = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_docs, SHINGLE_DIM))
    out.sum_duplicates()
    out.data[:] = 1.0
    return out


def _specific(number: str) -> str | None:
    """A canonical form of a number worth comparing, or None.

    Single digits are everywhere; years (Gregorian 1950-2049, Hijri 1400-1499)
    date the article rather than the event.
    """
    # after normalization the Arabic thousands mark is "," and the decimal mark "."
    number = number.replace(",", "")
    if "." in number:
        whole, _, frac = number.partition(".")
        frac = frac.rstrip("0")
        number = (whole.lstrip("0") or "0") + ("." + frac if frac else "")
    else:
        number = number.lstrip("0") or "0"
    if len(number) < 2 or (len(number) == 4 and _YEAR_LIKE.fullmatch(number)):
        return None
    return number


@dataclass(slots=True)
class Articles:
    """Features of a batch of articles, row i for article i."""

    ids: list[str]
    ts: np.ndarray
    """Publication times (unix seconds, float64); NaN when unknown."""
    sources: list[str | None]
    titles: list[str]
    """Display titles: the document's title, else its probable title, else its first sentence."""
    title_tf: sp.csr_matrix
    """log(1 + count) of each hashed term in the title."""
    body_tf: sp.csr_matrix
    """log(1 + count) of each hashed term in the lead of the body."""
    numbers: list[frozenset[str]]
    shingles: sp.csr_matrix
    """1 for each hashed 4-word shingle of the lead (copied passages share them)."""
    occasions: np.ndarray
    """Bit sets of the ordinals and weekdays in the title and lead (`occasion_conflict`)."""
    latin: np.ndarray
    """True for an article written mostly in Latin script (English, French…)."""
    skeletons: sp.csr_matrix
    """Hashed consonant skeletons of its names (`crosslingual`): what an English or
    French report shares with an Arabic one."""

    def __len__(self) -> int:
        return len(self.ids)

    def presence(self) -> sp.csr_matrix:
        """1 where a term occurs in the title or the lead (for document frequencies)."""
        m = (self.title_tf + self.body_tf).tocsr()
        m.data = np.ones_like(m.data)
        return m

    def take(self, rows: Sequence[int] | np.ndarray) -> Articles:
        idx = np.asarray(rows, dtype=np.int64)
        return Articles(
            [self.ids[i] for i in idx.tolist()], self.ts[idx],
            [self.sources[i] for i in idx.tolist()], [self.titles[i] for i in idx.tolist()],
            self.title_tf[idx], self.body_tf[idx], [self.numbers[i] for i in idx.tolist()],
            self.shingles[idx], self.occasions[idx], self.latin[idx], self.skeletons[idx],
        )

    @staticmethod
    def concat(parts: Sequence[Articles], dim: int) -> Articles:
        parts = [p for p in parts if len(p)]
        if not parts:
            return empty_articles(dim)
        if len(parts) == 1:
            return parts[0]
        return Articles(
            [i for p in parts for i in p.ids], np.concatenate([p.ts for p in parts]),
            [s for p in parts for s in p.sources], [t for p in parts for t in p.titles],
            sp.vstack([p.title_tf for p in parts], format="csr"),
            sp.vstack([p.body_tf for p in parts], format="csr"),
            [n for p in parts for n in p.numbers],
            sp.vstack([p.shingles for p in parts], format="csr"),
            np.concatenate([p.occasions for p in parts]),
            np.concatenate([p.latin for p in parts]),
            sp.vstack([p.skeletons for p in parts], format="csr"),
        )


def empty_articles(dim: int) -> Articles:
    z = sp.csr_matrix((0, dim), dtype=np.float64)
    from khabar.stories.crosslingual import SKELETON_DIM

    return Articles([], np.empty(0), [], [], z, z.copy(), [],
                    sp.csr_matrix((0, SHINGLE_DIM), dtype=np.float64), np.zeros(0, np.int64),
                    np.zeros(0, dtype=bool), sp.csr_matrix((0, SKELETON_DIM)))


def _tf_matrix(rows: list[tuple[list[int], list[int]]], dim: int) -> sp.csr_matrix:
    """log(1 + count) rows from (term ids, counts) lists; ids below 0 are dropped."""
    lengths = np.fromiter((len(c) for c, _ in rows), dtype=np.int64, count=len(rows))
    cols = np.fromiter(chain.from_iterable(c for c, _ in rows), dtype=np.int64,
                       count=int(lengths.sum()))
    vals = np.fromiter(chain.from_iterable(v for _, v in rows), dtype=np.float64,
                       count=len(cols))
    keep = cols >= 0
    row_of = np.repeat(np.arange(len(rows)), lengths)[keep]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=len(rows)), out=indptr[1:])
    # two words with one stem (or one hashed column) add up before the log
    m = sp.csr_matrix((vals[keep], cols[keep].astype(np.int32), indptr), shape=(len(rows), dim))
    m.sum_duplicates()
    m.data = np.log1p(m.data)
    return m


def display_title(doc: Document, rep: Repair | None = None) -> str:
    """The headline to show: the title, else the probable title, else the first sentence."""
    if doc.title and doc.title.strip():
        return " ".join(doc.title.split())
    if rep is not None and rep.title:
        return " ".join(rep.title.split())
    if rep is None:
        from khabar.repair import repair

        probable = repair(doc.text, doc.id, doc.source).title
        if probable:
            return " ".join(probable.split())
    head = doc.text[:1000]
    spans = split_sentences(head)
    first = head[spans[0][0]:spans[0][1]] if spans else head
    words = first.split()
    return " ".join(words[:30]) + (" …" if len(words) > 30 else "")


def extract(
    docs: Sequence[Document],
    repairs: Sequence[Repair | None] | None = None,
    params: FeatureParams | None = None,
) -> Articles:
    """Features of a batch of documents (vectorized over the batch; order kept)."""
    params = params or FeatureParams()
    if not docs:
        return empty_articles(params.dim)
    if repairs is None:
        repairs = [None] * len(docs)
    titles = [display_title(d, r) for d, r in zip(docs, repairs, strict=True)]
    # a title found in the body (probable title, first sentence) is already in the lead;
    # it still counts as the title because that is where the event is named
    bodies = [(r.text if r is not None else d.text) for d, r in zip(docs, repairs, strict=True)]
    # only the lead is needed: cut long texts before folding (a generous bound in characters)
    limit = params.body_tokens * 7
    # scrapers leave HTML entities (&#8220; &quot;): their digits are not numbers of the story
    folded = _folded_texts([_unescape(t) for t in (*titles, *(b[:limit] for b in bodies))])
    lex = _lexicon(params.dim)
    n = len(docs)
    title_rows: list[tuple[list[int], list[int]]] = []
    body_rows: list[tuple[list[int], list[int]]] = []
    lead: list[int] = []
    lead_lengths: list[int] = []
    numbers: list[frozenset[str]] = []
    occasions: list[int] = []
    latin: list[bool] = []
    keys: list[set[int]] = []
    cap = params.body_tokens
    for i in range(n):
        t_tokens = folded[i].split()
        b_tokens = folded[n + i].split(None, cap)[:cap]
        is_latin = _mostly_latin(b_tokens or t_tokens)
        latin.append(is_latin)
        # names are early in a report: the title and the lead's first sentences
        keys.append(latin_keys(_unescape(f"{titles[i]}\n{bodies[i][:NAME_CHARS]}")) if is_latin
                    else arabic_keys(t_tokens + b_tokens[:NAME_TOKENS]))
        t_ids, t_counts, t_nums, t_occ = lex.analyse(t_tokens)
        b_ids, b_counts, b_nums, b_occ = lex.analyse(b_tokens)
        title_rows.append((t_ids, t_counts))
        body_rows.append((b_ids, b_counts))
        lead.extend(lex.token_hash_list(b_tokens))
        lead_lengths.append(len(b_tokens))
        numbers.append(frozenset(t_nums | b_nums) if t_nums or b_nums else frozenset())
        occasions.append(t_occ | b_occ)
    ts = np.array([d.timestamp if d.date is not None else np.nan for d in docs],
                  dtype=np.float64)
    return Articles(
        [d.id for d in docs], ts, [d.source for d in docs], titles,
        _tf_matrix(title_rows, params.dim), _tf_matrix(body_rows, params.dim), numbers,
        _shingles(np.array(lead, dtype=np.uint64), np.array(lead_lengths, dtype=np.int64)),
        np.array(occasions, dtype=np.int64), np.array(latin, dtype=bool), key_matrix(keys),
    )


NAME_TOKENS = 80
"""Lead tokens of an Arabic article whose skeletons are kept (`crosslingual`)."""
NAME_CHARS = 800


def _mostly_latin(tokens: list[str]) -> bool:
    latin = sum(1 for t in tokens if "a" <= t[0] <= "z")
    return latin > len(tokens) - latin and latin > 0


class TermStats:
    """Document frequencies of words and of shingles, and the weights they give.

    Batch clustering counts the whole collection; a stream counts what it has
    seen (optionally on top of a prior, e.g. the stored collection). Both
    tables have a fixed size (hashed spaces), whatever the number of articles.
    """

    def __init__(self, dim: int = DEFAULT_DIM) -> None:
        self.dim = dim
        self.df = np.zeros(dim, dtype=np.int32)
        self.shingle_df = np.zeros(SHINGLE_DIM, dtype=np.uint16)
        """Saturates at 65,535: beyond that a shingle is boilerplate whatever its count."""
        self.n = 0

    def add(self, arts: Articles) -> None:
        idx, cnt = np.unique(arts.presence().indices, return_counts=True)
        self.df[idx] += cnt.astype(np.int32)
        idx, cnt = np.unique(arts.shingles.indices, return_counts=True)
        self.shingle_df[idx] = np.minimum(self.shingle_df[idx].astype(np.int64) + cnt, 65535)
        self.n += len(arts)

    def copy(self) -> TermStats:
        out = TermStats.__new__(TermStats)
        out.dim = self.dim
        out.df = self.df.copy()
        out.shingle_df = self.shingle_df.copy()
        out.n = self.n
        return out

    def idf(self, prior_docs: int = 0) -> np.ndarray:
        """Smoothed IDF, ln((n + prior + 1) / (df + 1)) + 1: never zero.

        `prior_docs` counts imaginary articles without any of the words: a small
        collection cannot tell a topic word from a common one (in 25 articles about
        five events, "train" is in ten), and the prior keeps such words weighty.
        """
        return np.log((self.n + prior_docs + 1.0) / (self.df + 1.0)) + 1.0

    def shingle_weights(self, shingles: sp.csr_matrix) -> sp.csr_matrix:
        """Each shingle weighted 1 / (articles containing it): shared boilerplate and
        template sentences (a daily forecast's wording) count for little, text shared by
        just two articles counts fully."""
        out = shingles.copy()
        out.data = 1.0 / np.maximum(self.shingle_df[out.indices], 1).astype(np.float64)
        return out
