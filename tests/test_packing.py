"""Values that travel packed between steps, and the bounded chunks of the bag index."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import scipy.sparse as sp

from khabar.corpus import Article
from khabar.document import Document
from khabar.explain.novelty import DocSentences
from khabar.explain.stage import ExplainDoc, StoryBundle
from khabar.pickling import Packed
from khabar.report.model import text_direction
from khabar.reuse import stage as reuse_stage


def test_packed_round_trip_reads_only_when_asked() -> None:
    value = {"text": "خبر عاجل", "n": [1, 2, 3]}
    again = pickle.loads(pickle.dumps(Packed(value)))
    assert again._value is not value  # a new object, still unread
    assert again._blob is not None
    assert again.value == value
    # passed on unread, it keeps the same bytes
    twice = pickle.loads(pickle.dumps(again))
    assert twice.blob() == again.blob()
    assert twice.value == value


def _bundle() -> StoryBundle:
    docs = [Document(id=f"d{k}", text=f"نص المقالة رقم {k}.") for k in range(3)]
    arts = [Article(k, d) for k, d in enumerate(docs)]
    xdocs = [ExplainDoc(k, d.id, DocSentences([(0, len(d.text))], [["نص"]], [frozenset()],
                                              [False], [], [False]), [], [])
             for k, d in enumerate(docs)]
    return StoryBundle("story-record", arts, xdocs, ["passage"], {"x": 1},
                       novelty={"d0": []}, summary=["s"], sources=["src"])


def test_story_bundle_pickles_with_its_members_packed() -> None:
    b = _bundle()
    again = pickle.loads(pickle.dumps(b))
    # the fields the row step reads come back without unpacking the members
    assert again._members._value is not None and again._members._blob is not None
    assert (again.story, again.passages, again.sides) == ("story-record", ["passage"], {"x": 1})
    assert (again.novelty, again.summary, again.sources) == ({"d0": []}, ["s"], ["src"])
    assert [a.doc.id for a in again.articles] == ["d0", "d1", "d2"]
    assert [x.sentences.boilerplate for x in again.docs] == [[False]] * 3
    again.set_members(list(reversed(again.articles)), list(reversed(again.docs)))
    third = pickle.loads(pickle.dumps(again))
    assert [a.n for a in third.articles] == [2, 1, 0]


def test_analysis_stored_before_boilerplate_flags_still_loads() -> None:
    # the service stores pickled analyses, rebuilt positionally: five fields then, six now
    restored = DocSentences(*([(0, 4)], [["x"]], [frozenset()], [False], []))
    assert restored.boilerplate is None
    assert pickle.loads(pickle.dumps(restored)).boilerplate is None


def test_product_chunks_cover_every_row_within_the_budget(monkeypatch) -> None:
    rng = np.random.default_rng(7)
    rows, cols = 500, 60
    dense = rng.random((rows, cols)) < 0.1
    x = sp.csr_matrix(dense.astype(np.int32))
    xt = x.T.tocsr()
    monkeypatch.setattr(reuse_stage, "PRODUCT_BUDGET", 2_000)
    chunks = reuse_stage._product_chunks(x, xt)
    assert chunks[0][0] == 0 and chunks[-1][1] == rows
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    per_row = x @ np.diff(xt.indptr)
    for lo, hi in chunks:
        assert hi - lo == 1 or per_row[lo:hi].sum() <= 2_000
        # the bound holds for the real product too
        assert (x[lo:hi] @ xt).nnz <= max(per_row[lo:hi].sum(), 1)
    assert len(chunks) > 1


def test_text_direction_votes_by_letters() -> None:
    assert text_direction("CNN: قال المتحدث باسم الوزارة إن الاجتماع انتهى") == "rtl"
    assert text_direction("The minister said 12345 ١٢٣٤٥ — خبر") == "ltr"
    assert text_direction("12345 ... !!!") == "rtl"  # no letters: the report's default
    assert text_direction("שלום עולם hello") == "rtl"
