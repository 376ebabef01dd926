"""Light stemming and stopwords.

Stemming uses the Snowball Arabic stemmer through PyStemmer (MIT/BSD, a C
extension: tens of times faster than a pure-Python stemmer and the same
algorithm). The stopword list ships with khabar (`khabar/data/stopwords-ar.txt`)
in normalized form, so it is matched against normalized tokens.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import Stemmer


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    st = Stemmer.Stemmer(language)
    st.maxCacheSize = 200_000  # news vocabularies are Zipfian: a large cache pays off
    return st


def stem(tokens: Iterable[str], language: str = "arabic") -> list[str]:
    """Snowball stems of `tokens`. Non-Arabic tokens pass through the Arabic stemmer unchanged."""
    return _stemmer(language).stemWords(list(tokens))


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The Arabic stopword list (normalized forms) plus a few English function words."""
    text = resources.files("khabar").joinpath("data/stopwords-ar.txt").read_text("utf-8")
    words = {line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith("#")}
    words |= set(
        "a an the of in on at to for from by with and or but is are was were be been "
        "it its this that these those as not no he she they we you i his her their".split()
    )
    return frozenset(words)


def is_stopword(token: str) -> bool:
    return token in stopwords()
