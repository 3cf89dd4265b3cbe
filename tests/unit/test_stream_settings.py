"""The streaming job's own settings of Spark and of its Kafka source."""

import pytest

from jobs.kafka_security import KafkaSecurity

stream = pytest.importorskip("jobs.stream")


def options(*argv: str) -> dict[str, str]:
    args = stream.parser().parse_args(list(argv))
    return stream.source_options(args, KafkaSecurity(protocol="PLAINTEXT"))


def test_the_source_asks_kafka_to_answer_an_empty_fetch_within_20_ms_unless_told():
    assert options()["kafka.fetch.max.wait.ms"] == "20"
    assert options("--kafka-fetch-max-wait-ms", "500")["kafka.fetch.max.wait.ms"] == "500"


def test_the_stream_writes_no_event_log_unless_asked():
    conf = stream.session_conf(stream.parser().parse_args([]))
    assert conf == {"spark.eventLog.enabled": "false"}
    args = stream.parser().parse_args(["--event-log", "--packages", stream.KAFKA_PACKAGE])
    assert stream.session_conf(args) == {
        "spark.eventLog.enabled": "true",
        "spark.jars.packages": stream.KAFKA_PACKAGE,
    }
