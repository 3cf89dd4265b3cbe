"""Train the rating model: baseline predictors, then explicit ALS on their residuals.

The implicit model ranks (it beats popularity by far); its scores are preferences, not
ratings. The page shows predicted stars from this second model, trained on the same
ratings as the original project trained its only one (explicit feedback):

1. ``mu``, the mean rating; then ``passes`` alternating regularised passes, each movie's
   ``b_i = sum(r - mu - b_u) / (item_reg + n_i)`` then each user's
   ``b_u = sum(r - mu - b_i) / (user_reg + n_u)`` (a ``groupBy().agg`` each, the other
   side's biases broadcast);
2. Spark's explicit ALS on the residual ``r - mu - b_u - b_i``.

The baseline's last pass and ALS's last half-step are the users', so folding in a user the
model saw (``foldin.RatingModel``) reproduces the trained ``b_u`` and ``x_u``.
Figures on MovieLens 100k: docs/pipeline.md, "Quality on MovieLens 100k".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.reco.foldin import RatingModel
from jobs.reco.neighbours import Blend, Neighbourhood

# The shipped settings (docs/pipeline.md): best over three random 75/25 splits of ml-100k;
# rating_neighbours (0: no neighbourhood, no blend) and rating_shrink: ``jobs.reco.neighbours``.
DEFAULTS = {
    "rating_rank": 32,
    "rating_reg": 0.15,
    "rating_max_iter": 10,
    "bias_reg": 5.0,
    "rating_neighbours": 10,
    "rating_shrink": 400.0,
}
BIAS_PASSES = 3


@dataclass
class Trained:
    mu: float
    item_biases: DataFrame  # movie_id, b_i, n (its ratings)
    user_biases: DataFrame  # user_id, b_u, n
    als: ALSModel
    settings: dict
    neighbourhood: Neighbourhood | None = None  # of the movies, on the baseline's residuals
    blend: Blend | None = None  # the stars' blend (weights fitted on held-out ratings)
    _served: RatingModel | None = field(default=None, repr=False)

    def items(self) -> DataFrame:
        """movie_id, bias, features, ratings (how many it had in training): what a model
        version keeps (``rating/``)."""
        factors = self.als.itemFactors.select(
            F.col("id").alias("movie_id"), F.col("features").cast("array<float>")
        )
        biases = self.item_biases.select("movie_id", F.col("b_i").alias("bias"), "n")
        return biases.join(factors, "movie_id").select(
            "movie_id", "bias", "features", F.col("n").cast("int").alias("ratings")
        )

    def predict(self, pairs: DataFrame) -> DataFrame:
        """``pairs`` (user_id, movie_id, ...) with ``baseline`` and ``prediction`` (clipped)."""
        with_baseline = baseline(pairs, self.mu, self.item_biases, self.user_biases)
        self.als.setColdStartStrategy("nan")
        residual = self.als.transform(with_baseline).withColumnRenamed("prediction", "residual")
        value = F.col("baseline") + F.coalesce(F.nanvl("residual", F.lit(0.0)), F.lit(0.0))
        return residual.withColumn("prediction", clip(value))

    def serving(self) -> RatingModel:
        """The model as the stream serves it (its items collected to the driver once)."""
        if self._served is None:
            rows = self.items().collect()
            self._served = RatingModel.from_rows(
                self.mu,
                self.settings["bias_reg"],
                self.settings["rating_reg"],
                ((r["movie_id"], r["bias"], r["features"], r["ratings"]) for r in rows),
            )
        return replace(self._served, neighbourhood=self.neighbourhood, blend=self.blend)

    def fit_neighbourhood(self, users: np.ndarray, movies: np.ndarray, ratings: np.ndarray):
        """The movies' neighbourhood from ratings as (user, movie, rating) arrays; none with
        ``rating_neighbours`` 0."""
        k = int(self.settings.get("rating_neighbours", 0))
        if k > 0:
            residuals = self.serving().residuals(users, movies, ratings)
            shrink = float(self.settings["rating_shrink"])
            self.neighbourhood = Neighbourhood.fit(*residuals, k=k, shrink=shrink)


def clip(column):
    return F.least(F.greatest(column, F.lit(0.5)), F.lit(5.0))


def baseline(pairs: DataFrame, mu: float, item_biases: DataFrame, user_biases: DataFrame):
    """``pairs`` with ``baseline = mu + b_u + b_i`` (0 for an unknown user or movie)."""
    return (
        pairs.join(item_biases.select("movie_id", "b_i"), "movie_id", "left")
        .join(user_biases.select("user_id", "b_u"), "user_id", "left")
        .withColumn(
            "baseline",
            F.lit(mu) + F.coalesce("b_u", F.lit(0.0)) + F.coalesce("b_i", F.lit(0.0)),
        )
        .drop("b_u", "b_i")
    )


def biases(ratings: DataFrame, reg: float, passes: int = BIAS_PASSES):
    """``(mu, movie biases, user biases)`` by alternating regularised passes, users last.

    A pass aggregates the ratings against the other side's biases, broadcast (one value per
    user or movie, small beside the ratings): the ratings are never shuffled."""
    mu = float(ratings.agg(F.avg("rating")).first()[0])
    r = ratings.select("user_id", "movie_id", (F.col("rating") - F.lit(mu)).alias("r"))
    items = users = None
    for _ in range(passes):
        against_users = (
            r.join(F.broadcast(users.select("user_id", "b_u")), "user_id")
            if users is not None
            else r.withColumn("b_u", F.lit(0.0))
        )
        items = _pass(against_users, "movie_id", "b_u", "b_i", reg)
        of_items = r.join(F.broadcast(items.select("movie_id", "b_i")), "movie_id")
        users = _pass(of_items, "user_id", "b_i", "b_u", reg)
    return mu, items, users


def _pass(joined: DataFrame, key: str, other: str, name: str, reg: float) -> DataFrame:
    """One side's biases (and ``n``, each one's ratings) given the other's, materialised so
    the lineage stays short."""
    n = F.count(F.lit(1))
    agg = joined.groupBy(key).agg(
        (F.sum(F.col("r") - F.col(other)) / (F.lit(reg) + n)).alias(name), n.alias("n")
    )
    return agg.localCheckpoint(eager=True)


def train(ratings: DataFrame, settings: dict, seed: int, blocks: int) -> Trained:
    """Biases then explicit ALS on the residuals of ``ratings`` (user_id, movie_id, rating)."""
    mu, items, users = biases(ratings, settings["bias_reg"])
    residuals = baseline(ratings, mu, items, users).select(
        "user_id", "movie_id", (F.col("rating") - F.col("baseline")).alias("residual")
    )
    blocks_of = {"numUserBlocks": blocks, "numItemBlocks": blocks}
    als = ALS(userCol="user_id", itemCol="movie_id", ratingCol="residual", seed=seed, **blocks_of)
    als.setRank(settings["rating_rank"]).setRegParam(settings["rating_reg"])
    als.setMaxIter(settings["rating_max_iter"]).setImplicitPrefs(False)
    return Trained(mu, items, users, als.fit(residuals), dict(settings))
