"""Ranking and rating metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from jobs.reco import metrics

REC = [1, 2, 3, 4, 5]
REL = {2, 5, 9}


def test_rmse_mae():
    assert metrics.rmse([3.0, 4.0], [4.0, 2.0]) == pytest.approx(math.sqrt((1 + 4) / 2))
    assert metrics.mae([3.0, 4.0], [4.0, 2.0]) == pytest.approx(1.5)
    assert math.isnan(metrics.rmse([], []))


def test_precision_recall():
    assert metrics.precision_at_k(REC, REL, 5) == pytest.approx(2 / 5)
    assert metrics.recall_at_k(REC, REL, 5) == pytest.approx(2 / 3)
    assert metrics.precision_at_k(REC, REL, 1) == 0.0
    assert metrics.precision_at_k([2], REL, 10) == pytest.approx(0.1)  # short list: /k


def test_ndcg():
    # hits at positions 2 and 5: DCG = 1/log2(3) + 1/log2(6); IDCG = 1 + 1/log2(3) + 1/log2(4)
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3) + 0.5
    assert metrics.ndcg_at_k(REC, REL, 5) == pytest.approx(dcg / idcg)
    assert metrics.ndcg_at_k([2, 5, 9], REL, 3) == pytest.approx(1.0)
    assert metrics.ndcg_at_k(REC, set(), 5) == 0.0


def test_average_precision():
    # hits at 2 and 5: (1/2 + 2/5) / min(3, 5)
    assert metrics.average_precision_at_k(REC, REL, 5) == pytest.approx(0.9 / 3)
    assert metrics.average_precision_at_k([9, 2, 5], REL, 3) == pytest.approx(1.0)


def test_relevance_and_report():
    held_out = [(1, 2, 4.0), (1, 5, 4.5), (1, 9, 3.5), (2, 7, 2.0), (3, 8, 5.0)]
    rel = metrics.relevant_items(held_out)
    assert rel == {1: {2, 5}, 3: {8}}
    assert metrics.relevant_items(held_out, None)[1] == {2, 5, 9}
    report = metrics.ranking_report({1: [2, 3], 3: [8]}, rel, k=2)
    # user 1: p=1/2 r=1/2 ; user 3: p=1/2 r=1 (no recommendation for nobody else)
    assert report["precision@2"] == pytest.approx(0.5)
    assert report["recall@2"] == pytest.approx(0.75)
    assert report["users"] == 2
    assert metrics.ranking_report({}, rel, k=2)["precision@2"] == 0.0


def test_popularity_baseline():
    train = [(1, 10, 5.0), (2, 10, 3.0), (3, 10, 4.0), (1, 20, 4.0), (2, 20, 4.0), (3, 30, 1.0)]
    ranking = metrics.popularity_ranking(train)
    assert ranking == [10, 20, 30]
    recs = metrics.popularity_recommendations(ranking, {1: {10, 20}}, [1, 4], k=2)
    assert recs == {1: [30], 4: [10, 20]}
