"""Publication dates as they appear in Arabic news data, to aware UTC datetimes.

`parse_date` accepts a fixed list of forms and returns None for everything
else. It never guesses: a value whose day and month could be swapped
(`03/04/2020`), a two-digit year, a month without a day, free text, or a
weekday that contradicts the date all give None.

Times without a zone are taken as UTC; a date without a time is midnight UTC.
"""

from __future__ import annotations

import math
import numbers
import re
from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["parse_date"]

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

# Folding applied before matching words, so that spelling variants of one
# month (أغسطس/اغسطس, يونيو/يونيه…) need fewer table entries.
_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ی": "ي",
        "ة": "ه",
        "ک": "ك",
        "ـ": None,  # tatweel
        "\u200e": " ",
        "\u200f": " ",
        "\u061c": " ",
        "\u00a0": " ",
        "\u202f": " ",
        **{chr(c): None for c in range(0x064B, 0x0653)},  # harakat
        **{chr(c): " " for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))},
    }
)

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        # Egyptian/Gulf, Levantine/Iraqi, Maghrebi, English (full and short)
        "يناير جانفي january jan",
        "فبراير شباط فيفري february feb",
        "مارس اذار march mar",
        "ابريل نيسان افريل april apr",
        "مايو ايار ماي may",
        "يونيو يونيه حزيران جوان june jun",
        "يوليو يوليه تموز جويليه يوليوز july jul",
        "اغسطس اب اوت غشت august aug",
        "سبتمبر ايلول شتنبر september sep sept",
        "اكتوبر october oct",
        "نوفمبر نونبر november nov",
        "ديسمبر دجنبر december dec",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

# Two-word Levantine months: (first word, second word) -> month.
_ORDINAL_FIRST = {"الاول", "اول"}
_ORDINAL_SECOND = {"الثاني", "ثاني"}
_TWO_WORD = {"تشرين": (10, 11), "كانون": (12, 1)}

def is_month(token: str) -> bool:
    """Whether a normalized token names a month (any of the calendars above, or the first
    word of a two-word Levantine month such as تشرين / كانون)."""
    return token in _MONTHS or token in _TWO_WORD



_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "الاثنين اثنين monday mon",
        "الثلاثاء ثلاثاء tuesday tue tues",
        "الاربعاء اربعاء wednesday wed",
        "الخميس خميس thursday thu thur thurs",
        "الجمعه جمعه friday fri",
        "السبت سبت saturday sat",
        "الاحد احد sunday sun",
    )
):
    for _name in _names.split():
        _WEEKDAYS[_name] = _number

# Words that may sit around a date without changing it: "at", "the hour",
# and the Arabic "م" (ميلادي, AD) written after a year.
_FILLER = {"م", "الساعه", "ساعه", "at", "on", "ad"}

_ZONES = {
    "z": 0,
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "غرينتش": 0,
    "غرينيتش": 0,
    "جرينتش": 0,
    # RFC 2822 obsolete North-American zones
    "est": -5,
    "edt": -4,
    "cst": -6,
    "cdt": -5,
    "mst": -7,
    "mdt": -6,
    "pst": -8,
    "pdt": -7,
}

_TIME = re.compile(
    r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?![\d:])"
    r"(?:\s*(am|pm|a\.m\.|p\.m\.|صباحا|مساء|مساءا|ص|م)(?![^\W\d_]))?"
)
# A bare offset needs two-digit hours (`+0300`, `+03:00`) so that a dash
# between a time and a date (`10:30 - 8 أغسطس`) is not read as one; after
# GMT/UTC one digit is enough (`GMT+3`).
_OFFSET = re.compile(
    r"^\s*(?:(?:gmt|utc)\s*([+-])(\d{1,2})(?::?(\d{2}))?|([+-])(\d{2})(?::?(\d{2}))?)(?!\d)"
)
_ZONE_WORD = re.compile(r"^\s*(?:بتوقيت\s+)?([^\W\d_]+)")
_TOKEN = re.compile(
    r"(?P<ymd>\d{4}([-/.])\d{1,2}\2\d{1,2})(?!\d)"
    r"|(?P<xxy>\d{1,2}([-/.])\d{1,2}\4\d{4})(?!\d)"
    r"|(?P<num>\d+)(?:st|nd|rd|th)?"
    r"|(?P<word>[^\W\d_]+)"
    r"|(?P<sep>[\s,،؛;:/\\|()\[\].\-–—_+]+)"
    r"|(?P<other>.)",
)
_EPOCH = re.compile(r"\d{10}\.\d{1,9}")

_PM = {"pm", "p.m.", "م", "مساء", "مساءا"}
_AM = {"am", "a.m.", "ص", "صباحا"}


def _from_epoch(seconds: float, scaled: bool = False) -> datetime | None:
    if not math.isfinite(seconds):
        return None
    if not scaled and abs(seconds) >= 1e11:
        # No real date in seconds reaches 1e11 (year 5138): this is milliseconds.
        seconds /= 1000
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _to_utc(value: datetime) -> datetime | None:
    try:
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def parse_date(value: object) -> datetime | None:
    """Parse a publication date into an aware UTC `datetime`, or None.

    Accepted:
    - `datetime` (naive ones are taken as UTC) and `date` (midnight UTC);
    - a unix epoch: an int or float, or a string of 10 digits (seconds, an
      optional fraction allowed) or 13 digits (milliseconds); numbers of 1e11
      and more are milliseconds;
    - ISO 8601: `2020-08-08`, `2020-08-08T10:30:00Z`, `…+03:00`, fractions,
      `2020-08-08 10:30:00` and the basic form `20200808T103000`;
    - `2020/08/08` and `2020.08.08`; `08/08/2020` only when the day and month
      cannot be swapped (one of them is above 12, or both are equal);
    - RFC 2822: `Sat, 08 Aug 2020 10:30:00 +0300`;
    - a day, a month name and a four-digit year: `8 أغسطس 2020`,
      `8 أغسطس/ آب 2020`, `السبت 8 أغسطس 2020 - 10:30`, `8 August 2020`,
      `Aug 8, 2020 10:30 PM`, with Western or Eastern Arabic digits. Month
      names: Egyptian/Gulf (يناير … ديسمبر), Levantine/Iraqi (كانون الثاني …
      كانون الأول), Maghrebi (جانفي, أوت…), and English, full or abbreviated.

    A time may carry `am`/`pm` (ص/م), a numeric offset (`+0300`, `GMT+3`) or
    a zone name (`UTC`, `GMT`, `Z`, `بتوقيت غرينتش`, RFC 2822 US zones).
    Out-of-range values (Feb 30, 25:00) give None.
    """
    if type(value) is str:  # by far the most common input: test it first
        return _parse_text(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _to_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, numbers.Real):
        try:
            return _from_epoch(float(value))
        except (OverflowError, ValueError):
            return None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    return _parse_text(value)


def _parse_text(raw: str) -> datetime | None:
    text = raw.strip()
    if not text or len(text) > 200:
        return None
    if text.isdigit():
        # Only digits: 10 or 13 is an epoch, 8 the ISO basic date (20200808).
        # fromisoformat would also read some 13-digit strings as dates.
        text = text.translate(_DIGITS)
        if not text.isascii():
            return None
        if len(text) == 10:
            return _from_epoch(float(text), scaled=True)
        if len(text) == 13:
            return _from_epoch(float(text) / 1000, scaled=True)
        if len(text) != 8:
            return None
    try:
        return _to_utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    text = text.translate(_DIGITS).translate(_FOLD).lower().strip()
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text), scaled=True)
    try:
        return _to_utc(datetime.fromisoformat(text.upper()))
    except ValueError:
        pass

    time = _parse_time(text)
    if time is None:
        return None
    hms, tz, (start, end) = time
    if start < end:
        text = text[:start] + " " + text[end:]
    ymd = _parse_day(text)
    if ymd is None:
        return None
    (year, month, day), weekday = ymd
    try:
        local = datetime(year, month, day, *hms, tzinfo=tz)
    except ValueError:
        return None
    if weekday is not None and local.weekday() != weekday:
        return None
    return _to_utc(local)


_Time = tuple[tuple[int, int, int, int], timezone, tuple[int, int]]


def _parse_time(text: str) -> _Time | None:
    """The one time of day in `text` (midnight UTC if none), with its span; None if invalid."""
    m = _TIME.search(text)
    if m is None:
        return (0, 0, 0, 0), UTC, (0, 0)
    hour, minute = int(m[1]), int(m[2])
    second = int(m[3]) if m[3] else 0
    micro = int((m[4] or "0")[:6].ljust(6, "0"))
    meridiem = m[5]
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        if meridiem in _PM:
            hour = hour % 12 + 12
        elif meridiem in _AM:
            hour %= 12
    if hour > 23 or minute > 59 or second > 59:
        return None
    end = m.end()
    tz = UTC
    rest = text[end:]
    offset = _OFFSET.match(rest)
    if offset:
        sign_, hours_, minutes_ = offset.groups()[:3] if offset[1] else offset.groups()[3:]
        sign = -1 if sign_ == "-" else 1
        hours, minutes = int(hours_), int(minutes_ or 0)
        if hours > 14 or minutes > 59:
            return None
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        end += offset.end()
    else:
        word = _ZONE_WORD.match(rest)
        if word and word[1] in _ZONES:
            tz = timezone(timedelta(hours=_ZONES[word[1]]))
            end += word.end()
    if _TIME.search(text, end) is not None:
        return None  # two times of day: which one is meant?
    return (hour, minute, second, micro), tz, (m.start(), end)


def _parse_day(text: str) -> tuple[tuple[int, int, int], int | None] | None:
    """`((year, month, day), weekday or None)` from the date part of `text`."""
    numbers_: list[str] = []
    months: list[int] = []
    order: list[str] = []
    weekday: int | None = None
    numeric: tuple[int, int, int] | None = None
    words = [(m.lastgroup, m[m.lastgroup]) for m in _TOKEN.finditer(text) if m.lastgroup != "sep"]
    i = 0
    while i < len(words):
        kind, token = words[i]
        i += 1
        if kind == "ymd" or kind == "xxy":
            if numeric is not None:
                return None
            numeric = _numeric_date(kind, token)
            if numeric is None:
                return None
            order.append("n")
        elif kind == "num":
            numbers_.append(token)
            order.append("y" if len(token) == 4 else "d")
        elif kind == "word":
            if token in _TWO_WORD and i < len(words) and words[i][0] == "word":
                second = words[i][1]
                first_month, second_month = _TWO_WORD[token]
                if second in _ORDINAL_FIRST or second in _ORDINAL_SECOND:
                    months.append(first_month if second in _ORDINAL_FIRST else second_month)
                    order.append("m")
                    i += 1
                    continue
                return None
            if token in _MONTHS:
                months.append(_MONTHS[token])
                order.append("m")
            elif token in _WEEKDAYS:
                if weekday is not None and weekday != _WEEKDAYS[token]:
                    return None
                weekday = _WEEKDAYS[token]
            elif token not in _FILLER:
                return None
        else:
            return None
    if numeric is not None:
        if numbers_ or months:
            return None
        return numeric, weekday
    # Collapse a run of month names (8 أغسطس/ آب 2020): they must agree.
    if len(set(months)) != 1:
        return None
    shape = re.sub("m+", "m", "".join(order))
    if shape not in ("dmy", "mdy"):
        return None
    day, year = numbers_
    return (int(year), months[0], int(day)), weekday


def _numeric_date(kind: str, token: str) -> tuple[int, int, int] | None:
    parts = [int(p) for p in re.split(r"[-/.]", token)]
    if kind == "ymd":
        return parts[0], parts[1], parts[2]
    first, second, year = parts
    # Day-first and month-first are both in use; accept only what cannot be read two ways.
    candidates = set()
    if 1 <= second <= 12:
        candidates.add((year, second, first))
    if 1 <= first <= 12:
        candidates.add((year, first, second))
    if len(candidates) != 1:
        return None
    return candidates.pop()
