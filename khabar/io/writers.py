"""Writing documents and engine results back to disk.

`write_documents` writes what `read` reads, so that read → write → read
returns the same documents. `write_jsonl` and `write_parquet` write the engine's own
outputs.
Files are written under a temporary name and renamed into place when
complete, so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from khabar.document import Document
from khabar.errors import KhabarError
from khabar.io.readers import _KINDS, Fields

__all__ = ["format_date", "join_parquet", "write_documents", "write_jsonl", "write_parquet"]

_BUFFER = 1 << 20

PARQUET_ROW_GROUP = 4096
"""Rows per Parquet row group (and per batch held in memory while writing)."""

# every format the readers know, except those that hold no records of their own
_FORMATS = {ext: kind for ext, kind in _KINDS.items() if kind not in ("txt", "zip")}


def format_date(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`: `2020-08-08T07:30:00Z` (microseconds only when set)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json_default(value: Any) -> Any:
    # Engine outputs carry datetimes, paths, sets and numpy scalars/arrays.
    if isinstance(value, datetime):
        return format_date(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def _line(record: Any) -> bytes:
    text = json.dumps(record, ensure_ascii=False, default=_json_default)
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        # A lone surrogate (from a `\ud800` escape in the input) cannot be
        # UTF-8; escaped JSON keeps it losslessly and is still valid JSON.
        return json.dumps(record, ensure_ascii=True, default=_json_default).encode() + b"\n"


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """A binary file that appears at `path` only once it is complete (gzip for `.gz`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its files are private (0600); "x" mode honours the umask.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        raw_file = open(tmp, "xb", buffering=_BUFFER)  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        # name the file the user asked for, not our temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        with raw_file as raw:
            if path.name.lower().endswith(".gz"):
                # mtime=0 keeps the output byte-identical from run to run; the
                # buffer turns many one-line writes into few compressor calls.
                with (
                    gzip.GzipFile(
                        fileobj=raw, mode="wb", filename="", mtime=0, compresslevel=6
                    ) as compressed,
                    io.BufferedWriter(compressed, _BUFFER) as out,  # type: ignore[arg-type]
                ):
                    yield out
            else:
                yield raw
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
        if name.endswith(".parquet"):
            raise KhabarError(f"{path}: Parquet compresses itself; write {path.stem} instead")
    for ext, kind in _FORMATS.items():
        if name.endswith(ext):
            return kind
    raise KhabarError(
        f"{path}: cannot tell the output format; use .jsonl, .ndjson, .json, .csv, .tsv "
        "(each optionally .gz) or .parquet"
    )


def write_jsonl(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write one JSON object per line (UTF-8, not ASCII-escaped); `.gz` compresses.

    Keys keep the order they have in each mapping. Datetimes are written as
    ISO 8601 UTC, sets as sorted lists, numpy values as plain numbers or
    lists. Returns the number of records written.
    """
    target = Path(path)
    count = 0
    with _atomic(target) as out:
        write = out.write
        for record in records:
            write(_line(record))
            count += 1
    return count


def write_parquet(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str],
                  schema: Any) -> int:
    """Write JSON rows of one record type (`khabar.records.Schema`) as a Parquet file, a row
    group of `PARQUET_ROW_GROUP` rows at a time. Returns the number of rows written."""
    import pyarrow.parquet as pq

    target = Path(path)
    count = 0
    with _atomic(target) as raw:
        writer = pq.ParquetWriter(raw, schema.arrow_schema())
        try:
            batch: list[Mapping[str, Any]] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= PARQUET_ROW_GROUP:
                    writer.write_table(schema.arrow_table(batch))
                    count += len(batch)
                    batch = []
            if batch or not count:
                writer.write_table(schema.arrow_table(batch))
                count += len(batch)
        finally:
            writer.close()
    return count


def join_parquet(parts: Iterable[str | os.PathLike[str]], path: str | os.PathLike[str],
                 schema: Any) -> int:
    """Join Parquet files of one schema into one, in order, a row group at a time (so the
    joining process holds one row group, not the files). Returns the number of rows."""
    import pyarrow.parquet as pq

    target = Path(path)
    arrow = schema.arrow_schema()
    count = 0
    with _atomic(target) as raw:
        writer = pq.ParquetWriter(raw, arrow)
        try:
            for part in parts:
                source = pq.ParquetFile(part)
                for k in range(source.num_row_groups):
                    table = source.read_row_group(k)
                    if table.num_rows:
                        writer.write_table(table.cast(arrow))
                        count += table.num_rows
            if not count:
                writer.write_table(schema.arrow_table([]))
        finally:
            writer.close()
    return count


def _record(doc: Document, fields: Fields) -> dict[str, Any]:
    """The flat record for a document: core fields under their input names, then meta.

    The date is written as ISO 8601 UTC; a date that could not be parsed is
    written back as it was read, so it is not lost. A meta key that equals one
    of the core field names is shadowed by the core field.
    """
    if doc.date is not None:
        when: str | None = format_date(doc.date)
    else:
        when = doc.date_raw
    record: dict[str, Any] = {
        fields.id: doc.id,
        fields.title: doc.title,
        fields.source: doc.source,
        fields.date: when,
        fields.url: doc.url,
    }
    for key, value in doc.meta.items():
        if key not in record and key != fields.text:
            record[key] = value
    record[fields.text] = doc.text
    return record


def write_documents(
    docs: Iterable[Document],
    path: str | os.PathLike[str],
    fields: Fields = Fields(),  # noqa: B008 - frozen, so one shared default is safe
) -> int:
    """Write documents as JSONL, JSON, CSV, TSV (each optionally `.gz`) or Parquet.

    The format follows the extension. Field names come from `fields`, so
    reading the output back with the same `fields` gives the same documents;
    `Document.meta` entries become extra keys or columns. Dates are ISO 8601
    UTC strings. CSV, TSV and Parquet need every column before the first row,
    so documents are first spooled to a temporary file (on disk, next to the
    output) and then written in one pass; JSONL and JSON stream directly.
    Returns the number of documents written.
    """
    target = Path(path)
    kind = _format(target)
    if kind == "jsonl":
        return write_jsonl((_record(doc, fields) for doc in docs), target)
    if kind == "json":
        return _write_json_array(docs, target, fields)
    with _Spool(target.parent) as spool:
        for doc in docs:
            spool.add(_record(doc, fields))
        if kind == "parquet":
            _write_parquet(spool, target, fields)
        else:
            _write_csv(spool, target, "\t" if kind == "tsv" else ",")
        return spool.count


def _write_json_array(docs: Iterable[Document], target: Path, fields: Fields) -> int:
    count = 0
    with _atomic(target) as out:
        out.write(b"[")
        for doc in docs:
            out.write(b",\n" if count else b"\n")
            out.write(_line(_record(doc, fields))[:-1])
            count += 1
        out.write(b"\n]\n" if count else b"]\n")
    return count


class _Spool:
    """Records parked on disk as JSON lines while their columns and types are learnt."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        # Closed by __exit__; a `with` cannot span the object's lifetime.
        self.file = tempfile.TemporaryFile(prefix=".khabar-spool-", dir=folder)  # noqa: SIM115
        self.columns: dict[str, set[type]] = {}
        self.count = 0

    def __enter__(self) -> _Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    def add(self, record: dict[str, Any]) -> None:
        columns = self.columns
        for key, value in record.items():
            seen = columns.get(key)
            if seen is None:
                seen = columns[key] = set()
            if value is not None:
                kind = type(value)
                if kind is int and not -(2**63) <= value < 2**63:
                    kind = object  # too big for int64: kept as JSON text
                seen.add(kind)
        self.file.write(_line(record))
        self.count += 1

    def records(self) -> Iterator[dict[str, Any]]:
        self.file.seek(0)
        for line in self.file:
            yield json.loads(line.decode("utf-8"))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return value
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _write_csv(spool: _Spool, target: Path, delimiter: str) -> None:
    header = list(spool.columns)
    with _atomic(target) as raw:
        # Only text that is not valid Unicode (lone surrogates) needs the
        # error handler; it is written as a visible escape instead of failing.
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="", errors="backslashreplace")
        # CRLF as RFC 4180 says; it also makes the csv module quote any field
        # holding a lone "\r", which it leaves bare with a "\n" terminator.
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(header)
        for record in spool.records():
            writer.writerow([_cell(record.get(key)) for key in header])
        text.flush()
        text.detach()


def _parquet_type(key: str, seen: set[type], fields: Fields) -> tuple[Any, bool]:
    """Arrow type for a column and whether values must be JSON-encoded into it."""
    import pyarrow as pa

    if key in fields.names() or not seen or seen == {str}:
        return pa.string(), not (seen <= {str})
    if seen == {bool}:
        return pa.bool_(), False
    if seen == {int}:
        return pa.int64(), False
    if seen <= {int, float}:
        return pa.float64(), False
    # Mixed or nested values keep their content as JSON text.
    return pa.string(), True


def _write_parquet(spool: _Spool, target: Path, fields: Fields) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    plan = {key: _parquet_type(key, seen, fields) for key, seen in spool.columns.items()}
    schema = pa.schema([(key, arrow_type) for key, (arrow_type, _) in plan.items()])
    encode = [key for key, (_, as_json) in plan.items() if as_json]

    def flush(rows: list[dict[str, Any]], writer: pq.ParquetWriter) -> None:
        for row in rows:
            for key in encode:
                value = row.get(key)
                if value is not None and not isinstance(value, str):
                    row[key] = json.dumps(value, ensure_ascii=False)
        writer.write_table(pa.Table.from_pylist(rows, schema=schema))

    with _atomic(target) as raw:
        writer = pq.ParquetWriter(raw, schema)
        try:
            rows: list[dict[str, Any]] = []
            for record in spool.records():
                rows.append(record)
                if len(rows) >= PARQUET_ROW_GROUP:
                    flush(rows, writer)
                    rows = []
            if rows or not spool.count:
                flush(rows, writer)
        finally:
            writer.close()
