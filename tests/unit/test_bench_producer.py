"""The producer benchmark's own arithmetic and checks (no broker): medians, the ratio of the
two clients in each round, a lost message or another key-to-partition map failing the run,
and the kafka-python adapter reporting failures as librdkafka's delivery reports do."""

from __future__ import annotations

import argparse
import json

from tools.bench import common, producer


def run(client: str, protocol: str, index: int, rate: int, **extra) -> dict:
    figures = {"sent": 100, "errors": 0, "in_topic": 100, "per_partition": [50, 30, 20]}
    figures.update(extra)
    return {"client": client, "protocol": protocol, "index": index, "per_second": rate,
            "topic": f"t-{client}-{index}", **figures}  # fmt: skip


def rounds(extra_last: dict | None = None) -> list[dict]:
    runs = []
    for i, (slow, fast) in enumerate([(10_000, 30_000), (20_000, 50_000), (12_000, 36_000)]):
        runs.append(run(producer.LOOP, "-", i, 90_000, per_partition=[0, 0, 0]))
        runs.append(run("kafka-python", "PLAINTEXT", i, slow))
        runs.append(
            run("librdkafka", "PLAINTEXT", i, fast, **((extra_last or {}) if i == 2 else {}))
        )
    return runs


def test_medians_and_ratios_per_round(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    args = argparse.Namespace(messages=100, repeats=3, port=19092, protocols="PLAINTEXT")
    assert producer.report(args, ["PLAINTEXT"], rounds(), {"before": 1.0, "after": 1.0}) == 0
    written = json.loads((tmp_path / "producer.json").read_text())
    assert written["per_second_median"] == {
        producer.LOOP: {"-": 90_000},
        "kafka-python": {"PLAINTEXT": 12_000},
        "librdkafka": {"PLAINTEXT": 36_000},
    }
    assert written["librdkafka_over_kafka_python_per_round"] == {"PLAINTEXT": [2.5, 3.0, 3.0]}
    assert written["same_partitions_for_both_clients"] is True
    assert "| librdkafka | 36000 /s |" in capsys.readouterr().out


def test_a_lost_message_or_another_partition_map_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    args = argparse.Namespace(messages=100, repeats=3, port=19092, protocols="PLAINTEXT")
    lost = rounds({"in_topic": 99, "per_partition": [50, 30, 19]})
    assert producer.report(args, ["PLAINTEXT"], lost, {}) == 1
    problems = json.loads((tmp_path / "producer.json").read_text())["problems"]
    assert problems[0] == "t-librdkafka-2: 100 sent, 0 failed, 99 in the topic"
    assert problems[1].startswith("the topics differ in messages per partition")


def test_the_kafka_python_adapter_reports_failures_to_the_delivery_callback():
    class Future:
        def add_errback(self, fn):
            fn(RuntimeError("no leader"))

    class KafkaPythonStandIn:
        def send(self, topic, key=None, value=None):
            return Future()

    adapter = producer.KafkaPythonProducer.__new__(producer.KafkaPythonProducer)
    adapter.producer = KafkaPythonStandIn()
    reports = []
    adapter.produce("t", value=b"v", key=b"k", on_delivery=lambda err, msg: reports.append(err))
    assert [str(err) for err in reports] == ["no leader"]
