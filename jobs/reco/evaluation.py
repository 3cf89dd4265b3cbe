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

from jobs.reco import metrics
from jobs.reco.foldin import ItemFactors, top_n
from jobs.reco.rating import clip

log = logging.getLogger(__name__)


def item_factors(model: ALSModel) -> ItemFactors:
    return ItemFactors.from_pairs((r["id"], r["features"]) for r in model.itemFactors.collect())


def popularity(train: DataFrame) -> DataFrame:
    """movie_id, ratings (count), mean_rating, rank (1 = most rated) of the training set."""
    by_count = Window.orderBy(F.desc("ratings"), F.asc("movie_id"))
    return (
        train.groupBy("movie_id")
        .agg(F.count(F.lit(1)).alias("ratings"), F.avg("rating").cast("float").alias("mean_rating"))
        .withColumn("rank", F.row_number().over(by_count))
    )


def rating_errors(predictions: DataFrame, prediction_col: str = "prediction") -> dict:
    row = predictions.agg(
        F.sqrt(F.avg((F.col(prediction_col) - F.col("rating")) ** 2)).alias("rmse"),
        F.avg(F.abs(F.col(prediction_col) - F.col("rating"))).alias("mae"),
        F.count(F.lit(1)).alias("n"),
    ).first()
    return {"rmse": row["rmse"], "mae": row["mae"], "predictions": row["n"]}


def baseline_rating_errors(train: DataFrame, test: DataFrame) -> dict:
    """Errors of predicting each movie's mean training rating (global mean if unseen)."""
    global_mean = train.agg(F.avg("rating")).first()[0]
    means = train.groupBy("movie_id").agg(F.avg("rating").alias("movie_mean"))
    pred = test.join(means, "movie_id", "left").withColumn(
        "prediction", F.coalesce(F.col("movie_mean"), F.lit(global_mean))
    )
    return rating_errors(pred)


def evaluate(
    model: ALSModel,
    train: DataFrame,
    test: DataFrame,
    implicit: bool,
    *,
    k: int = 10,
    threshold: float | None = metrics.LIKED,
    max_users: int | None = 10_000,
    seed: int = 42,
) -> dict:
    """Metrics of the served top-``k`` and of the most-popular baseline, side by side."""
    held_out = [(r[0], r[1], r[2]) for r in test.select("user_id", "movie_id", "rating").collect()]
    relevant = metrics.relevant_items(held_out, threshold)
    users = sorted(relevant)
    if max_users and len(users) > max_users:
        users = sorted(random.Random(seed).sample(users, max_users))
        relevant = {u: relevant[u] for u in users}
    users_df = train.sparkSession.createDataFrame([(u,) for u in users], "user_id int")
    seen: dict[int, set[int]] = {}
    for r in train.join(F.broadcast(users_df), "user_id").select("user_id", "movie_id").collect():
        seen.setdefault(r[0], set()).add(r[1])

    items = item_factors(model)
    user_rows = model.userFactors.join(
        F.broadcast(users_df.withColumnRenamed("user_id", "id")), "id"
    ).collect()
    factors = {r["id"]: np.asarray(r["features"], dtype=np.float64) for r in user_rows}
    als_recs = {
        u: [m for m, _ in top_n(items, factors[u], k, exclude=seen.get(u, ()))]
        for u in users
        if u in factors
    }
    pop = popularity(train)
    ranking = [r[0] for r in pop.orderBy("rank").select("movie_id").collect()]
    pop_recs = metrics.popularity_recommendations(ranking, seen, users, k)

    als_report = metrics.ranking_report(als_recs, relevant, k)
    pop_report = metrics.ranking_report(pop_recs, relevant, k)
    if implicit:
        note = "implicit model: scores are preferences, not ratings"
        als_report.update({"rmse": None, "mae": None, "rating_note": note})
    else:
        model.setColdStartStrategy("drop")
        als_report.update(rating_errors(model.transform(test)))
    pop_report.update(baseline_rating_errors(train, test))
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


def rating_report(rating_model, train: DataFrame, test: DataFrame) -> dict:
    """RMSE and MAE on the held-out ratings of the rating model (``jobs.reco.rating``), of its
    baseline predictors alone and of movie means, side by side."""
    predicted = rating_model.predict(test.select("user_id", "movie_id", "rating")).cache()
    report = {
        "settings": rating_model.settings,
        "model": rating_errors(predicted),
        "baseline": rating_errors(
            predicted.withColumn("baseline", clip(F.col("baseline"))), "baseline"
        ),
        "movie_mean": baseline_rating_errors(train, test),
    }
    predicted.unpersist()
    log.info(
        "RMSE: rating model %.4f, baseline predictors %.4f, movie means %.4f",
        report["model"]["rmse"],
        report["baseline"]["rmse"],
        report["movie_mean"]["rmse"],
    )
    return report
