"""Fold-in: a hand-computed example, and agreement with Spark's own ALS user factors."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml.recommendation import ALS

from jobs.movielens import synthetic
from jobs.reco import foldin, rating
from jobs.reco.foldin import FoldInParams, ItemFactors

# Three movies with 2-d factors; the user rated movie 1 with 4 and movie 3 with 2.
ITEMS = ItemFactors.from_pairs([(3, [1.0, 1.0]), (1, [1.0, 0.0]), (2, [0.0, 1.0])])
RATED = [(1, 4.0), (3, 2.0)]


def test_explicit_by_hand():
    # Y_I^T Y_I = [[2,1],[1,1]]; + 0.5 * 2 * I = [[3,1],[1,2]]; Y_I^T r = [6,2]
    # inverse = 1/5 [[2,-1],[-1,3]] -> x = [2, 0]
    x = foldin.fold_in(ITEMS, RATED, FoldInParams(reg=0.5, implicit=False))
    np.testing.assert_allclose(x, [2.0, 0.0], atol=1e-12)


def test_implicit_by_hand():
    # Y^T Y (all items) = [[2,1],[1,2]]; c-1 = alpha*|r| = 4, 2:
    # sum (c-1) y y^T = 4*[[1,0],[0,0]] + 2*[[1,1],[1,1]] = [[6,2],[2,2]]; reg*n_u = 1
    # A = [[9,3],[3,5]]; b = 5*y1 + 3*y3 = [8,3]; x = 1/36 [[5,-3],[-3,9]] [8,3] = [31,3]/36
    x = foldin.fold_in(ITEMS, RATED, FoldInParams(reg=0.5, implicit=True, alpha=1.0))
    np.testing.assert_allclose(x, [31 / 36, 3 / 36], atol=1e-12)


def test_implicit_ignores_non_positive_preferences_in_count():
    # a rating of 0 adds confidence alpha*0 = 0 and preference 0: same as not rated at all
    with_zero = foldin.fold_in(ITEMS, [*RATED, (2, 0.0)], FoldInParams(0.5, True, 1.0))
    np.testing.assert_allclose(with_zero, [31 / 36, 3 / 36], atol=1e-12)


def test_implicit_regularisation_exponent_by_hand():
    # as test_implicit_by_hand, reg * n_u ** 0.5 = 0.5 * sqrt(2): A = [[8+a, 3], [3, 4+a]]
    a = 0.5 * np.sqrt(2)
    x = foldin.fold_in(ITEMS, RATED, FoldInParams(0.5, True, 1.0, exponent=0.5))
    det = (8 + a) * (4 + a) - 9
    np.testing.assert_allclose(x, np.array([(4 + a) * 8 - 9, (8 + a) * 3 - 24]) / det, atol=1e-12)


@pytest.mark.parametrize(
    "params",
    [FoldInParams(0.1, True, 2.0), FoldInParams(1.8, True, 0.3, exponent=0.5)],
    ids=["ALS-WR", "square-root"],
)
def test_fold_in_many_is_fold_in_for_each_user(monkeypatch, params):
    rng = np.random.default_rng(11)
    items = random_items(rng, 50, 5)
    rated = list(random_histories(rng, 50, 80).values())
    which, factors = foldin.fold_in_many(items, rated, params)
    single = [foldin.fold_in(items, sorted(pairs), params) for pairs in rated]
    assert which.tolist() == [i for i, x in enumerate(single) if x is not None]
    assert len(which) < len(rated)  # some users rated no movie the model knows
    np.testing.assert_allclose(factors, [single[i] for i in which], rtol=0, atol=1e-12)
    monkeypatch.setattr(foldin, "CHUNK_CELLS", 40)  # a user or two a chunk
    chunked = foldin.fold_in_many(items, rated, params)
    assert chunked[0].tolist() == which.tolist()
    np.testing.assert_allclose(chunked[1], factors, rtol=0, atol=1e-12)
    assert foldin.fold_in_many(items, [], params)[1].shape == (0, 5)


def test_top_n_excludes_rated_and_breaks_ties_by_id():
    x = np.array([2.0, 0.0])  # scores: movie 1 -> 2, movie 2 -> 0, movie 3 -> 2
    assert foldin.top_n(ITEMS, x, 3) == [(1, 2.0), (3, 2.0), (2, 0.0)]
    assert foldin.top_n(ITEMS, x, 5, exclude=[1, 3, 99]) == [(2, 0.0)]
    assert foldin.top_n(ITEMS, x, 2, exclude=[1, 2, 3]) == []


def test_top_n_breaks_ties_for_the_last_place_by_id_too():
    # 40 movies scoring 1 (ids 1..40), then 0: the top 3 are the smallest ids of the tie
    items = ItemFactors.from_pairs((m, [1.0 if m <= 40 else 0.0]) for m in range(1, 101))
    assert [m for m, _ in foldin.top_n(items, np.array([1.0]), 3)] == [1, 2, 3]
    assert [m for m, _ in foldin.top_n(items, np.array([1.0]), 3, exclude=[2])] == [1, 3, 4]
    assert [m for m, _ in foldin.top_n(items, np.array([-1.0]), 2)] == [41, 42]


def test_cold_user_and_unknown_movies():
    params = FoldInParams(0.5, False)
    assert foldin.fold_in(ITEMS, [], params) is None
    assert foldin.fold_in(ITEMS, [(99, 4.0)], params) is None
    assert foldin.recommend(ITEMS, [(99, 4.0)], params, 2) is None
    x = foldin.fold_in(ITEMS, [*RATED, (99, 5.0)], params)  # unknown movie is ignored
    np.testing.assert_allclose(x, [2.0, 0.0], atol=1e-12)
    [(movie, score, because)] = foldin.recommend(ITEMS, RATED, params, 5)
    assert movie == 2 and score == pytest.approx(0.0, abs=1e-12)
    # A^-1 y_2 = [-1, 3] / 5: movie 1 adds -1/5 * 4, movie 3 adds 2/5 * 2; only movie 3 is a reason
    assert because == (3,)


@pytest.mark.parametrize("implicit", [True, False])
def test_what_each_rated_movie_adds_sums_to_the_score_and_the_largest_are_the_reasons(implicit):
    rng = np.random.default_rng(7)
    items = ItemFactors.from_pairs((m, rng.normal(size=4)) for m in range(1, 61))
    rated = [(int(m), float(rng.integers(1, 6))) for m in rng.choice(60, 8, replace=False) + 1]
    params = FoldInParams(0.1, implicit, 1.0)
    recs = foldin.recommend(items, rated, params, 10)
    ids, added = foldin.contributions(items, rated, params, [m for m, _, _ in recs])
    assert sorted(ids.tolist()) == sorted(m for m, _ in rated)
    np.testing.assert_allclose(added.sum(axis=0), [score for _, score, _ in recs], atol=1e-9)
    for column, (_, _, because) in enumerate(recs):
        by_weight = sorted(zip(added[:, column], ids.tolist(), strict=True), reverse=True)
        assert because == tuple(m for weight, m in by_weight[:2] if weight > 0)
    assert [len(b) for _, _, b in foldin.recommend(items, rated, params, 10, because=0)] == [0] * 10


def random_histories(rng, movies: int, users: int) -> dict[int, list[tuple[int, float]]]:
    """Users with 0 to 30 ratings, some of movies the model lacks (ids above ``movies``),
    ratings of 0 and negative ones; every 40th user rated all but 3 of the model's movies."""
    out = {}
    for user in range(users):
        if user % 40:
            picked = rng.choice(movies + 10, size=int(rng.integers(0, 31)), replace=False) + 1
        else:
            picked = rng.choice(movies, size=movies - 3, replace=False) + 1
        out[user] = [(int(m), float(rng.integers(-2, 11) / 2)) for m in picked]
    return out


def random_items(rng, movies: int, rank: int) -> ItemFactors:
    """Random factors with exact ties: movies 2 and 3 alike, 10 to 14 all zero."""
    y = rng.normal(0, 0.3, (movies, rank))
    y[2] = y[1]
    y[9:14] = 0.0
    return ItemFactors.from_pairs(zip(range(1, movies + 1), y, strict=True))


@pytest.mark.parametrize(
    "params",
    [FoldInParams(0.1, True, 2.0), FoldInParams(0.05, False), FoldInParams(0.0, False)],
    ids=["implicit", "explicit", "explicit-unregularised"],
)
@pytest.mark.parametrize(("n", "because"), [(10, 2), (1, 3), (7, 0), (60, 2)])
def test_recommend_many_is_recommend_for_each_user(params, n, because):
    """Identical, to the last bit of each score; without regularisation some users' ``A`` is
    singular (least squares), and a user who rated all but 3 movies gets 3."""
    rng = np.random.default_rng(n + because)
    items = random_items(rng, 50, 6)
    histories = random_histories(rng, 50, 120)
    histories[500] = [(3, 4.0), (2, 4.0)]  # two rated movies alike: tied reasons
    got = foldin.recommend_many(items, histories, params, n, because)
    assert list(got) == list(histories)
    for user, rated in histories.items():
        assert got[user] == foldin.recommend(items, sorted(rated), params, n, because), user
    assert any(recs is None for recs in got.values())
    assert any(recs is not None and len(recs) < n for recs in got.values()) == (n > 3)


def test_recommend_many_in_chunks_and_blocks_is_the_same(monkeypatch):
    rng = np.random.default_rng(3)
    items = random_items(rng, 50, 4)
    histories = random_histories(rng, 50, 60)
    params = FoldInParams(0.1, True, 1.0)
    whole = foldin.recommend_many(items, histories, params, 5)
    monkeypatch.setattr(foldin, "CHUNK_CELLS", 120)  # a chunk a user or two
    assert foldin.recommend_many(items, histories, params, 5) == whole
    monkeypatch.setattr(foldin, "BLOCK", 3)  # 17 blocks: the top 5 bounded by block maxima
    assert foldin.recommend_many(items, histories, params, 5) == whole
    assert foldin.recommend_many(items, {}, params, 5) == {}


def test_predict_many_is_predict_for_each_user(monkeypatch):
    rng = np.random.default_rng(5)
    items = random_items(rng, 50, 5)
    biases = rng.normal(0, 0.3, 50)
    model = foldin.RatingModel(3.5, 5.0, 0.15, items, biases)
    requests = {
        user: (rated, [int(m) for m in rng.integers(1, 61, int(rng.integers(0, 12)))])
        for user, rated in random_histories(rng, 50, 100).items()
    }
    got = model.predict_many(requests)
    assert list(got) == list(requests)
    for user, (rated, movies) in requests.items():
        expected = model.predict(sorted(rated), movies)
        np.testing.assert_allclose(got[user], expected, rtol=0, atol=1e-9)
    monkeypatch.setattr(foldin, "CHUNK_CELLS", 50)
    assert model.predict_many(requests) == got


def test_popular_top_n():
    assert foldin.popular_top_n([5, 3, 9, 1], 2, exclude={3}) == [5, 9]


@pytest.fixture(scope="module")
def small_ratings(spark):
    data = synthetic.generate(users=60, movies=150, ratings=3000, seed=7)
    rows = [(r.user_id, r.movie_id, r.rating) for r in data.ratings]
    return spark.createDataFrame(rows, "user_id int, movie_id int, rating float").cache()


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_fold_in_reproduces_spark_user_factors(spark, small_ratings, implicit):
    """Spark's last half-step solves the user problem exactly; folding in must agree.

    Spark keeps factors in float32 and solves in float64, so the agreement is to about
    1e-5 relative; we allow 1e-3 (measured worst case is printed by -s).
    """
    params = FoldInParams(reg=0.1, implicit=implicit, alpha=2.0)
    model = ALS(
        userCol="user_id",
        itemCol="movie_id",
        ratingCol="rating",
        rank=4,
        maxIter=3,
        regParam=params.reg,
        implicitPrefs=implicit,
        alpha=params.alpha,
        seed=1,
        numUserBlocks=2,
        numItemBlocks=2,
    ).fit(small_ratings)
    items = ItemFactors.from_pairs((r["id"], r["features"]) for r in model.itemFactors.collect())
    users = {r["id"]: np.array(r["features"]) for r in model.userFactors.collect()}
    by_user: dict[int, list] = {}
    for r in small_ratings.collect():
        by_user.setdefault(r["user_id"], []).append((r["movie_id"], r["rating"]))
    worst = 0.0
    for user_id in sorted(by_user)[:10]:
        x = foldin.fold_in(items, by_user[user_id], params)
        expected = users[user_id]
        rel = np.max(np.abs(x - expected)) / np.max(np.abs(expected))
        worst = max(worst, rel)
    print(
        f"fold-in vs Spark userFactors ({'implicit' if implicit else 'explicit'}): "
        f"worst relative difference {worst:.2e}"
    )
    assert worst < 1e-3


def test_rating_model_by_hand():
    # mu 3, user_reg 1: b_u = ((4 - 3 - 0.5) + (2 - 3 + 0.5)) / (1 + 2) = 0
    # residuals 0.5 and -0.5 on y_1 = [1, 0], y_3 = [1, 1]; reg 0.5:
    # A = [[3,1],[1,2]], b = [0, -0.5] -> x = 1/5 [[2,-1],[-1,3]] [0,-0.5] = [0.1, -0.3]
    model = foldin.RatingModel.from_rows(
        3.0, 1.0, 0.5, [(3, -0.5, [1.0, 1.0]), (1, 0.5, [1.0, 0.0]), (2, 1.9, [0.0, 1.0])]
    )
    b_u, x = model.fold_in(RATED)
    assert b_u == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(x, [0.1, -0.3], atol=1e-12)
    # movie 2: 3 + 0 + 1.9 - 0.3 = 4.6; movie 99 unknown: mu + b_u; clipped to 0.5..5
    assert model.predict(RATED, [2, 99]) == pytest.approx([4.6, 3.0])
    assert model.predict([(1, 5.0)] * 40, [2]) == [5.0]
    assert model.predict([(99, 4.0)], [2]) == pytest.approx([4.9])  # cold: mu + b_i


def test_rating_fold_in_reproduces_the_trained_biases_and_factors(spark, small_ratings):
    """The baseline's last pass and ALS's last half-step are the users', so folding in a
    user the model saw gives back the trained ``b_u`` (exactly, up to float) and ``x_u``."""
    settings = {"rating_rank": 4, "rating_reg": 0.1, "rating_max_iter": 3, "bias_reg": 5.0}
    trained = rating.train(small_ratings, settings, seed=1, blocks=2)
    model = foldin.RatingModel.from_rows(
        trained.mu,
        settings["bias_reg"],
        settings["rating_reg"],
        ((r["movie_id"], r["bias"], r["features"]) for r in trained.items().collect()),
    )
    b_users = {r["user_id"]: r["b_u"] for r in trained.user_biases.collect()}
    x_users = {r["id"]: np.array(r["features"]) for r in trained.als.userFactors.collect()}
    by_user: dict[int, list] = {}
    for r in small_ratings.collect():
        by_user.setdefault(r["user_id"], []).append((r["movie_id"], r["rating"]))
    for user_id in sorted(by_user)[:10]:
        b_u, x = model.fold_in(by_user[user_id])
        assert b_u == pytest.approx(b_users[user_id], abs=1e-9)
        expected = x_users[user_id]
        assert np.max(np.abs(x - expected)) / np.max(np.abs(expected)) < 1e-3
    predicted = trained.predict(small_ratings).select("user_id", "movie_id", "prediction")
    for r in predicted.orderBy("user_id", "movie_id").limit(20).collect():
        [stars] = model.predict(by_user[r["user_id"]], [r["movie_id"]])
        assert stars == pytest.approx(r["prediction"], abs=1e-4)
