"""PAN-style XML files: reading annotations and detections, writing detections.

One file per document, named after it (``suspicious-document0001.txt`` →
``suspicious-document0001.xml``; ids that are not plain file names are encoded,
see `xml_names`), the id itself in the ``reference`` attribute::

    <document reference="suspicious-document0001.txt">
      <feature name="detected-plagiarism" this_offset="119" this_length="316"
               source_reference="source-document00402.txt" source_offset="19259"
               source_length="316"/>
    </document>

Offsets are in characters of the text as khabar read it (no newline
translation), which is how PAN corpora count them.

khabar's passages are symmetric (a pair of spans), while PAN looks from one
document at its sources; `write_pan` writes each passage into the file of
each of its two documents (or of one side only, with `this`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from xml.sax.saxutils import quoteattr

from khabar.errors import KhabarError
from khabar.evaluation.pan import Case
from khabar.io.paths import assign_names, inside
from khabar.reuse.passage import Passage

DETECTION = "detected-plagiarism"
"""Feature name of a detection (annotations use `plagiarism`)."""


def xml_name(doc_id: str) -> str:
    """The name a document's XML would like: its id with the extension replaced by `.xml`.

    Only a wish: `write_cases` keeps it when it is a plain, portable file name
    that no other document of the output wants too, else it encodes the id (see
    `khabar.io.paths`); the id itself is always in the file's ``reference``.
    """
    return _stem(doc_id) + ".xml"


def _stem(doc_id: str) -> str:
    return doc_id.rsplit(".", 1)[0] if "." in doc_id.rsplit("/", 1)[-1] else doc_id


def xml_names(doc_ids: Iterable[str]) -> dict[str, str]:
    """The file each document's detections go to, for one output folder.

    ``suspicious-document0001.txt`` → ``suspicious-document0001.xml``; an id that
    is not a plain file name (``../../etc/passwd``, ``a/b``, Arabic letters, ``CON``)
    or whose name another id of the set wants too (``x``, ``x.txt``, ``x.json``)
    becomes a slug and a hash of the id, ``etc-passwd-3f9a1c07be.xml``.
    """
    return assign_names(doc_ids, ".xml", readable=_stem)


# characters XML 1.0 cannot carry even escaped: C0 controls but tab and line ends,
# surrogates (from input decoded with surrogatepass), U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _check_xml_text(doc_id: str) -> None:
    if _NOT_XML.search(doc_id):
        raise KhabarError(f"document id {doc_id!r} holds a character XML cannot carry; "
                          "PAN files name documents in XML")


def passages_to_cases(passages: Iterable[Passage],
                      this: Callable[[str], bool] | None = None) -> list[Case]:
    """PAN cases of passages, one per side whose document `this` accepts (all by default)."""
    out: list[Case] = []
    for p in passages:
        if this is None or this(p.a):
            out.append(Case(p.a, p.a_start, p.a_end - p.a_start, p.b, p.b_start,
                            p.b_end - p.b_start))
        if this is None or this(p.b):
            out.append(Case(p.b, p.b_start, p.b_end - p.b_start, p.a, p.a_start,
                            p.a_end - p.a_start))
    return out


def write_cases(cases: Iterable[Case], directory: str | Path,
                name: str = DETECTION) -> list[Path]:
    """One XML file per document that has cases; returns the files written."""
    out_dir = Path(directory)
    by_doc: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        by_doc[c.doc].append(c)
    for c in by_doc.values():
        for x in c:
            _check_xml_text(x.doc)
            _check_xml_text(x.source_doc)
    names = xml_names(by_doc)
    written: list[Path] = []
    if by_doc:
        out_dir.mkdir(parents=True, exist_ok=True)
    for doc in sorted(by_doc):
        path = inside(out_dir, names[doc])
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 f"<document reference={quoteattr(doc)}>"]
        for c in sorted(by_doc[doc], key=lambda c: (c.this_offset, c.source_doc,
                                                    c.source_offset)):
            extra = (f" obfuscation={quoteattr(c.obfuscation)}" if c.obfuscation else "")
            lines.append(
                f"<feature name={quoteattr(name)} this_offset=\"{c.this_offset}\" "
                f"this_length=\"{c.this_length}\" source_reference={quoteattr(c.source_doc)} "
                f"source_offset=\"{c.source_offset}\" source_length=\"{c.source_length}\""
                f"{extra}/>"
            )
        lines.append("</document>")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    return written


def write_pan(passages: Iterable[Passage], directory: str | Path,
              this: Callable[[str], bool] | None = None) -> list[Path]:
    """Write passages as PAN detection files (see `passages_to_cases` for `this`)."""
    return write_cases(passages_to_cases(passages, this), directory)


def read_pan(directory: str | Path, names: tuple[str, ...] = ("plagiarism", DETECTION)
             ) -> list[Case]:
    """Every case in the PAN XML files under `directory` (annotations or detections).

    Features of other names (PAN's `about` and the like) are ignored; an
    `obfuscation` attribute is kept when present.
    """
    root = Path(directory)
    if not root.is_dir():
        raise KhabarError(f"{root}: not a directory of PAN XML files")
    out: list[Case] = []
    for path in sorted(root.rglob("*.xml")):
        try:
            tree = ET.parse(path)
        except ET.ParseError as exc:
            raise KhabarError(f"{path}: not valid XML ({exc})") from None
        doc = tree.getroot().get("reference") or path.with_suffix(".txt").name
        for feat in tree.getroot().iter("feature"):
            if feat.get("name") not in names:
                continue
            try:
                out.append(Case(
                    doc, int(feat.get("this_offset", "")), int(feat.get("this_length", "")),
                    feat.get("source_reference", ""), int(feat.get("source_offset", "")),
                    int(feat.get("source_length", "")), feat.get("obfuscation"),
                ))
            except ValueError:
                raise KhabarError(f"{path}: a {feat.get('name')} feature lacks integer "
                                  "offsets or lengths") from None
    return out
