"""Duplicate detection: exact, near and contained copies, determinism, incremental runs."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from khabar.document import Document
from khabar.dups import DupParams, find_duplicates, load_pairs
from khabar.dups.clusters import union_find
from khabar.dups.lsh import choose_bands
from khabar.dups.shingles import normalized_codepoints, token_bounds
from khabar.dups.sketch import oph_signatures, seeded, sorted_sets
from khabar.errors import KhabarError
from khabar.ingest import ingest
from khabar.store import Store
from khabar.text.normalize import NormalizeOptions, get_normalizer
from khabar.text.tokenize import tokenize_many

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


def words(n: int, seed: int) -> list[str]:
    """Made-up Arabic-looking words, different for every seed."""
    rng = random.Random(seed)
    return ["".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 7))) for _ in range(n)]


def text(ws: list[str]) -> str:
    # sentences of 12 words, so punctuation and line breaks are part of the test texts
    return "\n".join(" ".join(ws[i : i + 12]) + "." for i in range(0, len(ws), 12))


def token_shingles(t: str, size: int = 5) -> set[tuple[str, ...]]:
    """Reference shingles, built the slow obvious way from the text layer."""
    toks = tokenize_many([get_normalizer().normalize(t)[0]])[0].strings
    return {tuple(toks[i : i + size]) for i in range(len(toks) - size + 1)}


def jaccard(x: str, y: str) -> float:
    a, b = token_shingles(x), token_shingles(y)
    return len(a & b) / len(a | b)


@pytest.fixture
def corpus() -> list[Document]:
    base = words(120, 1)
    edited = list(base)
    edited[60] = "مختلفة"  # one word changed: 5 of 116 shingles lost on each side
    harakat = text(base).replace("ب", "بَ").replace("ا", "أ")  # folds away when normalized
    long_words = words(100, 2) + base[:40] + words(100, 3)
    day = datetime(2015, 7, 21, tzinfo=UTC)
    return [
        Document("base", text(base), source="wire", date=day.replace(hour=9)),
        Document("copy", harakat, source="paper", date=day.replace(hour=8)),
        Document("edit", text(edited), source="site", date=day.replace(hour=10)),
        Document("other", text(words(120, 4)), source="site"),
        Document("short-story", text(base[:40]), source="wire", date=day),
        Document("long-article", text(long_words), source="paper", date=day),
        Document("tiny-1", "خبر عاجل", source="a"),
        Document("tiny-2", "خبر عاجل", source="b"),
        Document("empty", "", source="b"),
    ]


def by_pair(result) -> dict[tuple[str, str], object]:
    """The edges of a result, or any list of pairs, by (a, b)."""
    pairs = result.pairs if hasattr(result, "pairs") else result
    return {(p.a, p.b): p for p in pairs}


def test_exact_near_and_contained_pairs(corpus: list[Document]) -> None:
    result = find_duplicates(corpus)
    pairs = by_pair(result.all_pairs())
    texts = {d.id: d.text for d in corpus}

    exact = pairs[("base", "copy")]
    assert exact.kind == "exact" and exact.jaccard == 1.0

    near = pairs[("base", "edit")]
    assert near.kind == "near"
    assert near.jaccard == pytest.approx(jaccard(texts["base"], texts["edit"]), abs=5e-5)
    assert 0.8 <= near.jaccard < 1.0

    contained = pairs[("long-article", "short-story")]
    assert contained.kind == "near"
    assert contained.containment_b_in_a == 1.0  # every shingle of the story is in the article
    assert contained.jaccard < 0.2
    assert contained.containment_a_in_b < 0.2

    assert not any("other" in key for key in pairs)
    # every reported value is the exact one, rounded to DECIMALS
    for (a, b), p in pairs.items():
        assert p.jaccard == pytest.approx(jaccard(texts[a], texts[b]), abs=5e-5)


def test_short_and_empty_documents_are_never_duplicates(corpus: list[Document]) -> None:
    result = find_duplicates(corpus)
    assert result.short == ["empty", "tiny-1", "tiny-2"]
    assert not any(p.a in result.short or p.b in result.short for p in result.pairs)
    members = {m for c in result.clusters for m in c.members}
    assert not members & set(result.short)


def test_clusters_and_representative(corpus: list[Document]) -> None:
    result = find_duplicates(corpus)
    assert len(result.clusters) == 1
    cluster = result.clusters[0]
    assert set(cluster.members) == {"base", "copy", "edit", "short-story", "long-article"}
    # earliest date wins: short-story and long-article are both at midnight; the longer one
    assert cluster.representative == "long-article"
    assert result.dropped() == {"base", "copy", "edit", "short-story"}


def test_containment_off_and_threshold(corpus: list[Document]) -> None:
    pairs = by_pair(find_duplicates(corpus, DupParams(containment=0)).all_pairs())
    assert ("long-article", "short-story") not in pairs
    assert ("base", "edit") in pairs
    strict = by_pair(find_duplicates(corpus, DupParams(threshold=0.99, containment=0)))
    assert set(strict) == {("base", "copy")}


def test_char_shingles(corpus: list[Document]) -> None:
    pairs = by_pair(find_duplicates(corpus, DupParams(shingle="char:7")).all_pairs())
    assert pairs[("base", "copy")].kind == "exact"
    assert ("base", "edit") in pairs and ("long-article", "short-story") in pairs


def test_plain_texts_get_positional_ids() -> None:
    t = text(words(50, 9))
    result = find_duplicates([t, text(words(50, 8)), t])
    assert [(p.a, p.b, p.kind) for p in result.pairs] == [("0", "2", "exact")]


def test_output_identical_for_any_worker_count(tmp_path: Path) -> None:
    base = [words(80, s) for s in range(30)]
    docs = []
    for i, ws in enumerate(base):
        docs.append(Document(f"d{i:02d}", text(ws)))
        if i % 3 == 0:  # an edited copy of every third story
            edited = [*ws[:40], "تعديل", *ws[41:]]
            docs.append(Document(f"e{i:02d}", text(edited)))
    outputs = []
    for workers, batch in ((1, 1000), (2, 7), (2, 1)):
        out = tmp_path / f"w{workers}-b{batch}"
        find_duplicates(docs, workers=workers, batch_size=batch).write(out)
        outputs.append({f.name: f.read_bytes() for f in sorted(out.iterdir())})
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0]["pairs.jsonl"].count(b"\n") == 10


def test_incremental_equals_batch(tmp_path: Path, corpus: list[Document]) -> None:
    extra = [Document(f"x{i}", text(words(60, 100 + i % 4))) for i in range(8)]
    changed = Document("edit", text(words(120, 1)[:60] + words(60, 77)))
    first, second = corpus[:5], [*corpus[5:], *extra, changed]

    with Store(tmp_path / "inc.db") as store:
        ingest(first, store)
        before = find_duplicates(store)
        assert ("base", "edit") in by_pair(before.all_pairs())
        ingest(second, store)
        incremental = find_duplicates(store, workers=2, batch_size=3)
        again = find_duplicates(store)
        stored = load_pairs(store, update=False)

    final = {d.id: d for d in [*first, *second]}  # the changed "edit" replaces the first
    with Store(tmp_path / "batch.db") as store:
        ingest(list(final.values()), store)
        batch = find_duplicates(store)

    assert incremental.pairs == batch.pairs == again.pairs == stored
    assert incremental.clusters == batch.clusters
    assert incremental.short == batch.short
    assert ("base", "edit") not in by_pair(batch.all_pairs())  # the update changed the answer
    assert ("x0", "x4") in by_pair(batch)


def test_changed_parameters_recompute(tmp_path: Path, corpus: list[Document]) -> None:
    with Store(tmp_path / "p.db") as store:
        ingest(corpus, store)
        loose = find_duplicates(store)
        strict = find_duplicates(store, DupParams(threshold=0.99, containment=0))
        assert set(by_pair(strict)) == {("base", "copy")}
        assert find_duplicates(store).pairs == loose.pairs


def test_store_and_memory_agree(tmp_path: Path, corpus: list[Document]) -> None:
    with Store(tmp_path / "m.db") as store:
        ingest(corpus, store)
        stored = find_duplicates(store)
    memory = find_duplicates(corpus)
    assert stored.pairs == memory.pairs and stored.clusters == memory.clusters


def copies_corpus(exact: int, near: int) -> list[Document]:
    """`exact` identical copies of one story, `near` copies each with one word of its own,
    and a few unrelated articles around them."""
    base = words(80, 21)
    day = datetime(2015, 7, 21, tzinfo=UTC)
    # every copy from an outlet of its own: an outlet repeating a text in many of its
    # articles has it removed as boilerplate by the repair step of a store
    docs = [Document(f"c{i:05d}", text(base), source=f"outlet{i}",
                     date=day.replace(minute=i % 60)) for i in range(exact)]
    for i in range(near):
        own = "".join(LETTERS[int(d)] for d in f"{i:04d}") + "ة"
        docs.append(Document(f"n{i:05d}", text([*base[:40], own, *base[41:]]),
                             source=f"site{i}", date=day.replace(hour=5)))
    docs.extend(Document(f"o{i}", text(words(70, 500 + i))) for i in range(5))
    return docs


def test_clusters_of_copies_cost_linear_pairs() -> None:
    docs = copies_corpus(400, 300)
    result = find_duplicates(docs)
    assert len(result.clusters) == 1 and len(result.clusters[0].members) == 700
    assert result.clusters[0].representative == "c00000"  # earliest, then smallest id
    # every exact copy against the group's representative only (not 79,800 pairs)
    exact = [p for p in result.pairs if p.kind == "exact"]
    assert all("c00000" in (p.a, p.b) for p in exact) and len(exact) == 399
    assert result.exact_groups[0][0] == "c00000" and len(result.exact_groups[0]) == 400
    # near copies: each linked, with a number of edges linear in theirs (not 45,150)
    near = [p for p in result.pairs if p.kind == "near"]
    assert all(p.jaccard >= 0.8 for p in near)
    assert {x for p in near for x in (p.a, p.b)} >= {d.id for d in docs[400:700]}
    assert len(near) < 3 * 300
    # verification stays linear too: the near copies share LSH buckets of 301 units
    assert result.stats["candidates"] < 3 * 301
    # all_pairs expands the edges to every copy of each side, with exact values
    every = result.all_pairs()
    assert len(every) >= 400 * 399 // 2 + 300 * 400
    some = by_pair(every)[("c00001", "n00001")]
    assert some.jaccard == pytest.approx(jaccard(docs[1].text, docs[401].text), abs=5e-5)


def test_clusters_of_copies_incremental_equals_batch(tmp_path: Path) -> None:
    docs = copies_corpus(60, 40)
    half = len(docs) // 2
    with Store(tmp_path / "inc.db") as store:
        ingest(docs[1:half], store)
        find_duplicates(store)
        # the earliest copy arrives last: it becomes every group's representative
        ingest([*docs[half:], docs[0]], store)
        incremental = find_duplicates(store)
        stored = load_pairs(store, update=False)
    memory = find_duplicates(docs)
    assert incremental.pairs == memory.pairs == stored
    assert incremental.clusters == memory.clusters
    assert incremental.exact_groups == memory.exact_groups
    assert all("c00000" in (p.a, p.b) for p in incremental.pairs if p.kind == "exact")


# -- building blocks ------------------------------------------------------------------------


def test_token_bounds_match_the_tokenizer() -> None:
    samples = ["3.5 و1,200 ..1.2. 漢字かな 2020م a_b", "", "x", "ab12cd 1.a .5 ,3,",
               "قال الوزير: «نعم»، وأضاف ٣٫٥ مليون."]
    for t in samples:
        cps = np.frombuffer(t.encode("utf-32-le"), np.uint32)
        starts, ends = token_bounds(cps)
        ref = tokenize_many([t])[0]
        assert starts.tolist() == ref.starts.tolist() and ends.tolist() == ref.ends.tolist()


@pytest.mark.parametrize("options", [None, NormalizeOptions(harakat=False, nfkc=False),
                                     NormalizeOptions(teh_marbuta=True, hamza=True)])
def test_normalized_codepoints_match_the_normalizer(options: NormalizeOptions | None) -> None:
    texts = ["قَالَ ـــ مرحبا\u200f ٣٫٥", "ﻻ إله إلا ﷲ ﷺ", "", "\u0651بداية", "مدرسة مؤسسة ئ",
             "ＡＢＣ Ǆ ﬁ"]
    cps, bases = normalized_codepoints(texts, options)
    got = [cps[bases[i] : bases[i + 1] - 1].tobytes().decode("utf-32-le")
           for i in range(len(texts))]
    assert got == [n for n, _ in get_normalizer(options).normalize_many(texts)]


def test_oph_agreement_estimates_jaccard() -> None:
    # small sets leave most of the 128 bins empty: densification must keep the estimate unbiased
    rng = np.random.default_rng(5)
    for size, overlap in ((20, 10), (300, 200)):
        rates, truths = [], []
        for _ in range(200):
            common = rng.integers(0, 2**63, overlap, dtype=np.int64).astype(np.uint64)
            a = np.concatenate((common, rng.integers(0, 2**63, size - overlap,
                                                     dtype=np.int64).astype(np.uint64)))
            b = np.concatenate((common, rng.integers(0, 2**63, size - overlap,
                                                     dtype=np.int64).astype(np.uint64)))
            sets, offsets = sorted_sets(seeded(np.concatenate((a, b)), 7),
                                        np.array([0, size, 2 * size]))
            sig = oph_signatures(sets, offsets, 128, 7)
            rates.append(np.mean(sig[0] == sig[1]))
            truths.append(overlap / (2 * size - overlap))
        assert np.mean(rates) == pytest.approx(np.mean(truths), abs=0.02)


def test_band_choice() -> None:
    assert choose_bands(0.8, 128) == (16, 8)
    b, r = choose_bands(0.5, 128)
    assert b * r <= 128 and 1 - (1 - 0.5**r) ** b > 0.9
    assert DupParams(bands=20, rows=5).band_rows() == (20, 5)


@pytest.mark.parametrize("kwargs", [{"threshold": 1.5}, {"containment": -0.1},
                                    {"shingle": "sentence"}, {"shingle": "word:0"},
                                    {"bands": 4}, {"bands": 20, "rows": 10},
                                    {"min_tokens": 0}, {"num_perm": 0}])
def test_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(KhabarError):
        DupParams(**kwargs)


def test_union_find_matches_a_plain_one() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(2, 40))
        a, b = rng.integers(0, n, 30), rng.integers(0, n, 30)
        parent = list(range(n))

        def root(x: int, parent: list[int] = parent) -> int:
            while parent[x] != x:
                x = parent[x]
            return x

        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            rx, ry = root(x), root(y)
            parent[max(rx, ry)] = min(rx, ry)
        assert union_find(n, a, b).tolist() == [root(x) for x in range(n)]


# -- the real corpus ------------------------------------------------------------------------


@pytest.mark.slow
def test_dev_corpus_pairs_are_exact_and_complete(saudinewsnet: Path) -> None:
    """On real news: every pair at Jaccard ≥ 0.8 is found and every value is exact."""
    import gzip

    import scipy.sparse as sp

    with gzip.open(saudinewsnet, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] or "" for _, line in zip(range(4000), f,
                                                                   strict=False)]
    result = find_duplicates(texts, workers=2)
    shingle_sets = []
    for t in texts:
        toks = tokenize_many([get_normalizer().normalize(t)[0]])[0].strings
        shingle_sets.append({" ".join(toks[i : i + 5]) for i in range(len(toks) - 4)}
                            if len(toks) >= 10 else set())
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, s in enumerate(shingle_sets):
        for x in s:
            rows.append(i)
            cols.append(vocab.setdefault(x, len(vocab)))
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocab)))
    inter = sp.triu(m @ m.T, k=1).tocoo()
    sizes = np.array([len(s) for s in shingle_sets])
    jac = inter.data / (sizes[inter.row] + sizes[inter.col] - inter.data)
    truth = {(min(str(a), str(b)), max(str(a), str(b)))
             for a, b in zip(inter.row[jac >= 0.8], inter.col[jac >= 0.8], strict=True)}
    found = {(p.a, p.b) for p in result.all_pairs() if p.jaccard >= 0.8}
    assert found <= truth
    assert len(found) >= 0.97 * len(truth)
    for p in result.all_pairs()[:200]:
        a, b = shingle_sets[int(p.a)], shingle_sets[int(p.b)]
        assert p.jaccard == pytest.approx(len(a & b) / len(a | b), abs=5e-5)
        assert p.containment_a_in_b == pytest.approx(len(a & b) / len(a), abs=5e-5)


@pytest.mark.slow
def test_fast_text_path_matches_the_text_layer_on_real_news(saudinewsnet: Path) -> None:
    """The fused normalization and token bounds agree with the text layer on real articles."""
    import gzip

    with gzip.open(saudinewsnet, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] or "" for _, line in zip(range(3000), f,
                                                                   strict=False)]
    for lo in range(0, len(texts), 500):
        batch = texts[lo : lo + 500]
        cps, bases = normalized_codepoints(batch)
        normed = [n for n, _ in get_normalizer().normalize_many(batch)]
        starts, ends = token_bounds(cps)
        for i, (norm, toks) in enumerate(zip(normed, tokenize_many(normed), strict=True)):
            a, b = int(bases[i]), int(bases[i + 1]) - 1
            assert cps[a:b].tobytes().decode("utf-32-le") == norm
            inside = (starts >= a) & (starts < b)
            assert (starts[inside] - a).tolist() == toks.starts.tolist()
            assert (ends[inside] - a).tolist() == toks.ends.tolist()
