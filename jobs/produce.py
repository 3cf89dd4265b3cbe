"""Replay MovieLens ratings into Kafka, one JSON message per rating line.

    python -m jobs.produce --input /data/ml-latest-small --bootstrap kafka1:9092 --rate 200

Messages are ``{"userId": .., "movieId": .., "rating": .., "timestamp": ..}`` (epoch
seconds), keyed by ``userId`` so that one user's ratings land in one partition, in file
order. ``--rate N`` paces to N messages per second (token bucket), ``--rate 0`` sends as
fast as the broker takes them; ``--limit`` stops after that many messages. A progress line
(sent, rate, errors) is logged every ``--progress-every`` seconds, and the producer is
flushed at the end. Lines of the file that do not parse are counted and logged; with
``--send-rejects`` their raw text is sent as is, to exercise the stream's dead-letter path.

The client is librdkafka (confluent-kafka): idempotent, ``acks=all``; a send that fails is
counted from its delivery report, and the exit code is 1 when any failed. When librdkafka's
queue is full the loop serves delivery reports until there is room, so nothing is dropped.
The producer logs in as ``jobs.kafka_security`` says (SASL SCRAM-SHA-512 over TLS by default;
the login and password come from the environment, ``MOVIELENS_KAFKA_*``, never the command
line).
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from jobs import common, kafka_security
from jobs.movielens import formats
from jobs.movielens.formats import Reject
from jobs.reco.ratelimit import Progress, TokenBucket
from jobs.reco.validate import to_message

log = logging.getLogger("jobs.produce")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Replay MovieLens ratings into Kafka.")
    p.add_argument(
        "--input",
        default=common.env("PRODUCER_INPUT", "/data/movielens"),
        help="a MovieLens directory (format detected) or a ratings file",
    )
    p.add_argument("--format", default=None, help="format of --input when it is a file")
    p.add_argument("--bootstrap", default=common.env("KAFKA_BOOTSTRAP", "localhost:9092"))
    p.add_argument("--topic", default=common.env("TOPIC", "movielens_ratings"))
    p.add_argument(
        "--rate",
        type=float,
        default=float(common.env("PRODUCER_RATE", "100")),
        help="messages per second; 0 = as fast as possible",
    )
    p.add_argument("--burst", type=float, default=None, help="token bucket size")
    p.add_argument("--limit", type=int, default=0, help="stop after N messages (0: all)")
    p.add_argument("--skip", type=int, default=0, help="skip the first N ratings")
    p.add_argument("--progress-every", type=float, default=5.0, help="seconds")
    p.add_argument("--send-rejects", action="store_true")
    p.add_argument(
        "--delivery-timeout",
        type=float,
        default=120.0,
        help="seconds a message may take to be acknowledged, retries included",
    )
    p.add_argument(
        "--queue-wait",
        type=float,
        default=None,
        help="seconds to wait for room in a full send queue (default: --delivery-timeout + 30)",
    )
    p.add_argument(
        "--flush-timeout",
        type=float,
        default=None,
        help="seconds to wait for the last acknowledgements (default: --delivery-timeout + 30)",
    )
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = parser().parse_args(argv)
    for name in ("queue_wait", "flush_timeout"):
        if getattr(args, name) is None:
            setattr(args, name, args.delivery_timeout + 30)
    return args


def ratings_path(path: str, fmt_name: str | None) -> tuple[str, formats.Format]:
    if os.path.isdir(path):
        fmt = formats.get_format(fmt_name) if fmt_name else formats.detect_format_in_dir(path)
        return os.path.join(path, fmt.ratings_file), fmt
    if fmt_name:
        return path, formats.get_format(fmt_name)
    for fmt in formats.FORMATS.values():
        if os.path.basename(path) == fmt.ratings_file:
            return path, fmt
    raise formats.FormatError(f"cannot tell the format of {path}; pass --format")


def enqueue(producer, topic: str, key: bytes, value: bytes, on_delivery, *, clock, wait: float):
    """Hand one message to the producer; while its queue is full, serve delivery reports
    (which frees room) and try again, for at most ``wait`` seconds. True when queued."""
    deadline = None
    while True:
        try:
            producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
            return True
        except BufferError:
            now = clock()
            if deadline is None:
                deadline = now + wait
            elif now >= deadline:
                return False
            producer.poll(0.05)


def replay(args, producer, sleep=time.sleep, clock=time.monotonic) -> Progress:
    """Send the ratings; ``producer`` is confluent-kafka's ``Producer`` (or a look-alike with
    ``produce()``, ``poll()`` and ``flush()``). Sends that fail are counted from the delivery
    reports, as are messages still unacknowledged when the final flush gives up."""
    path, fmt = ratings_path(args.input, args.format)
    bucket = TokenBucket(args.rate, args.burst, clock)
    progress = Progress(args.progress_every, clock)

    def delivered(err, msg):
        if err is not None:
            progress.errors += 1
            log.error("send failed: %s", err)

    seen = 0
    for item in formats.iter_ratings(path, fmt):
        if isinstance(item, Reject):
            progress.rejected += 1
            log.warning("line %d rejected (%s): %r", item.line_no, item.reason, item.raw[:200])
            if not args.send_rejects:
                continue
            key, value = b"reject", item.raw.encode("utf-8")
        else:
            seen += 1
            if seen <= args.skip:
                continue
            key, value = str(item.user_id).encode(), to_message(item)
        if args.limit and progress.sent >= args.limit:
            break
        wait = bucket.reserve()
        if wait > 0:
            sleep(wait)
        if not enqueue(
            producer, args.topic, key, value, delivered, clock=clock, wait=args.queue_wait
        ):
            progress.errors += 1
            log.error("the producer's queue stayed full for %.0f s: stopping", args.queue_wait)
            break
        progress.sent += 1
        producer.poll(0)
        line = progress.line()
        if line:
            log.info(line)
    left = producer.flush(args.flush_timeout)
    if left:
        progress.errors += left
        log.error("%d messages not acknowledged within %.0f s", left, args.flush_timeout)
    log.info("done: %s", progress.line(force=True))
    return progress


def settings(args, security: kafka_security.KafkaSecurity) -> dict:
    """librdkafka's configuration of the producer."""
    return {
        "bootstrap.servers": args.bootstrap,
        **security.librdkafka(),
        # Idempotence keeps each partition in order on retries with several batches in flight
        # (one in flight at a time would cost most of the throughput); it implies acks=all.
        "enable.idempotence": True,
        "acks": "all",
        "max.in.flight.requests.per.connection": 5,
        "linger.ms": 50,
        # Keys to partitions as Java's client and kafka-python map them (murmur2), so a user's
        # ratings from this job and from the page land in the same partition.
        "partitioner": "murmur2_random",
        # A send that cannot be delivered fails within this (its delivery report says why).
        "delivery.timeout.ms": int(args.delivery_timeout * 1000),
        "logger": log,
    }


def main(argv: list[str] | None = None) -> int:
    common.setup_logging()
    args = parse_args(argv)
    try:
        security = kafka_security.from_env()
    except kafka_security.KafkaSecurityError as exc:
        log.error("%s", exc)
        return 2
    from confluent_kafka import Producer  # noqa: PLC0415 (tests of replay() need no Kafka client)

    producer = Producer(settings(args, security))
    try:
        progress = replay(args, producer)
    except BaseException:
        producer.flush(args.flush_timeout)  # what was handed over still goes out
        raise
    return 1 if progress.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
