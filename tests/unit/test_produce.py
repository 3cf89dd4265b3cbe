"""The producer's replay loop with a stand-in for KafkaProducer (no broker: pure logic)."""

from __future__ import annotations

import json

import pytest

from jobs import produce
from jobs.movielens import synthetic


class Future:
    def add_errback(self, fn):
        return self


class Recorder:
    """Records what would be sent; not Kafka (the integration tests use the real broker)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.flushed = False

    def send(self, topic, key, value):
        self.sent.append((topic, key, value))
        return Future()

    def flush(self):
        self.flushed = True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_replay_paces_keys_and_counts(tmp_path):
    data = synthetic.generate(users=10, movies=100, ratings=300, seed=1)
    synthetic.write(data, str(tmp_path), "latest", malformed=2, seed=1)
    args = produce.parser().parse_args(
        [
            "--input",
            str(tmp_path),
            "--rate",
            "100",
            "--burst",
            "1",
            "--limit",
            "201",
            "--topic",
            "t",
        ]
    )
    rec, clock = Recorder(), Clock()
    progress = produce.replay(args, rec, sleep=clock.sleep, clock=clock)
    assert progress.sent == len(rec.sent) == 201 and rec.flushed
    assert clock.now == pytest.approx(2.0)  # 201 messages at 100/s, burst 1
    topic, key, value = rec.sent[0]
    message = json.loads(value)
    assert topic == "t" and key == str(message["userId"]).encode()
    assert set(message) == {"userId", "movieId", "rating", "timestamp"}


def test_rejects_are_counted_and_optionally_sent(tmp_path):
    data = synthetic.generate(users=5, movies=30, ratings=120, seed=2)
    manifest = synthetic.write(data, str(tmp_path), "ml-1m", malformed=3, seed=2)
    for extra, expected in (
        ([], manifest["ratings"]),
        (["--send-rejects"], manifest["ratings"] + 3),
    ):
        args = produce.parser().parse_args(["--input", str(tmp_path), "--rate", "0", *extra])
        rec = Recorder()
        progress = produce.replay(args, rec)
        assert progress.rejected == 3
        assert len(rec.sent) == expected
