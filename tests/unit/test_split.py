"""jobs.reco.split on local Spark: how many of each user's ratings are held out, and which."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.reco.split import split_ratings
from tools.bench import models

SIZES = list(range(1, 31)) + [42, 45, 47]  # ratings of user 0, 1, 2, ...


def ratings(spark, sizes=SIZES):
    rows = [
        (user, movie, float(1 + (user + movie) % 5), 1_000_000 + 60 * movie)
        for user, n in enumerate(sizes)
        for movie in range(n)
    ]
    return spark.createDataFrame(rows, "user_id int, movie_id int, rating float, ts long")


def held_out(test, users: int) -> np.ndarray:
    counts = np.zeros(users, dtype=np.int64)
    for row in test.groupBy("user_id").count().collect():
        counts[row["user_id"]] = row["count"]
    return counts


@pytest.mark.parametrize("method", ["random", "time"])
@pytest.mark.parametrize("fraction", [0.25, 0.1])
def test_each_user_holds_out_the_nearest_whole_share(spark, method, fraction):
    train, test = split_ratings(ratings(spark), fraction, method, seed=3, min_ratings=5)
    sizes = np.array(SIZES)
    expected = np.where(sizes >= 5, np.round(sizes * fraction), 0)
    np.testing.assert_array_equal(held_out(test, len(SIZES)), expected)
    assert train.count() + test.count() == sizes.sum()
    assert train.join(test, ["user_id", "movie_id"]).count() == 0
    if fraction == 0.25:  # ties go to even: 22 -> 5.5 -> 6, 18 -> 4.5 -> 4
        assert (expected[21], expected[17], expected[19]) == (6, 4, 5)
    else:  # 15 * 0.1 is just above 1.5 in binary, and both round it up
        assert expected[14] == 2


@pytest.mark.parametrize("min_ratings", [1, 5])
def test_the_offline_study_counts_the_same(spark, min_ratings):
    sizes = np.array(SIZES)
    user = np.repeat(np.arange(len(sizes)), sizes)
    data = models.Ratings(
        user, np.concatenate([np.arange(n) for n in sizes]), np.ones(len(user)), len(sizes), 60
    )
    _, offline = models.random_split(data, 0.25, seed=3, min_ratings=min_ratings)
    _, test = split_ratings(ratings(spark), 0.25, "random", seed=3, min_ratings=min_ratings)
    np.testing.assert_array_equal(
        held_out(test, len(sizes)), np.bincount(offline.user, minlength=len(sizes))
    )


def test_time_holds_out_the_latest_and_random_is_reproducible(spark):
    data = ratings(spark)
    _, test = split_ratings(data, 0.25, "time", min_ratings=5)
    latest = {(r["user_id"], r["movie_id"]) for r in test.collect()}
    assert latest == {
        (user, movie)
        for user, n in enumerate(SIZES)
        if n >= 5
        for movie in range(n - int(np.round(n * 0.25)), n)
    }
    first = {tuple(r) for r in split_ratings(data, 0.25, "random", seed=8)[1].collect()}
    again = {tuple(r) for r in split_ratings(data, 0.25, "random", seed=8)[1].collect()}
    other = {tuple(r) for r in split_ratings(data, 0.25, "random", seed=9)[1].collect()}
    assert first == again != other


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"method": "user"}, "split method must be one of"), ({"fraction": 1.0}, "between 0 and 1")],
)
def test_bad_settings_are_refused(spark, kwargs, message):
    with pytest.raises(ValueError, match=message):
        split_ratings(ratings(spark, [5]), **kwargs)
