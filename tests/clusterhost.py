"""What the cluster's fault tests share: a replay of ratings at a steady rate with acks=all,
the proof that every acknowledged rating reached its user's rows once, the cluster's health
(as the roles' restart waits check it) and the test hosts' power."""

from __future__ import annotations

import json
import re
import threading
import time

from kafka import KafkaProducer

from tests import inventory
from tests.kerberoshost import as_service
from tests.labhost import eventually
from tests.pipelinehost import TOPIC, cassandra_session, catalogue, counted, topic_size

# Ratings per second of the replays, and the longest a replay may run.
RATE = 20
REPLAY_LIMIT_SECONDS = 1200
SETTLE_SECONDS = 600
HEAL_SECONDS = 900


class Replay:
    """Ratings sent at a steady rate from a thread with acks=all, until stopped or the limit.

    Each user rates distinct movies, so the user's rows in Cassandra must be exactly the
    ratings Kafka acknowledged for that user.
    """

    def __init__(self, movies: list[int], users: int = 50) -> None:
        # Users no earlier run has rated for: their rows are this replay's alone.
        first_user = 10_000_000 + (time.time_ns() // 1000) % 10_000_000 * 100
        self.users = [first_user + i for i in range(users)]
        self.movies = movies
        self.acked: dict[int, dict[int, float]] = {u: {} for u in self.users}
        self.failed: list[str] = []
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Replay:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        # The pipeline's login, as the jobs send ratings.
        producer = KafkaProducer(
            bootstrap_servers=inventory.kafka_bootstrap(),
            **inventory.kafka_client("movielens"),
            acks="all",
            retries=2**31 - 1,
            delivery_timeout_ms=120_000,
            request_timeout_ms=30_000,
            enable_idempotence=True,
        )
        deadline = time.monotonic() + REPLAY_LIMIT_SECONDS
        index = 0
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                user = self.users[index % len(self.users)]
                movie = self.movies[(index // len(self.users)) % len(self.movies)]
                stars = 0.5 + (index % 10) / 2
                body = {
                    "userId": user,
                    "movieId": movie,
                    "rating": stars,
                    "timestamp": int(time.time()),
                }
                future = producer.send(
                    TOPIC, key=str(user).encode(), value=json.dumps(body).encode()
                )
                future.add_callback(self._acked, user, movie, stars)
                future.add_errback(
                    lambda exc, u=user, m=movie: self.failed.append(f"{u}/{m}: {exc}")
                )
                self.sent += 1
                index += 1
                time.sleep(1 / RATE)
            producer.flush(timeout=180)
        finally:
            producer.close(timeout=30)

    def _acked(self, user: int, movie: int, stars: float, _metadata) -> None:
        self.acked[user][movie] = stars

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=300)
        assert not self._thread.is_alive(), "the replay did not stop"

    def acknowledged(self) -> int:
        return sum(len(movies) for movies in self.acked.values())


def movies(host) -> list[int]:
    return catalogue(host)[:400]


def everything_counted_once(replay: Replay) -> None:
    """The stream counted every message of the topic once; each user's rows are the acked ones."""
    with cassandra_session() as session:
        eventually(
            lambda: counted(session) == topic_size(TOPIC),
            "the stream counting every message of the topic",
            SETTLE_SECONDS,
        )
        time.sleep(5)  # a double count would show up after the target was reached
        assert counted(session) == topic_size(TOPIC)
        for user, expected in replay.acked.items():
            rows = {
                r.movie_id: r.rating
                for r in session.execute(
                    "SELECT movie_id, rating FROM user_ratings WHERE user_id = %s", [user]
                )
            }
            assert rows == expected, f"user {user}: {len(rows)} rows, {len(expected)} acknowledged"


# Cluster health, as the roles' restart waits check it.


def under_replicated_blocks(host) -> int:
    """fsck's count on the NameNode's host as HDFS's superuser (its ticket in secure mode, and
    ssl-client.xml, which fsck reads there, is its group's)."""
    report = as_service(
        host,
        "hdfs",
        "nn",
        'hdfs fsck / 2>/dev/null | grep -E "Under-replicated blocks|Missing blocks"',
        timeout=120,
    )
    numbers = [int(n) for n in re.findall(r":\s+(\d+)", report.stdout)]
    return sum(numbers) if numbers else -1


def kafka_under_replicated(host) -> str:
    """What kafka-topics.sh lists as under-replicated, asked on a broker host as the admin."""
    result = host.run(
        "/opt/kafka/bin/kafka-topics.sh --bootstrap-server "
        f"{inventory.kafka_bootstrap()} --command-config {inventory.KAFKA_ADMIN_CONFIG} "
        "--describe --under-replicated-partitions"
    )
    return result.stdout.strip() if result.rc == 0 else "kafka-topics.sh failed"


def ring_all_up(host) -> bool:
    status = host.run("/usr/local/bin/nodetool status").stdout
    states = re.findall(r"^([UD][NLJM])\s", status, re.MULTILINE)
    return len(states) == len(inventory.hosts("cassandra")) and set(states) == {"UN"}


def healed(host) -> bool:
    return (
        under_replicated_blocks(host) == 0
        and not kafka_under_replicated(host)
        and ring_all_up(host)
    )
