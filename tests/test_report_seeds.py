"""The report of ../shared/seeds: one story, what the second article adds, who is quoted.

The two seed articles report one event. In the report, the second article's
sentences about the Israeli strikes, the 15 dead and the agency deleting its
report are highlighted as new; its quotation of the commander is repeated from
the first and links back to it; the quoted sources include Tasnim and the
Syrian Observatory for Human Rights. Runs the whole pipeline (`khabar run`, or
the stages one by one while it is not installed); skipped when ../shared is absent.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from khabar.report.render import article_anchor

SECOND = "001_db7017d31f08142d.txt"


class _Highlights(HTMLParser):
    """Text of the new / repeated segments inside one article, and of one section."""

    def __init__(self, article_id: str, section: str) -> None:
        super().__init__(convert_charrefs=True)
        self.article_id, self.section = article_id, section
        self.depth_article = self.depth_section = 0
        self.kind: str | None = None
        self.stack: list[str | None] = []
        self.new: list[str] = []
        self.repeated: list[str] = []
        self.section_text: list[str] = []
        self.pills: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "article":
            self.depth_article = 1 if (a.get("id") or "") == self.article_id else 0
        if tag == "section":
            self.depth_section = 1 if a.get("id") == self.section else 0
        if tag == "span" and self.depth_article:
            # sentences wrap the spans of quotations and speakers: a stack of kinds
            classes = (a.get("class") or "").split()
            mine = "new" if "new" in classes else "rep" if "rep" in classes else None
            self.stack.append(mine or self.kind)
            self.kind = self.stack[-1]
        if tag == "a" and self.depth_article and a.get("class") == "seen":
            self.pills.append(a.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self.stack:
            self.stack.pop()
            self.kind = self.stack[-1] if self.stack else None
        if tag == "article":
            self.depth_article = 0
        if tag == "section":
            self.depth_section = 0

    def handle_data(self, data: str) -> None:
        if self.kind == "new":
            self.new.append(data)
        elif self.kind == "rep":
            self.repeated.append(data)
        if self.depth_section:
            self.section_text.append(data)


def _report(inputs: Path, tmp_path: Path) -> Path:
    """The report of `khabar run` over `inputs`."""
    from khabar.cli import main

    out, db = tmp_path / "report", tmp_path / "k.db"
    try:
        main(["run", str(inputs), "--out", str(out), "--db", str(db), "--quiet"])
    except SystemExit as exc:
        assert not exc.code
    return out


def test_seed_story_page(seeds_dir: Path, tmp_path: Path) -> None:
    out = _report(seeds_dir, tmp_path)
    pages = sorted((out / "stories").glob("*.html"))
    holding = [p for p in pages if article_anchor(SECOND) in p.read_text("utf-8")]
    assert len(holding) == 1
    html = holding[0].read_text("utf-8")
    assert html.count('<article class="doc"') == 2

    seen = _Highlights(article_anchor(SECOND), "sources")
    seen.feed(html)
    new, repeated = "".join(seen.new), "".join(seen.repeated)
    assert "الطائرات الحربية الإسرائيلية" in new  # the strikes
    assert "مقتل 15" in new  # the 15 dead
    assert "تسارع بحذف التقرير" in new  # the agency deleting its report
    assert "بالنظر إلى أن وجود داعش" in repeated  # the commander's quotation
    assert "بالنظر إلى أن وجود داعش" not in new
    assert seen.pills, "repeated sentences link to their first occurrence"
    who = "".join(seen.section_text)
    assert "تسنيم" in who
    assert "المرصد السوري لحقوق الإنسان" in who
