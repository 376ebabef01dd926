"""Highlights are marked from the query's phrases, as FTS5's highlight() marks them."""

from __future__ import annotations

import sqlite3

from khabar.service import search as s

TEXTS = [
    "قال ولي العهد إن أسعار النفط ستتعافى، وأكد ولي العهد أن المملكة مستعدة",
    "أعلنت وزارة الصحة افتتاح مستشفى جديد في الرياض وآخر في جدة",
    "الأمن العام يحذر من الطرق المغلقة في جدة والرياض بعد الأمطار",
    "ولي أمر الطالب قال إن العهد الجديد في التعليم بدأ",
]
QUERIES = ['"ولي العهد"', "ولي العهد", "الرياض OR جدة", "جدة -الصحة", "النفط المملكة",
           '"الأمن العام" الرياض', "مستشفيات"]


OPEN, CLOSE = "\x01", "\x02"


def marked_tokens(highlighted: str) -> list[int]:
    """Token numbers (0-based) that FTS5's ``highlight()`` marked in an indexed key string
    (keys joined by single spaces; a phrase's mark spans its keys)."""
    out: list[int] = []
    pos = token = 0
    while True:
        opened = highlighted.find(OPEN, pos)
        if opened < 0:
            return out
        closed = highlighted.find(CLOSE, opened)
        if closed < 0:
            closed = len(highlighted)
        token += highlighted.count(" ", pos, opened)
        inner = highlighted.count(" ", opened, closed)
        out.extend(range(token, token + inner + 1))
        token += inner
        pos = closed


def test_phrase_tokens_mark_what_fts5_highlight_marks() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(body, "
                 "tokenize = 'unicode61 remove_diacritics 0')")
    for view in s.views([(str(k), t) for k, t in enumerate(TEXTS)]):
        conn.execute("INSERT INTO f (body) VALUES (?)", (s.index_text(view).keys,))
    compared = 0
    for q in QUERIES:
        query = s.parse(q)
        for hl, body in conn.execute(
                "SELECT highlight(f, 0, char(1), char(2)), body FROM f WHERE f MATCH ?",
                (query.fts,)):
            assert s.phrase_tokens(body, query.phrases) == marked_tokens(hl), q
            compared += 1
    assert compared >= 8
    # a phrase is marked only where its words follow each other
    query = s.parse('"ولي العهد"')
    body = s.index_text(s.views([("x", TEXTS[3])])[0]).keys
    assert s.phrase_tokens(body, query.phrases) == []
