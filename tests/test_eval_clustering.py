"""Clustering measures against hand-computed values, and `khabar eval stories` / `stories` CLI."""

from __future__ import annotations

import json
from itertools import combinations

import pytest
from click.testing import CliRunner
from conftest import DEMO
from hypothesis import given, settings
from hypothesis import strategies as st

from khabar.evaluation.clustering import (
    LabelledPair,
    cluster_scores,
    evaluate_files,
    pair_scores,
    read_clusters,
)


def brute_pairwise(pred: dict, gold: dict) -> tuple[float, float]:
    items = sorted(set(pred) & set(gold))
    both = pp = gp = 0
    for x, y in combinations(items, 2):
        p, g = pred[x] == pred[y], gold[x] == gold[y]
        both += p and g
        pp += p
        gp += g
    return (both / pp if pp else 1.0), (both / gp if gp else 1.0)


def brute_bcubed(pred: dict, gold: dict) -> tuple[float, float]:
    items = sorted(set(pred) & set(gold))
    prec = rec = 0.0
    for x in items:
        same_p = [y for y in items if pred[y] == pred[x]]
        same_g = [y for y in items if gold[y] == gold[x]]
        correct = sum(1 for y in same_p if gold[y] == gold[x])
        prec += correct / len(same_p)
        rec += correct / len(same_g)
    return prec / len(items), rec / len(items)


def test_by_hand():
    gold = {"a": 1, "b": 1, "c": 1, "d": 2, "e": 2}
    pred = {"a": "x", "b": "x", "c": "y", "d": "y", "e": "z"}
    s = cluster_scores(pred, gold)
    # pairs together in pred: ab, cd; in gold: ab ac bc de; both: ab
    assert s.pairwise.precision == pytest.approx(1 / 2)
    assert s.pairwise.recall == pytest.approx(1 / 4)
    # B-cubed precision: a 1, b 1, c 1/2, d 1/2, e 1 -> 4/5; recall: a 2/3 b 2/3 c 1/3 d 1/2 e 1/2
    assert s.bcubed.precision == pytest.approx(4 / 5)
    assert s.bcubed.recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 / 2 + 1 / 2) / 5)
    assert s.items == 5 and s.missing == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=25))
def test_matches_brute_force(labels):
    pred = {f"i{k}": p for k, (p, _) in enumerate(labels)}
    gold = {f"i{k}": g for k, (_, g) in enumerate(labels)}
    s = cluster_scores(pred, gold)
    assert (s.pairwise.precision, s.pairwise.recall) == pytest.approx(brute_pairwise(pred, gold))
    assert (s.bcubed.precision, s.bcubed.recall) == pytest.approx(brute_bcubed(pred, gold))


def test_perfect_and_all_singletons():
    gold = {"a": 1, "b": 1, "c": 2}
    assert cluster_scores(gold, gold).pairwise.f1 == 1.0
    single = cluster_scores({"a": 1, "b": 2, "c": 3}, gold)
    assert single.pairwise.precision == 1.0 and single.pairwise.recall == 0.0
    assert single.bcubed.precision == 1.0


def test_labelled_pairs():
    pred = {"a": 1, "b": 1, "c": 1, "d": 2, "e": 3}
    pairs = [LabelledPair("a", "b", "same"), LabelledPair("a", "d", "same"),
             LabelledPair("b", "c", "related"), LabelledPair("d", "e", "different"),
             LabelledPair("a", "c", "same", ambiguous=True), LabelledPair("a", "zz", "same")]
    s = pair_scores(pred, pairs)
    assert s.counts == {"different": 1, "related": 1, "same": 2}
    assert s.missing == 1
    assert s.same.recall == pytest.approx(1 / 2)
    assert s.same.precision == pytest.approx(1 / 2)  # ab merged, bc (related) merged
    assert s.merged == {"different": 0.0, "related": 1.0, "same": 0.5}


def test_files_of_every_shape(tmp_path):
    assignments = tmp_path / "assignments.jsonl"
    assignments.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "story": 1, "score": 1.0}, {"id": "b", "story": 1, "score": 0.9},
        {"id": "c", "story": 2, "score": 1.0}]) + "\n")
    stories = tmp_path / "stories.jsonl"
    stories.write_text(json.dumps({"story": 7, "members": ["a", "b"]}) + "\n"
                       + json.dumps({"story": 8, "members": ["c"]}) + "\n")
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"stories": {"x": ["a", "b", "c"]}, "singletons": []}, indent=2))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"a": "a", "b": "c", "event": "same"}) + "\n")
    assert read_clusters(assignments)["a"] == read_clusters(assignments)["b"]
    assert read_clusters(stories)["a"] != read_clusters(stories)["c"]
    s = evaluate_files(key, assignments)
    assert s["gold"] == "clusters" and s["pairwise"]["precision"] == 1.0
    assert s["pairwise"]["recall"] == pytest.approx(1 / 3, abs=1e-4)
    p = evaluate_files(pairs, stories)
    assert p["gold"] == "pairs" and p["same"]["recall"] == 0.0


def test_bad_gold_is_a_one_line_error(tmp_path):
    from khabar.cli.evaluate_stories import stories

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{nope\n')
    pred = tmp_path / "p.jsonl"
    pred.write_text('{"id": "a", "story": 1}\n')
    r = CliRunner().invoke(stories, ["--gold", str(bad), "--pred", str(pred)])
    assert r.exit_code != 0
    from khabar.errors import KhabarError

    assert isinstance(r.exception, KhabarError) and "bad.jsonl:2" in str(r.exception)


def test_cli_stories_then_eval_on_the_demo(tmp_path):
    from khabar.cli import main
    from khabar.cli.evaluate_stories import stories as eval_stories

    out = tmp_path / "out"
    main(["stories", str(DEMO), "--out", str(out), "-q"])
    rows = [json.loads(x) for x in (out / "stories.jsonl").read_text().splitlines()]
    assert list(rows[0])[:6] == ["story", "title", "first_seen", "last_seen", "members",
                                 "sources"]
    assigned = [json.loads(x) for x in (out / "assignments.jsonl").read_text().splitlines()]
    assert list(assigned[0]) == ["id", "story", "score"]
    assert len(assigned) == 25 == sum(len(r["members"]) for r in rows)
    key = json.loads((DEMO.parent / "demo-key.json").read_text(encoding="utf-8"))
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps({"stories": key["stories"], "singletons": key["singletons"]}))
    r = CliRunner().invoke(eval_stories, ["--gold", str(gold), "--pred",
                                          str(out / "assignments.jsonl"), "--json"])
    assert r.exit_code == 0, r.output
    scores = json.loads(r.output)
    assert scores["pairwise"]["precision"] == 1.0
    assert scores["items"] == 25


def test_cli_stories_db_keeps_ids_and_rejects_bad_options(tmp_path, capsys):
    from khabar.cli import main

    db = tmp_path / "k.db"
    outs = []
    for k in range(2):
        out = tmp_path / f"o{k}"
        main(["stories", str(DEMO), "--db", str(db), "--out", str(out), "-q",
              "--mode", "stream" if k else "batch"])
        outs.append((out / "assignments.jsonl").read_text())
    assert outs[0] == outs[1]  # the stream run found everything assigned already
    for bad in (["--threshold", "0"], ["--threshold", "1.5"], ["--window", "-1"]):
        with pytest.raises(SystemExit) as done:
            main(["stories", str(DEMO), "--out", str(tmp_path / "x"), *bad])
        assert done.value.code == 1
    with pytest.raises(SystemExit) as done:
        main(["stories", str(DEMO)])
    assert done.value.code == 1
    assert "give --out DIR or --db" in capsys.readouterr().err
