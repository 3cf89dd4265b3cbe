"""Dead letters: messages the stream cannot use, kept with the reason, never dropped.

A dead letter is a JSON object on the dead-letter topic (``movielens_ratings_dlq`` by
default), keyed ``<topic>-<partition>-<offset>`` of the original message so that a consumer
can recognise the duplicates a replayed micro-batch may send::

    {"reason": "...", "payload": "<original text>", "payload_base64": null,
     "source": {"topic": "...", "partition": 0, "offset": 42}, "batch_id": 7}

``payload_base64`` carries the original bytes when they are not UTF-8 text.
"""

from __future__ import annotations

import base64
import json
from typing import Protocol


def dead_letter(reason: str, payload: bytes | None, source: dict, batch_id: int) -> dict:
    text, b64 = None, None
    if payload is not None:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            b64 = base64.b64encode(payload).decode("ascii")
    return {
        "reason": reason,
        "payload": text,
        "payload_base64": b64,
        "source": source,
        "batch_id": batch_id,
    }


def dead_letter_key(letter: dict) -> bytes:
    src = letter["source"]
    return f"{src.get('topic')}-{src.get('partition')}-{src.get('offset')}".encode()


class DeadLetterSink(Protocol):
    def send(self, letter: dict) -> None: ...
    def flush(self) -> None: ...


class ListSink:
    """Keeps dead letters in memory (local runs and unit tests of the pure logic)."""

    def __init__(self) -> None:
        self.letters: list[dict] = []

    def send(self, letter: dict) -> None:
        self.letters.append(letter)

    def flush(self) -> None:
        pass


class KafkaSink:
    """Sends dead letters to a Kafka topic (kafka-python), waiting for all replicas;
    ``client_options`` are the producer's security settings (``KafkaSecurity.kafka_python()``)."""

    def __init__(
        self, bootstrap_servers: str, topic: str, client_options: dict | None = None
    ) -> None:
        from kafka import KafkaProducer  # noqa: PLC0415 (only the stream's driver needs it)

        self.topic = topic
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers.split(","),
            **(client_options or {}),
            acks="all",
            value_serializer=lambda v: json.dumps(v).encode("utf-8"),
        )

    def send(self, letter: dict) -> None:
        self.producer.send(self.topic, key=dead_letter_key(letter), value=letter)

    def flush(self) -> None:
        self.producer.flush()

    def close(self) -> None:
        self.producer.close()
