"""Turning input bytes into text, with a small, fixed set of encodings.

Supported: UTF-8 (with or without a byte-order mark), UTF-16 LE/BE with a
byte-order mark, and windows-1256 (cp1256), the legacy Arabic code page that
older news archives still use. Statistical guessers are slow and unreliable on
short Arabic text, so detection is a short rule written out here:

1. A byte-order mark decides: EF BB BF is UTF-8, FF FE is UTF-16 LE, FE FF is
   UTF-16 BE. UTF-16 without a BOM is not supported (it fails rule 2).
2. The sample must look like text: C0 control characters other than tab,
   newline, carriage return, form feed and vertical tab (NUL included) may make
   up at most 1% of its characters. Binary files and BOM-less UTF-16 fail here.
3. If at least 90% of the sample's non-ASCII bytes form valid UTF-8
   sequences, the input is UTF-8; the few invalid bytes are errors of the lines
   or records that hold them, not of the file. (windows-1256 Arabic letters
   are bytes C1-FF and almost never followed by the 80-BF continuation bytes
   UTF-8 needs, so such text is nowhere near that share.) Pure ASCII is UTF-8.
4. Otherwise the bytes are read as windows-1256, and accepted only if Arabic
   letters make up at least half of all letters (`str.isalpha`) on the lines
   of the decoded sample that contain non-ASCII bytes (ASCII-only lines read
   the same in every encoding, so they are left out). Western text in
   another legacy code page (latin-1, cp1252…) decodes as cp1256 into mostly
   Latin letters and is refused, as is random binary.
5. Anything else is an error naming the file and what was tried.

A string of a few bytes can satisfy rule 3 by chance (`س،` in cp1256 is the
valid UTF-8 for `ӡ`); detection needs a line or two of real text to be sure.

The sample is at most `SAMPLE_CHARS` characters from the first chunk that has
non-ASCII bytes; the rule does not depend on file size.

Decoded text is never altered: newlines are not translated, so offsets into it
match `open(path, encoding=encoding, newline="")` with the returned name.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from khabar.errors import KhabarError, Problem, ProblemSink

CHUNK_SIZE = 1 << 20
"""Bytes read at a time by the streaming decoder."""

SAMPLE_CHARS = 1 << 16
"""Characters of decoded text the detection statistics look at."""

MIN_ARABIC_SHARE = 0.5
MIN_UTF8_SHARE = 0.9
MAX_CONTROL_SHARE = 0.01

UTF8 = "utf-8"
UTF8_SIG = "utf-8-sig"
UTF16 = "utf-16"
CP1256 = "cp1256"

_BOMS: tuple[tuple[bytes, str, str], ...] = (
    # (mark, codec that reproduces `open(..., encoding=name)`, codec for the body)
    (codecs.BOM_UTF8, UTF8_SIG, UTF8),
    (codecs.BOM_UTF16_LE, UTF16, "utf-16-le"),
    (codecs.BOM_UTF16_BE, UTF16, "utf-16-be"),
)

# Letters of the Arabic script blocks (basic, supplement, extended-A, both
# presentation-form blocks); `isalpha` is checked separately, so digits,
# punctuation and harakat inside these ranges do not count.
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f]")
_UNDECODABLE = re.compile("[\ud800-\udfff]")
_ASCII_BYTES = bytes(range(128))

_ERROR_HANDLER = "khabar-mark-undecodable"
_error_count = [0]


def _mark_undecodable(exc: UnicodeError) -> tuple[str, int]:
    # Each bad byte becomes a lone surrogate (as `surrogateescape` does), which
    # no successfully decoded text can contain; lines or records holding one are
    # reported and skipped instead of failing the whole file. The counter lets
    # callers skip the search entirely while a file decodes cleanly.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _error_count[0] += 1
    bad = exc.object[exc.start : exc.end]
    return "".join(chr(0xDC00 + b) for b in bad), exc.end


codecs.register_error(_ERROR_HANDLER, _mark_undecodable)


class DecodeError(KhabarError):
    """A file (or the start of one) in none of the supported encodings."""

    def __init__(self, name: str, message: str, line: int | None = None) -> None:
        self.name = name
        self.line = line
        self.reason = message
        where = name if line is None else f"{name}:{line}"
        super().__init__(f"{where}: {message}")


def has_undecodable(text: str, start: int = 0, end: int | None = None) -> bool:
    """True when `text[start:end]` holds bytes the decoder could not decode."""
    return _UNDECODABLE.search(text, start, len(text) if end is None else end) is not None


def arabic_share(text: str) -> float:
    """Share of Arabic letters among all letters of `text` (0.0 when it has none)."""
    letters = len(_LETTER.findall(text))
    if not letters:
        return 0.0
    arabic = sum(1 for ch in _ARABIC.findall(text) if ch.isalpha())
    return arabic / letters


def _check_textlike(text: str, name: str, encoding: str) -> None:
    sample = text[:SAMPLE_CHARS]
    if not sample:
        return
    controls = len(_CONTROL.findall(sample))
    if controls > MAX_CONTROL_SHARE * len(sample):
        raise DecodeError(
            name,
            f"does not look like text ({controls} control characters in the first "
            f"{len(sample)} read as {encoding}): binary, or UTF-16 without a byte-order mark?",
        )


def _decide(sample: bytes, name: str, final: bool) -> str | None:
    """Encoding of a BOM-less sample, or None while it is all ASCII and more may follow.

    `final` says the sample is the whole rest of the input, so a multi-byte
    character cut at its end is an error rather than a chunk boundary.
    """
    if sample.isascii():
        _check_textlike(sample[:SAMPLE_CHARS].decode("ascii"), name, UTF8)
        return UTF8 if final else None
    text = codecs.getincrementaldecoder(UTF8)(_ERROR_HANDLER).decode(sample, final=final)
    first_bad = _UNDECODABLE.search(text)
    if first_bad is None:
        _check_textlike(text, name, UTF8)
        return UTF8
    bad = len(_UNDECODABLE.findall(text))
    non_ascii = len(sample.translate(None, _ASCII_BYTES))
    if bad <= (1 - MIN_UTF8_SHARE) * non_ascii:
        _check_textlike(text, name, UTF8)
        return UTF8
    utf8_line = text.count("\n", 0, first_bad.start()) + 1
    text = sample[: SAMPLE_CHARS * 4].decode(CP1256)
    _check_textlike(text, name, CP1256)
    # ASCII-only lines (a CSV header, a column of URLs) read the same in every
    # encoding and say nothing about this one: only lines with other bytes count.
    evidence = "\n".join(line for line in text.split("\n") if not line.isascii())
    share = arabic_share(evidence[:SAMPLE_CHARS])
    if share >= MIN_ARABIC_SHARE:
        return CP1256
    raise DecodeError(
        name,
        f"cannot decode: not UTF-8 ({bad} of {non_ascii} non-ASCII bytes invalid, the "
        f"first on line {utf8_line}), no UTF-16 "
        f"byte-order mark, and not windows-1256 Arabic (read that way only "
        f"{share:.0%} of its letters are Arabic)",
    )


def detect_encoding(data: bytes, name: str = "<bytes>") -> str:
    """The codec name for `data`, decided by the rule in the module docstring.

    Raises `DecodeError` when the bytes are in none of the supported encodings.
    """
    for bom, codec, _body in _BOMS:
        if data.startswith(bom):
            return codec
    encoding = _decide(data, name, final=True)
    assert encoding is not None
    return encoding


def decode_bytes(data: bytes, name: str = "<bytes>") -> tuple[str, str]:
    """Decode a whole input: `(text, encoding)`.

    `encoding` is a Python codec name such that
    `open(path, encoding=encoding, newline="").read() == text`: `utf-8`,
    `utf-8-sig`, `utf-16` or `cp1256`. The byte-order mark is not part of the
    text. Raises `DecodeError` (a `KhabarError`) for anything undecodable,
    naming the line of the first bad byte when there is one.
    """
    encoding = detect_encoding(data, name)
    body, body_codec = data, encoding
    for bom, codec, codec_after_bom in _BOMS:
        if codec == encoding and data.startswith(bom):
            body, body_codec = data[len(bom) :], codec_after_bom
            break
    try:
        text = body.decode(body_codec)
    except UnicodeDecodeError as exc:
        # Count lines in decoded text: a UTF-16 newline is two bytes.
        line = body[: exc.start].decode(body_codec, errors="replace").count("\n") + 1
        raise DecodeError(name, f"cannot decode as {encoding}: {exc.reason}", line) from exc
    _check_textlike(text, name, encoding)
    return text, encoding


class StreamDecoder:
    """Incremental decoding of a binary stream that may be far larger than memory.

    The encoding is decided on the first chunk that contains non-ASCII bytes
    (until then every supported encoding reads the same text), or by a
    byte-order mark. Afterwards undecodable bytes do not stop the stream: they
    come out as lone surrogates (see `has_undecodable`) so that the caller can
    drop the one line or record that holds them.
    """

    def __init__(self, stream: BinaryIO, name: str, chunk_size: int | None = None) -> None:
        self.stream = stream
        self.name = name
        self.chunk_size = chunk_size or CHUNK_SIZE
        self.encoding: str | None = None
        """Decided codec name (as `decode_bytes` returns it), None until known."""
        self.dirty = False
        """Whether any undecodable byte has been met so far."""
        self._read = getattr(stream, "read1", stream.read)
        self._failure: BaseException | None = None

    def _read_full(self, size: int) -> bytes:
        """Exactly `size` bytes unless the input ends first.

        Detection must know whether it saw the end of the input or only the end
        of one short read. Reading with `read1` and holding back an error (a
        truncated gzip stream) until the bytes before it are used means
        everything readable before the damage still comes through.
        """
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        parts: list[bytes] = []
        got = 0
        while got < size:
            try:
                data = self._read(size - got)
            except (EOFError, OSError, zlib.error) as exc:
                if not parts:
                    raise
                self._failure = exc
                break
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def chunks(self) -> Iterator[str]:
        """Decoded text, chunk by chunk; raises `DecodeError` if the encoding is unsupported."""
        size = self.chunk_size
        data = self._read_full(max(size, 4))  # a BOM must fit in the first read
        decoder = None
        for bom, codec, codec_after_bom in _BOMS:
            if data.startswith(bom):
                self.encoding = codec
                decoder = codecs.getincrementaldecoder(codec_after_bom)(errors=_ERROR_HANDLER)
                data = data[len(bom) :]
                break
        while True:
            if decoder is None:
                # Undecided: everything before this chunk was ASCII, which reads
                # the same in every supported encoding.
                final = len(data) < size
                if not final and not data.isascii():
                    # Complete a multi-byte character cut by the chunk boundary
                    # so that the UTF-8 test is not fooled by the cut.
                    more = self._read_full(4)
                    data += more
                    final = len(more) < 4
                encoding = _decide(data, self.name, final=final)
                if encoding is None:
                    if data:
                        yield data.decode("ascii")
                    data = self._read_full(size)
                    continue
                self.encoding = encoding
                decoder = codecs.getincrementaldecoder(encoding)(errors=_ERROR_HANDLER)
            before = _error_count[0]
            text = decoder.decode(data, final=not data)
            if _error_count[0] != before:
                self.dirty = True
            if text:
                yield text
            if not data:
                return
            data = self._read_full(size)

    def lines(
        self, on_problem: ProblemSink | None = None, keep_newlines: bool = True
    ) -> Iterator[tuple[int, str]]:
        """`(line_number, line)` pairs, numbered from 1.

        Lines split on `\\n` only, so a `\\r\\n` stays together and, with
        `keep_newlines`, each line ends exactly as in the file (what iterating
        a file opened with `newline=""` gives for `\\n` and `\\r\\n` files).
        Without it the `\\n` is dropped (and any `\\r` before it kept). A line
        holding undecodable bytes is reported as a `decode` problem and skipped.
        """
        number = 0
        carry = ""
        end = "\n" if keep_newlines else ""
        for chunk in self.chunks():
            parts = chunk.split("\n")
            parts[0] = carry + parts[0]
            carry = parts.pop()
            for part in parts:
                number += 1
                if self.dirty and _UNDECODABLE.search(part):
                    self._report(on_problem, number)
                    continue
                yield number, part + end if keep_newlines else part
        if carry:
            number += 1
            if self.dirty and _UNDECODABLE.search(carry):
                self._report(on_problem, number)
            else:
                yield number, carry

    def _report(self, on_problem: ProblemSink | None, line: int) -> None:
        if on_problem is not None:
            on_problem(
                Problem(
                    self.name,
                    line,
                    "decode",
                    f"line skipped: bytes that are not valid {self.encoding or UTF8}",
                )
            )


def iter_lines(
    stream: BinaryIO,
    name: str,
    on_problem: ProblemSink | None = None,
    chunk_size: int | None = None,
    keep_newlines: bool = True,
) -> Iterator[tuple[int, str]]:
    """Stream `(line_number, line)` from a binary stream; see `StreamDecoder.lines`.

    Raises `DecodeError` when the stream is in no supported encoding (decided on
    its first non-ASCII chunk); single bad lines are reported and skipped.
    """
    return StreamDecoder(stream, name, chunk_size).lines(on_problem, keep_newlines)
