"""Evaluate a trained ALS model and the most-popular baseline on the same split.

Scoring for evaluation happens on the driver with numpy: the item factors (tens of
thousands of rows) and the factors of the evaluated users are collected, and each user's
top ``k`` unrated movies are taken exactly as the streaming job does (``foldin.top_n``).
``max_users`` caps how many users are evaluated (a seeded sample) on large data sets.
"""

from __future__ import annotations

import logging
import random

import numpy as np
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.reco import metrics, neighbours
from jobs.reco.foldin import ItemFactors, top_n

log = logging.getLogger(__name__)


def item_factors(model: ALSModel) -> ItemFactors:
    return factor_table(model.itemFactors)


def factor_table(factors: DataFrame) -> ItemFactors:
    """A factor table of Spark's form (``id``, ``features``), indexed on the driver."""
    return ItemFactors.from_pairs((r["id"], r["features"]) for r in factors.collect())


def popularity(train: DataFrame) -> DataFrame:
    """movie_id, ratings (count), mean_rating, rank (1 = most rated) of the training set."""
    by_count = Window.orderBy(F.desc("ratings"), F.asc("movie_id"))
    return (
        train.groupBy("movie_id")
        .agg(F.count(F.lit(1)).alias("ratings"), F.avg("rating").cast("float").alias("mean_rating"))
        .withColumn("rank", F.row_number().over(by_count))
    )


# Ratings on the driver: (user, movie, rating) arrays.
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]
MAX_RATINGS = 2_000_000  # ratings brought to the driver for an evaluation, about, at most


def user_share(ratings: int, limit: int = MAX_RATINGS) -> float:
    """The share of users whose ratings ``collect`` brings, of a data set of ``ratings``."""
    return min(1.0, limit / max(ratings, 1))


def collect(ratings: DataFrame, share: float = 1.0) -> Arrays:
    """``ratings`` as (user, movie, rating) arrays on the driver: all of them, or those of a
    ``share`` of the users (always the same users, by a hash of the id: a user's training and
    held-out ratings come together)."""
    if share < 1.0:
        buckets = 1 << 20
        keep = F.pmod(F.xxhash64("user_id"), F.lit(buckets)) < int(buckets * share)
        ratings = ratings.filter(keep)
    cells = F.array(*(F.col(c).cast("double") for c in ("user_id", "movie_id", "rating")))
    # one row of lists: far cheaper for Python than a Row per rating
    table = np.array(ratings.agg(F.collect_list(cells)).first()[0]).reshape(-1, 3)
    return table[:, 0].astype(np.int64), table[:, 1].astype(np.int64), table[:, 2]


def evaluate(
    model: ALSModel,
    train: Arrays,
    test: Arrays,
    implicit: bool,
    *,
    k: int = 10,
    threshold: float | None = metrics.LIKED,
    max_users: int | None = 10_000,
    seed: int = 42,
) -> dict:
    """Metrics of the served top-``k`` and of the most-popular baseline, side by side, on the
    ratings ``test`` of a model trained on ``train`` (``collect``'s arrays)."""
    relevant = metrics.relevant_items(zip(*(a.tolist() for a in test), strict=True), threshold)
    users = sorted(relevant)
    if max_users and len(users) > max_users:
        users = sorted(random.Random(seed).sample(users, max_users))
        relevant = {u: relevant[u] for u in users}
    mine = np.isin(train[0], users)
    seen: dict[int, set[int]] = {}
    for u, m in zip(train[0][mine].tolist(), train[1][mine].tolist(), strict=True):
        seen.setdefault(u, set()).add(m)

    items = item_factors(model)
    factors = user_factors(model, users)
    als_recs = {
        u: [m for m, _ in top_n(items, factors[u], k, exclude=seen.get(u, ()))]
        for u in users
        if u in factors
    }
    pop_recs = metrics.popularity_recommendations(popularity_ranking(train[1]), seen, users, k)

    als_report = metrics.ranking_report(als_recs, relevant, k)
    pop_report = metrics.ranking_report(pop_recs, relevant, k)
    if implicit:
        note = "implicit model: scores are preferences, not ratings"
        als_report.update({"rmse": None, "mae": None, "rating_note": note})
    else:
        predicted = preferences(model, test[0], test[1], missing=np.nan)
        known = ~np.isnan(predicted)  # Spark's coldStartStrategy "drop"
        als_report.update(errors(predicted[known], test[2][known]))
    pop_report.update(errors(movie_means(*train[1:])(test[1]), test[2]))
    pop_report["rating_note"] = "ratings predicted by the movie's mean training rating"
    report = {
        "k": k,
        "relevance": f"held-out rating >= {threshold}"
        if threshold is not None
        else "any held-out rating",
        "evaluated_users": len(users),
        "als": als_report,
        "popularity": pop_report,
    }
    p = f"precision@{k}"
    log.info(
        "precision@%d: ALS %.4f, popularity %.4f (%d users)",
        k,
        als_report[p],
        pop_report[p],
        len(users),
    )
    return report


def popularity_ranking(movies: np.ndarray) -> list[int]:
    """Movie ids, the most rated first (ties: the smaller id first), as ``popularity`` ranks."""
    ids, counts = np.unique(movies, return_counts=True)
    return ids[np.lexsort((ids, -counts))].tolist()


def user_factors(model: ALSModel, users) -> dict[int, np.ndarray]:
    """The factors of ``users`` that the model has."""
    wanted = model.userFactors.sparkSession.createDataFrame([(int(u),) for u in users], "id int")
    rows = model.userFactors.join(F.broadcast(wanted), "id").collect()
    return {r["id"]: np.asarray(r["features"], dtype=np.float64) for r in rows}


def rating_report(rating_model, ranking_model: ALSModel, train: Arrays, test: Arrays, seed=42):
    """``(the stars' blend or None, the report)``: RMSE and MAE on the held-out ratings
    ``test`` of the rating model (``jobs.reco.rating``) as the stream serves it (each user
    folded in from their ratings of ``train``), of its baseline predictors alone and of movie
    means, side by side; and where the rating model has a neighbourhood, of the stars' blend
    (``jobs.reco.neighbours``) of the rating model, its baseline, the neighbourhood and
    ``ranking_model``'s preference, all trained on ``train``, weighted by the user's and the
    movie's numbers of training ratings. The blend's weights are fitted on ``test``'s
    ratings; the errors reported are of each rating predicted with the weights fitted on the
    other half of the users, and the blend returned has the weights fitted on all of them."""
    model = rating_model.serving()
    histories = by_user(*train)
    users, movies, actual = (a[np.argsort(test[0], kind="stable")] for a in test)
    ids, starts = np.unique(users, return_index=True)
    groups = list(zip(ids.tolist(), np.split(movies, starts[1:]), strict=True))
    prefs = np.split(preferences(ranking_model, users, movies), starts[1:])
    requests = [(histories.get(u, ()), m, p) for (u, m), p in zip(groups, prefs, strict=True)]
    predictors, supports = model.predictors_many(requests)
    predicted, base = predictors[:2]
    report = {
        "settings": rating_model.settings,
        "model": errors(np.clip(predicted, *neighbours.STARS), actual),
        "baseline": errors(np.clip(base, *neighbours.STARS), actual),
        "movie_mean": errors(movie_means(*train[1:])(movies), actual),
    }
    line = "RMSE: rating model %.4f, baseline predictors %.4f, movie means %.4f"
    figures = [report[name]["rmse"] for name in ("model", "baseline", "movie_mean")]
    blend = None
    if model.neighbourhood is not None and len(actual) >= neighbours.MIN_RATINGS:
        half = np.isin(users, ids[np.random.default_rng(seed).random(len(ids)) < 0.5])
        blend = neighbours.fit(predictors, supports, actual)
        report["blend"] = {
            **errors(neighbours.cross_fitted(predictors, supports, actual, half), actual),
            "weights": dict(zip(neighbours.WEIGHTS, blend.weights, strict=False)),
            "fitted_on": "the held-out ratings: each predicted with the weights fitted on the "
            "other half of the users",
        }
        line += ", the stars' blend %.4f"
        figures.append(report["blend"]["rmse"])
    log.info(line + " (%d held-out ratings)", *figures, len(actual))
    return blend, report


def concatenated(*parts: Arrays) -> Arrays:
    """Ratings as arrays (``collect``'s), the parts one after the other."""
    return tuple(np.concatenate(a) for a in zip(*parts, strict=True))


def by_user(users: np.ndarray, movies: np.ndarray, ratings: np.ndarray) -> dict:
    """user -> [(movie, rating), ...] of ratings as three arrays."""
    out: dict[int, list] = {}
    for u, m, r in zip(users.tolist(), movies.tolist(), ratings.tolist(), strict=True):
        out.setdefault(u, []).append((m, r))
    return out


def movie_means(movies: np.ndarray, ratings: np.ndarray):
    """A function of movie ids: each movie's mean rating (the mean of all for another)."""
    ids, movie = np.unique(movies, return_inverse=True)
    overall = float(ratings.mean()) if len(ratings) else 0.0
    means = np.append(np.bincount(movie, ratings) / np.bincount(movie), overall)

    def mean_of(wanted: np.ndarray) -> np.ndarray:
        pos, found = neighbours.lookup(ids, wanted)
        return means[np.where(found, pos, len(ids))]

    return mean_of


def errors(predicted: np.ndarray, actual: np.ndarray) -> dict:
    return {
        "rmse": metrics.rmse(predicted, actual),
        "mae": metrics.mae(predicted, actual),
        "predictions": len(actual),
    }


def preferences(model: ALSModel, users: np.ndarray, movies: np.ndarray, missing: float = 0.0):
    """The model's ``x_u . y_i`` of each (user, movie) pair (``missing`` where it lacks
    either)."""
    items = item_factors(model)
    factors = user_factors(model, np.unique(users).tolist())
    if not factors:
        return np.full(len(users), missing)
    known = ItemFactors.from_pairs(factors.items())
    u_pos, u_in = known.rows(users)
    i_pos, i_in = items.rows(movies)
    dots = np.einsum("ij,ij->i", known.factors[u_pos], items.factors[i_pos])
    return np.where(u_in & i_in, dots, missing)
