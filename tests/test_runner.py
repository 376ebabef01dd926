"""The local runner: every op gives the same records whatever the number of workers."""

from __future__ import annotations

import operator

import numpy as np
import pytest

from khabar.engine import LocalRunner, cogroup, get_runner


def double(batch, k):
    return [x * k for x in batch]


def mod_key(batch, m):
    return [(x % m, x) for x in batch]


def first_three(key, values, m):
    yield (key, sorted(values)[:3], len(values))


def array_key(batch):
    a = np.asarray(batch, dtype=np.uint64)
    return a % np.uint64(7), np.asarray(batch, dtype=np.int64)


def array_sums(keys, values):
    bounds = np.flatnonzero(np.diff(keys)) + 1
    return [(int(k[0]), int(v.sum())) for k, v in zip(np.split(keys, bounds),
                                                       np.split(values, bounds), strict=True)]


def total(batch):
    return sum(batch)


def side_a(batch):
    return [(x % 5, x) for x in batch]


def side_b(batch):
    return [(x % 5, -x) for x in batch if x < 20]


def sizes(key, sides):
    yield (key, len(sides[0]), len(sides[1]))


def add_records(items, plus):
    return [(i, j, ri[1] + rj[1] + plus) for i, j, _, ri, rj in items]


def table_key(r):
    return r[0]


def split(batch):
    return [x for x in batch if x % 2], [x for x in batch if not x % 2]


def everything(w: int) -> dict:
    with LocalRunner(w) as r:
        ds = r.parallelize(range(10000))
        table = r.parallelize([(k, k * 10) for k in range(100)])
        pairs = r.parallelize([(i, (i * 7) % 100, None) for i in range(100)])
        odd, even = ds.map_multi(split, 2)
        return {
            "map": sorted(ds.map(double, 3).records()),
            "count": ds.count(),
            "group": sorted(ds.group(mod_key, first_three, 10).records()),
            "arrays": sorted(ds.group_arrays(array_key, array_sums).records()),
            "aggregate": ds.aggregate(total, operator.add),
            "cogroup": sorted(cogroup([ds, ds], [side_a, side_b], sizes).records()),
            "pairs": sorted(r.pairs(pairs, table, table_key, add_records, (1,)).records()),
            "components": sorted(r.components(r.parallelize(
                [(1, 2), (2, 3), (10, 11), (5, 5), (7, 3)])).records()),
            "sorted": list(ds.map(double, 3).sorted_records(operator.neg))[:3],
            "ranked": list(r.ranked(ds, operator.neg).records())[:2],
            "multi": (odd.count(), even.count()),
        }


def test_results_do_not_depend_on_workers():
    one, two = everything(1), everything(2)
    assert one == two
    assert one["group"][0] == (0, [0, 10, 20], 1000)
    assert one["aggregate"] == sum(range(10000))
    assert one["cogroup"][0] == (0, 2000, 4)
    assert one["pairs"][1] == (1, 7, 10 + 70 + 1)
    assert one["components"] == [(1, 1), (2, 1), (3, 1), (5, 5), (7, 1), (10, 10), (11, 10)]
    assert one["sorted"] == [29997, 29994, 29991]
    assert one["ranked"] == [(0, 9999), (1, 9998)]
    assert one["multi"] == (5000, 5000)


def test_intermediate_files_go_where_asked_and_are_removed(tmp_path):
    runner = LocalRunner(1, workdir=tmp_path)
    ds = runner.parallelize(range(100))
    assert ds.count() == 100
    assert any(tmp_path.iterdir())
    runner.close()
    assert not any(p for p in tmp_path.iterdir() if p.name.startswith("khabar-work-"))


def test_runner_specs():
    assert isinstance(get_runner(2), LocalRunner) and get_runner(2).workers == 2
    assert get_runner("local:3").workers == 3
    with pytest.raises(ValueError):
        get_runner("local:x")
    with pytest.raises(ValueError):
        get_runner("cluster")
