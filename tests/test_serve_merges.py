"""A batch in which the story stream merges two stories is stored whole.

The stream merges two active stories when the pairs between their members reach the
linkage threshold (`StoryStream.pop_merges`). Made-up articles that trip it depend on
every constant of the story model, so the merge is reported here through the stream's
own `pop_merges`, and what is checked is what the service does with it: the batch is
placed in one transaction (a merge once broke it, and the worker then analysed articles
one by one and dropped those whose stories merged)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from test_reuse import CULTURE, MARKET, SCIENCE, SPORT, TRAFFIC, WEATHER

from khabar.document import Document
from khabar.service.analysis import Analyzer, accept


def _doc(doc_id: str, text: str, day: int) -> Document:
    return Document(id=doc_id, text=text, source=f"outlet-{doc_id}",
                    date=datetime(2015, 7, day, 10, tzinfo=UTC))


def test_a_merge_moves_members_and_records_the_alias(tmp_path: Path) -> None:
    with Analyzer(tmp_path / "news.db") as an:
        accept(an.store, [_doc("x", f"{SPORT} {CULTURE}", 1), _doc("y", f"{WEATHER} {MARKET}", 1)],
               "test")
        an.run_pending()
        sx, sy = an.story_of("x"), an.story_of("y")
        assert sx is not None and sy is not None and sx != sy
        stream = an._ensure_stream()
        real = stream.pop_merges

        def with_merge() -> list[tuple[int, int]]:
            return [*real(), (max(sx, sy), min(sx, sy))]

        stream.pop_merges = with_merge  # type: ignore[method-assign]
        accept(an.store, [_doc("z", f"{SCIENCE} {TRAFFIC}", 2)], "test")
        assert an.run_pending() == 1  # the batch went through as one
        stream.pop_merges = real  # type: ignore[method-assign]
        kept, gone = min(sx, sy), max(sx, sy)
        assert an.story_of("x") == an.story_of("y") == kept
        assert an.story_of("z") is not None
        q = an.store.db.execute
        assert q("SELECT into_story FROM svc_story_alias WHERE story=?", (gone,)).fetchone() \
            == (kept,)
        assert q("SELECT COUNT(*) FROM svc_stories WHERE story=?", (gone,)).fetchone() == (0,)
        assert q("SELECT COUNT(*) FROM svc_queue").fetchone() == (0,)
        assert an.explained()
