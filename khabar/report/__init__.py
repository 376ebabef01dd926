"""The static HTML report: an index of stories and one page per story.

    from khabar.report import write_report
    index = write_report(report_data, "report/")    # from data assembled by hand

(`khabar run` and `khabar report` write the report through the report stage,
`khabar.report.stage`, one page per story bundle.)

The report is a folder of self-contained pages (CSS and the little script
inlined, charts as inline SVG, no fonts or anything else fetched): open
``index.html`` in any browser, copy the folder anywhere, no server needed.
`model` holds the data the pages show and how it is assembled from the
stages; `render` writes the HTML; `spans` cuts texts into highlighted
segments by offsets.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from khabar.errors import KhabarError
from khabar.io.paths import inside
from khabar.report.model import (
    ArticleView,
    CopyView,
    MentionMark,
    PassageSide,
    PassageView,
    QuoteMark,
    ReportData,
    SentenceMark,
    StoryPage,
    SummaryItem,
    assemble_story,
)
from khabar.report.render import STORIES_DIR, iter_pages, render_report, story_filename

__all__ = [
    "MANIFEST",
    "ArticleView",
    "CopyView",
    "MentionMark",
    "PassageSide",
    "PassageView",
    "QuoteMark",
    "ReportData",
    "SentenceMark",
    "StoryPage",
    "SummaryItem",
    "assemble_story",
    "finish_pages",
    "iter_pages",
    "render_report",
    "story_filename",
    "write_report",
]


MANIFEST = ".khabar-report.json"
"""The list of files a report wrote, kept in its folder: the next report into the same
folder removes only the story pages this list names and the new report does not have."""


def write_report(data: ReportData, out_dir: str | Path,
                 workers: Any = 1, *, echo: Callable[[str], None] | None = None) -> Path:
    """Write the report into `out_dir` and return the path of its ``index.html``.

    Each file is written under a temporary
    name and renamed into place, so a reader never sees a half-written page;
    every page's path is checked to lie inside `out_dir` (`khabar.io.paths`).
    The files written are listed in `MANIFEST`; story pages that an earlier
    report listed there and this one no longer has are removed, and `echo`
    (if given) is told how many. Nothing else in `out_dir` is touched: a page
    put there by hand, or by anything but khabar, stays. `workers` (local
    processes or an engine) render the story pages; the files never depend on it.
    """
    out = Path(out_dir)
    (out / STORIES_DIR).mkdir(parents=True, exist_ok=True)
    earlier = _manifest(out)
    written: list[str] = []
    for rel, content in iter_pages(data, workers):
        _write_atomic(_page_path(out, rel), content.encode("utf-8"))
        written.append(rel)
    finish_pages(out, written, earlier, echo)
    return out / "index.html"


def finish_pages(out: Path, written: list[str], earlier: set[str],
                 echo: Callable[[str], None] | None = None) -> int:
    """Record the pages a report wrote in its `MANIFEST`, then remove the story pages the
    previous report listed (`earlier`) and this one did not write; returns how many."""
    # the new list goes down before anything is removed: a run stopped in between leaves
    # at worst a stale page behind, never a page that no list knows of
    manifest = {"generator": "khabar", "files": sorted(written)}
    _write_atomic(out / MANIFEST, (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
                  .encode("utf-8"))
    removed = 0
    for rel in sorted(earlier - set(written)):
        path = _page_path(out, rel, strict=False)
        if path is not None and path.is_file() and not path.is_symlink():
            path.unlink()
            removed += 1
    if removed and echo is not None:
        echo(f"report: removed {removed} story page{'s' if removed != 1 else ''} an earlier "
             f"report wrote in {out / STORIES_DIR} (listed in {out / MANIFEST})")
    return removed


def _page_path(out: Path, rel: str, strict: bool = True) -> Path | None:
    """The file of a page path (``index.html`` or ``stories/NAME.html``), inside `out`.

    With `strict=False` (paths read back from a manifest, which anyone could have
    edited) anything else gives None instead of an error.
    """
    folder, _, name = rel.rpartition("/")
    if folder not in ("", STORIES_DIR) or not name.endswith(".html"):
        if strict:
            raise KhabarError(f"{rel!r}: not a page of the report")
        return None
    try:
        return inside(out / folder if folder else out, name)
    except KhabarError:
        if strict:
            raise
        return None


def _manifest(out: Path) -> set[str]:
    """The pages an earlier report listed in `out` (none if no readable list is there)."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return set()
    return {f for f in files if isinstance(f, str)}


def _write_atomic(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; pages are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
