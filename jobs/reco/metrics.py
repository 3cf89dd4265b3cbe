"""Quality metrics for rating prediction and top-N ranking (pure Python and numpy).

Rating prediction: RMSE and MAE over (prediction, rating) pairs.

Ranking, for one user with a recommended list ``rec`` (best first, cut at ``k``) and a set
``rel`` of relevant held-out movies:

* ``precision@k = |rec[:k] & rel| / k``
* ``recall@k    = |rec[:k] & rel| / |rel|``
* ``NDCG@k      = DCG / IDCG`` with binary gains, ``DCG = sum over hits at position i
  (1-based) of 1 / log2(i + 1)`` and ``IDCG`` the DCG of a perfect list of
  ``min(|rel|, k)`` hits
* ``AP@k        = (1 / min(|rel|, k)) * sum over hits at position i of precision@i``;
  ``MAP`` is its mean over users (so MAP here is MAP@k, with the same ``k``)

Relevance (``relevant_items``): by default a held-out movie is relevant when the user rated
it ``>= 4.0`` ("liked"); with ``threshold=None`` every held-out interaction is relevant.
Users with no relevant held-out movie are skipped (they cannot be scored), and every metric
is averaged over the same users, for the model and for the baseline alike. A list shorter
than ``k`` still divides precision by ``k``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

LIKED = 4.0


def rmse(predictions: Sequence[float], actual: Sequence[float]) -> float:
    p, a = np.asarray(predictions, float), np.asarray(actual, float)
    if p.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((p - a) ** 2)))


def mae(predictions: Sequence[float], actual: Sequence[float]) -> float:
    p, a = np.asarray(predictions, float), np.asarray(actual, float)
    if p.size == 0:
        return float("nan")
    return float(np.mean(np.abs(p - a)))


def precision_at_k(rec: Sequence[int], rel: set[int], k: int) -> float:
    return sum(1 for m in rec[:k] if m in rel) / k


def recall_at_k(rec: Sequence[int], rel: set[int], k: int) -> float:
    if not rel:
        return 0.0
    return sum(1 for m in rec[:k] if m in rel) / len(rel)


def ndcg_at_k(rec: Sequence[int], rel: set[int], k: int) -> float:
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, m in enumerate(rec[:k]) if m in rel)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), k)))
    return dcg / idcg


def average_precision_at_k(rec: Sequence[int], rel: set[int], k: int) -> float:
    if not rel:
        return 0.0
    hits, total = 0, 0.0
    for i, m in enumerate(rec[:k]):
        if m in rel:
            hits += 1
            total += hits / (i + 1)
    return total / min(len(rel), k)


def relevant_items(
    held_out: Iterable[tuple[int, int, float]], threshold: float | None = LIKED
) -> dict[int, set[int]]:
    """``{user: {movie, ...}}`` of relevant held-out ``(user, movie, rating)`` triples."""
    out: dict[int, set[int]] = defaultdict(set)
    for user, movie, rating in held_out:
        if threshold is None or rating >= threshold:
            out[user].add(movie)
    return dict(out)


def ranking_report(
    recommendations: Mapping[int, Sequence[int]], relevant: Mapping[int, set[int]], k: int
) -> dict[str, float]:
    """Mean precision/recall/NDCG@k and MAP@k over the users with relevant items.

    A user with relevant items but no recommendation counts as all zeros.
    """
    users = [u for u, rel in relevant.items() if rel]
    if not users:
        return {f"precision@{k}": 0.0, f"recall@{k}": 0.0, f"ndcg@{k}": 0.0, "map": 0.0, "users": 0}
    sums = np.zeros(4)
    for u in users:
        rec, rel = list(recommendations.get(u, ())), relevant[u]
        sums += (
            precision_at_k(rec, rel, k),
            recall_at_k(rec, rel, k),
            ndcg_at_k(rec, rel, k),
            average_precision_at_k(rec, rel, k),
        )
    p, r, n, m = (sums / len(users)).tolist()
    return {f"precision@{k}": p, f"recall@{k}": r, f"ndcg@{k}": n, "map": m, "users": len(users)}


def popularity_ranking(train: Iterable[tuple[int, int, float]]) -> list[int]:
    """Movies by number of training ratings, most first (ties: smaller id first)."""
    counts: dict[int, int] = defaultdict(int)
    for _, movie, _ in train:
        counts[movie] += 1
    return [m for m, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def popularity_recommendations(
    ranking: Sequence[int], seen: Mapping[int, set[int]], users: Iterable[int], k: int
) -> dict[int, list[int]]:
    """The most-popular baseline: each user's ``k`` most popular movies not yet rated."""
    out = {}
    for u in users:
        user_seen = seen.get(u, set())
        recs = []
        for m in ranking:
            if m not in user_seen:
                recs.append(m)
                if len(recs) == k:
                    break
        out[u] = recs
    return out
