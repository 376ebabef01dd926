"""The values of numbers in a text, compared the way a reader compares them.

A template (a market report, a forecast, a daily toll) is the same frame with
other figures, so what tells a template from a copy is whether the figures of
the two sides agree. Figures are written in many ways, so each (normalized)
token is reduced to the integers a reader would see in it:

* digits: "1,200" and "1200" are one value; "15.8", "8ر15" and an "04.2"
  reversed by a direction mark are the same groups of digits ({15, 8}), so a
  decimal is compared by its groups, whatever separator an outlet uses;
* number words (cardinals from two and ordinals up to ten, the tens, a
  hundred), with the prefixes و ب ل ف ال attached: "أول طائرة" and "ثاني
  طائرة" differ.

Words and digits are compared only with their own kind (a word's value comes
out negative): writing "700" as "سبع مئة" is an editor's choice, not a new
figure, and compound number words are not worth parsing for that.
"""

from __future__ import annotations

import re

# "one" is left out: واحد، واحدة من are far more often "a", "one of" than a figure
_CARDINALS = {
    2: "اثنان اثنين اثنتان اثنتين", 3: "ثلاث ثلاثة", 4: "اربع اربعة",
    5: "خمس خمسة", 6: "ست ستة", 7: "سبع سبعة", 8: "ثمان ثماني ثمانية", 9: "تسع تسعة",
    10: "عشر عشرة", 20: "عشرون عشرين", 30: "ثلاثون ثلاثين", 40: "اربعون اربعين",
    50: "خمسون خمسين", 60: "ستون ستين", 70: "سبعون سبعين", 80: "ثمانون ثمانين",
    90: "تسعون تسعين", 100: "مائة مئة",
}
_ORDINALS = {
    1: "اول اولي", 2: "ثاني ثانية", 3: "ثالث ثالثة", 4: "رابع رابعة", 5: "خامس خامسة",
    6: "سادس سادسة", 7: "سابع سابعة", 8: "ثامن ثامنة", 9: "تاسع تاسعة", 10: "عاشر عاشرة",
}
_PREFIXES = ("", "ال", "و", "ب", "ل", "ف", "وال", "بال", "فال", "لل", "ولل")


def _words() -> dict[str, int]:
    out: dict[str, int] = {}
    for table in (_CARDINALS, _ORDINALS):
        for value, forms in table.items():
            for form in forms.split():
                for prefix in _PREFIXES:
                    out.setdefault(prefix + form, value)
    return out


NUMBER_WORDS: dict[str, int] = _words()
"""Normalized number words (alef folded, as the text layer writes them) and their values."""

_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+|\d{1,3}(?:\.\d{3}){2,}")
_GROUP = re.compile(r"\d+")
_LIMIT = 10**18


def number_values(token: str) -> tuple[int, ...]:
    """The integers a normalized token stands for (empty when it is not a number); the
    value of a number word is negative (see the module docstring)."""
    if not token:
        return ()
    if token[0].isdigit():
        if _THOUSANDS.fullmatch(token):
            return (int(token.replace(",", "").replace(".", "")) % _LIMIT,)
        return tuple(int(g[-18:]) for g in _GROUP.findall(token))
    value = NUMBER_WORDS.get(token)
    return () if value is None else (-value,)
