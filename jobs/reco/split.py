"""Train/test splits of a ratings DataFrame, per user and reproducible.

* ``time``: each user's most recent ``fraction`` of ratings is held out (what a deployed
  recommender faces: predict the future from the past).
* ``random``: a seeded pseudo-random ``fraction`` of each user's ratings is held out. The
  order is a hash of (user, movie, seed), not ``rand()``, so the split does not depend on
  how the data happens to be partitioned.

Users with fewer than ``min_ratings`` ratings stay entirely in the training set, and a user
with ``n`` ratings has ``n * fraction`` of them held out, rounded to the nearest whole number
(ties to even: 5.5 -> 6, 4.5 -> 4), so the held-out share of the whole data set is
``fraction`` as nearly as whole ratings allow (25.008 % of MovieLens 100k at 0.25; rounding
down held out 24.6 %). ``tools.bench.models.random_split`` counts them the same way.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

METHODS = ("time", "random")


def split_ratings(
    ratings: DataFrame,
    fraction: float = 0.2,
    method: str = "time",
    seed: int = 42,
    min_ratings: int = 5,
) -> tuple[DataFrame, DataFrame]:
    if method not in METHODS:
        raise ValueError(f"split method must be one of {METHODS}, not {method!r}")
    if not 0 < fraction < 1:
        raise ValueError("fraction must be between 0 and 1")
    if method == "time":
        order = [F.col("ts"), F.col("movie_id")]
    else:
        order = [F.xxhash64("user_id", "movie_id", F.lit(seed)), F.col("movie_id")]
    by_user = Window.partitionBy("user_id")
    marked = (
        ratings.withColumn("_pos", F.row_number().over(by_user.orderBy(*order)))
        .withColumn("_n", F.count(F.lit(1)).over(by_user))
        .withColumn(
            "_test",
            (F.col("_n") >= min_ratings)
            & (F.col("_pos") > F.col("_n") - F.bround(F.col("_n") * fraction)),
        )
    )
    cols = ratings.columns
    return (
        marked.filter(~F.col("_test")).select(*cols),
        marked.filter(F.col("_test")).select(*cols),
    )
