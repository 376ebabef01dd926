from __future__ import annotations

import codecs
import io
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khabar.errors import KhabarError, Problem
from khabar.io import decode
from khabar.io.decode import DecodeError, StreamDecoder, decode_bytes, iter_lines

ARABIC = (
    "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في مدينة الرياض\r\n"
    "وقال المتحدث الرسمي إن المشروع يخدم مليون نسمة.\nنهاية الخبر"
)
MIXED_NEWLINES = "سطر أول\r\nسطر ثان\nسطر ثالث\rسطر رابع\r\n\r\nبلا نهاية"

ENCODINGS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-8-sig": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    "utf-16-le": lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    "utf-16-be": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    "cp1256": lambda text: text.encode("cp1256"),
}
EXPECTED_NAME = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf-16-le": "utf-16",
    "utf-16-be": "utf-16",
    "cp1256": "cp1256",
}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("text", [ARABIC, MIXED_NEWLINES])
def test_decode_bytes_each_encoding_matches_open(tmp_path: Path, encoding: str, text: str) -> None:
    data = ENCODINGS[encoding](text)
    path = tmp_path / "doc.txt"
    path.write_bytes(data)
    decoded, name = decode_bytes(data, str(path))
    assert decoded == text
    assert name == EXPECTED_NAME[encoding]
    # Offsets into the text must be offsets into what `open` returns.
    with open(path, encoding=name, newline="") as handle:
        assert handle.read() == decoded


def test_short_cp1256_arabic_is_detected() -> None:
    assert decode_bytes("مرحبا".encode("cp1256")) == ("مرحبا", "cp1256")
    assert decode_bytes("خبر عاجل".encode("cp1256")) == ("خبر عاجل", "cp1256")


def test_cp1256_with_some_latin_is_still_arabic() -> None:
    text = "أعلنت شركة Apple عن هاتف iPhone الجديد في مؤتمر صحفي اليوم"
    assert decode_bytes(text.encode("cp1256")) == (text, "cp1256")


@pytest.mark.parametrize(
    "data",
    [
        "Le café était très animé à Montréal, où l'été dure peu.".encode("latin-1"),
        "El niño comió piña en la montaña, según él mañana también.".encode("cp1252"),
        "Größere Änderungen für Übersetzungen müssen geprüft werden.".encode("cp1252"),
    ],
)
def test_western_legacy_code_pages_are_refused(data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        decode_bytes(data, "west.txt")
    message = str(info.value)
    assert message.startswith("west.txt")
    assert "windows-1256" in message and "UTF-8" in message
    assert "\n" not in message
    assert isinstance(info.value, KhabarError)


def test_binary_and_bomless_utf16_are_refused() -> None:
    noise = random.Random(7).randbytes(50_000)
    with pytest.raises(DecodeError):
        decode_bytes(noise, "noise.bin")
    with pytest.raises(DecodeError, match="UTF-16 without a byte-order mark"):
        decode_bytes("plain english text here".encode("utf-16-le"), "u16.txt")
    with pytest.raises(DecodeError):
        decode_bytes(ARABIC.encode("utf-16-le"), "u16ar.txt")


def test_bad_byte_in_utf8_file_names_the_line() -> None:
    data = ("سطر أول\nسطر ثان\n".encode() + b"bad \xff byte\n" + "سطر رابع\n".encode()) * 3
    with pytest.raises(DecodeError) as info:
        decode_bytes(data, "doc.txt")
    assert info.value.line == 3
    assert str(info.value).startswith("doc.txt:3:")


def test_truncated_utf16_is_an_error() -> None:
    data = codecs.BOM_UTF16_LE + "نص".encode("utf-16-le") + b"\x00"
    with pytest.raises(DecodeError):
        decode_bytes(data, "odd.txt")


def test_empty_input_is_utf8() -> None:
    assert decode_bytes(b"") == ("", "utf-8")
    assert decode_bytes(codecs.BOM_UTF8) == ("", "utf-8-sig")


def test_arabic_share_counts_letters_only() -> None:
    assert decode.arabic_share("") == 0.0
    assert decode.arabic_share("١٢٣ ، ؟") == 0.0
    assert decode.arabic_share("abc عرب") == 0.5
    assert decode.arabic_share("مَرْحَبًا") == 1.0  # harakat are not letters


# --------------------------------------------------------------- streaming


def _lines(data: bytes, chunk_size: int, **kw: object) -> tuple[list[tuple[int, str]], list]:
    problems: list[Problem] = []
    got = list(iter_lines(io.BytesIO(data), "f.jsonl", problems.append, chunk_size, **kw))
    return got, problems


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, 1 << 20])
def test_lines_every_encoding_and_chunk_boundary(encoding: str, chunk_size: int) -> None:
    data = ENCODINGS[encoding](MIXED_NEWLINES)
    got, problems = _lines(data, chunk_size)
    assert problems == []
    assert [n for n, _ in got] == list(range(1, len(got) + 1))
    assert "".join(line for _, line in got) == MIXED_NEWLINES
    # Split on "\n" only: the lone "\r" in line 3 does not end a line.
    *complete, last = MIXED_NEWLINES.split("\n")
    assert [line for _, line in got] == [line + "\n" for line in complete] + [last]


def test_lines_without_newlines_keep_carriage_returns() -> None:
    got, _ = _lines("a\r\nب\nc".encode(), 2, keep_newlines=False)
    assert got == [(1, "a\r"), (2, "ب"), (3, "c")]


@pytest.mark.parametrize("chunk_size", [1, 5, 1 << 20])
def test_bad_utf8_line_is_reported_and_skipped(chunk_size: int) -> None:
    good = "خبر رقم {} عن الاقتصاد والسياسة\n"
    data = b"".join(
        (b"bad \xc3\x28 line\n" if i == 4 else good.format(i).encode()) for i in range(1, 9)
    )
    got, problems = _lines(data, chunk_size)
    assert [n for n, _ in got] == [1, 2, 3, 5, 6, 7, 8]
    assert got[3][1] == good.format(5)
    assert [(p.file, p.line, p.reason) for p in problems] == [("f.jsonl", 4, "decode")]
    assert str(problems[0]).startswith("f.jsonl:4: ")


def test_bad_last_line_without_newline() -> None:
    got, problems = _lines("سطر\n".encode() * 20 + b"\xff", 4)
    assert len(got) == 20
    assert [(p.line, p.reason) for p in problems] == [(21, "decode")]


def test_utf16_surrogate_pairs_and_broken_unit() -> None:
    text = "emoji 😀 هنا\nسطر ثان 🙂\n"
    data = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    for chunk_size in (1, 3, 1 << 20):
        got, problems = _lines(data, chunk_size)
        assert "".join(line for _, line in got) == text and problems == []
    broken = (
        codecs.BOM_UTF16_LE
        + "سطر\n".encode("utf-16-le")
        + b"\x3d\xd8"
        + "x\n".encode("utf-16-le")
        + "آخر\n".encode("utf-16-le")
    )
    got, problems = _lines(broken, 3)
    assert [line for _, line in got] == ["سطر\n", "آخر\n"]
    assert [(p.line, p.reason) for p in problems] == [(2, "decode")]


@pytest.mark.parametrize("chunk_size", [8, 64, 1 << 20])
def test_ascii_prefix_then_cp1256_switches_encoding(chunk_size: int) -> None:
    # Everything is ASCII until line 40: the choice waits for the first non-ASCII chunk.
    text = "".join(f"id-{i},plain ascii row\n" for i in range(40)) + ARABIC + "\n"
    stream = StreamDecoder(io.BytesIO(text.encode("cp1256")), "late.csv", chunk_size)
    assert "".join(stream.chunks()) == text
    assert stream.encoding == "cp1256"


def test_ascii_prefix_then_utf8() -> None:
    text = "x" * 100 + "\n" + ARABIC
    stream = StreamDecoder(io.BytesIO(text.encode()), "late.txt", 16)
    assert "".join(stream.chunks()) == text
    assert stream.encoding == "utf-8"


def test_stream_refuses_undecodable_start() -> None:
    data = "Le café était très animé, où l'été dure peu.\n".encode("latin-1") * 50
    with pytest.raises(DecodeError, match=r"latin|windows-1256"):
        list(iter_lines(io.BytesIO(data), "west.jsonl"))


def test_utf8_with_rare_bad_bytes_is_not_mistaken_for_cp1256() -> None:
    # UTF-8 Arabic read as cp1256 is mostly Arabic-looking letters, so a file
    # with one broken byte must still be UTF-8 (rule 3), not mojibake.
    data = ("خبر عن الاقتصاد والسياسة في المنطقة\n" * 30).encode() + b"\xff\n"
    got, problems = _lines(data, 1 << 20)
    assert got[0][1] == "خبر عن الاقتصاد والسياسة في المنطقة\n"
    assert len(got) == 30 and [p.line for p in problems] == [31]


arabic_letters = st.sampled_from(list("ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئةى"))
words = st.lists(arabic_letters, min_size=2, max_size=9).map("".join)
arabic_text = st.lists(
    st.one_of(words, st.sampled_from([" ", "\n", "\r\n", " 2020 ", ". ", " - "])),
    min_size=2,
    max_size=60,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=arabic_text, encoding=st.sampled_from(sorted(ENCODINGS)), chunk=st.integers(1, 40))
def test_roundtrip_property(text: str, encoding: str, chunk: int) -> None:
    if not any("\u0600" <= ch <= "\u06ff" for ch in text):
        text += " خبر"
    data = ENCODINGS[encoding](text)
    assert decode_bytes(data) == (text, EXPECTED_NAME[encoding])
    got, problems = _lines(data, chunk)
    assert problems == [] and "".join(line for _, line in got) == text
