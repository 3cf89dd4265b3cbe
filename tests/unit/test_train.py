"""The training job end to end on local Spark with a small synthetic data set."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from jobs import stream, train
from jobs.kafka_security import KafkaSecurity
from jobs.movielens import synthetic
from jobs.movielens.formats import Rating
from jobs.reco import model_store
from jobs.reco.validate import to_message


@pytest.fixture(scope="module")
def published(spark, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("input")
    models = tmp_path_factory.mktemp("models")
    data = synthetic.generate(users=150, movies=400, ratings=9000, seed=5)
    synthetic.write(data, str(data_dir), "latest", malformed=3, seed=5)
    args = train.parser().parse_args(
        [
            "--input",
            str(data_dir),
            "--models",
            str(models),
            "--blocks",
            "2",
            "--no-refit",
            "--max-iter",
            "6",
            "--version",
            "20260101T000000Z",
        ]
    )
    report = train.run(spark, args)
    return models, report


def test_report_shows_als_beating_popularity(published):
    models, report = published
    written = json.loads((models / "20260101T000000Z" / "metrics.json").read_text())
    assert written["als"] == report["als"]
    als, pop = report["als"]["precision@10"], report["popularity"]["precision@10"]
    print(f"train e2e: precision@10 ALS {als:.3f} vs popularity {pop:.3f}")
    assert als > 1.3 * pop
    assert report["als"]["ndcg@10"] > report["popularity"]["ndcg@10"]
    assert report["counts"]["rejects"] == 3
    for key in ("precision@10", "recall@10", "ndcg@10", "map", "rmse", "mae"):
        assert key in report["als"] and key in report["popularity"]


def test_version_layout_and_latest_pointer(spark, published):
    models, _ = published
    version = models / "20260101T000000Z"
    for part in ("als", "item_factors", "movies", "popularity", "rejects"):
        assert (version / part).is_dir(), part
    assert (models / "latest").read_text().strip() == "20260101T000000Z"
    served = model_store.load_serving_model(spark, str(models))
    assert served.version == "20260101T000000Z"
    assert served.params.implicit is True
    assert len(served.items.movie_ids) > 300 and len(served.movies) == 400
    assert served.popular[:1] and served.items.rank == train.DEFAULTS["rank"]


@pytest.mark.parametrize("scorer", ["foldin", "als-subset"])
def test_stream_handler_on_the_published_model(spark, published, scorer):
    """The foreachBatch handler on a DataFrame shaped like Kafka's (memory store, no broker)."""
    models, _ = published
    args = stream.parser().parse_args(
        ["--models", str(models), "--store", "memory", "--scorer", scorer, "--top-n", "5"]
    )
    # The memory store has no Kafka sink: the login is not used.
    ctx = stream.build_context(spark, args, KafkaSecurity(protocol="PLAINTEXT"))
    served = model_store.load_serving_model(spark, str(models))
    known = [int(m) for m in served.items.movie_ids[:3]]  # movies with factors
    values = [
        to_message(Rating(1, known[0], 5.0, 100)),
        to_message(Rating(1, known[1], 4.0, 101)),
        to_message(Rating(999_999, known[2], 4.5, 102)),
        b"not json",
    ]
    # The columns the Kafka source gives, its timestamp as the broker's append time.
    appended = datetime(2026, 1, 1, tzinfo=UTC)
    frame = spark.createDataFrame(
        [(v, "movielens_ratings", 0, i, appended) for i, v in enumerate(values)],
        "value binary, topic string, partition int, offset long, timestamp timestamp",
    )
    stream.make_handler(ctx)(frame, 0)
    stats = ctx.store.stats[("movielens", 0)]
    assert (stats.valid, stats.invalid, stats.users_updated) == (3, 1, 2)
    assert ctx.dead_letters.letters[0]["reason"].startswith("not JSON")
    for user in (1, 999_999):  # 999999: a user the model never saw
        recs = ctx.store.recommendations[user]
        assert len(recs) == 5 and all(r.title for r in recs)
        assert not {r.movie_id for r in recs} & set(known)
    # fold-in places the new user from the first rating; the original way cannot
    assert stats.cold_users == (0 if scorer == "foldin" else 1)
