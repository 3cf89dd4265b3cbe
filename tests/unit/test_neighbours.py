"""The rating model's item neighbourhood and the stars' blend, by hand."""

import numpy as np
import pytest

from jobs.reco import foldin, neighbours
from jobs.reco.neighbours import Blend, Neighbourhood

# Residuals of three users (rows 0, 1, 2) for movies (columns 0, 1, 2):
#   user 0: movie 0 +1, movie 1 +1
#   user 1: movie 0 -1, movie 1 -1, movie 2 +1
#   user 2: movie 1 +2, movie 2 -2
ROW = np.array([0, 0, 1, 1, 1, 2, 2])
COL = np.array([0, 1, 0, 1, 2, 1, 2])
E = np.array([1.0, 1.0, -1.0, -1.0, 1.0, 2.0, -2.0])


def test_similarity_by_hand():
    # movies 0 and 1, rated by users 0 and 1: sum(e0 e1) = 1 + 1 = 2, sum(e0^2) = sum(e1^2) = 2:
    # correlation 1, n = 2 users, shrunk by (2 - 1) / (2 - 1 + 1): 0.5.
    # movies 1 and 2, users 1 and 2: (-1)(1) + (2)(-2) = -5 over sqrt(5 * 5): -1, shrunk: -0.5.
    # movies 0 and 2: only user 1 rated both: n - 1 = 0, so 0.
    expected = [[0.0, 0.5, 0.0], [0.5, 0.0, -0.5], [0.0, -0.5, 0.0]]
    np.testing.assert_allclose(neighbours.similarities(ROW, COL, E, 3, 1.0), expected)


def test_similarity_in_blocks_of_users_is_the_same(monkeypatch):
    rng = np.random.default_rng(1)
    row, col = rng.integers(0, 40, 600), rng.integers(0, 30, 600)
    keep = np.unique(row * 100 + col, return_index=True)[1]  # one rating a (user, movie)
    row, col, e = row[keep], col[keep], rng.normal(0, 1, len(keep))
    whole = neighbours.similarities(row, col, e, 30, 10.0)
    monkeypatch.setattr(neighbours, "CELLS", 70)  # two users a block
    np.testing.assert_allclose(neighbours.similarities(row, col, e, 30, 10.0), whole, atol=1e-12)


def test_only_the_strongest_positive_neighbours_are_kept():
    kept = neighbours.strongest(np.array([[0.1, 0.5, -0.3, 0.2], [-0.1, -0.2, 0.0, 0.3]]), 2)
    np.testing.assert_allclose(kept, [[0.0, 0.5, 0.0, 0.2], [0.0, 0.0, 0.0, 0.3]])
    assert kept.dtype == np.float32


def neighbourhood(k: int) -> Neighbourhood:
    """Movies 10, 20, 30, 40; movie 40's neighbours: 10 (0.5), 20 (0.25), 30 (0.125)."""
    sim = np.zeros((4, 4), dtype=np.float32)
    sim[3, :3] = [0.5, 0.25, 0.125]
    sim[:3, 3] = [0.5, 0.25, 0.125]
    return Neighbourhood(np.array([10, 20, 30, 40]), sim, k)


def test_the_term_averages_the_residuals_of_the_k_nearest_rated_movies():
    rated, e = np.array([30, 10, 20, 99]), np.array([8.0, 1.0, 4.0, 100.0])  # 99: unknown
    # k 2: movies 10 and 20: (0.5 * 1 + 0.25 * 4) / 0.75 = 2
    assert neighbourhood(2).term(rated, e, np.array([40])) == pytest.approx([2.0])
    # k 3: (0.5 + 1 + 0.125 * 8) / 0.875
    assert neighbourhood(3).term(rated, e, np.array([40])) == pytest.approx([2.5 / 0.875])
    # movies without a rated neighbour, or unknown, get 0
    np.testing.assert_array_equal(neighbourhood(2).term(rated, e, np.array([10, 77])), [0, 0])
    assert neighbourhood(2).term(np.array([99]), np.array([1.0]), np.array([40])) == [0.0]


def test_a_neighbourhood_is_kept_as_rows_and_read_back():
    near = neighbourhood(2)
    rows = near.rows()
    assert rows[3] == (40, [10, 20, 30], [0.5, 0.25, 0.125])
    back = Neighbourhood.from_rows(reversed(rows), 2)
    np.testing.assert_array_equal(back.movie_ids, near.movie_ids)
    np.testing.assert_array_equal(back.similarity, near.similarity)


def test_fit_keeps_the_most_rated_movies():
    users = np.array([1, 2, 3, 1, 2, 1, 7])
    movies = np.array([5, 5, 5, 6, 6, 9, 9])  # 5 thrice, then 6 and 9 twice: 6 wins the tie
    near = Neighbourhood.fit(users, movies, np.ones(7), k=3, shrink=0.0, max_movies=2)
    np.testing.assert_array_equal(near.movie_ids, [5, 6])
    assert near.similarity.shape == (2, 2) and near.k == 3


def test_the_blend_weights_by_least_squares_and_the_stars_clipped():
    rng = np.random.default_rng(2)
    columns = [rng.normal(3, 1, 1200) for _ in range(4)]
    supports = [rng.integers(0, 500, 1200) for _ in range(2)]
    user, movie = np.log1p(supports[0]), np.log1p(supports[1])
    # the neighbourhood counts more for users with more ratings, the preference less for
    # movies with more; and a movie with more ratings is rated a little higher
    actual = (
        0.5
        + 0.6 * columns[0]
        + 0.2 * columns[1]
        + (0.1 + 0.05 * user) * columns[2]
        + (0.3 - 0.02 * movie) * columns[3]
        + 0.01 * movie
    )
    blend = neighbours.fit(columns, supports, actual)
    assert len(blend.weights) == len(neighbours.WEIGHTS) == 15
    weights = dict(zip(neighbours.WEIGHTS, blend.weights, strict=True))
    expected = {
        "intercept": 0.5,
        "rating_model": 0.6,
        "baseline": 0.2,
        "neighbourhood": 0.1,
        "preference": 0.3,
        "neighbourhood x user_ratings": 0.05,
        "preference x movie_ratings": -0.02,
        "movie_ratings": 0.01,
    }
    for name, value in weights.items():
        assert value == pytest.approx(expected.get(name, 0.0), abs=1e-9), name
    one = [np.array([v]) for v in (3.0, 2.0, 1.0, 0)]
    assert blend.stars(one, [np.array([0]), np.array([0])]).tolist() == pytest.approx(
        [0.5 + 1.8 + 0.4 + 0.1]
    )
    assert Blend((0.0, 1.0, 1.0, 1.0, 1.0) + (0.0,) * 10).stars(one, [[9], [9]]).tolist() == [5.0]


def test_few_held_out_ratings_give_constant_weights():
    rng = np.random.default_rng(5)
    n = neighbours.MIN_SUPPORTED
    columns = [rng.normal(3, 1, n) for _ in range(4)]
    supports = [rng.integers(0, 500, n) for _ in range(2)]
    actual = 0.5 + 0.6 * columns[0] + 0.1 * columns[0] * np.log1p(supports[0])
    fewer = [c[1:] for c in columns], [x[1:] for x in supports], actual[1:]
    assert len(neighbours.fit(*fewer).weights) == 5
    assert len(neighbours.fit(columns, supports, actual).weights) == 15
    # cross-fitting decides on all the ratings, not on a half's (fewer than MIN_SUPPORTED)
    half = np.arange(n) % 2 == 0
    got = neighbours.cross_fitted(columns, supports, actual, half)
    x = neighbours.design(columns, supports)
    by_hand = np.empty(n)
    for part in (half, ~half):
        weights = np.linalg.lstsq(x[~part], actual[~part], rcond=None)[0]
        by_hand[part] = np.clip(x[part] @ weights, 0.5, 5.0)
    np.testing.assert_allclose(got, by_hand)
    np.testing.assert_allclose(got, np.clip(actual, 0.5, 5.0), atol=1e-9)


def test_a_blend_without_supports_weights_the_predictors_alone():
    # a version from before the supports: the constant and one weight per predictor
    one = [np.array([v]) for v in (3.0, 2.0, 1.0, 0.5)]
    stars = Blend((0.1, 0.5, 0.25, 1.0, 2.0)).stars(one, [np.array([40]), np.array([300])])
    assert stars.tolist() == pytest.approx([0.1 + 1.5 + 0.5 + 1.0 + 1.0])


def test_cross_fitting_predicts_each_half_with_the_weights_of_the_other():
    rng = np.random.default_rng(3)
    columns = [rng.normal(3, 1, 100) for _ in range(4)]
    supports = [rng.integers(0, 50, 100) for _ in range(2)]
    half = np.arange(100) < 50
    actual = np.where(half, columns[0], 1.0 + columns[1])  # each half its own rule
    got = neighbours.cross_fitted(columns, supports, actual, half)
    np.testing.assert_allclose(got[half], np.clip(1.0 + columns[1][half], 0.5, 5.0))
    np.testing.assert_allclose(got[~half], np.clip(columns[0][~half], 0.5, 5.0))


def test_stars_of_a_blended_rating_model_by_hand():
    # the rating model of test_foldin's test_rating_model_by_hand: b_u 0, x_u [0.1, -0.3];
    # movie 2 is predicted 4.6 (bias 1.9). Its neighbourhood: movie 1 (0.5), movie 3 (0.25);
    # residuals of the baseline: movie 1: 4 - 3 - 0.5 = 0.5, movie 3: 2 - 3 + 0.5 = -0.5:
    # term (0.25 - 0.125) / 0.75 = 1/6; baseline 3 + 1.9 = 4.9.
    sim = np.zeros((3, 3), dtype=np.float32)
    sim[1, [0, 2]] = [0.5, 0.25]
    near = Neighbourhood(np.array([1, 2, 3]), sim, 10)
    blend = Blend((0.1, 0.5, 0.25, 1.5, 2.0))
    model = foldin.RatingModel.from_rows(
        3.0,
        1.0,
        0.5,
        [(3, -0.5, [1.0, 1.0]), (1, 0.5, [1.0, 0.0]), (2, 1.9, [0.0, 1.0])],
        neighbourhood=near,
        blend=blend,
    )
    rated = [(1, 4.0), (3, 2.0)]
    expected = 0.1 + 0.5 * 4.6 + 0.25 * 4.9 + 1.5 / 6 + 2.0 * 0.2
    assert model.predict(rated, [2], [0.2]) == pytest.approx([expected])
    # no preference given: 0; the same through predict_many, in any order of the pairs
    assert model.predict(rated, [2]) == pytest.approx([expected - 0.4])
    many = model.predict_many({7: (rated[::-1], [2], [0.2]), 8: (rated, [2, 99])})
    assert many[7] == pytest.approx([expected])
    assert many[8][0] == pytest.approx(expected - 0.4)
    # the residuals the neighbourhood is fitted on: the user's b_u folded in (0 here)
    users, movies, e = model.residuals(
        np.array([5, 5, 5]), np.array([1, 3, 99]), np.array([4.0, 2.0, 1.0])
    )
    np.testing.assert_allclose(e, [0.5, -0.5])
    assert users.tolist() == [5, 5] and movies.tolist() == [1, 3]


def test_stars_weighted_by_the_users_and_the_movies_ratings_by_hand():
    # the model above, each movie with its number of training ratings (movie 2: 99), and
    # weights for the neighbourhood x the user's support, the user's support itself and the
    # preference x the movie's support; the user has 2 ratings the model knows
    sim = np.zeros((3, 3), dtype=np.float32)
    sim[1, [0, 2]] = [0.5, 0.25]
    weights = dict.fromkeys(neighbours.WEIGHTS, 0.0) | {
        "intercept": 0.1,
        "rating_model": 0.5,
        "baseline": 0.25,
        "neighbourhood": 1.5,
        "preference": 2.0,
        "neighbourhood x user_ratings": 0.1,
        "user_ratings": 0.2,
        "preference x movie_ratings": -0.3,
    }
    model = foldin.RatingModel.from_rows(
        3.0,
        1.0,
        0.5,
        [(3, -0.5, [1.0, 1.0], 40), (1, 0.5, [1.0, 0.0], 10), (2, 1.9, [0.0, 1.0], 99)],
        neighbourhood=Neighbourhood(np.array([1, 2, 3]), sim, 10),
        blend=Blend(tuple(weights.values())),
    )
    np.testing.assert_array_equal(model.counts, [10, 99, 40])
    rated = [(1, 4.0), (3, 2.0), (555, 1.0)]  # 555: unknown to the model, not counted
    user, movie = np.log1p(2), np.log1p(99)
    plain = 0.1 + 0.5 * 4.6 + 0.25 * 4.9 + 1.5 / 6 + 2.0 * 0.2
    expected = plain + 0.1 * user / 6 + 0.2 * user - 0.3 * movie * 0.2
    assert model.predict(rated, [2], [0.2]) == pytest.approx([expected])
    many = model.predict_many({7: (rated[::-1], [2, 99], [0.2, 0.0])})
    # movie 99, unknown: mu + b_u = 3 for the rating model and the baseline, no support
    assert many[7] == pytest.approx([expected, 0.1 + 0.5 * 3.0 + 0.25 * 3.0 + 0.2 * user])


def test_terms_of_many_users_are_each_users_term():
    rng = np.random.default_rng(4)
    ids = np.arange(1, 61) * 10
    users, movies, e = rng.integers(0, 30, 900), rng.choice(ids, 900), rng.normal(0, 1, 900)
    keep = np.unique(users * 1000 + movies, return_index=True)[1]
    near = Neighbourhood.fit(users[keep], movies[keep], e[keep], k=5, shrink=5.0)
    rated_user = rng.integers(0, 8, 120)
    rated = rng.choice(np.append(ids, 5), 120)  # 5: a movie without a neighbourhood
    wanted_user, wanted = rng.integers(0, 9, 50), rng.choice(ids, 50)  # user 8 rated none
    residuals = rng.normal(0, 1, 120)
    got = near.terms(rated, residuals, rated_user, wanted, wanted_user)
    for u in range(9):
        mine, asked = rated_user == u, wanted_user == u
        np.testing.assert_allclose(
            got[asked], near.term(rated[mine], residuals[mine], wanted[asked]), atol=1e-12
        )
    assert np.count_nonzero(got) > 10
