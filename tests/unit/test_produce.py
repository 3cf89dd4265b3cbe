"""The producer's replay loop with a stand-in for confluent-kafka's Producer (no broker: pure
logic): pacing, keys, rejects, a full queue, delivery reports and the exit code."""

from __future__ import annotations

import json

import pytest

from jobs import produce
from jobs.movielens import synthetic


class Recorder:
    """Records what would be sent and reports each delivery on the next poll() or flush(), as
    librdkafka does; ``fail`` (indexes of sends) are reported failed. Not Kafka (the
    integration tests use the real broker)."""

    def __init__(self, fail=(), unacknowledged: int = 0) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.pending: list = []
        self.fail = set(fail)
        self.unacknowledged = unacknowledged
        self.flushed = False

    def produce(self, topic, value=None, key=None, on_delivery=None):
        index = len(self.sent)
        self.sent.append((topic, key, value))
        self.pending.append((on_delivery, "broker said no" if index in self.fail else None))

    def poll(self, timeout=None):
        served, self.pending = self.pending, []
        for callback, err in served:
            callback(err, None)
        return len(served)

    def flush(self, timeout=None):
        self.poll()
        self.flushed = True
        return self.unacknowledged


class FullQueue(Recorder):
    """A queue with room for ``room`` messages: produce() raises BufferError (as librdkafka's
    does) until poll() has served the deliveries."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room
        self.refused = 0
        self.polls_while_full = 0

    def produce(self, topic, value=None, key=None, on_delivery=None):
        if len(self.pending) >= self.room:
            self.refused += 1
            raise BufferError("Local: Queue full")
        super().produce(topic, value=value, key=key, on_delivery=on_delivery)

    def poll(self, timeout=None):
        if timeout:  # the loop waits for room; a poll(0) after each send serves nothing here
            self.polls_while_full += 1
            return super().poll(timeout)
        return 0


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
    args = produce.parse_args(
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
        args = produce.parse_args(["--input", str(tmp_path), "--rate", "0", *extra])
        rec = Recorder()
        progress = produce.replay(args, rec)
        assert progress.rejected == 3
        assert len(rec.sent) == expected


def ratings(tmp_path, count: int = 200):
    data = synthetic.generate(users=8, movies=50, ratings=count, seed=3)
    synthetic.write(data, str(tmp_path), "latest", malformed=0, seed=3)
    return str(tmp_path)


def test_a_full_queue_is_waited_out_and_nothing_is_lost(tmp_path):
    args = produce.parse_args(["--input", ratings(tmp_path), "--rate", "0"])
    reference, full = Recorder(), FullQueue(room=7)
    produce.replay(args, reference)
    progress = produce.replay(args, full)
    assert full.refused > 0 and full.polls_while_full == full.refused
    # Every message once, in the file's order (so each user's ratings stay in order).
    assert full.sent == reference.sent and progress.sent == len(reference.sent)
    assert progress.errors == 0


def test_a_queue_that_stays_full_stops_the_replay_as_a_failure(tmp_path):
    class Stuck(FullQueue):
        def poll(self, timeout=None):
            clock.sleep(timeout or 0)  # time passes, no delivery frees room
            return 0

    clock = Clock()
    args = produce.parse_args(["--input", ratings(tmp_path), "--rate", "0", "--queue-wait", "5"])
    stuck = Stuck(room=3)
    progress = produce.replay(args, stuck, sleep=clock.sleep, clock=clock)
    assert progress.sent == 3 and progress.errors == 1
    assert 5 <= clock.now < 6  # waited --queue-wait, then gave up
    assert stuck.flushed


def test_failed_deliveries_and_unacknowledged_messages_are_errors(tmp_path, caplog):
    args = produce.parse_args(["--input", ratings(tmp_path), "--rate", "0", "--limit", "50"])
    progress = produce.replay(args, Recorder(fail={3, 40}, unacknowledged=2))
    assert progress.sent == 50 and progress.errors == 4
    assert "send failed: broker said no" in caplog.text
    assert "2 messages not acknowledged" in caplog.text


def test_the_exit_code_says_whether_every_send_was_acknowledged(tmp_path, monkeypatch):
    confluent_kafka = pytest.importorskip("confluent_kafka")
    made: list[dict] = []
    outcome = {"fail": ()}

    def fake_producer(config):
        made.append(config)
        return Recorder(fail=outcome["fail"])

    monkeypatch.setattr(confluent_kafka, "Producer", fake_producer)
    monkeypatch.setenv("MOVIELENS_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    argv = ["--input", ratings(tmp_path), "--rate", "0", "--bootstrap", "k1:9092,k2:9092"]
    assert produce.main(argv) == 0
    outcome["fail"] = (0,)
    assert produce.main(argv) == 1
    config = made[0]
    assert config["bootstrap.servers"] == "k1:9092,k2:9092"
    assert config["security.protocol"] == "PLAINTEXT"
    assert config["enable.idempotence"] is True and config["acks"] == "all"
    assert config["partitioner"] == "murmur2_random"  # the Java client's key-to-partition map
    monkeypatch.setenv("MOVIELENS_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.delenv("MOVIELENS_KAFKA_USER", raising=False)
    assert produce.main(argv) == 2  # no login: refused before any client is made
    assert len(made) == 2


def test_an_interrupted_replay_still_flushes_what_it_handed_over(tmp_path, monkeypatch):
    confluent_kafka = pytest.importorskip("confluent_kafka")
    made: list[Recorder] = []

    def fake_producer(config):
        made.append(Recorder())
        return made[-1]

    def interrupted(args, producer, **kwargs):
        producer.produce(args.topic, value=b"v", key=b"k", on_delivery=lambda err, msg: None)
        raise KeyboardInterrupt

    monkeypatch.setattr(confluent_kafka, "Producer", fake_producer)
    monkeypatch.setattr(produce, "replay", interrupted)
    monkeypatch.setenv("MOVIELENS_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    with pytest.raises(KeyboardInterrupt):
        produce.main(["--input", ratings(tmp_path)])
    assert made[0].flushed and len(made[0].sent) == 1
