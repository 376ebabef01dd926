"""Normalization for matching, with an exact offset map to the original text.

Arabic news text spells one word many ways: with or without harakat, with
tatweel stretching, with any of four alefs, with ى or ي at the end, with
Persian kaf and yeh, with Eastern or Western digits, with presentation-form
glyphs pasted from PDFs, and with invisible bidi and zero-width characters.
Matching must see through all of that, and everything shown to a user must
still point into the original.

How it is fast: every option compiles into one lookup table over all code
points. A text is turned into an array of code points (one C-level encode),
mapped through the table with NumPy, filtered, and decoded back. Characters
whose normalization is longer than one character (ligatures such as ﻻ or ﷲ)
are rare and take a slower path. The offset map falls out of the same arrays.
"""

from __future__ import annotations

import unicodedata
from dataclasses import astuple, dataclass, fields
from functools import lru_cache

import numpy as np

from khabar.pickling import fast_pickle
from khabar.text.offsets import OffsetMap

# sentinel values above the Unicode range
DELETE_MARK = 0x110000  # deleted, and folded into the character before it
DELETE_CONTROL = 0x110001  # deleted, belongs to nothing
EXPAND = 0x110002  # replaced by more than one character (slow path)
_UNICODE = 0x110000

HARAKAT = [*range(0x064B, 0x0660), 0x0670]  # tanween, short vowels, shadda, sukun, hamza marks
QURANIC = [*range(0x0610, 0x061B), *range(0x06D6, 0x06DD), *range(0x06DF, 0x06E9),
           *range(0x06EA, 0x06EE), 0x08D3, *range(0x08D4, 0x0900)]
TATWEEL = [0x0640]
CONTROLS = [0x00AD, 0x061C, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F),
            *range(0x2060, 0x2065), *range(0x2066, 0x206A), 0xFEFF]


@fast_pickle
@dataclass(frozen=True, slots=True)
class NormalizeOptions:
    """What normalization folds. Defaults suit matching Arabic news across outlets.

    Each flag removes one kind of spelling variation; turning one off keeps that
    distinction. All are length-aware: the offset map stays exact whatever is on.
    """

    harakat: bool = True
    """Remove harakat (short vowels, tanween, shadda, sukun), superscript alef and Quranic marks."""
    tatweel: bool = True
    """Remove tatweel (ـ), the stretching character."""
    alef: bool = True
    """Fold أ إ آ ٱ into bare ا."""
    yeh: bool = True
    """Fold alef maqsura ى into ي."""
    teh_marbuta: bool = False
    """Fold ة into ه (off by default: it merges distinct words such as مدرسة/مدرسه only rarely)."""
    hamza: bool = False
    """Fold hamza carriers ؤ → و and ئ → ي."""
    persian: bool = True
    """Fold Persian/Urdu letter forms into Arabic ones (ک → ك, ی ے → ي, ہ ھ → ه, ۃ → ة)."""
    digits: bool = True
    """Arabic-Indic (٠-٩) and Eastern (۰-۹) digits become ASCII; ٫ and ٬ become . and ,."""
    punctuation: bool = True
    """Arabic punctuation and quote styles become ASCII (، → ,  ؛ → ;  ؟ → ?  « » “ ” → ")."""
    nfkc: bool = True
    """Apply NFKC compatibility mapping (presentation forms, ligatures, full-width letters)."""
    controls: bool = True
    """Remove zero-width and bidi control characters (ZWJ, ZWNJ, LRM, RLM, isolates, BOM)."""
    spaces: bool = True
    """Unicode spaces (no-break, thin, ideographic…) become a plain space; line breaks stay."""
    lowercase: bool = True
    """Lower-case cased scripts (Latin, Greek, Cyrillic)."""

    def key(self) -> str:
        """A short stable string identifying these options (stored with sketches)."""
        return "".join("1" if v else "0" for v in astuple(self))


def _apply(lut: np.ndarray, cps: list[int], value: int) -> None:
    lut[np.asarray(cps, dtype=np.int64)] = value


def _set_map(lut: np.ndarray, mapping: dict[str, str]) -> None:
    for src, dst in mapping.items():
        lut[ord(src)] = ord(dst)


_ALEF = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا"}
_PERSIAN = {"ک": "ك", "ڪ": "ك", "ی": "ي", "ے": "ي", "ې": "ي", "ۍ": "ي",
            "ہ": "ه", "ھ": "ه", "ە": "ه", "ۃ": "ة"}
_PUNCT = {"،": ",", "؛": ";", "؟": "?", "٪": "%", "۔": ".", "٭": "*",
          "«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "〃": '"',
          "‹": "'", "›": "'", "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'",
          "–": "-", "—": "-", "‒": "-", "―": "-", "−": "-", "‐": "-", "‑": "-", "…": "."}
# Extra mark ranges of the compatibility block FE70-FE7F: their NFKC is a space or
# tatweel plus a haraka, which must vanish with the haraka rather than leave a space.
_SPACING_HARAKAT = [*range(0xFE70, 0xFE80)]


@lru_cache(maxsize=1)
def _nfkc_differences() -> list[tuple[int, str]]:
    """Code points whose NFKC form differs, in the blocks where news text meets them."""
    ranges = [range(0x00A0, 0x0600), range(0x0700, 0x1100), range(0x1D00, 0x2000),
              range(0x2010, 0x2FE0), range(0x3000, 0x3400), range(0xA000, 0x10000),
              range(0x1D400, 0x1D800), range(0x1EE00, 0x1EF00), range(0x1F100, 0x1F200)]
    out = []
    for rng in ranges:
        for cp in rng:
            if 0xD800 <= cp < 0xE000:
                continue
            ch = chr(cp)
            nf = unicodedata.normalize("NFKC", ch)
            if nf != ch:
                out.append((cp, nf))
    return out


@lru_cache(maxsize=16)
def _tables(opts: NormalizeOptions) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Build the code point lookup table and the multi-character expansions for `opts`."""
    lut = np.arange(_UNICODE, dtype=np.uint32)
    expansions: dict[int, str] = {}

    def simple_maps(table: np.ndarray) -> None:
        if opts.spaces:
            for cp in (0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000):
                table[cp] = 0x20
        if opts.lowercase:
            for cp in range(0x41, 0x5B):
                table[cp] = cp + 32
            for cp in range(0xC0, 0x0590):  # Latin-1 … Cyrillic/Armenian
                ch = chr(cp)
                low = ch.lower()
                if len(low) == 1 and low != ch:
                    table[cp] = ord(low)
        if opts.alef:
            _set_map(table, _ALEF)
        if opts.yeh:
            _set_map(table, {"ى": "ي"})
        if opts.teh_marbuta:
            _set_map(table, {"ة": "ه"})
        if opts.hamza:
            _set_map(table, {"ؤ": "و", "ئ": "ي"})
        if opts.persian:
            _set_map(table, _PERSIAN)
            if opts.teh_marbuta:
                table[ord("ۃ")] = ord("ه")
        if opts.digits:
            for i in range(10):
                table[0x0660 + i] = 0x30 + i
                table[0x06F0 + i] = 0x30 + i
                table[0x07C0 + i] = 0x30 + i  # NKo, seen in mis-encoded feeds
            table[0x066B] = ord(".")
            table[0x066C] = ord(",")
        if opts.punctuation:
            _set_map(table, _PUNCT)

    simple_maps(lut)
    if opts.harakat:
        _apply(lut, HARAKAT + QURANIC, DELETE_MARK)
    if opts.tatweel:
        _apply(lut, TATWEEL, DELETE_MARK)
    if opts.controls:
        _apply(lut, CONTROLS, DELETE_CONTROL)

    if opts.nfkc:
        for cp, nf in _nfkc_differences():
            if lut[cp] >= _UNICODE or lut[cp] != cp:
                continue  # an explicit option already decided this character
            if cp in _SPACING_HARAKAT and opts.harakat:
                lut[cp] = DELETE_MARK
                continue
            # run the compatibility result through the other options too
            out = "".join(chr(v) for v in (int(lut[ord(c)]) for c in nf) if v < _UNICODE)
            if len(out) == 1:
                lut[cp] = ord(out)
            elif not out:
                is_mark = unicodedata.category(chr(cp)).startswith("M")
                lut[cp] = DELETE_MARK if is_mark else DELETE_CONTROL
            else:
                lut[cp] = EXPAND
                expansions[cp] = out
    expanded = {cp: np.frombuffer(s.encode("utf-32-le"), np.uint32).copy()
                for cp, s in expansions.items()}
    lut.setflags(write=False)
    return lut, expanded


def _codepoints(text: str) -> np.ndarray:
    # surrogatepass keeps lone surrogates (from lossy upstream decoding) one code point each
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _decode(cps: np.ndarray) -> str:
    return cps.astype(np.uint32, copy=False).tobytes().decode("utf-32-le", "surrogatepass")


class Normalizer:
    """Normalizes texts under fixed options; cheap to create (tables are cached)."""

    __slots__ = ("_expansions", "_lut", "options")

    def __init__(self, options: NormalizeOptions | None = None) -> None:
        self.options = options or NormalizeOptions()
        self._lut, self._expansions = _tables(self.options)

    def __call__(self, text: str) -> tuple[str, OffsetMap]:
        return self.normalize(text)

    def normalize(self, text: str) -> tuple[str, OffsetMap]:
        """Return the normalized text and its map back to `text`."""
        return self.normalize_many([text])[0]

    def normalize_many(self, texts: list[str]) -> list[tuple[str, OffsetMap]]:
        """Normalize a batch of texts at once.

        NumPy's cost per call dwarfs its cost per character on article-sized
        arrays, so the batch is joined and mapped in one pass, then cut apart.
        """
        if not texts:
            return []
        joined = "\n".join(texts)  # "\n" maps to itself under every option
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        doc_starts = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths + 1, out=doc_starts[1:])
        cps = _codepoints(joined)
        mapped = self._lut.take(cps)
        special = np.flatnonzero(mapped >= _UNICODE)
        if special.size == 0:
            out_text = _decode(mapped)
            return [(out_text[a : a + n], OffsetMap.identity(n))
                    for a, n in zip(doc_starts[:-1].tolist(), lengths.tolist(), strict=True)]
        kinds = mapped[special]
        counts = (mapped < _UNICODE).view(np.uint8).astype(np.int32)
        expand_at = special[kinds == EXPAND]
        if expand_at.size:
            reps = [self._expansions[int(c)] for c in cps[expand_at].tolist()]
            counts[expand_at] = [len(r) for r in reps]
        # number of output characters produced up to and including each input position
        produced = np.cumsum(counts, dtype=np.int64)
        starts = np.repeat(np.arange(len(cps), dtype=np.int32), counts)
        if expand_at.size:
            out = np.repeat(mapped, counts)
            for pos, rep in zip(expand_at.tolist(), reps, strict=True):
                end = int(produced[pos])
                out[end - len(rep) : end] = rep
        else:
            out = mapped[counts.astype(bool)]
        ends = starts + 1
        marks = special[kinds == DELETE_MARK]
        if marks.size:
            # a mark belongs to the last character produced before it
            owner = produced[marks] - 1
            ok = owner >= 0
            np.maximum.at(ends, owner[ok], (marks[ok] + 1).astype(np.int32))
        out_text = _decode(out)
        # where each document begins in the normalized batch
        bounds = np.searchsorted(starts, doc_starts).tolist()
        # which documents contain anything special (others keep identity maps)
        specials_per_doc = np.diff(np.searchsorted(special, doc_starts))
        results: list[tuple[str, OffsetMap]] = []
        for i, n in enumerate(lengths.tolist()):
            lo = bounds[i]
            hi = bounds[i + 1] - 1 if i + 1 < len(texts) else len(starts)
            norm = out_text[lo:hi]
            if specials_per_doc[i] == 0:
                results.append((norm, OffsetMap.identity(n)))
                continue
            base = int(doc_starts[i])
            results.append((norm, OffsetMap(starts[lo:hi] - base, ends[lo:hi] - base, n)))
        return results


@lru_cache(maxsize=16)
def get_normalizer(options: NormalizeOptions | None = None) -> Normalizer:
    """A shared `Normalizer` for `options` (they are immutable, so sharing is safe)."""
    return Normalizer(options)


def normalize(text: str, options: NormalizeOptions | None = None) -> tuple[str, OffsetMap]:
    """Normalize `text` for matching; returns the normalized text and its `OffsetMap`."""
    return get_normalizer(options).normalize(text)


def option_names() -> list[str]:
    return [f.name for f in fields(NormalizeOptions)]
