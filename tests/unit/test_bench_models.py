"""The offline model benchmark (tools.bench.models) computes what the pipeline computes."""

from __future__ import annotations

import numpy as np

from jobs.reco import foldin
from tools.bench import models


def small_ratings(seed: int = 1, users: int = 30, items: int = 40) -> models.Ratings:
    rng = np.random.default_rng(seed)
    pairs = {(int(u), int(i)) for u, i in rng.integers(0, (users, items), size=(600, 2))}
    user, item = (np.array(x) for x in zip(*sorted(pairs), strict=True))
    value = rng.integers(1, 6, size=len(user)).astype(float)
    return models.Ratings(user, item, value, users, items)


def test_implicit_half_step_is_the_fold_in_of_each_user():
    data = small_ratings()
    items = np.random.default_rng(2).standard_normal((data.n_items, 6))
    users = models.implicit_half_step(items, models.by_row(data), reg=0.2, alpha=0.5)
    for u, (cols, values) in enumerate(models.by_row(data)):
        expected = foldin.solve_implicit(items[cols], values, items.T @ items, 0.2, 0.5)
        np.testing.assert_allclose(users[u], expected, rtol=1e-9, atol=1e-12)


def test_explicit_half_step_is_the_fold_in_of_each_user():
    data = small_ratings()
    items = np.random.default_rng(3).standard_normal((data.n_items, 5))
    users = models.explicit_half_step(items, models.by_row(data), reg=0.1)
    for u, (cols, values) in enumerate(models.by_row(data)):
        expected = foldin.solve_explicit(items[cols], values, 0.1)
        np.testing.assert_allclose(users[u], expected, rtol=1e-9, atol=1e-12)


def test_random_split_holds_out_a_quarter_of_each_user():
    data = small_ratings()
    train, test = models.random_split(data, 0.25, seed=7)
    counts = np.bincount(data.user, minlength=data.n_users)
    held = np.bincount(test.user, minlength=data.n_users)
    np.testing.assert_array_equal(held, np.round(counts * 0.25))
    assert len(train) + len(test) == len(data)
    again, _ = models.random_split(data, 0.25, seed=7)
    np.testing.assert_array_equal(again.item, train.item)


def test_ease_has_a_zero_diagonal_and_solves_its_least_squares():
    data = small_ratings()
    b = models.ease(data, lam=5.0)
    x = models.interactions(data)
    assert np.allclose(np.diag(b), 0.0)
    # the gradient of |X - XB|^2 + lam |B|^2 vanishes off the diagonal
    gradient = -x.T @ (x - x @ b) + 5.0 * b
    off = ~np.eye(data.n_items, dtype=bool)
    assert np.abs(gradient[off]).max() < 1e-8


def test_top_k_skips_rated_and_unknown_movies():
    data = small_ratings()
    scores = np.tile(np.arange(data.n_items, dtype=float), (data.n_users, 1))
    recs = models.top_k(scores, data, k=3)
    known = np.bincount(data.item, minlength=data.n_items) > 0
    for u in range(data.n_users):
        rated = set(data.item[data.user == u].tolist())
        assert not rated & set(recs[u].tolist())
        assert known[recs[u]].all()
        assert list(recs[u]) == sorted(recs[u], reverse=True)


def test_baseline_user_bias_is_its_closed_form():
    data = small_ratings()
    base = models.fit_baseline(data, user_reg=5, item_reg=5)
    u = 3
    mask = data.user == u
    residual = data.value[mask] - base.mu - base.item_bias[data.item[mask]]
    assert np.isclose(base.user_bias[u], residual.sum() / (5 + mask.sum()))


def test_item_similarity_is_the_shrunk_correlation_over_common_raters():
    # residuals are the ratings (a zero baseline); user 2 rated movie 0 only
    data = models.Ratings(
        np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 0]), np.array([1.0, 2, 2, 1, 3]), 3, 2
    )
    zero = models.Baseline(0.0, np.zeros(3), np.zeros(2))
    similarity = models.item_similarities(data, zero, shrink=1.0)
    # (1*2 + 2*1) / sqrt((1 + 4) * (4 + 1)) = 0.8, two common raters: (2 - 1) / (2 - 1 + 1)
    np.testing.assert_allclose(similarity, [[0.0, 0.4], [0.4, 0.0]])


def test_neighbour_scores_average_the_most_similar_positive_residuals():
    # user 0 rated movies 1, 2 and 3 (residuals 1, -2, 4 with a zero baseline)
    data = models.Ratings(np.array([0, 0, 0]), np.array([1, 2, 3]), np.array([1.0, -2, 4]), 1, 4)
    zero = models.Baseline(0.0, np.zeros(1), np.zeros(4))
    similarity = np.zeros((4, 4))
    similarity[0, 1:] = [0.5, 0.25, -0.9]  # movie 3 the least similar to movie 0
    similarity[1, 2:] = [0.2, 0.6]
    near = models.neighbour_scores(data, zero, similarity, k=2)
    assert np.isclose(near[0, 0], (0.5 * 1 + 0.25 * -2) / 0.75)  # the two nearest
    assert np.isclose(near[0, 1], (0.6 * 4 + 0.2 * -2) / 0.8)  # its own similarity is 0
    assert near[0, 2] == 0.0  # no positive similarity among what the user rated


def test_blend_is_its_weights_times_its_predictors():
    train, test = models.random_split(small_ratings(), 0.25, seed=5)
    setting = {**models.RATING, "rank": 4, "iterations": 3, "neighbours": 5, "shrink": 10.0}
    (row,) = models.run(models.FAMILIES["blend"], train, test, setting)
    weights = models.blend_weights(train, setting)
    assert row["weights"] == [round(float(w), 4) for w in weights]
    predictors = models.blend_predictors(train, setting)
    predicted = weights[0] + sum(
        w * p[test.user, test.item] for w, p in zip(weights[1:], predictors, strict=True)
    )
    expected = models.rating_rmse(predicted, test, 1.0, 5.0)
    assert np.isclose(row["rmse"], expected)
