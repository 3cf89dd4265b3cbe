"""The ranking model's last pass: Spark's implicit ALS factors solved once more, items then
users, with a regularisation that grows with the square root of a row's ratings.

Spark's ALS regularises each row by ``regParam * n`` ("ALS-WR": ``n`` the row's ratings), so
a movie or a user with many ratings is held back as much, relative to its data, as one with
few. Rendle et al. ("Revisiting the Performance of iALS on Item Recommendation Benchmarks",
2022) scale it by ``n ** nu`` instead, and find ``nu`` below 1 ranks better. Spark's ALS has
no such setting; this pass takes the factors Spark trained and solves every movie, then every
user, once more with ``reg * n ** 0.5`` (the same confidence ``1 + alpha * r``): each row is
the exact least-squares step ``jobs.reco.foldin`` solves (``FoldInParams.exponent``), so a
user folded in by the stream with ``Refinement.params`` gets the very factors this pass
gives the users it saw. Figures (MovieLens 100k): docs/pipeline.md.

Each half-step runs in Spark: the other side's factors are broadcast, the ratings grouped by
row, and each partition's rows solved stacked (``foldin.fold_in_many``); the solved factors
are cached in Spark (the movies' come to the driver once more, to be broadcast for the users'
step). Where the driver already holds every rating (``jobs.train`` collects the split for
its evaluation when it is small enough), the same two steps run there instead, on the same
numbers, without Spark's jobs and Python workers (``on_driver``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame

from jobs import common
from jobs.reco import evaluation, foldin, fsutil
from jobs.reco.foldin import FoldInParams, ItemFactors

EXPONENT = 0.5  # the regularisation is reg * n ** EXPONENT
DEFAULT_REG = 1.8  # chosen on MovieLens 100k: docs/pipeline.md
FACTORS_SCHEMA = "id int, features array<float>"  # Spark's ALSModel factor tables
CHUNK_RATINGS = 200_000  # ratings of the rows a Python worker holds and solves at a time


@dataclass(frozen=True)
class Refinement:
    reg: float
    alpha: float
    exponent: float = EXPONENT

    def params(self) -> FoldInParams:
        """The fold-in of a user into the refined model."""
        return FoldInParams(self.reg, implicit=True, alpha=self.alpha, exponent=self.exponent)

    def record(self) -> dict:
        """What ``model.json`` keeps of it (``from_record`` reads it back)."""
        return {"regParam": self.reg, "exponent": self.exponent}

    @classmethod
    def from_record(cls, record: dict, alpha: float) -> Refinement:
        return cls(record["regParam"], alpha, record["exponent"])


def _regularisation(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0:  # not a number, NaN or negative
        raise argparse.ArgumentTypeError(f"must be a number, 0 (no pass) or more, not {text!r}")
    return value


def add_argument(parser: argparse.ArgumentParser) -> None:
    """``--refine-reg`` (``MOVIELENS_REFINE_REG``): the pass's ``reg``, 0 for no pass."""
    parser.add_argument(
        "--refine-reg",
        type=_regularisation,
        # a string default goes through `type` like an option: a bad value is named
        default=common.env("REFINE_REG", str(DEFAULT_REG)),
        help="implicit ALS: regularisation of the last pass over Spark's factors, reg * "
        f"n ** {EXPONENT} (0: no pass; default: MOVIELENS_REFINE_REG, else {DEFAULT_REG})",
    )


def of(implicit: bool, alpha: float, reg: float) -> Refinement | None:
    """The pass a training with these settings makes: None for explicit ALS or ``reg`` 0."""
    return Refinement(reg, alpha) if implicit and reg > 0 else None


def fit(als, ratings: DataFrame, refinement: Refinement | None, on_driver=None):
    """``als`` (Spark's ``ALS``) fitted on ``ratings``, then refined (unless None): on the
    driver where ``on_driver()`` gives all of ``ratings`` as (user, movie, rating) arrays
    (called once ALS is fitted: the arrays may still be on their way)."""
    model = als.fit(ratings)
    if refinement is None:
        return model
    if on_driver is not None:
        return refine_on_driver(model, on_driver(), refinement)
    return refine(model, ratings, refinement)


@dataclass
class RefinedModel:
    """Spark's ALS model with refined factors: what the evaluation and the version's writer
    use of a model (``userFactors``, ``itemFactors``, ``save``)."""

    als: ALSModel
    userFactors: DataFrame  # noqa: N815 (ALSModel's names)
    itemFactors: DataFrame  # noqa: N815

    def save(self, path: str) -> None:
        """Spark's model directory (``ALSModel.load`` reads it) with the refined factors."""
        self.als.save(path)
        for name, factors in (("userFactors", self.userFactors), ("itemFactors", self.itemFactors)):
            factors.write.mode("overwrite").parquet(fsutil.join(path, name))


def refine(model: ALSModel, ratings: DataFrame, refinement: Refinement) -> RefinedModel:
    """``model`` (implicit ALS trained on ``ratings``: user_id, movie_id, rating) after one
    more pass, movies then users, regularised by ``refinement``."""
    params = refinement.params()
    items = half_step(model.userFactors, ratings, "movie_id", "user_id", params)
    users = half_step(items, ratings, "user_id", "movie_id", params)
    return RefinedModel(model, users, items)


def refine_on_driver(model: ALSModel, ratings, refinement: Refinement) -> RefinedModel:
    """``refine`` with the ratings as (user, movie, rating) arrays on the driver: the same
    steps and the same float32 factors between them, numpy instead of Spark jobs."""
    users, movies, values = ratings
    params = refinement.params()
    fixed = evaluation.factor_table(model.userFactors)
    items = driver_step(fixed, evaluation.by_user(movies, users, values), params)
    users_solved = driver_step(items, evaluation.by_user(users, movies, values), params)
    spark = model.userFactors.sparkSession
    frames = (
        spark.createDataFrame(
            [(int(i), x.tolist()) for i, x in zip(t.movie_ids, t.factors, strict=True)],
            FACTORS_SCHEMA,
        )
        for t in (users_solved, items)
    )
    return RefinedModel(model, *frames)


def driver_step(fixed: ItemFactors, rated: dict, params: FoldInParams) -> ItemFactors:
    """Every row of ``rated`` (id -> (other id, rating) pairs) solved against ``fixed``, as
    float32 factors (what a factor table holds)."""
    ids = list(rated)
    which, factors = foldin.fold_in_many(fixed, [rated[i] for i in ids], params)
    kept = factors.astype(np.float32).astype(np.float64)
    return ItemFactors.from_pairs(zip((ids[i] for i in which.tolist()), kept, strict=True))


def half_step(
    fixed: DataFrame, ratings: DataFrame, row: str, other: str, params: FoldInParams
) -> DataFrame:
    """The factors of every ``row`` (movie or user) of ``ratings`` solved against the fixed
    factors of the ``other`` side (``fixed``: id, features), as Spark's factor table."""
    spark = ratings.sparkSession
    shared = spark.sparkContext.broadcast(evaluation.factor_table(fixed))
    chunk = CHUNK_RATINGS  # a local: the workers get its value, not the module's

    def solve_chunk(ids: list, rated: list):
        which, factors = foldin.fold_in_many(shared.value, rated, params)
        for i, x in zip(which.tolist(), factors.astype(np.float32).tolist(), strict=True):
            yield ids[i], x

    def solve(groups):
        ids, rated, size = [], [], 0
        for key, pairs in groups:
            ids.append(key)
            rated.append(list(pairs))
            size += len(rated[-1])
            if size >= chunk:
                yield from solve_chunk(ids, rated)
                ids, rated, size = [], [], 0
        yield from solve_chunk(ids, rated)

    pairs = ratings.select(row, other, "rating").rdd.map(lambda r: (r[0], (r[1], float(r[2]))))
    solved = spark.createDataFrame(pairs.groupByKey().mapPartitions(solve), FACTORS_SCHEMA)
    solved = solved.persist()
    solved.count()  # solved once, here, while the broadcast is needed
    shared.unpersist()
    return solved
