"""File names made from data (document ids, story ids), confined to one output folder.

Every writer that names a file after something in the data goes through this
module: PAN detection files (one per document), story pages of the report.
An id is data, and data may be hostile or merely awkward: ``../../etc/passwd``,
``/abs/path``, ``a/b``, ``CON``, a name of 500 characters, control characters,
Arabic letters that a zip tool or a mail client mangles, or two ids that only
differ in case on a case-insensitive file system. The rules:

* An id that is already a plain, portable file name keeps it, so the usual
  corpus ids (``suspicious-document00042``) stay readable: ASCII letters,
  digits, ``.``, ``_`` and ``-``, starting with a letter or digit, not
  ending with a dot, at most `MAX_PLAIN` characters, not a name Windows
  reserves (``CON``, ``NUL.txt``, ``COM1``…), and not of the shape of an
  encoded name (below), so that no id can be crafted to take another's file.
* Any other id is *encoded*: a readable ASCII slug of it, then ``-`` and a
  short hash of the whole id (``etc-passwd-3f9a1c07be``). Nothing of the id
  but letters and digits reaches the name, so it cannot hold a separator, a
  dot-dot or a control character.
* Within one output, names are unique per id without regard to case: when
  two ids would share a plain name (``x``, ``x.txt`` and ``x.json`` all give
  ``x.xml``; ``Report`` and ``report``) every one of them is encoded, whichever
  came first, so the result depends only on the set of ids. Two ids whose
  encoded names still meet (the same slug and the same 40-bit hash) are an
  error naming both; nothing is overwritten silently.
* The final path is checked to lie directly inside the folder given, after
  resolving symbolic links (an existing link pointing elsewhere is refused).

The mapping from id to file is written down by each writer (PAN keeps the id in
the XML's ``reference`` attribute; the report links its pages by id).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from khabar.errors import KhabarError

HASH_CHARS = 10
"""Hex digits of the id's hash in an encoded name (40 bits)."""
SLUG_CHARS = 40
"""Longest slug kept in an encoded name."""
MAX_PLAIN = 100
"""Longest id kept as it is (well under every file system's 255-byte limit, suffix included)."""

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ENCODED_SHAPE = re.compile(rf".*-[0-9a-f]{{{HASH_CHARS}}}", re.IGNORECASE)
# Windows refuses these as a name, with any extension, in any case (COM0/LPT0 and the
# superscript digits are reserved too on recent versions; superscripts are not ASCII here)
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul", "clock$", "conin$", "conout$"]
    + [f"{dev}{k}" for dev in ("com", "lpt") for k in range(10)]
)


def short_hash(value: str, chars: int = HASH_CHARS) -> str:
    """A stable hex digest of `value` (BLAKE2b), `chars` long."""
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"),
                           digest_size=(chars + 1) // 2).hexdigest()[:chars]


def slug(value: str, limit: int = SLUG_CHARS) -> str:
    """ASCII letters and digits of `value`, lower-cased and dash-joined (may be empty).

    Accents are dropped (NFKD), other scripts vanish: the slug only makes a
    name readable, the hash beside it makes it unique.
    """
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_only.lower())
    return "-".join(words)[:limit].strip("-")


def is_plain(name: str) -> bool:
    """Whether `name` (without the suffix a writer adds) can be used as a file name as it is."""
    if not 0 < len(name) <= MAX_PLAIN or not _PLAIN.fullmatch(name) or name.endswith("."):
        return False
    if name.split(".", 1)[0].lower() in _RESERVED:
        return False
    return not _ENCODED_SHAPE.fullmatch(name)


def encoded_stem(value: str, label: str = "doc") -> str:
    """`value`'s slug plus a hash of all of it; `label` stands in for a slug under 3 characters."""
    base = slug(value)
    if len(base) < 3:
        base = label + (f"-{base}" if base else "")
    return f"{base}-{short_hash(value)}"


def assign_names(ids: Iterable[str], suffix: str, *,
                 readable: Callable[[str], str] | None = None,
                 label: str = "doc") -> dict[str, str]:
    """A distinct, safe file name (ending in `suffix`) for each id of one output.

    `readable(id)` gives the name an id would like (default: the id itself;
    PAN drops the extension); it is kept when plain and no other id of the set
    wants the same name in any case, else the id is encoded (`encoded_stem`).
    Depends only on the set of ids, not their order. Raises `KhabarError`
    naming both ids if two encoded names still meet.
    """
    want = readable or (lambda x: x)
    unique = sorted(set(ids))
    wished: dict[str, str] = {}
    claims: dict[str, list[str]] = defaultdict(list)
    for doc_id in unique:
        stem = want(doc_id)
        if is_plain(stem):
            wished[doc_id] = stem
            claims[(stem + suffix).casefold()].append(doc_id)
    names: dict[str, str] = {}
    for doc_id in unique:
        stem = wished.get(doc_id)
        if stem is None or len(claims[(stem + suffix).casefold()]) > 1:
            stem = encoded_stem(doc_id, label)
        names[doc_id] = stem + suffix
    check_unique(names)
    return names


def check_unique(names: dict[str, str]) -> None:
    """Raise `KhabarError` when two ids have file names equal but for case."""
    owner: dict[str, str] = {}
    for doc_id, name in sorted(names.items()):
        key = name.casefold()
        other = owner.setdefault(key, doc_id)
        if other != doc_id:
            raise KhabarError(f"ids {other!r} and {doc_id!r} would both be written to {name!r}; "
                              "rename one of them")


def inside(folder: str | Path, name: str) -> Path:
    """``folder / name``, checked to be a file directly inside `folder`.

    `name` must be one path component (no separator, not ``.`` or ``..``), and
    the path, once symbolic links are resolved, must still lie in the resolved
    folder. Raises `KhabarError` otherwise.
    """
    base = Path(folder)
    bad = (not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name
           or Path(name).is_absolute())
    if bad:
        raise KhabarError(f"{name!r}: not a plain file name; refusing to write it in {base}")
    path = base / name
    if path.resolve().parent != base.resolve():
        raise KhabarError(f"{path}: resolves outside {base}; refusing to write it")
    return path
