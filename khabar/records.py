"""One span type and one record model: every other form of a record is derived from its fields.

A stage's result is a frozen dataclass that also inherits `Record`. From its
type hints alone khabar derives its JSON form (`to_dict` / `from_dict`), its
table in the store (`Schema.ddl`, `to_row` / `from_row`) and its Arrow schema
for Parquet output (`Schema.arrow_schema`), so a field is declared once.

Field types a record may use:

* ``str``, ``int``, ``float``, ``bool`` and ``X | None`` of them;
* ``DocRef`` — a document id; stored as the integer ``documents.n``;
* ``Span`` — a half-open range of the ORIGINAL text of a document, written
  ``[start, end]`` in JSON (or as ``NAME_start`` / ``NAME_end`` keys for the
  fields a record lists in ``FLAT``) and as two integer columns;
* ``tuple[...]`` / ``list`` / ``dict`` — JSON in JSON and in the store;
* ``datetime`` — ISO 8601 UTC text.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, NamedTuple, NewType


class Span(NamedTuple):
    """A half-open range ``[start, end)`` of a document's ORIGINAL text."""

    start: int
    end: int

    def text(self, original: str) -> str:
        return original[self.start:self.end]

    def __len__(self) -> int:  # type: ignore[override]
        return max(0, self.end - self.start)

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


DocRef = NewType("DocRef", str)
"""A document id (stored as the integer `documents.n`, so tables stay small)."""

_KINDS = ("str", "int", "float", "bool", "docref", "span", "json", "datetime")


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    field: str
    kind: str
    optional: bool
    names: tuple[str, ...]
    """SQL column names (two for a span)."""


def _kind(hint: Any) -> tuple[str, bool]:
    optional = False
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        if len(args) != 1:
            return "json", optional
        hint = args[0]
        origin = typing.get_origin(hint)
    if hint is DocRef:
        return "docref", optional
    if hint is Span:
        return "span", optional
    if hint is datetime:
        return "datetime", optional
    if hint in (str, int, float, bool):
        return hint.__name__, optional
    if origin in (tuple, list, dict) or hint in (tuple, list, dict):
        return "json", optional
    return "json", optional


@dataclasses.dataclass(frozen=True, slots=True)
class Schema:
    cls: type
    columns: tuple[Column, ...]

    @property
    def sql_columns(self) -> list[str]:
        return [name for c in self.columns for name in c.names]

    @property
    def quoted_columns(self) -> str:
        return ", ".join(f'"{name}"' for name in self.sql_columns)

    def ddl(self, table: str, *, key: Sequence[str] = (), indexes: Sequence[Sequence[str]] = (),
            extra: Sequence[str] = ()) -> str:
        """CREATE TABLE (and indexes) for this record; `extra` adds leading columns such as a
        story id that the record itself does not carry."""
        sql = {"str": "TEXT", "int": "INTEGER", "float": "REAL", "bool": "INTEGER",
               "docref": "INTEGER", "json": "TEXT", "datetime": "TEXT"}
        cols = list(extra)
        for c in self.columns:
            null = "" if c.optional else " NOT NULL"
            # names quoted: a field may be called what SQL reserves ("index")
            if c.kind == "span":
                cols += [f'"{c.names[0]}" INTEGER{null}', f'"{c.names[1]}" INTEGER{null}']
            else:
                cols.append(f'"{c.names[0]}" {sql[c.kind]}{null}')
        body = ",\n    ".join(cols + ([f"PRIMARY KEY ({', '.join(key)})"] if key else []))
        rowid = " WITHOUT ROWID" if key else ""
        out = f"CREATE TABLE IF NOT EXISTS {table} (\n    {body}\n){rowid};"
        for k, idx in enumerate(indexes):
            out += (f"\nCREATE INDEX IF NOT EXISTS {table}_i{k} ON {table}"
                    f"({', '.join(idx)});")
        return out

    def to_row(self, rec: Any, n_of: Callable[[str], int | None]) -> tuple:
        row: list[Any] = []
        for c in self.columns:
            v = getattr(rec, c.field)
            if c.kind == "span":
                row += [None, None] if v is None else [int(v[0]), int(v[1])]
            elif v is None:
                row.append(None)
            elif c.kind == "docref":
                row.append(n_of(v))
            elif c.kind == "json":
                row.append(json.dumps(_jsonable(v), ensure_ascii=False))
            elif c.kind == "bool":
                row.append(int(v))
            elif c.kind == "datetime":
                row.append(iso(v))
            else:
                row.append(v)
        return tuple(row)

    def from_row(self, row: Sequence[Any], id_of: Callable[[int], str | None]) -> Any:
        values: dict[str, Any] = {}
        k = 0
        for c in self.columns:
            if c.kind == "span":
                s, e = row[k], row[k + 1]
                values[c.field] = None if s is None else Span(s, e)
                k += 2
                continue
            v = row[k]
            k += 1
            if v is None:
                values[c.field] = None
            elif c.kind == "docref":
                values[c.field] = id_of(v)
            elif c.kind == "json":
                values[c.field] = _from_json(json.loads(v), self._hint(c.field))
            elif c.kind == "bool":
                values[c.field] = bool(v)
            elif c.kind == "datetime":
                values[c.field] = parse_iso(v)
            else:
                values[c.field] = v
        return self.cls(**values)

    @cache  # noqa: B019 (schemas live as long as their classes)
    def _hint(self, name: str) -> Any:
        return typing.get_type_hints(self.cls)[name]

    @cache  # noqa: B019 (schemas live as long as their classes; built once, not per row group)
    def arrow_schema(self) -> Any:
        """The Arrow schema of the record's JSON rows (`Record.to_dict`), for Parquet: a span
        is a two-item integer list (two integer columns for the fields the record lists in
        ``FLAT``), a tuple of plain values a list of them, any other JSON field its JSON
        text, a datetime its ISO text."""
        import pyarrow as pa

        simple = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(),
                  "bool": pa.bool_(), "docref": pa.string(), "datetime": pa.string()}
        flat = getattr(self.cls, "FLAT", {})
        fields = []
        for c in self.columns:
            if c.kind == "span" and c.field in flat:
                fields += [pa.field(f"{flat[c.field]}_{end}", pa.int64(), nullable=c.optional)
                           for end in ("start", "end")]
            elif c.kind == "span":
                fields.append(pa.field(c.field, pa.list_(pa.int64(), 2), nullable=c.optional))
            elif c.kind == "json":
                item = self._plain_items(c.field)
                kind = pa.string() if item is None else pa.list_(simple[item])
                fields.append(pa.field(c.field, kind, nullable=c.optional))
            else:
                fields.append(pa.field(c.field, simple[c.kind], nullable=c.optional))
        return pa.schema(fields)

    @cache  # noqa: B019 (schemas live as long as their classes)
    def _plain_items(self, name: str) -> str | None:
        """"str", "int", "float" or "bool" for a field that is a tuple or list of them."""
        hint = self._hint(name)
        origin = typing.get_origin(hint)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            hint = args[0] if len(args) == 1 else None
            origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        listed = (origin is tuple and len(args) == 2 and args[1] is Ellipsis) or (
            origin is list and len(args) == 1)
        if not listed or args[0] not in (str, int, float, bool):
            return None
        return args[0].__name__

    def arrow_table(self, rows: Sequence[dict[str, Any]]) -> Any:
        """JSON rows of this record (`Record.to_dict`) as one Arrow table."""
        import pyarrow as pa

        schema = self.arrow_schema()
        encode = {c.field for c in self.columns
                  if c.kind == "json" and self._plain_items(c.field) is None}
        columns = []
        for f in schema:
            values = [row.get(f.name) for row in rows]
            if f.name in encode:
                values = [None if v is None else json.dumps(v, ensure_ascii=False)
                          for v in values]
            columns.append(pa.array(values, type=f.type))
        return pa.Table.from_arrays(columns, schema=schema)


class Record:
    """Mixin for frozen dataclasses: JSON, table and Arrow forms derived from the fields."""

    FLAT: ClassVar[dict[str, str]] = {}
    """Span fields written as ``PREFIX_start`` / ``PREFIX_end`` in JSON (field -> PREFIX),
    for output formats that predate the span type."""

    @classmethod
    def schema(cls) -> Schema:
        return _schema(cls)

    def __reduce__(self) -> tuple:
        # positional rebuild: the slots-dataclass default calls fields() per record
        return (type(self), tuple(getattr(self, name) for name in _init_names(type(self))))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, keys in the order of the fields."""
        out: dict[str, Any] = {}
        flat = self.FLAT
        for c in self.schema().columns:
            v = getattr(self, c.field)
            if c.kind == "span" and c.field in flat:
                prefix = flat[c.field]
                out[f"{prefix}_start"] = None if v is None else int(v[0])
                out[f"{prefix}_end"] = None if v is None else int(v[1])
            elif c.kind == "span":
                out[c.field] = None if v is None else [int(v[0]), int(v[1])]
            elif c.kind == "datetime":
                out[c.field] = iso(v)
            else:
                out[c.field] = _jsonable(v)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        schema = cls.schema()
        values: dict[str, Any] = {}
        for c in schema.columns:
            if c.kind == "span" and c.field in cls.FLAT:
                prefix = cls.FLAT[c.field]
                s = d.get(f"{prefix}_start")
                values[c.field] = None if s is None else Span(int(s), int(d[f"{prefix}_end"]))
                continue
            if c.field not in d:
                continue  # the dataclass default applies
            v = d[c.field]
            if v is None:
                values[c.field] = None
            elif c.kind == "span":
                values[c.field] = Span(int(v[0]), int(v[1]))
            elif c.kind == "datetime":
                values[c.field] = parse_iso(v)
            elif c.kind == "json":
                values[c.field] = _from_json(v, schema._hint(c.field))
            else:
                values[c.field] = v
        return cls(**values)


@cache
def _init_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


@cache
def _schema(cls: type) -> Schema:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    hints = typing.get_type_hints(cls)
    cols = []
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        kind, optional = _kind(hints[f.name])
        names = (f"{f.name}_start", f"{f.name}_end") if kind == "span" else (f.name,)
        cols.append(Column(f.name, kind, optional, names))
    return Schema(cls, tuple(cols))


def _jsonable(v: Any) -> Any:
    if isinstance(v, Record):
        return v.to_dict()
    if isinstance(v, tuple | list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, datetime):
        return iso(v)
    return v


def _from_json(v: Any, hint: Any) -> Any:
    """Lists back into the tuples a field declares (recursively, for tuples of tuples)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _from_json(v, args[0]) if len(args) == 1 else v
    if origin is tuple and isinstance(v, list):
        args = typing.get_args(hint)
        inner = args[0] if args else Any
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json(x, inner) for x in v)
        return tuple(_from_json(x, a) for x, a in zip(v, args, strict=False))
    if isinstance(hint, type) and issubclass(hint, Record) and isinstance(v, dict):
        return hint.from_dict(v)
    if hint is Span and isinstance(v, list):
        return Span(int(v[0]), int(v[1]))
    return v


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 UTC (``2015-07-21T10:30:00Z``), or None."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


__all__ = ["Column", "DocRef", "Record", "Schema", "Span", "iso", "parse_iso"]
