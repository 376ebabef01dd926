from __future__ import annotations

import email.utils
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khabar.io.dates import parse_date

AUG8 = datetime(2020, 8, 8, tzinfo=UTC)
AUG8_1030 = datetime(2020, 8, 8, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # ISO 8601
        ("2020-08-08", AUG8),
        ("2020-08-08T10:30:00Z", AUG8_1030),
        ("2020-08-08T10:30:00z", AUG8_1030),
        ("2020-08-08T13:30:00+03:00", AUG8_1030),
        ("2020-08-08T05:30:00-05:00", AUG8_1030),
        ("2020-08-08T13:30:00+0300", AUG8_1030),
        ("2020-08-08T10:30:00.250Z", AUG8_1030 + timedelta(milliseconds=250)),
        ("2020-08-08T10:30:00.123456789Z", AUG8_1030 + timedelta(microseconds=123456)),
        ("20200808T103000Z", AUG8_1030),
        ("  2020-08-08T10:30:00Z \n", AUG8_1030),
        # naive date-times are UTC
        ("2020-08-08 10:30:00", AUG8_1030),
        ("2020-08-08 10:30", AUG8_1030),
        ("2020-08-08 10:30:00 UTC", AUG8_1030),
        ("2020-8-8", AUG8),
        ("2020/08/08", AUG8),
        ("2020/08/08 10:30", AUG8_1030),
        # RFC 2822
        ("Sat, 08 Aug 2020 13:30:00 +0300", AUG8_1030),
        ("Sat, 08 Aug 2020 10:30:00 GMT", AUG8_1030),
        ("8 Aug 2020 10:30:00 -0000", AUG8_1030),
        ("Sat, 08 Aug 2020 06:30:00 EDT", AUG8_1030),
        # Arabic month names, Egyptian/Gulf
        ("8 أغسطس 2020", AUG8),
        ("8 اغسطس 2020", AUG8),
        ("08 أغسطس 2020", AUG8),
        ("8 أغسطس، 2020", AUG8),
        ("السبت 8 أغسطس 2020 - 10:30", AUG8_1030),
        ("السبت، 8 أغسطس 2020 الساعة 10:30", AUG8_1030),
        ("8 أغسطس 2020 10:30 ص", AUG8_1030),
        ("8 أغسطس 2020 10:30 مساءً", AUG8_1030 + timedelta(hours=12)),
        ("8 أغسطس 2020م", AUG8),
        ("8 أغسطس 2020 13:30 +03:00", AUG8_1030),
        ("8 أغسطس 2020 10:30 بتوقيت غرينتش", AUG8_1030),
        ("\u200f8 أغسطس 2020\u200f", AUG8),
        # Levantine/Iraqi, alone and paired
        ("8 آب 2020", AUG8),
        ("8 أغسطس/ آب 2020", AUG8),
        ("8 آب (أغسطس) 2020", AUG8),
        ("السبت 8 آب/أغسطس 2020 - 10:30", AUG8_1030),
        # English
        ("8 August 2020", AUG8),
        ("Aug 8, 2020", AUG8),
        ("August 8th, 2020", AUG8),
        ("Saturday, August 8, 2020 10:30 AM", AUG8_1030),
        ("Aug. 8, 2020, 10:30 p.m.", AUG8_1030 + timedelta(hours=12)),
        # Eastern Arabic digits (Arabic-Indic and Persian)
        ("٨ أغسطس ٢٠٢٠", AUG8),
        ("۸ اغسطس ۲۰۲۰", AUG8),
        ("٢٠٢٠-٠٨-٠٨ ١٠:٣٠", AUG8_1030),
        ("السبت ٨ آب ٢٠٢٠ - ١٠:٣٠", AUG8_1030),
        # numeric day/month only when unambiguous
        ("13/08/2020", datetime(2020, 8, 13, tzinfo=UTC)),
        ("08/13/2020", datetime(2020, 8, 13, tzinfo=UTC)),
        ("08/08/2020", AUG8),
        ("13.08.2020 10:30", datetime(2020, 8, 13, 10, 30, tzinfo=UTC)),
        # unix epoch
        (1596882600, AUG8_1030),
        (1596882600.5, AUG8_1030 + timedelta(milliseconds=500)),
        (1596882600000, AUG8_1030),
        ("1596882600", AUG8_1030),
        ("1596882600000", AUG8_1030),
        # Python objects
        (datetime(2020, 8, 8, 10, 30), AUG8_1030),
        (datetime(2020, 8, 8, 13, 30, tzinfo=timezone(timedelta(hours=3))), AUG8_1030),
        (date(2020, 8, 8), AUG8),
    ],
)
def test_accepted_forms(value: object, expected: datetime) -> None:
    parsed = parse_date(value)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("name", "month"),
    [
        ("يناير", 1),
        ("فبراير", 2),
        ("مارس", 3),
        ("أبريل", 4),
        ("ابريل", 4),
        ("إبريل", 4),
        ("مايو", 5),
        ("يونيو", 6),
        ("يونيه", 6),
        ("يوليو", 7),
        ("يوليه", 7),
        ("أغسطس", 8),
        ("اغسطس", 8),
        ("سبتمبر", 9),
        ("أكتوبر", 10),
        ("اكتوبر", 10),
        ("نوفمبر", 11),
        ("ديسمبر", 12),
        ("كانون الثاني", 1),
        ("شباط", 2),
        ("آذار", 3),
        ("نيسان", 4),
        ("أيار", 5),
        ("حزيران", 6),
        ("تموز", 7),
        ("آب", 8),
        ("أيلول", 9),
        ("تشرين الأول", 10),
        ("تشرين الثاني", 11),
        ("كانون الأول", 12),
    ],
)
def test_every_arabic_month(name: str, month: int) -> None:
    assert parse_date(f"15 {name} 2019") == datetime(2019, month, 15, tzinfo=UTC)
    assert parse_date(f"١٥ {name} ٢٠١٩ - ٠٩:٠٥") == datetime(2019, month, 15, 9, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        # ambiguous: never guessed
        "03/04/2020",
        "3-4-2020",
        "8 Aug 20",
        "أغسطس 2020",
        "2020",
        "8 أغسطس",
        # contradictions
        "الأحد 8 أغسطس 2020",
        "Sun, 08 Aug 2020 10:30:00 +0300",
        "8 أغسطس/ أيلول 2020",
        # out of range
        "2020-02-30",
        "30 فبراير 2020",
        "29 February 2019",
        "31/04/2020",
        "2020-08-08 25:00",
        "8 August 2020 10:61",
        "13:30 PM 8 Aug 2020",
        "8 August 2020 10:30 +25:00",
        # free text and unknown zones
        "",
        "   ",
        "قبل ساعتين",
        "yesterday",
        "نشر في 8 أغسطس 2020",
        "8 أغسطس 2020 10:30 بتوقيت مكة",
        "8 ذو الحجة 1441",
        "8 أغسطس 2020 10:30 11:30",
        "12345678901",
        "1596882600 seconds",
        "x" * 500,
        # not dates at all
        None,
        True,
        float("nan"),
        float("inf"),
        [2020, 8, 8],
        b"\xff\xfe",
    ],
)
def test_rejected(value: object) -> None:
    assert parse_date(value) is None


def test_leap_day() -> None:
    assert parse_date("29 فبراير 2020") == datetime(2020, 2, 29, tzinfo=UTC)
    assert parse_date("29 شباط 2021") is None


# ------------------------------------------------------------- properties

ARABIC_MONTHS = [
    ["يناير", "كانون الثاني"],
    ["فبراير", "شباط"],
    ["مارس", "آذار"],
    ["أبريل", "نيسان", "ابريل", "إبريل"],
    ["مايو", "أيار"],
    ["يونيو", "حزيران", "يونيه"],
    ["يوليو", "تموز", "يوليه"],
    ["أغسطس", "آب", "اغسطس"],
    ["سبتمبر", "أيلول"],
    ["أكتوبر", "تشرين الأول", "اكتوبر"],
    ["نوفمبر", "تشرين الثاني"],
    ["ديسمبر", "كانون الأول"],
]
WEEKDAYS = ["الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"]
EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=300, deadline=None)
@given(moment=moments, data=st.data())
def test_arabic_forms_round_trip(moment: datetime, data: st.DataObject) -> None:
    names = ARABIC_MONTHS[moment.month - 1]
    month = data.draw(st.sampled_from(names))
    if data.draw(st.booleans()):
        month = f"{month}/ {data.draw(st.sampled_from(names))}"
    text = f"{moment.day} {month} {moment.year} - {moment.hour:02d}:{moment.minute:02d}"
    if data.draw(st.booleans()):
        text = f"{WEEKDAYS[moment.weekday()]} {text}"
    if data.draw(st.booleans()):
        text = text.translate(EASTERN)
    assert parse_date(text) == moment.replace(second=0)


@settings(max_examples=300, deadline=None)
@given(moment=moments, offset_minutes=st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 15))
def test_machine_forms_round_trip(moment: datetime, offset_minutes: int) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    local = moment.astimezone(zone)
    assert parse_date(local.isoformat()) == moment
    assert parse_date(email.utils.format_datetime(local)) == moment
    assert (
        parse_date(local.replace(tzinfo=None).isoformat(sep=" "))
        == moment.replace(tzinfo=None).replace(tzinfo=UTC) + local.utcoffset()
    )  # type: ignore[operator]
    if moment.year >= 1970:
        assert parse_date(int(moment.timestamp())) == moment
        assert parse_date(str(int(moment.timestamp() * 1000)).zfill(13)) == moment


@given(day=st.integers(1, 12), month=st.integers(1, 12), year=st.integers(1900, 2100))
def test_swappable_numeric_dates_are_never_guessed(day: int, month: int, year: int) -> None:
    result = parse_date(f"{day:02d}/{month:02d}/{year}")
    if day == month:
        assert result == datetime(year, month, day, tzinfo=UTC)
    else:
        assert result is None
