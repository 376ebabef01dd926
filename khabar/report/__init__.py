"""The static HTML report: an index of stories and one page per story.

    from khabar.report import write_report
    index = write_report(store, "report/")          # from a database with stories
    index = write_report(report_data, "report/")    # from data assembled by hand

The report is a folder of self-contained pages (CSS and the little script
inlined, charts as inline SVG, no fonts or anything else fetched): open
``index.html`` in any browser, copy the folder anywhere, no server needed.
`model` holds the data the pages show and how it is assembled from the
stages; `render` writes the HTML; `spans` cuts texts into highlighted
segments by offsets.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from khabar.engine import Engine
from khabar.report.model import (
    ArticleView,
    MentionMark,
    PassageSide,
    PassageView,
    QuoteMark,
    ReportData,
    SentenceMark,
    StoryPage,
    SummaryItem,
    assemble_story,
    build_report_data,
)
from khabar.report.render import STORIES_DIR, iter_pages, render_report, story_filename

__all__ = [
    "ArticleView",
    "MentionMark",
    "PassageSide",
    "PassageView",
    "QuoteMark",
    "ReportData",
    "SentenceMark",
    "StoryPage",
    "SummaryItem",
    "assemble_story",
    "build_report_data",
    "iter_pages",
    "render_report",
    "story_filename",
    "write_report",
]


def write_report(data_or_store: ReportData | Any, out_dir: str | Path,
                 workers: int | Engine = 1, **build: Any) -> Path:
    """Write the report into `out_dir` and return the path of its ``index.html``.

    `data_or_store` is a `ReportData`, or a `Store` from which it is built with
    `build_report_data(store, **build)`. Each file is written under a temporary
    name and renamed into place, so a reader never sees a half-written page.
    Story pages left in ``stories/`` by an earlier report whose stories are
    gone are removed (only ``*.html`` files there: the folder belongs to the
    report); nothing else in `out_dir` is touched. `workers` (local processes or
    an engine) render the story pages; the files never depend on it.
    """
    data = (data_or_store if isinstance(data_or_store, ReportData)
            else build_report_data(data_or_store, **build))
    out = Path(out_dir)
    (out / STORIES_DIR).mkdir(parents=True, exist_ok=True)
    keep: set[str] = set()
    for rel, content in iter_pages(data, workers):
        _write_atomic(out / rel, content.encode("utf-8"))
        if rel.startswith(f"{STORIES_DIR}/"):
            keep.add(Path(rel).name)
    for old in sorted((out / STORIES_DIR).glob("*.html")):
        if old.name not in keep:
            old.unlink()
    return out / "index.html"


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
