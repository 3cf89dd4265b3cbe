"""The recommendation pipeline end to end on the cluster (run by hand against `make up`'s host
with the local inventory, it checks the single host the same way).

What converge set up (HDFS folders, the ingested dataset, the model, the topics, the
schema, the streaming service) is checked as it stands; then ratings go into Kafka from here,
good and bad ones, a user the model never saw among them, and the test waits (bounded) until
Cassandra shows their effect and the counts add up: every message the ratings topic ever
held is counted exactly once in reco.stream_stats, as valid or as invalid, and each invalid
one is in the dead-letter topic with its reason.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from kafka import KafkaConsumer, TopicPartition

from tests import inventory
from tests.labhost import eventually, interrupt
from tests.pipelinehost import (
    TOPIC,
    cassandra_session,
    catalogue,
    counted,
    dataset,
    hdfs,
    rating,
    send,
    stream_running,
    topic_size,
)

# The host of the jobs and the streaming service (node1 of the cluster).
testinfra_hosts = ["movielens"]
DEAD_LETTERS = "movielens_ratings_dlq"
# How long the stream may take to turn a rating into recommendations in these tests (it runs a
# micro-batch every second; a restart of its Spark application takes about half a minute).
SETTLE_SECONDS = 180
NEW_USER = 900_001
UNKNOWN_MOVIE = 99_999_999
TOP_N = 10


@pytest.fixture(scope="module")
def session():
    with cassandra_session() as session:
        yield session


@pytest.fixture(scope="module")
def model(host) -> dict:
    version = hdfs(host, "hdfs dfs -cat /models/latest").stdout.strip()
    assert version, "no model published under /models/latest"
    return json.loads(hdfs(host, f"hdfs dfs -cat /models/{version}/metrics.json").stdout)


def invalid_counted(session) -> int:
    rows = session.execute("SELECT invalid FROM stream_stats WHERE stream = 'movielens'")
    return sum(row.invalid for row in rows)


def dead_letters(since: dict[TopicPartition, int], timeout: float = 30) -> list[dict]:
    """The dead letters from the offsets `since` to the topic's end, read as the admin (no client
    login may read them) from every partition (one poll returns what the first brokers
    answered, not every partition's leader)."""
    consumer = KafkaConsumer(
        bootstrap_servers=inventory.kafka_bootstrap(),
        enable_auto_commit=False,
        **inventory.kafka_client("admin"),
    )
    try:
        consumer.assign(list(since))
        for tp, offset in since.items():
            consumer.seek(tp, offset)
        end = consumer.end_offsets(list(since))
        letters: list[dict] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(consumer.position(tp) < end[tp] for tp in end):
            for records in consumer.poll(timeout_ms=1000, max_records=10_000).values():
                letters += [json.loads(r.value) for r in records]
        return letters
    finally:
        consumer.close()


def end_offsets(topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(
        bootstrap_servers=inventory.kafka_bootstrap(), **inventory.kafka_client("admin")
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return consumer.end_offsets(partitions)
    finally:
        consumer.close()


def top_n(session, user: int) -> list:
    return list(session.execute("SELECT * FROM recommendations_by_user WHERE user_id = %s", [user]))


def rated(session, user: int) -> dict[int, float]:
    rows = session.execute("SELECT movie_id, rating FROM user_ratings WHERE user_id = %s", [user])
    return {row.movie_id: row.rating for row in rows}


# What converge set up.


def test_hdfs_tree_belongs_to_the_jobs(host):
    listing = hdfs(host, "hdfs dfs -ls /").stdout
    for folder in ("input", "models", "logs", "processed", "errors", "tmps"):
        assert any(
            line.split()[2:4] == ["movielens", "lab"] and line.endswith(f"/{folder}")
            for line in listing.splitlines()
            if len(line.split()) > 4
        ), f"/{folder} missing or not the jobs' own:\n{listing}"


def test_ingestion_kept_the_good_rows_and_reported_the_bad(host):
    name = dataset()
    assert hdfs(host, f"hdfs dfs -test -d /processed/{name}/ratings.parquet").rc == 0
    assert hdfs(host, f"hdfs dfs -test -e /processed/{name}/source/ratings.csv").rc == 0
    assert hdfs(host, f"hdfs dfs -test -e /input/{name}").rc != 0, "raw files not moved"
    report = hdfs(host, f"hdfs dfs -cat /errors/{name}/report.json")
    if name != "synthetic":
        # Real MovieLens (ml-100k from the recbole wheel with inventories/local) has no
        # malformed line, and a report is written only for rejects.
        assert report.rc != 0, report.stdout
        return
    report = json.loads(report.stdout)
    # The converged synthetic dataset has five malformed rating lines (the role's default).
    assert report["rejects"] == 5
    assert sum(item["lines"] for item in report["by_reason"]) == 5
    assert all(r["source"] == "ratings.csv" and r["reason"] for r in report["first"])
    assert report["counts"]["ratings"] > 50_000


def test_served_top_n_beats_popularity(model):
    als, popular = model["als"], model["popularity"]
    assert als["precision@10"] > 1.2 * popular["precision@10"], (als, popular)
    assert als["ndcg@10"] > popular["ndcg@10"]


def test_the_stars_blend_beats_the_rating_model_alone(model):
    """The page's stars blend the rating model, its baseline, its movies' neighbourhood and
    the ranking model's preference; on held-out ratings each predicted with weights fitted on
    the other half of the users, they err less than the rating model alone."""
    rating = model["rating"]
    assert rating["blend"]["predictions"] == rating["model"]["predictions"] > 1000, rating
    assert rating["blend"]["rmse"] < rating["model"]["rmse"] < rating["movie_mean"]["rmse"], rating


def test_the_jobs_logs_are_in_hdfs(host):
    names = hdfs(host, "hdfs dfs -ls /logs").stdout
    assert "ingest-" in names and "train-" in names


# The stream, end to end.


def test_ratings_become_recommendations_and_bad_messages_dead_letters(host, session):
    eventually(lambda: stream_running(host), "the streaming query running", SETTLE_SECONDS)
    movies = catalogue(host)
    assert len(movies) > 100
    before_counted = counted(session)
    before_invalid = invalid_counted(session)
    dlq_from = end_offsets(DEAD_LETTERS)
    old_user = 7
    old_top = {row.movie_id for row in top_n(session, old_user)}
    history = rated(session, old_user)
    fresh = [m for m in movies if m not in history and m not in old_top][:3]
    sent_at = time.time()
    valid = [rating(old_user, m, 5.0) for m in fresh]
    valid += [rating(NEW_USER, m, 4.5) for m in movies[:5]]
    invalid = [
        (1, b"this is not json"),
        (1, b'{"userId": 1, "movieId": 2}'),
        (1, json.dumps({"userId": 1, "movieId": movies[0], "rating": 9, "timestamp": 1}).encode()),
        (1, json.dumps({"userId": "x", "movieId": 1, "rating": 4, "timestamp": 1}).encode()),
        rating(old_user, UNKNOWN_MOVIE, 4.0),
        (1, None),
    ]
    send(valid + invalid)

    # Every message ever sent to the topic is counted once, as valid or invalid.
    eventually(
        lambda: counted(session) == topic_size(TOPIC),
        "the stream counting every message of the topic",
        SETTLE_SECONDS,
    )
    assert counted(session) >= before_counted + len(valid) + len(invalid)
    assert invalid_counted(session) >= before_invalid + len(invalid)
    letters = eventually(
        lambda: got if len(got := dead_letters(dlq_from)) >= len(invalid) else None,
        "the dead letters",
        60,
    )
    # A replayed micro-batch may send its dead letters again; they name the same message.
    letters = list({json.dumps(d["source"], sort_keys=True): d for d in letters}.values())
    assert len(letters) == len(invalid), letters
    assert all(letter.get("reason") for letter in letters), letters
    assert any("unknown movieId" in letter["reason"] for letter in letters), letters

    # The user the model never saw has a full top-N, none of it what they rated.
    new_top = top_n(session, NEW_USER)
    assert len(new_top) == TOP_N
    assert not {row.movie_id for row in new_top} & set(movies[:5])
    assert all(row.title for row in new_top)
    # The known user's list was recomputed with the new ratings, which it now excludes.
    top = top_n(session, old_user)
    assert len(top) == TOP_N
    assert min(row.updated_at.timestamp() for row in top) >= sent_at - 5
    assert not {row.movie_id for row in top} & set(fresh)
    assert set(fresh) <= set(rated(session, old_user))
    assert [row.rank for row in top] == list(range(1, TOP_N + 1))
    assert [row.score for row in top] == sorted((row.score for row in top), reverse=True)


def test_a_restart_in_the_middle_loses_and_repeats_nothing(host, session):
    eventually(lambda: stream_running(host), "the streaming query running", SETTLE_SECONDS)
    movies = catalogue(host)
    before = counted(session)
    topic_before = topic_size(TOPIC)
    users = [800_000 + i for i in range(40)]
    batch = [
        rating(user, movies[(i * 7 + user) % len(movies)], 1.0 + (i % 9) / 2)
        for i in range(10)
        for user in users
    ]
    sender = threading.Thread(target=send, args=(batch, 0.02))  # about 8 s of ratings
    sender.start()
    time.sleep(3)
    interrupt(host, "movielens-stream", "restart", lambda: stream_running(host))
    sender.join(timeout=120)
    assert not sender.is_alive()
    assert topic_size(TOPIC) == topic_before + len(batch)

    eventually(
        lambda: counted(session) == topic_size(TOPIC),
        f"the stream counting all {len(batch)} ratings across the restart",
        SETTLE_SECONDS,
    )
    time.sleep(5)  # a double count would show up after the target was reached
    assert counted(session) == topic_size(TOPIC)
    assert counted(session) >= before + len(batch)
    for user in users:
        assert len(rated(session, user)) == 10
        assert len(top_n(session, user)) == TOP_N
