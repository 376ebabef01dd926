"""HTML fragments of the service's pages that mark spans of an ORIGINAL text.

Built with the report's own span segmentation (`report.spans.segment`) and escaping
(`report.render.esc`), so a hostile text is shown as text on every page alike.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from khabar.report.render import esc
from khabar.report.spans import line_breaks, paragraphs, segment


def marked_snippet(snippet: str, start: int, spans: list[list[int]]) -> Markup:
    """A search hit's snippet with its highlights (ORIGINAL offsets) in ``<mark>``."""
    local = [(max(0, s - start), min(len(snippet), e - start), "hit") for s, e in spans
             if e > start and s < start + len(snippet)]
    out = []
    for seg in segment(snippet, local):
        chunk = esc(snippet[seg.start:seg.end])
        out.append(f"<mark>{chunk}</mark>" if seg.labels else chunk)
    return Markup("".join(out))


def article_body(art: dict[str, Any]) -> Markup:
    """An article's original text, one paragraph a line, its reused passages and its
    quotations marked (the passage's other side and direction in the tooltip)."""
    text = art["text"]
    spans: list[tuple[int, int, object]] = []
    for p in art["passages"]:
        mine = "a" if p["a"] == art["id"] else "b"
        other = p["b"] if mine == "a" else p["a"]
        s, e = p[f"{mine}_start"], p[f"{mine}_end"]
        if p.get("source") == art["id"]:
            spans.append((s, e, "reuse-src"))
        elif p.get("source") == other:
            spans.append((s, e, "reuse-copy"))
        else:
            spans.append((s, e, "reuse"))
    for q in art["attributions"]:
        if q["kind"] == "quote" and q["content"]:
            spans.append((q["content"][0], q["content"][1], "q"))
    segments = segment(text, spans, line_breaks(text))
    out = []
    for para in paragraphs(text, segments):
        parts = []
        for seg in para:
            chunk = esc(text[seg.start:seg.end])
            labels = sorted({str(x) for x in seg.labels})
            parts.append(f'<span class="{" ".join(labels)}">{chunk}</span>' if labels else chunk)
        out.append(f"<p>{''.join(parts)}</p>\n")
    return Markup("".join(out))


def reused_passages(art: dict[str, Any]) -> list[dict[str, Any]]:
    """Each reused passage of an article: the other article, who took from whom, and the
    passage as this article has it (ORIGINAL offsets)."""
    out = []
    for p in art["passages"]:
        mine = "a" if p["a"] == art["id"] else "b"
        other = p["b"] if mine == "a" else p["a"]
        s, e = p[f"{mine}_start"], p[f"{mine}_end"]
        direction = ("source" if p.get("source") == art["id"]
                     else "copy" if p.get("source") == other else "unknown")
        out.append({"other": other, "direction": direction, "start": s, "end": e,
                    "text": art["text"][s:e], "boilerplate": bool(p.get("boilerplate"))})
    return out


__all__ = ["article_body", "marked_snippet", "reused_passages"]
