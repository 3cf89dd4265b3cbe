"""One streaming micro-batch, with the in-memory store and dead-letter list (no services)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jobs.movielens.formats import Rating
from jobs.reco import batch
from jobs.reco.deadletter import ListSink
from jobs.reco.foldin import FoldInParams, ItemFactors, RatingModel
from jobs.reco.store import MemoryStore
from jobs.reco.validate import to_message

rng = np.random.default_rng(0)
ITEMS = ItemFactors.from_pairs((m, rng.normal(size=3)) for m in range(1, 21))
MOVIES = {m: (f"Movie {m}, The ({1990 + m})", "Drama|Comedy") for m in range(1, 23)}
POPULAR = list(range(22, 0, -1))  # movies 21, 22 have no factors


def context(scorer=None) -> batch.Context:
    scorer = scorer or batch.fold_in_scorer(ITEMS, FoldInParams(0.1, True, 2.0))
    return batch.Context(
        scorer, MOVIES, POPULAR, MemoryStore(), ListSink(), top_n=5, model_version="v1"
    )


def m(user, movie, rating, ts=1000, offset=0) -> batch.Message:
    return batch.Message(to_message(Rating(user, movie, rating, ts)), "t", 0, offset)


def test_counts_add_up_and_bad_messages_become_dead_letters():
    ctx = context()
    messages = [
        m(1, 3, 4.0, offset=0),
        batch.Message(b"{oops", "t", 0, 1),
        m(2, 5, 5.0, offset=2),
        m(1, 99, 4.0, offset=3),
        m(3, 4, 9.0, offset=4),
    ]
    stats = batch.process_batch(ctx, 0, messages)
    assert (stats.valid, stats.invalid) == (2, 3)
    assert stats.valid + stats.invalid == len(messages)
    assert stats.users_updated == 2 and stats.cold_users == 0
    reasons = [d["reason"] for d in ctx.dead_letters.letters]
    assert reasons[0].startswith("not JSON")
    assert reasons[1:] == ["unknown movieId: 99", "rating out of range 0.5..5.0: 9.0"]
    assert ctx.dead_letters.letters[0]["payload"] == "{oops"
    assert ctx.dead_letters.letters[0]["source"] == {"topic": "t", "partition": 0, "offset": 1}
    assert ctx.store.stats[("movielens", 0)] is stats
    # the stream's latest state names the user of the last valid message
    assert ctx.store.streams["movielens"] == {
        "last_batch_id": 0,
        "last_user_id": 2,
        "offsets": {0: 5},
    }
    # a later batch of another partition keeps the first partition's position
    batch.process_batch(ctx, 1, [batch.Message(b"x", "t", 2, 40)])
    assert ctx.store.streams["movielens"]["offsets"] == {0: 5, 2: 41}


def test_catalogue_carries_popularity_ranks():
    store = MemoryStore()
    store.publish_catalogue({1: ("A (1999)", "Drama"), 2: ("B (2001)", "")}, [2])
    store.record_start("movielens", "v1")
    assert store.movies == {1: ("A (1999)", "Drama", None), 2: ("B (2001)", "", 1)}
    assert store.streams == {"movielens": {"model_version": "v1"}}


def test_new_user_gets_recommendations_from_first_rating_using_all_ratings():
    ctx = context()
    batch.process_batch(ctx, 0, [m(42, 3, 5.0)])
    first = ctx.store.recommendations[42]
    assert len(first) == 5 and 3 not in [r.movie_id for r in first]
    assert [r.rank for r in first] == [1, 2, 3, 4, 5]
    assert first[0].title == MOVIES[first[0].movie_id][0]
    # a second batch: both ratings are folded in and both movies excluded
    batch.process_batch(ctx, 1, [m(42, 7, 5.0, offset=1)])
    second = [(r.movie_id, r.because) for r in ctx.store.recommendations[42]]
    assert 3 not in dict(second) and 7 not in dict(second)
    expected = batch.fold_in_scorer(ITEMS, FoldInParams(0.1, True, 2.0))({42: {3: 5.0, 7: 5.0}}, 5)
    assert second == [(mid, because) for mid, _, because in expected[42]]
    # each recommendation says which of the two rated movies weigh most in it
    assert all(because and set(because) <= {3, 7} for _, because in second)


def test_each_recommendation_carries_the_predicted_stars_of_the_rating_model():
    rating = RatingModel.from_rows(
        3.5,
        5.0,
        0.1,
        ((m, 0.1 * (m % 5) - 0.2, y) for m, y in zip(ITEMS.movie_ids, ITEMS.factors, strict=True)),
    )
    ctx = context()
    ctx.rater = rating.predict_many
    batch.process_batch(ctx, 0, [m(42, 3, 5.0), m(42, 7, 2.0, offset=1)])
    rows = ctx.store.recommendations[42]
    expected = rating.predict([(3, 5.0), (7, 2.0)], [r.movie_id for r in rows])
    assert [r.stars for r in rows] == pytest.approx(expected)
    assert all(0.5 <= r.stars <= 5 for r in rows)
    # without a rating model: no stars
    plain = context()
    batch.process_batch(plain, 0, [m(42, 3, 5.0)])
    assert [r.stars for r in plain.store.recommendations[42]] == [None] * 5


def test_a_batch_without_a_valid_rating_is_counted_with_the_rating_model_too():
    rating = RatingModel.from_rows(
        3.5, 5.0, 0.1, zip(ITEMS.movie_ids, [0.0] * 20, ITEMS.factors, strict=True)
    )
    ctx = context()
    ctx.rater = rating.predict_many
    empty = batch.process_batch(ctx, 0, [])
    assert (empty.valid, empty.invalid, empty.users_updated) == (0, 0, 0)
    bad = batch.process_batch(ctx, 1, [batch.Message(b"{oops", "t", 0, 0), m(1, 99, 4.0, offset=1)])
    assert (bad.valid, bad.invalid, bad.users_updated) == (0, 2, 0)
    assert len(ctx.dead_letters.letters) == 2
    assert ctx.store.recommendations == {}


def test_replayed_batch_changes_nothing():
    ctx = context()
    messages = [m(1, 3, 4.0, offset=0), m(1, 4, 2.0, offset=1), batch.Message(b"x", "t", 0, 2)]
    first = batch.process_batch(ctx, 5, messages)
    state = (json.dumps(ctx.store.ratings, sort_keys=True), dict(ctx.store.recommendations))
    again = batch.process_batch(ctx, 5, messages)  # same batch id after a restart
    assert (json.dumps(ctx.store.ratings, sort_keys=True), dict(ctx.store.recommendations)) == state
    assert len(ctx.store.stats) == 1 and (again.valid, again.invalid) == (
        first.valid,
        first.invalid,
    )


def test_newest_rating_wins_and_old_replays_do_not_overwrite():
    ctx = context()
    batch.process_batch(ctx, 0, [m(1, 3, 2.0, ts=10, offset=0), m(1, 3, 4.5, ts=20, offset=1)])
    assert ctx.store.user_ratings([1]) == {1: {3: 4.5}}
    batch.process_batch(ctx, 1, [m(1, 3, 1.0, ts=5, offset=2)])  # older, arrives later
    assert ctx.store.user_ratings([1]) == {1: {3: 4.5}}


def test_cold_user_falls_back_to_popular_movies():
    ctx = context()
    stats = batch.process_batch(ctx, 0, [m(9, 22, 4.0)])  # movie without factors
    assert stats.cold_users == 1
    recs = ctx.store.recommendations[9]
    assert [r.movie_id for r in recs] == [21, 20, 19, 18, 17]
    assert recs[0].score == 1.0 / 2  # popularity rank 2 (rank 1 was the rated movie)
