"""The ranking model's last pass (``jobs.reco.refine``): each movie's and each user's factors
are the exact least-squares step of ``jobs.reco.foldin`` with ``reg * n ** 0.5``, in Spark."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml.recommendation import ALS, ALSModel

from jobs import train
from jobs.movielens import synthetic
from jobs.reco import foldin, model_store, refine
from jobs.reco.foldin import FoldInParams, ItemFactors


@pytest.fixture(scope="module")
def ratings(spark):
    data = synthetic.generate(users=80, movies=120, ratings=2500, seed=5)
    rows = [(r.user_id, r.movie_id, r.rating) for r in data.ratings]
    return spark.createDataFrame(rows, "user_id int, movie_id int, rating float").cache()


def small_als() -> ALS:
    """Spark's implicit ALS, small and seeded: the same factors each fit."""
    return ALS(
        userCol="user_id",
        itemCol="movie_id",
        ratingCol="rating",
        rank=6,
        maxIter=4,
        regParam=0.2,
        implicitPrefs=True,
        alpha=0.3,
        seed=3,
        numUserBlocks=2,
        numItemBlocks=2,
    )


@pytest.fixture(scope="module")
def trained(ratings):
    spark_model = small_als().fit(ratings)
    refinement = refine.Refinement(1.8, 0.3)
    return spark_model, refine.refine(spark_model, ratings, refinement), refinement


def table(factors) -> ItemFactors:
    return ItemFactors.from_pairs((r["id"], r["features"]) for r in factors.collect())


def histories(ratings, row: str, other: str) -> dict[int, list]:
    out: dict[int, list] = {}
    for r in ratings.collect():
        out.setdefault(r[row], []).append((r[other], r["rating"]))
    return out


def assert_solved(solved: ItemFactors, fixed: ItemFactors, rated: dict, params) -> None:
    """Every row of ``solved`` is ``fold_in`` of its ratings against ``fixed`` (float32)."""
    assert solved.movie_ids.tolist() == sorted(rated)
    for key, pairs in rated.items():
        expected = foldin.fold_in(fixed, pairs, params)
        got = solved.factors[solved.rows([key])[0][0]]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_movies_then_users_are_the_exact_steps_with_square_root_regularisation(ratings, trained):
    spark_model, refined, refinement = trained
    params = refinement.params()
    assert params == FoldInParams(1.8, implicit=True, alpha=0.3, exponent=0.5)
    items, users = table(refined.itemFactors), table(refined.userFactors)
    # the movies from Spark's user factors, the users from the new movie factors
    assert_solved(
        items, table(spark_model.userFactors), histories(ratings, "movie_id", "user_id"), params
    )
    assert_solved(users, items, histories(ratings, "user_id", "movie_id"), params)
    # the pass changed the factors: ALS-WR's solution is not this one
    assert not np.allclose(items.factors, table(spark_model.itemFactors).factors, atol=1e-3)


def test_rows_solved_a_chunk_at_a_time_are_the_same(monkeypatch, ratings, trained):
    spark_model, refined, refinement = trained
    monkeypatch.setattr(refine, "CHUNK_RATINGS", 50)  # a few movies a chunk
    items = refine.half_step(
        spark_model.userFactors, ratings, "movie_id", "user_id", refinement.params()
    )
    np.testing.assert_allclose(
        table(items).factors, table(refined.itemFactors).factors, rtol=0, atol=1e-6
    )


def test_on_the_driver_the_same_factors(ratings, trained):
    spark_model, refined, refinement = trained
    rows = ratings.collect()
    arrays = tuple(np.array([r[c] for r in rows]) for c in ("user_id", "movie_id", "rating"))
    local = refine.refine_on_driver(spark_model, arrays, refinement)
    for name in ("itemFactors", "userFactors"):
        got, expected = table(getattr(local, name)), table(getattr(refined, name))
        assert got.movie_ids.tolist() == expected.movie_ids.tolist()
        np.testing.assert_allclose(got.factors, expected.factors, rtol=0, atol=1e-6)
    # and through fit: called once ALS is fitted
    als = small_als()
    fitted = refine.fit(als, ratings, refinement, lambda: arrays)
    np.testing.assert_allclose(
        table(fitted.userFactors).factors, table(refined.userFactors).factors, atol=1e-6
    )
    assert isinstance(refine.fit(als, ratings, None), ALSModel)


def test_the_saved_model_is_spark_s_with_the_refined_factors(tmp_path, trained):
    _, refined, _ = trained
    refined.save(str(tmp_path / "als"))
    loaded = ALSModel.load(str(tmp_path / "als"))
    for name in ("userFactors", "itemFactors"):
        got, expected = table(getattr(loaded, name)), table(getattr(refined, name))
        assert got.movie_ids.tolist() == expected.movie_ids.tolist()
        np.testing.assert_array_equal(got.factors, expected.factors)
    # Spark scores with them: recommendForUserSubset's best movie is the refined model's
    user = int(expected.movie_ids[0])
    subset = loaded.userFactors.sparkSession.createDataFrame([(user,)], "user_id int")
    best = loaded.recommendForUserSubset(subset, 1).first()["recommendations"][0]["movie_id"]
    items, users = table(refined.itemFactors), table(refined.userFactors)
    scores = items.factors @ users.factors[users.rows([user])[0][0]]
    assert best == int(items.movie_ids[np.argmax(scores)])


def test_when_there_is_a_pass_and_how_a_version_says_so():
    assert refine.of(implicit=True, alpha=0.3, reg=1.8) == refine.Refinement(1.8, 0.3)
    assert refine.of(implicit=False, alpha=0.3, reg=1.8) is None  # explicit ALS: none
    assert refine.of(implicit=True, alpha=0.3, reg=0.0) is None  # switched off
    params = {"regParam": 0.2, "implicitPrefs": True, "alpha": 0.3}
    # a version from before the pass folds users in as Spark's ALS solved them
    assert model_store.fold_in_params(params) == FoldInParams(0.2, True, 0.3)
    record = refine.Refinement(1.8, 0.3).record()
    assert record == {"regParam": 1.8, "exponent": 0.5}
    assert model_store.fold_in_params(params | {"refine": record}) == FoldInParams(
        1.8, True, 0.3, exponent=0.5
    )
    assert model_store.fold_in_params(params | {"refine": None}) == FoldInParams(0.2, True, 0.3)


@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_a_bad_regularisation_is_named(monkeypatch, capsys, value):
    monkeypatch.setenv("MOVIELENS_REFINE_REG", value)
    with pytest.raises(SystemExit):
        train.parser().parse_args([])
    assert f"--refine-reg: must be a number, 0 (no pass) or more, not '{value}'" in (
        capsys.readouterr().err
    )
    monkeypatch.setenv("MOVIELENS_REFINE_REG", "0")
    assert train.parser().parse_args([]).refine_reg == 0.0  # no pass
