"""The stream's driver-side work against one trained model: fold-in cost and a fixed rate.

    python -m tools.bench.scale_foldin --models /tmp/scale/1m/models   # prints one JSON line
    python -m tools.bench.scale_foldin --catalogue 62423                # random factors

Loads the model version as the streaming job does (``model_store.load_serving_model``: item
factors, catalogue, popularity, rating model), then runs ``jobs.reco.batch.process_batch``
with the in-memory store and dead-letter list, so what is timed is the validation, the
fold-in, the top-N over the whole catalogue, the predicted stars and the rows: everything
the stream's driver does with a micro-batch except reading Kafka and writing Cassandra.

* Fold-in cost: ``--users`` new users rate ``--per-user`` movies each (drawn by popularity),
  interleaved (one rating of each user, then the second of each, ...), cut into batches of
  each size of ``--batches``: every rating of a batch folds its user in again with all of
  their ratings so far. Reported: milliseconds per rating and per batch (median).
* ``--catalogue N`` instead of ``--models``: item factors (rank 32) and a rating model drawn
  at random for N movies, the shipped settings: what the work costs with a catalogue of
  that size where no model of it could be trained (the cost depends on the catalogue and
  the rank, not on the values).
* A fixed rate: ``--rate`` ratings a second for ``--seconds``, each by a new user (the
  worst case of ``tools.bench.pipeline``); each micro-batch takes what arrived while the
  previous one ran. Reported: from a rating's arrival to the end of its batch, p50 and p99.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from jobs import common
from jobs.movielens.formats import Rating
from jobs.reco import batch, model_store
from jobs.reco.deadletter import ListSink
from jobs.reco.foldin import FoldInParams, ItemFactors, RatingModel
from jobs.reco.store import MemoryStore
from jobs.reco.validate import to_message

FIRST_NEW_USER = 10_000_000  # above every user id of the data


def context(served: model_store.ServingModel) -> batch.Context:
    return batch.Context(
        batch.fold_in_scorer(served.items, served.params),
        served.movies,
        served.popular,
        MemoryStore(),
        ListSink(),
        model_version=served.version,
        rater=served.rating.predict_many if served.rating else None,
    )


def random_model(movies: int, rank: int = 32, seed: int = 0) -> model_store.ServingModel:
    """A model of ``movies`` movies with random factors and the shipped settings."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, movies + 1)
    factors = rng.normal(0, 0.3, (movies, rank))
    items = ItemFactors.from_pairs(zip(ids.tolist(), factors, strict=True))
    rows = [
        (int(m), float(b), f)
        for m, b, f in zip(
            ids, rng.normal(0, 0.3, movies), rng.normal(0, 0.1, (movies, rank)), strict=True
        )
    ]
    titles = {int(m): (f"Movie {m} (2000)", "Drama|Comedy") for m in ids}
    return model_store.ServingModel(
        f"random-{movies}",
        "",
        items,
        FoldInParams(reg=0.2, implicit=True, alpha=0.3),
        titles,
        ids.tolist(),
        RatingModel.from_rows(3.5, 5.0, 0.15, rows),
    )


def new_ratings(popular: list[int], users: int, per_user: int, seed: int) -> list[Rating]:
    """``per_user`` distinct movies for each of ``users`` new users, interleaved by user."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(popular) + 1) ** 0.9  # long-tailed, like the data
    weights /= weights.sum()
    picks = [rng.choice(popular, size=per_user, replace=False, p=weights) for _ in range(users)]
    stars = rng.integers(1, 11, (users, per_user)) / 2
    return [
        Rating(FIRST_NEW_USER + u, int(picks[u][k]), float(stars[u, k]), 1_600_000_000 + k)
        for k in range(per_user)
        for u in range(users)
    ]


def messages(ratings: list[Rating]) -> list[batch.Message]:
    return [batch.Message(to_message(r), "ratings", 0, i) for i, r in enumerate(ratings)]


def fold_in_cost(served, ratings: list[Rating], size: int) -> dict:
    ctx = context(served)
    msgs = messages(ratings)
    per_batch = []
    for i, lo in enumerate(range(0, len(msgs), size)):
        started = time.perf_counter()
        batch.process_batch(ctx, i, msgs[lo : lo + size])
        per_batch.append((time.perf_counter() - started) * 1000)
    median = statistics.median(per_batch)
    return {
        "batch": size,
        "batches": len(per_batch),
        "ms_per_batch_median": round(median, 1),
        "ms_per_rating": round(sum(per_batch) / len(msgs), 3),
    }


def fixed_rate(served, popular: list[int], rate: float, seconds: float, seed: int) -> dict:
    """Micro-batches of what arrived at ``rate`` while the previous batch ran."""
    count = int(rate * seconds)
    ratings = new_ratings(popular, count, 1, seed)
    msgs = messages(ratings)
    ctx = context(served)
    latencies, sizes = [], []
    start = time.perf_counter()
    done, batch_id = 0, 0
    while done < count:
        arrived = min(count, int((time.perf_counter() - start) * rate) + 1)
        if arrived <= done:
            time.sleep((done + 1) / rate - (time.perf_counter() - start))
            continue
        batch.process_batch(ctx, batch_id, msgs[done:arrived])
        finished = time.perf_counter() - start
        latencies.extend(finished - i / rate for i in range(done, arrived))
        sizes.append(arrived - done)
        done, batch_id = arrived, batch_id + 1
    latencies.sort()
    return {
        "rate": rate,
        "ratings": count,
        "batches": batch_id,
        "mean_batch": round(count / batch_id, 1),
        "p50_s": round(latencies[len(latencies) // 2], 3),
        "p99_s": round(latencies[int(len(latencies) * 0.99)], 3),
        "max_batch": max(sizes),
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--models", help="a models root written by jobs.train")
    source.add_argument("--catalogue", type=int, help="random factors for N movies")
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--per-user", type=int, default=20)
    p.add_argument("--batches", default="200,1000", help="batch sizes, comma-separated")
    p.add_argument("--rate", type=float, default=200.0, help="ratings a second (0: skip)")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=7)
    return p


def main(argv: list[str] | None = None) -> int:
    common.setup_logging()
    args = parser().parse_args(argv)
    loading = time.perf_counter()
    if args.catalogue:
        served = random_model(args.catalogue)
    else:
        spark = common.spark_session("movielens-scale-foldin")
        try:
            served = model_store.load_serving_model(spark, args.models)
        finally:
            spark.stop()
    load_s = time.perf_counter() - loading
    ratings = new_ratings(served.popular, args.users, args.per_user, args.seed)
    result = {
        "version": served.version,
        "catalogue": len(served.movies),
        "items_with_factors": len(served.items.movie_ids),
        "rank": served.items.rank,
        "stars": served.rating is not None,
        "load_s": round(load_s, 1),
        "users": args.users,
        "per_user": args.per_user,
        "cost": [fold_in_cost(served, ratings, int(s)) for s in args.batches.split(",") if s],
    }
    if args.rate > 0:
        result["fixed_rate"] = fixed_rate(
            served, served.popular, args.rate, args.seconds, args.seed + 1
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
