"""The record every stage passes along: one article as it was read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class Document:
    """One article.

    `text` is the original text exactly as decoded from the input; nothing in
    khabar ever rewrites it. Derived forms (repaired, normalized) live beside it
    with offset maps back to these characters.
    """

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    date: datetime | None = None
    """Publication time as an aware UTC datetime, or None when absent or unparseable."""
    url: str | None = None
    date_raw: str | None = None
    """The date exactly as it appeared in the input (kept even when it could not be parsed)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Any other input fields, passed through untouched."""
    origin: str | None = None
    """Where the record was read: `file` or `file:line`."""

    def __reduce__(self) -> tuple:
        # positional rebuild: much faster than the slots dataclass default (fields() per call)
        return (Document, (self.id, self.text, self.title, self.source, self.date, self.url,
                          self.date_raw, self.meta, self.origin))

    @property
    def timestamp(self) -> float | None:
        return self.date.timestamp() if self.date is not None else None
