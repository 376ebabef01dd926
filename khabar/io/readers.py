"""Reading article collections into `Document`s, one record at a time.

Every reader streams: memory depends on the size of one record (or one
Parquet batch), never on the size of a file, so a multi-gigabyte JSONL file
is fine. Bad input never raises: each bad record, line or file becomes a
`Problem` handed to `on_problem` (and counted on the returned stream), and
reading goes on with the next one.

Formats, chosen by extension: `.jsonl`/`.ndjson`, `.json` (an array, streamed
element by element, or JSON lines), `.csv`, `.tsv`, `.parquet`, `.txt` (one
file, one document), any of them compressed as `.gz`, `.zip` archives (each
member by its own extension), and directories, walked recursively.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import html
import io
import json
import os
import posixpath
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import date as date_type
from pathlib import Path
from typing import IO, Any

from khabar.document import Document
from khabar.errors import KhabarError, Problem, ProblemLog, ProblemSink
from khabar.io.dates import parse_date
from khabar.io.decode import CHUNK_SIZE, DecodeError, StreamDecoder, decode_bytes, has_undecodable
from khabar.pickling import fast_pickle

__all__ = ["SUPPORTED_EXTENSIONS", "DocumentStream", "Fields", "InputPart", "LineChunk",
           "input_parts", "parse_chunk", "read", "read_deferred", "read_part"]

SUPPORTED_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".txt", ".zip")
"""Recognised file types; each but `.zip` may also be compressed as `NAME.EXT.gz`."""

_KINDS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".txt": "txt",
    ".zip": "zip",
}

PARQUET_BATCH_ROWS = 2048

# A stray quote in a CSV file makes the rest of the file one field; this caps
# how much of it is held before the csv module reports the row instead. No
# article comes near 16 million characters.
CSV_FIELD_LIMIT = 1 << 24

METADATA_CSV = "metadata.csv"
SIDECAR_SUFFIX = ".meta.json"


@fast_pickle
@dataclass(frozen=True, slots=True)
class Fields:
    """Names of the input fields (JSON keys, CSV columns) that feed `Document`.

    Any other field of a record is kept in `Document.meta` under its own name.
    """

    id: str = "id"
    text: str = "text"
    title: str = "title"
    source: str = "source"
    date: str = "date"
    url: str = "url"

    def __post_init__(self) -> None:
        names = self.names()
        if any(not isinstance(n, str) or not n for n in names):
            raise KhabarError(f"field names must be non-empty strings: {names}")
        if len(set(names)) != len(names):
            raise KhabarError(f"two document fields read the same input field: {names}")

    def names(self) -> tuple[str, ...]:
        """The six input names in the order id, text, title, source, date, url."""
        return (self.id, self.text, self.title, self.source, self.date, self.url)

    @classmethod
    def parse(cls, specs: str | Iterable[str]) -> Fields:
        """Build from `FIELD=NAME` items (`"text=body,title=headline"` or a list of them)."""
        items = specs.split(",") if isinstance(specs, str) else list(specs)
        known = {f.name for f in dataclass_fields(cls)}
        chosen: dict[str, str] = {}
        for item in items:
            if not item.strip():
                continue
            key, sep, name = item.partition("=")
            key, name = key.strip(), name.strip()
            if not sep or not name:
                raise KhabarError(f"field option {item!r} is not FIELD=NAME (e.g. text=body)")
            if key not in known:
                raise KhabarError(
                    f"unknown field {key!r} in {item!r}; fields are: {', '.join(sorted(known))}"
                )
            chosen[key] = name
        return cls(**chosen)


@dataclass(slots=True)
class _Source:
    """One file to read, wherever it lives (a path, a directory, an archive)."""

    display: str
    """How problems and `Document.origin` name it."""
    key: str
    """Its path relative to the input the user named: the base of generated ids."""
    name: str
    """File name whose extension decides the format."""
    opener: Callable[[], IO[bytes]]
    path: Path | None = None
    """A real file on disk, when there is one (zip and Parquet want random access)."""
    extra: dict[str, Any] | None = None
    """Metadata from sidecar files, for `.txt` documents read from a directory."""



def _readable(entries: dict[str, _Source]) -> Iterator[tuple[str, _Source, str]]:
    """(path, source, kind) of the files of a directory or archive khabar reads, in sorted
    order (metadata tables and sidecars are read with the texts they describe)."""
    for rel in sorted(entries):
        src = entries[rel]
        lower = src.name.lower()
        if lower == METADATA_CSV or lower.endswith(SIDECAR_SUFFIX):
            continue
        kind, _gz = _kind(src.name)
        if kind is not None:
            yield rel, src, kind

def _kind(name: str) -> tuple[str | None, bool]:
    lower = name.lower()
    gz = lower.endswith(".gz")
    if gz:
        lower = lower[:-3]
    for ext, kind in _KINDS.items():
        if lower.endswith(ext):
            return kind, gz
    return None, gz


def _one_line(text: object, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _hidden(name: str) -> bool:
    # Dot-files and the resource-fork folders macOS puts in zips are never articles.
    return name.startswith(".") or name == "__MACOSX"


def _as_paths(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


class DocumentStream(Iterator[Document]):
    """The iterator `read` returns; `problems` counts what went wrong so far."""

    def __init__(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        fields: Fields = Fields(),
        on_problem: ProblemSink | None = None,
    ) -> None:
        self.fields = fields
        self.problems = ProblemLog()
        """Every problem met so far, counted by reason (also passed to `on_problem`)."""
        self._sink = on_problem
        self._docs = _Reader(fields, self._report).read_all(_as_paths(paths))

    def _report(self, problem: Problem) -> None:
        self.problems(problem)
        if self._sink is not None:
            self._sink(problem)

    def __iter__(self) -> DocumentStream:
        return self

    def __next__(self) -> Document:
        return next(self._docs)

    def close(self) -> None:
        """Stop reading and release the open file, if any."""
        self._docs.close()


def read(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    fields: Fields = Fields(),
    on_problem: ProblemSink | None = None,
) -> DocumentStream:
    """Stream the documents of one or more files or directories, lazily.

    `fields` names the input fields; `on_problem` receives each `Problem`
    (missing, format, decode, json, no-text, empty, corrupt, csv, io). With no
    `on_problem`, problems are only collected on the returned stream's
    `problems`. Nothing is opened before the first document is asked for.

    Ids: a record without one gets `<name>:<line>` (the row number for
    Parquet), where `<name>` is the file's path relative to the input given
    (its file name for a file given directly), `archive.zip!member` inside a
    zip. A `.txt` document's id is that path. Non-string ids go through str().

    Directories and zips are read recursively in sorted path order; hidden
    files, `__MACOSX`, and files of other types are skipped silently. A `.txt`
    file takes metadata from `NAME.meta.json` or `NAME.txt.meta.json` beside it
    and from a `metadata.csv` in its folder (rows matched on a `file` or `id`
    column holding its relative path, its file name, or that name without
    `.txt`); the sidecar wins where both set a field.
    """
    return DocumentStream(paths, fields, on_problem)


@fast_pickle
@dataclass(frozen=True, slots=True)
class LineChunk:
    """Complete lines of a UTF-8 JSON-lines file, read but not yet parsed.

    Reading bytes is cheap and sequential; parsing JSON and building documents
    is not, so `read_deferred` hands these to the runner, whose workers call
    `parse_chunk` on all cores.
    """

    display: str
    key: str
    first_line: int
    data: bytes


CHUNK_LINES = 2048
"""Most lines in one `LineChunk` (a runner numbers records inside a chunk in 12 bits)."""


def read_deferred(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    fields: Fields = Fields(),
    on_problem: ProblemSink | None = None,
) -> Iterator[Document | LineChunk]:
    """Like `read`, but UTF-8 JSON-lines files come as `LineChunk`s for `parse_chunk`.

    Every other input (other formats, other encodings) is read here as by `read`.
    """
    log = ProblemLog()

    def report(p: Problem) -> None:
        log(p)
        if on_problem is not None:
            on_problem(p)

    return _Reader(fields, report, defer=True).read_all(_as_paths(paths))


def parse_chunk(chunk: LineChunk, fields: Fields = Fields()
                ) -> tuple[list[Document], list[Problem]]:
    """The documents of a chunk and the problems of its bad lines, as `read` reports them."""
    problems: list[Problem] = []
    reader = _Reader(fields, problems.append)
    src = _Source(chunk.display, chunk.key, chunk.display, _no_opener)
    docs = []
    loads = json.loads
    lines = chunk.data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, raw in enumerate(lines):
        number = chunk.first_line + i
        if not raw or raw.isspace():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            reader.problem(src, number, "decode", "line skipped: bytes that are not valid utf-8")
            continue
        try:
            record = loads(line)
        except json.JSONDecodeError as exc:
            reader.problem(src, number, "json", f"broken JSON: {exc.msg} (column {exc.colno})")
            continue
        except (ValueError, RecursionError) as exc:
            reader.problem(src, number, "json", f"broken JSON: {exc}")
            continue
        doc = reader.document(record, src, number, f"{chunk.display}:{number}")
        if doc is not None:
            docs.append(doc)
    return docs, problems


TXT_PART_FILES = 4096
"""Most `.txt` files of one folder read by one task (`input_parts`)."""


@dataclass(frozen=True, slots=True)
class InputPart:
    """Files of the inputs that one task reads on its own (`read_part`).

    An input file itself (`rels` empty), or files of a directory input: one file, or
    `.txt` files of one folder with that folder's metadata files (`meta`). `given` is
    the input as the user named it (what problems, origins and generated ids say);
    `path` the same input made absolute on the driver, for executors whose working
    folder is elsewhere.
    """

    given: str
    path: str
    rels: tuple[str, ...] = ()
    meta: tuple[str, ...] = ()


def input_parts(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    fields: Fields = Fields(),
) -> Iterator[InputPart | Problem]:
    """The inputs of `read` as parts that can be read apart, in input order, and the
    problems of listing them (a missing path, a folder with nothing to read) in place.

    Reading every part with `read_part`, in this order, gives the documents and problems
    `read` gives. Only folders are listed here; no file is opened.
    """
    pending: list[Problem] = []
    for part in _Reader(fields, pending.append).parts(_as_paths(paths)):
        yield from pending
        pending.clear()
        yield part
    yield from pending


def read_part(part: InputPart, fields: Fields = Fields(), on_problem: ProblemSink | None = None,
              defer: bool = False) -> Iterator[Document | LineChunk]:
    """The documents of one part (`input_parts`); with `defer`, UTF-8 JSON lines come as
    `LineChunk`s for `parse_chunk`, as with `read_deferred`."""
    return _Reader(fields, on_problem or (lambda _p: None), defer=defer).read_part(part)


def _entry(root: Path, given: str, rel: str) -> _Source:
    full = Path(root, *rel.split("/"))
    return _Source(os.path.join(given, *rel.split("/")), rel, full.name, _file_opener(full), full)


def _text_part(given: str, root: str, texts: list[str], entries: dict[str, _Source]
               ) -> InputPart:
    meta = []
    for rel in texts:
        folder, name = posixpath.split(rel)
        stem = name[:-3] if name.lower().endswith(".gz") else name
        stem = stem[:-4] if stem.lower().endswith(".txt") else stem
        for candidate in (METADATA_CSV, f"{stem}{SIDECAR_SUFFIX}", f"{stem}.txt{SIDECAR_SUFFIX}",
                          f"{name}{SIDECAR_SUFFIX}"):
            other = posixpath.join(folder, candidate)
            if other in entries:
                meta.append(other)
    return InputPart(given, root, tuple(texts), tuple(dict.fromkeys(meta)))


def _no_opener() -> IO[bytes]:
    raise OSError("a parsed chunk has no file to open")


class _Reader:
    def __init__(self, fields: Fields, report: ProblemSink, defer: bool = False) -> None:
        self.fields = fields
        self.report = report
        self.defer = defer
        self._names = fields.names()
        self._drop_from_metadata = {fields.id, fields.text, "id", "file"}

    def problem(self, src: _Source | str, line: int | None, reason: str, message: str) -> None:
        file = src if isinstance(src, str) else src.display
        self.report(Problem(file, line, reason, _one_line(message)))

    # ----------------------------------------------------------------- dispatch

    def read_all(self, paths: list[str]) -> Iterator[Document]:
        for given in paths:
            path = Path(given)
            if path.is_dir():
                yield from self._directory(path, given)
            elif path.exists():
                src = _Source(given, path.name, path.name, _file_opener(path), path)
                yield from self._source(src, explicit=True)
            else:
                self.problem(given, None, "missing", "no such file or directory")

    def _source(self, src: _Source, explicit: bool) -> Iterator[Document]:
        kind, gz = _kind(src.name)
        if kind is None or (kind == "zip" and gz):
            if explicit:
                self.problem(
                    src,
                    None,
                    "format",
                    "unsupported file type: expected .jsonl, .ndjson, .json, .csv, .tsv, "
                    ".parquet or .txt (each optionally .gz), .zip, or a directory",
                )
            return
        cursor = _Cursor()
        try:
            if kind == "zip":
                yield from self._zip(src)
            elif kind == "parquet":
                yield from self._parquet(src, gz, cursor)
            else:
                with self._open(src, gz) as stream:
                    if kind == "jsonl" and self.defer:
                        yield from self._jsonl_chunks(stream, src, cursor)
                    elif kind == "jsonl":
                        yield from self._jsonl(stream, src, cursor)
                    elif kind == "json":
                        yield from self._json(stream, src, cursor)
                    elif kind in ("csv", "tsv"):
                        yield from self._csv(stream, src, "\t" if kind == "tsv" else ",", cursor)
                    else:
                        yield from self._txt(stream, src)
        except DecodeError as exc:
            self.problem(src, exc.line or cursor.line, "decode", exc.reason)
        except (
            EOFError,
            zlib.error,
            zipfile.BadZipFile,
            gzip.BadGzipFile,
            NotImplementedError,  # zip compression methods Python lacks
            _Corrupt,
        ) as exc:
            self.problem(src, cursor.line, "corrupt", f"unreadable {_describe(kind, gz)}: {exc}")
        except OSError as exc:
            self.problem(src, cursor.line, "io", f"cannot read: {exc.strerror or exc}")

    @contextlib.contextmanager
    def _open(self, src: _Source, gz: bool) -> Iterator[IO[bytes]]:
        with src.opener() as raw:
            if gz:
                with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                    yield unzipped
            else:
                yield raw

    @contextlib.contextmanager
    def _random_access(self, src: _Source, gz: bool) -> Iterator[str | IO[bytes] | None]:
        """A seekable form of the source: the file itself, or a temporary copy on disk."""
        if src.path is not None and not gz:
            yield None if src.path.stat().st_size == 0 else str(src.path)
            return
        with tempfile.TemporaryFile(prefix="khabar-") as tmp:
            with self._open(src, gz) as stream:
                shutil.copyfileobj(stream, tmp, CHUNK_SIZE)
            if tmp.tell() == 0:
                yield None
                return
            tmp.seek(0)
            yield tmp

    # ------------------------------------------------------------ containers

    def _directory(self, root: Path, given: str) -> Iterator[Document]:
        yield from self._container(self._listing(root, given), given)

    def _listing(self, root: Path, given: str) -> dict[str, _Source]:
        entries: dict[str, _Source] = {}

        def unreadable(exc: OSError) -> None:
            self.problem(exc.filename or given, None, "io", f"cannot list: {exc.strerror}")

        for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
            dirnames[:] = [d for d in dirnames if not _hidden(d)]
            for name in filenames:
                if _hidden(name):
                    continue
                rel = Path(dirpath, name).relative_to(root).as_posix()
                entries[rel] = _entry(root, given, rel)
        return entries

    # ------------------------------------------------------------ parts (for a cluster)

    def parts(self, paths: list[str]) -> Iterator[InputPart]:
        """The inputs as parts `read_part` reads on its own, in the order `read_all` reads
        them; listing problems are reported in between, where `read_all` meets them."""
        for given in paths:
            path = Path(given)
            if path.is_dir():
                yield from self._dir_parts(self._listing(path, given), given,
                                           str(path.resolve()))
            elif path.exists():
                yield InputPart(given, str(path.resolve()))
            else:
                self.problem(given, None, "missing", "no such file or directory")

    def _dir_parts(self, entries: dict[str, _Source], given: str, root: str
                   ) -> Iterator[InputPart]:
        # the selection of `_container`; .txt files of one folder go together so that its
        # metadata.csv is parsed once per part, not once per file
        texts: list[str] = []
        folder = None
        supported = 0
        for rel, _src, kind in _readable(entries):
            supported += 1
            here = posixpath.dirname(rel)
            if texts and (kind != "txt" or here != folder or len(texts) >= TXT_PART_FILES):
                yield _text_part(given, root, texts, entries)
                texts = []
            if kind == "txt":
                texts.append(rel)
                folder = here
            else:
                yield InputPart(given, root, (rel,))
        if texts:
            yield _text_part(given, root, texts, entries)
        if not supported:
            self.problem(given, None, "empty", "no readable files (.jsonl, .csv, .txt…) inside")

    def read_part(self, part: InputPart) -> Iterator[Document]:
        root = Path(part.path)
        if not part.rels:
            src = _Source(part.given, root.name, root.name, _file_opener(root), root)
            yield from self._source(src, explicit=True)
            return
        entries = {rel: _entry(root, part.given, rel) for rel in (*part.rels, *part.meta)}
        tables: dict[str, dict[str, dict[str, Any]]] = {}
        for rel in part.rels:
            src = entries[rel]
            if _kind(src.name)[0] == "txt":
                src.extra = self._metadata_for(rel, entries, tables)
            yield from self._source(src, explicit=False)

    def _zip(self, src: _Source) -> Iterator[Document]:
        with self._random_access(src, False) as target:
            if target is None:
                self.problem(src, None, "empty", "empty file")
                return
            with zipfile.ZipFile(target) as archive:
                entries: dict[str, _Source] = {}
                for info in archive.infolist():
                    parts = info.filename.split("/")
                    if info.is_dir() or any(_hidden(p) for p in parts):
                        continue
                    if info.flag_bits & 0x1:
                        self.problem(
                            f"{src.display}!{info.filename}",
                            None,
                            "corrupt",
                            "encrypted zip member: not read",
                        )
                        continue
                    entries[info.filename] = _Source(
                        f"{src.display}!{info.filename}",
                        f"{src.key}!{info.filename}",
                        parts[-1],
                        _member_opener(archive, info),
                    )
                yield from self._container(entries, src.display)

    def _container(self, entries: dict[str, _Source], display: str) -> Iterator[Document]:
        """Read every supported file of a directory or archive, in sorted order."""
        metadata_tables: dict[str, dict[str, dict[str, Any]]] = {}
        supported = 0
        for rel, src, kind in _readable(entries):
            supported += 1
            if kind == "txt":
                src.extra = self._metadata_for(rel, entries, metadata_tables)
            yield from self._source(src, explicit=False)
        if not supported:
            # Most likely a wrong path or a corpus in a format khabar does not read.
            self.problem(display, None, "empty", "no readable files (.jsonl, .csv, .txt…) inside")

    def _metadata_for(
        self,
        rel: str,
        entries: dict[str, _Source],
        tables: dict[str, dict[str, dict[str, Any]]],
    ) -> dict[str, Any]:
        folder, name = posixpath.split(rel)
        stem = name[:-3] if name.lower().endswith(".gz") else name
        stem = stem[:-4] if stem.lower().endswith(".txt") else stem
        merged: dict[str, Any] = {}
        table_rel = posixpath.join(folder, METADATA_CSV)
        if table_rel in entries:
            if table_rel not in tables:
                tables[table_rel] = self._metadata_table(entries[table_rel])
            table = tables[table_rel]
            for key in (rel, name, stem):
                if key in table:
                    merged.update(table[key])
                    break
        # The sidecar is the more specific source, so it wins over metadata.csv.
        for candidate in dict.fromkeys(
            (f"{stem}{SIDECAR_SUFFIX}", f"{stem}.txt{SIDECAR_SUFFIX}", f"{name}{SIDECAR_SUFFIX}")
        ):
            sidecar_rel = posixpath.join(folder, candidate)
            if sidecar_rel in entries:
                merged.update(self._sidecar(entries[sidecar_rel]))
                break
        for key in self._drop_from_metadata:
            merged.pop(key, None)
        return merged

    def _read_small(self, src: _Source) -> str | None:
        try:
            with src.opener() as stream:
                data = stream.read()
            return decode_bytes(data, src.display)[0]
        except DecodeError as exc:
            self.problem(src, exc.line, "decode", exc.reason)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError) as exc:
            self.problem(src, None, "io", f"cannot read: {exc}")
        return None

    def _sidecar(self, src: _Source) -> dict[str, Any]:
        text = self._read_small(src)
        if text is None:
            return {}
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            self.problem(src, getattr(exc, "lineno", None), "json", f"broken JSON: {exc}")
            return {}
        if not isinstance(value, dict):
            self.problem(src, 1, "json", f"metadata is a JSON {_json_type(value)}, not an object")
            return {}
        return value

    def _metadata_table(self, src: _Source) -> dict[str, dict[str, Any]]:
        text = self._read_small(src)
        table: dict[str, dict[str, Any]] = {}
        if text is None:
            return table
        rows = csv.reader(io.StringIO(text, newline=""))
        _raise_field_limit()
        try:
            header = [h.strip() for h in next(rows, [])]
            key_column = next((k for k in ("file", self.fields.id, "id") if k in header), None)
            if key_column is None:
                self.problem(src, 1, "csv", "metadata.csv needs an 'id' or 'file' column")
                return table
            for row in rows:
                if not row:
                    continue
                record = dict(zip(header, row, strict=False))
                key = record.get(key_column, "").strip()
                if key:
                    table[key] = record
        except csv.Error as exc:
            self.problem(src, rows.line_num, "csv", f"CSV: {exc}")
        return table

    # ------------------------------------------------------------- formats

    def _jsonl_chunks(self, stream: IO[bytes], src: _Source, cursor: _Cursor
                      ) -> Iterator[Document | LineChunk]:
        """Raw UTF-8 lines in chunks; any other encoding is decoded and parsed here."""
        read = getattr(stream, "read1", stream.read)
        head = b""
        while len(head) < CHUNK_SIZE:
            more = read(CHUNK_SIZE - len(head))
            if not more:
                break
            head += more
        if head.startswith(codecs.BOM_UTF8):
            head = head[len(codecs.BOM_UTF8):]
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
                not head.isascii() and _decide_or_none(head, src.display) != "utf-8"):
            # not UTF-8: the ordinary reader decides and decodes the whole stream
            yield from self._jsonl(_Prefixed(head, stream), src, cursor)
            return
        line = 1
        seen = False
        buffer = head
        done = not head
        while not done:
            while len(buffer) < CHUNK_SIZE:
                more = read(CHUNK_SIZE)
                if not more:
                    done = True
                    break
                buffer += more
            cut = len(buffer) if done else buffer.rfind(b"\n") + 1
            if cut == 0:  # one line longer than a chunk: keep reading it
                more = read(CHUNK_SIZE)
                if more:
                    buffer += more
                    continue
                cut, done = len(buffer), True
            body, buffer = buffer[:cut], buffer[cut:]
            for piece in _line_pieces(body, CHUNK_LINES):
                if not seen and not piece.isspace():
                    seen = True
                yield LineChunk(src.display, src.key, line, piece)
                line += piece.count(b"\n") + (0 if piece.endswith(b"\n") else 1)
            cursor.line = line
        if not seen:
            self.problem(src, None, "empty", "empty file")

    def _jsonl(self, stream: IO[bytes], src: _Source, cursor: _Cursor) -> Iterator[Document]:
        decoder = StreamDecoder(stream, src.display)
        loads = json.loads
        document = self.document
        display = src.display
        seen = False
        for number, line in decoder.lines(self.report, keep_newlines=False):
            cursor.line = number
            if not line or line.isspace():
                continue
            seen = True
            try:
                record = loads(line)
            except json.JSONDecodeError as exc:
                self.problem(src, number, "json", f"broken JSON: {exc.msg} (column {exc.colno})")
                continue
            except (ValueError, RecursionError) as exc:
                self.problem(src, number, "json", f"broken JSON: {exc}")
                continue
            doc = document(record, src, number, f"{display}:{number}")
            if doc is not None:
                yield doc
        if not seen:
            self.problem(src, None, "empty", "empty file")

    def _json(self, stream: IO[bytes], src: _Source, cursor: _Cursor) -> Iterator[Document]:
        decoder = StreamDecoder(stream, src.display)
        scanner = _JsonScanner(decoder, src, self)
        for line, value, undecodable in scanner.values():
            cursor.line = line
            if undecodable:
                self.problem(
                    src,
                    line,
                    "decode",
                    f"record skipped: bytes that are not valid {decoder.encoding}",
                )
                continue
            doc = self.document(value, src, line, f"{src.display}:{line}")
            if doc is not None:
                yield doc

    def _csv(
        self, stream: IO[bytes], src: _Source, delimiter: str, cursor: _Cursor
    ) -> Iterator[Document]:
        decoder = StreamDecoder(stream, src.display)
        _raise_field_limit()

        def lines() -> Iterator[str]:
            for number, line in decoder.lines(self.report):
                if cursor.start is None:
                    cursor.start = number
                cursor.line = number
                yield line

        rows = csv.reader(lines(), delimiter=delimiter)
        header: list[str] | None = None
        while True:
            cursor.start = None
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                self.problem(src, cursor.start or cursor.line, "csv", f"CSV: {exc}")
                continue
            number = cursor.start or cursor.line
            if header is None:
                if any(cell.strip() for cell in row):
                    header = [cell.strip() for cell in row]
                continue
            if not row:
                continue
            if len(row) != len(header):
                self.problem(
                    src,
                    number,
                    "csv",
                    f"row skipped: {len(row)} fields where the header has {len(header)}",
                )
                continue
            record = dict(zip(header, row, strict=True))
            doc = self.document(record, src, number, f"{src.display}:{number}")
            if doc is not None:
                yield doc
        if header is None:
            self.problem(src, None, "empty", "empty file")

    def _parquet(self, src: _Source, gz: bool, cursor: _Cursor) -> Iterator[Document]:
        import pyarrow
        import pyarrow.parquet as pq

        with self._random_access(src, gz) as target:
            if target is None:
                self.problem(src, None, "empty", "empty file")
                return
            try:
                table = pq.ParquetFile(target)
                batches = table.iter_batches(batch_size=PARQUET_BATCH_ROWS)
            except pyarrow.ArrowException as exc:
                raise _Corrupt(exc) from exc
            row = 0
            while True:
                try:
                    batch = next(batches, None)
                    records = None if batch is None else batch.to_pylist()
                except pyarrow.ArrowException as exc:
                    raise _Corrupt(exc) from exc
                if records is None:
                    return
                for record in records:
                    row += 1
                    cursor.line = row
                    doc = self.document(record, src, row, f"{src.display}#{row}")
                    if doc is not None:
                        yield doc

    def _txt(self, stream: IO[bytes], src: _Source) -> Iterator[Document]:
        text, _encoding = decode_bytes(stream.read(), src.display)
        if not text or text.isspace():
            self.problem(src, None, "empty", "empty file")
            return
        extra = dict(src.extra or {})
        record = {self.fields.text: text, **extra}
        record[self.fields.id] = src.key
        doc = self.document(record, src, None, src.display)
        if doc is not None:
            yield doc

    # -------------------------------------------------------------- records

    def document(self, record: Any, src: _Source, line: int | None, origin: str) -> Document | None:
        """A `Document` from one input record (consumed), or None after reporting why not."""
        # Called once per record: plain `type(...) is` tests and positional
        # arguments keep it cheap next to JSON parsing.
        if type(record) is not dict:
            if isinstance(record, dict):
                record = dict(record)
            else:
                self.problem(
                    src, line, "json", f"record is a JSON {_json_type(record)}, not an object"
                )
                return None
        f_id, f_text, f_title, f_source, f_date, f_url = self._names
        pop = record.pop
        text = pop(f_text, None)
        ident = pop(f_id, None)
        if type(ident) is not str:
            ident = self._generated_id(src, line) if ident is None else str(ident)
        elif not ident or ident.isspace():
            ident = self._generated_id(src, line)
        if type(text) is not str or not text or text.isspace():
            if text is None:
                why = f"no {f_text!r} field"
            elif isinstance(text, str):
                why = f"{f_text!r} is empty"
            else:
                why = f"{f_text!r} is a {type(text).__name__}, not a string"
            self.problem(src, line, "no-text", f"record {ident!r} skipped: {why}")
            return None
        raw_date = pop(f_date, None)
        if raw_date is None or (type(raw_date) is str and not raw_date):
            date_raw = when = None
        else:
            if type(raw_date) is str:
                date_raw = raw_date
            elif isinstance(raw_date, date_type):
                date_raw = raw_date.isoformat()
            else:
                date_raw = str(raw_date)
            when = parse_date(raw_date)
        title = pop(f_title, None)
        if type(title) is str and "&" in title:
            # scrapers often keep a headline's HTML entities (&quot;); a title has no offsets
            # to keep, so it is decoded here rather than repaired
            title = html.unescape(title)
        source = pop(f_source, None)
        url = pop(f_url, None)
        return Document(
            ident,
            text,
            title if type(title) is str and title else _optional(title),
            source if type(source) is str and source else _optional(source),
            when,
            url if type(url) is str and url else _optional(url),
            date_raw,
            record,
            origin,
        )

    @staticmethod
    def _generated_id(src: _Source, line: int | None) -> str:
        return src.key if line is None else f"{src.key}:{line}"


def _optional(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _describe(kind: str | None, gz: bool) -> str:
    if gz:
        return "gzip file"
    return {"zip": "zip archive", "parquet": "Parquet file"}.get(kind or "", "file")


def _raise_field_limit() -> None:
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)


def _file_opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: open(path, "rb")


def _member_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: archive.open(info)


class _Cursor:
    """Where a reader is in its file, so a failure mid-file can name the line."""

    __slots__ = ("line", "start")

    def __init__(self) -> None:
        self.line: int | None = None
        self.start: int | None = None


class _Corrupt(Exception):
    """A container or columnar file its library could not read."""


# ------------------------------------------------------------------ JSON arrays

_WS = re.compile(r"[ \t\n\r]*")


class _JsonScanner:
    """Values of a `.json` file, one at a time, from a sliding text buffer.

    A file starting with `[` is an array whose elements are the records;
    anything else is read as a sequence of JSON values separated by
    whitespace (JSON lines, or a single object). `raw_decode` parses one value
    in place; when it runs into the end of the buffer, more text is appended
    (at least doubling what is pending, so a huge element costs linear time)
    and the value is parsed again.
    """

    def __init__(self, decoder: StreamDecoder, src: _Source, reader: _Reader) -> None:
        self.decoder = decoder
        self.chunks = decoder.chunks()
        self.src = src
        self.reader = reader
        self.scan = json.JSONDecoder().raw_decode
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line = 1
        self.line_pos = 0

    def _fill(self, need: int) -> None:
        if self.pos:
            self.line_at(self.pos)
            self.buf = self.buf[self.pos :]
            self.line_pos -= self.pos
            self.pos = 0
        parts = [self.buf]
        added = 0
        while added < need and not self.eof:
            chunk = next(self.chunks, None)
            if chunk is None:
                self.eof = True
                break
            parts.append(chunk)
            added += len(chunk)
        self.buf = "".join(parts)

    def line_at(self, index: int) -> int:
        self.line += self.buf.count("\n", self.line_pos, index)
        self.line_pos = index
        return self.line

    def skip_ws(self) -> bool:
        """Move to the next non-blank character; False at the end of the input."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return True
            if self.eof:
                return False
            self._fill(1)

    def _value(self) -> tuple[Any, int]:
        while True:
            try:
                value, end = self.scan(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.buf) - 64 or exc.msg.startswith("Unterminated string")
                if cut and not self.eof:
                    self._fill(max(len(self.buf) - self.pos, CHUNK_SIZE))
                    continue
                raise
            if end >= len(self.buf) and not self.eof:
                # A number at the very end of the buffer may continue in the next chunk.
                self._fill(CHUNK_SIZE)
                continue
            return value, end

    def _broken(self, start_line: int, exc: Exception) -> None:
        if isinstance(exc, json.JSONDecodeError):
            where = self.line_at(max(exc.pos, self.line_pos))
            column = exc.pos - self.buf.rfind("\n", 0, exc.pos)
            message = f"broken JSON: {exc.msg} (line {where}, column {column})"
        else:
            message = "broken JSON: nested too deeply"
        self.reader.problem(self.src, start_line, "json", message)

    def _element(self) -> tuple[int, Any, bool]:
        line = self.line_at(self.pos)
        value, end = self._value()
        # `_value` may have slid the buffer: the value now starts at `self.pos`.
        undecodable = self.decoder.dirty and has_undecodable(self.buf, self.pos, end)
        self.pos = end
        return line, value, undecodable

    def values(self) -> Iterator[tuple[int, Any, bool]]:
        """`(line, value, holds_undecodable_bytes)` for each record."""
        if not self.skip_ws():
            self.reader.problem(self.src, None, "empty", "empty file")
            return
        if self.buf[self.pos] == "[":
            self.pos += 1
            yield from self._array()
        else:
            yield from self._sequence()

    def _array(self) -> Iterator[tuple[int, Any, bool]]:
        if not self.skip_ws():
            self.reader.problem(self.src, self.line, "json", "broken JSON: the array never ends")
            return
        if self.buf[self.pos] == "]":
            self.pos += 1
            self._after_array()
            return
        while True:
            line = self.line_at(self.pos)
            try:
                yield self._element()
            except (json.JSONDecodeError, RecursionError) as exc:
                # Inside an array there is no reliable place to resume from.
                self._broken(line, exc)
                return
            if not self.skip_ws():
                self.reader.problem(
                    self.src, self.line, "json", "broken JSON: the array never ends"
                )
                return
            separator = self.buf[self.pos]
            self.pos += 1
            if separator == "]":
                self._after_array()
                return
            if separator != "," or not self.skip_ws():
                where = self.line_at(self.pos - 1)
                self.reader.problem(
                    self.src, where, "json", "broken JSON: expected ',' or ']' after an element"
                )
                return

    def _after_array(self) -> None:
        if self.skip_ws():
            self.reader.problem(
                self.src, self.line_at(self.pos), "json", "unexpected data after the JSON array"
            )

    def _sequence(self) -> Iterator[tuple[int, Any, bool]]:
        while self.skip_ws():
            line = self.line_at(self.pos)
            try:
                yield self._element()
            except (json.JSONDecodeError, RecursionError) as exc:
                self._broken(line, exc)
                self._next_line()

    def _next_line(self) -> None:
        # JSON lines: a broken record ends at its newline; resume after it.
        while True:
            newline = self.buf.find("\n", self.pos)
            if newline >= 0:
                self.pos = newline + 1
                return
            if self.eof:
                self.pos = len(self.buf)
                return
            self._fill(max(len(self.buf) - self.pos, CHUNK_SIZE))


def _line_pieces(data: bytes, limit: int) -> Iterator[bytes]:
    """`data` (whole lines) cut into pieces of at most `limit` lines."""
    start = 0
    while start < len(data):
        end = start
        for _ in range(limit):
            nl = data.find(b"\n", end)
            if nl < 0:
                end = len(data)
                break
            end = nl + 1
            if end >= len(data):
                break
        yield data[start:end]
        start = end


def _decide_or_none(sample: bytes, name: str) -> str | None:
    from khabar.io.decode import _decide

    try:
        return _decide(sample, name, final=False)
    except DecodeError:
        return None


class _Prefixed(io.RawIOBase):
    """A stream that first gives back bytes already read from it."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
