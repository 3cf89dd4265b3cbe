"""Versioned models under a models root (``hdfs:///models`` in production).

Layout written by ``jobs.train``::

    <root>/<version>/als/            the Spark ALSModel (ALSModel.load), with the factors
                                     of its last pass (``jobs.reco.refine``) where it had one
    <root>/<version>/item_factors/   Parquet: movie_id int, features array<float>
    <root>/<version>/movies/         Parquet: movie_id, title, genres array<string>, year
    <root>/<version>/popularity/     Parquet: movie_id, ratings, mean_rating, rank
    <root>/<version>/rating/         Parquet: movie_id, bias float, features array<float>,
                                     ratings int (the rating model, absent when trained
                                     without one)
    <root>/<version>/rating_neighbours/  Parquet: movie_id, neighbours array<int>,
                                     similarities array<float> (the rating model's item
                                     neighbourhood, where its stars are a blend)
    <root>/<version>/model.json      parameters of the model (needed to fold users in;
                                     ``params.refine``: the last pass's, or null)
    <root>/<version>/metrics.json    the evaluation report
    <root>/latest                    one line: the version currently served

A version is the UTC time of training, ``YYYYMMDDTHHMMSSZ``. ``latest`` is replaced
through a rename once everything else of the version has been written, so a reader that
follows it never finds a half-written model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.reco import fsutil
from jobs.reco.foldin import FoldInParams, ItemFactors, RatingModel
from jobs.reco.neighbours import Blend, Neighbourhood
from jobs.reco.refine import Refinement

LATEST = "latest"
RATING = "rating"
NEIGHBOURS = "rating_neighbours"
NEIGHBOURS_SCHEMA = "movie_id int, neighbours array<int>, similarities array<float>"


def new_version(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def version_path(root: str, version: str, *parts: str) -> str:
    return fsutil.join(root, version, *parts)


def set_latest(spark: SparkSession, root: str, version: str) -> None:
    fsutil.replace_text(spark, fsutil.join(root, LATEST), version + "\n")


def latest_version(spark: SparkSession, root: str) -> str:
    path = fsutil.join(root, LATEST)
    if not fsutil.exists(spark, path):
        raise FileNotFoundError(f"no model yet: {path} does not exist (run jobs.train first)")
    return fsutil.read_text(spark, path).strip()


@dataclass
class ServingModel:
    """What the streaming job needs of a model, held on the driver."""

    version: str
    path: str
    items: ItemFactors
    params: FoldInParams
    movies: dict[int, tuple[str, str]]  # movie_id -> (title, genres "A|B")
    popular: list[int]  # most rated first
    rating: RatingModel | None = None  # predicts stars; None: the version has none

    @property
    def als_path(self) -> str:
        return fsutil.join(self.path, "als")


def load_serving_model(spark: SparkSession, root: str, version: str | None = None):
    version = version or latest_version(spark, root)
    path = version_path(root, version)
    info = json.loads(fsutil.read_text(spark, fsutil.join(path, "model.json")))
    rows = spark.read.parquet(fsutil.join(path, "item_factors")).collect()
    items = ItemFactors.from_pairs((r["movie_id"], r["features"]) for r in rows)
    movies = {
        r["movie_id"]: (r["title"], "|".join(r["genres"]))
        for r in spark.read.parquet(fsutil.join(path, "movies")).collect()
    }
    popular = [
        r["movie_id"]
        for r in spark.read.parquet(fsutil.join(path, "popularity"))
        .orderBy("rank")
        .select("movie_id")
        .collect()
    ]
    return ServingModel(
        version,
        path,
        items,
        fold_in_params(info["params"]),
        movies,
        popular,
        load_rating(spark, path, info),
    )


def fold_in_params(params: dict) -> FoldInParams:
    """How a user is folded into the ranking model of ``model.json``'s ``params``: as its
    last pass solved the users (``jobs.reco.refine``) where it had one, else as Spark's ALS
    did (versions from before the pass have no ``refine``)."""
    if params.get("refine"):
        return Refinement.from_record(params["refine"], params["alpha"]).params()
    return FoldInParams(
        reg=params["regParam"], implicit=params["implicitPrefs"], alpha=params["alpha"]
    )


def load_rating(spark: SparkSession, path: str, info: dict) -> RatingModel | None:
    """The version's rating model, None when it was trained without one."""
    rating = info.get("rating")
    if not rating:
        return None
    items = spark.read.parquet(fsutil.join(path, RATING))
    # each movie's training ratings, which versions from before the blend's supports lack
    ratings = F.col("ratings") if "ratings" in items.columns else F.lit(None)
    rows = items.select("movie_id", "bias", "features", ratings.alias("ratings")).collect()
    blend = {}
    if rating.get("blend"):  # the stars blend four predictors (jobs.reco.neighbours)
        near = spark.read.parquet(fsutil.join(path, NEIGHBOURS)).collect()
        blend = {
            "neighbourhood": Neighbourhood.from_rows(
                ((r["movie_id"], r["neighbours"], r["similarities"]) for r in near),
                rating["neighbours"],
            ),
            "blend": Blend(tuple(rating["blend"])),
        }
    return RatingModel.from_rows(
        rating["mu"],
        rating["user_reg"],
        rating["regParam"],
        ((r["movie_id"], r["bias"], r["features"], r["ratings"]) for r in rows),
        **blend,
    )
