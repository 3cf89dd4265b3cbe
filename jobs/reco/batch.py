"""What the stream does with one micro-batch, free of Spark, Kafka and Cassandra.

``process_batch`` takes the batch's messages and the three outside parties behind small
interfaces (the model's scorer, the ``Store``, the dead-letter sink), so it runs the same in
``jobs.stream`` and in unit tests with in-memory stand-ins.

For each batch:

1. validate every message (``validate.validate``); invalid ones go to the dead-letter sink
   with the reason and the original payload;
2. of several ratings of the same (user, movie) in the batch, keep the newest (timestamp,
   then Kafka offset);
3. read *all* the stored ratings of the batch's users (``user_ratings``, keyed by user and
   movie) and add the batch's own;
4. for each user of the batch, fold the user into the model (``foldin``), take the top N
   unrated movies with the rated movies that weigh most in each, attach titles and genres,
   and write, in one write per user, the user's new ratings and new rows in
   ``recommendations`` and ``recommendations_by_user``. A user the model cannot place (none
   of their movies has factors) gets the most popular unrated movies, scored
   ``1 / popularity rank``. Where the model version has a rating model, each recommendation
   carries the user's predicted rating in stars (``foldin.RatingModel.predict_many``, given
   the scorer's preference for the movie, which a blend of models uses). The
   batch's users are folded in together (``foldin.recommend_many``), not one by one;
5. record the batch's counters (``valid + invalid == messages``) under its batch id, and
   the batch id, its time, its last user and the next offset of each partition it read as
   the stream's latest state.

Why a restart loses nothing and counts nothing twice: Spark commits a micro-batch's Kafka
offsets to the checkpoint only after ``foreachBatch`` returned, so after a crash the last
batch is processed again with the same batch id and the same messages. Every effect of
this function is an idempotent upsert: ratings by (user, movie) with the rating's own time
as write time, recommendations recomputed from the stored ratings (the same input gives the
same rows), and counters keyed by (stream, batch id), overwritten rather than added.
Dead letters of a replayed batch may be sent twice; they are keyed by the original
message's (topic, partition, offset), so a consumer can drop the duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from jobs.movielens.formats import Rating
from jobs.reco import validate as validation
from jobs.reco.deadletter import DeadLetterSink, dead_letter
from jobs.reco.foldin import FoldInParams, ItemFactors, recommend_many
from jobs.reco.store import BatchStats, RecRow, Store


@dataclass(frozen=True)
class Message:
    value: bytes | None
    topic: str = ""
    partition: int = 0
    offset: int = 0
    timestamp: float = 0.0  # Kafka's, epoch seconds (the producer's send)


# user id -> that user's ratings {movie: rating} ; returns user id -> [(movie, score)] or
# [(movie, score, the rated movies that weigh most in it)], or None for a cold user
Scorer = Callable[[Mapping[int, Mapping[int, float]], int], dict[int, list | None]]


# user id -> (the user's (movie, rating) pairs, in any order, movies, and the scorer's
# preference for each movie); returns user id -> the user's predicted stars for those movies
Rater = Callable[
    [Mapping[int, tuple[Collection[tuple[int, float]], Sequence[int], Sequence[float]]]],
    dict[int, list[float]],
]


def fold_in_scorer(items: ItemFactors, params: FoldInParams) -> Scorer:
    """Score by folding the batch's users into the fixed item factors (the default)."""

    def score(histories, n):
        return recommend_many(items, {u: h.items() for u, h in histories.items()}, params, n)

    return score


def newest_per_key(ratings: Sequence[tuple[Rating, Message]]) -> list[Rating]:
    best: dict[tuple[int, int], tuple[Rating, Message]] = {}
    for rating, msg in ratings:
        key = (rating.user_id, rating.movie_id)
        old = best.get(key)
        if old is None or (rating.ts, msg.partition, msg.offset) >= (
            old[0].ts,
            old[1].partition,
            old[1].offset,
        ):
            best[key] = (rating, msg)
    return [r for r, _ in sorted(best.values(), key=lambda rm: (rm[0].user_id, rm[0].movie_id))]


def rows_for(
    recs: Sequence[tuple],
    movies: Mapping[int, tuple[str, str]],
    stars: Sequence[float] | None = None,
) -> list[RecRow]:
    out = []
    for rank, (movie_id, score, *rest) in enumerate(recs, start=1):
        title, genres = movies.get(movie_id, ("", ""))
        because = tuple(rest[0]) if rest else ()
        star = None if stars is None else float(stars[rank - 1])
        out.append(RecRow(rank, movie_id, float(score), title, genres, because, star))
    return out


@dataclass
class Context:
    """Everything a batch needs that outlives the batch."""

    scorer: Scorer
    movies: Mapping[int, tuple[str, str]]  # movie_id -> (title, genres); also the catalogue
    popular: Sequence[int]
    store: Store
    dead_letters: DeadLetterSink
    top_n: int = 10
    stream: str = "movielens"
    model_version: str = ""
    rater: Rater | None = None  # None: the model version predicts no stars


def popular_recs(ctx: Context, seen: Mapping[int, float]) -> list[tuple[int, float]]:
    """The most popular movies the user has not rated, scored ``1 / popularity rank``."""
    recs = []
    for rank, movie_id in enumerate(ctx.popular, start=1):
        if movie_id not in seen:
            recs.append((movie_id, 1.0 / rank))
            if len(recs) == ctx.top_n:
                break
    return recs


def process_batch(ctx: Context, batch_id: int, messages: Sequence[Message]) -> BatchStats:
    started = time.time()
    stats = BatchStats(ctx.stream, batch_id, model_version=ctx.model_version, started_at=started)
    good: list[tuple[Rating, Message]] = []
    for msg in messages:
        stats.offsets[msg.partition] = max(stats.offsets.get(msg.partition, 0), msg.offset + 1)
        rating, reason = validation.validate(msg.value, ctx.movies)
        if rating is None:
            stats.invalid += 1
            source = {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}
            ctx.dead_letters.send(dead_letter(reason, msg.value, source, batch_id))
        else:
            stats.valid += 1
            stats.sent.append(msg.timestamp)
            good.append((rating, msg))
    ctx.dead_letters.flush()

    ratings = newest_per_key(good)
    stats.ratings_upserted = len(ratings)
    users = sorted({r.user_id for r in ratings})
    histories = ctx.store.user_ratings(users)
    for r in ratings:  # the batch's own, written with the top-N below
        histories.setdefault(r.user_id, {})[r.movie_id] = r.rating
    scored = ctx.scorer(histories, ctx.top_n)
    recs, preferences = {}, {}
    for user_id in users:
        recs[user_id] = scored.get(user_id)
        preferences[user_id] = [r[1] for r in recs[user_id] or ()]
        if recs[user_id] is None:  # cold: the model knows none of the user's movies
            stats.cold_users += 1
            recs[user_id] = popular_recs(ctx, histories[user_id])
            preferences[user_id] = [0.0] * len(recs[user_id])  # a user with no factors
    stars = {}
    if ctx.rater is not None:
        stars = ctx.rater(
            {u: (histories[u].items(), [r[0] for r in recs[u]], preferences[u]) for u in users}
        )
    lists = {u: rows_for(recs[u], ctx.movies, stars.get(u)) for u in users}
    ctx.store.write_users(ratings, lists, ctx.model_version)
    if good:
        stats.last_user_id = good[-1][0].user_id
    stats.users_updated = len(lists)
    stats.duration_ms = int((time.time() - started) * 1000)
    ctx.store.record_batch(stats)
    return stats
