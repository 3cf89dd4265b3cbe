"""Turn each incoming rating into fresh top-N recommendations (Spark Structured Streaming).

    spark-submit --packages org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.1 \
        --py-files build/jobs.zip jobs/stream.py \
        --bootstrap kafka1:9092 --models hdfs:///models --checkpoint hdfs:///tmps/stream \
        --cassandra-hosts cass1 --cassandra-ca /etc/lab-tls/ca.crt

Reads the ratings topic (``startingOffsets`` earliest on the first start; afterwards the
offsets come from the checkpoint), and for each micro-batch (``foreachBatch``) validates
the messages, sends invalid ones to the dead-letter topic, upserts the ratings into
``reco.user_ratings``, folds each user of the batch into the served model with *all* their
stored ratings, and replaces their top-N in ``reco.recommendations`` and
``reco.recommendations_by_user``; per-batch counters go to ``reco.stream_stats``. On start
it writes the model's catalogue to ``reco.movies`` and its version to ``reco.streams``. The logic
and why replays are harmless (exactly-once effect) are in ``jobs.reco.batch``. With
``--metrics HOST:PORT`` the driver serves its figures for Prometheus on
``http://HOST:PORT/metrics`` (``jobs.reco.stream_metrics``).

Kafka is read and the dead letters written with the login of ``jobs.kafka_security`` (SASL
SCRAM-SHA-512 over TLS by default; the password comes from the environment that
``movielens-job`` reads from the settings file, and reaches the Kafka clients as their JAAS
line, never the command line). The source's consumer groups, which Spark names itself, begin
with ``--group-prefix``-stream (``groupIdPrefix``): the prefix the jobs' ACL allows.

The item factors of the latest model (``<models>/latest``) are loaded once on the driver.
``--scorer als-subset`` scores with ``ALSModel.recommendForUserSubset`` instead, as the
original project did: it uses the user factors learnt at training time, so it ignores the
new ratings and cannot place users the model never saw (they get popular movies).
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from jobs import common, kafka_security
from jobs.reco import batch, model_store, stream_metrics
from jobs.reco.deadletter import KafkaSink, ListSink
from jobs.reco.store import CassandraStore, MemoryStore

log = logging.getLogger("jobs.stream")

KAFKA_PACKAGE = "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.1"

# How long a Kafka broker may hold a fetch of the source's consumers that finds no new data.
# With Kafka's default, 500 ms, about one read of a partition in twelve took that half second
# on the stack at 200 and 600 ratings/s (a consumer fetches ahead after each read, and the
# next read waits for that fetch), each adding it to its micro-batch; none with 20 ms.
FETCH_MAX_WAIT_MS = 20


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Kafka ratings -> fold-in -> Cassandra top-N.")
    p.add_argument("--bootstrap", default=common.env("KAFKA_BOOTSTRAP", "localhost:9092"))
    p.add_argument("--topic", default=common.env("TOPIC", "movielens_ratings"))
    p.add_argument("--dead-letter-topic", default=common.env("DLQ_TOPIC", "movielens_ratings_dlq"))
    p.add_argument(
        "--group-prefix",
        default=common.env("KAFKA_GROUP_PREFIX", "movielens"),
        help="the Kafka source's consumer groups are named <prefix>-stream-... (an ACL's prefix)",
    )
    p.add_argument("--models", default=common.env("MODELS", "hdfs:///models"))
    p.add_argument("--model-version", default=None, help="default: <models>/latest")
    p.add_argument("--checkpoint", default=common.env("CHECKPOINT", "/tmps/stream"))
    p.add_argument("--starting-offsets", default="earliest", help="only used on a first start")
    p.add_argument("--max-offsets-per-trigger", type=int, default=10_000)
    p.add_argument(
        "--kafka-fetch-max-wait-ms",
        type=int,
        default=FETCH_MAX_WAIT_MS,
        help="fetch.max.wait.ms of the Kafka source's consumers (Kafka's default: 500)",
    )
    p.add_argument(
        "--event-log",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="write Spark's event log (spark.eventLog.enabled) for the history server",
    )
    p.add_argument("--trigger-seconds", type=float, default=5.0)
    p.add_argument(
        "--available-now",
        action="store_true",
        help="process what the topic holds, then stop (tests, backfills)",
    )
    p.add_argument(
        "--progress-every", type=float, default=60.0, help="seconds between progress lines"
    )
    p.add_argument("--store", choices=("cassandra", "memory"), default="cassandra")
    p.add_argument("--cassandra-hosts", default=common.env("CASSANDRA_HOSTS", "localhost"))
    p.add_argument("--cassandra-port", type=int, default=common.env_int("CASSANDRA_PORT", 9042))
    p.add_argument("--cassandra-user", default=common.env("CASSANDRA_USER", ""))
    p.add_argument(
        "--cassandra-ca",
        default=common.env("CASSANDRA_CA", ""),
        help="CA certificate (PEM) to verify the nodes against: TLS; empty: plaintext",
    )
    p.add_argument(
        "--cassandra-password-env",
        default="MOVIELENS_CASSANDRA_PASSWORD",
        help="environment variable holding the password (kept off the command line)",
    )
    p.add_argument("--keyspace", default=common.env("KEYSPACE", "reco"))
    p.add_argument("--create-schema", action="store_true", help="create keyspace and tables")
    p.add_argument("--top-n", type=int, default=10)
    p.add_argument("--scorer", choices=("foldin", "als-subset"), default="foldin")
    p.add_argument("--stream-name", default="movielens", help="key of reco.stream_stats rows")
    p.add_argument(
        "--metrics",
        default=common.env("STREAM_METRICS", ""),
        help="HOST:PORT where the driver serves its figures for Prometheus ('' for none)",
    )
    p.add_argument(
        "--metrics-every", type=float, default=5.0, help="seconds between progress readings"
    )
    p.add_argument("--master", default=None)
    p.add_argument(
        "--packages",
        default=common.env("SPARK_PACKAGES", ""),
        help=f"spark.jars.packages, e.g. {KAFKA_PACKAGE} (when not on the classpath)",
    )
    return p


def als_subset_scorer(spark, als_path: str) -> batch.Scorer:
    """Score with the trained user factors, like the original project (comparison path)."""
    from pyspark.ml.recommendation import ALSModel  # noqa: PLC0415

    model = ALSModel.load(als_path)

    def score(histories, n):
        users = sorted(histories)
        out: dict = dict.fromkeys(users)
        if not users:
            return out
        extra = min(1000, max(len(h) for h in histories.values()))
        frame = spark.createDataFrame([(u,) for u in users], "user_id int")
        for row in model.recommendForUserSubset(frame, n + extra).collect():
            seen = histories[row["user_id"]]
            recs = [(r["movie_id"], float(r["rating"])) for r in row["recommendations"]]
            out[row["user_id"]] = [(m, s) for m, s in recs if m not in seen][:n]
        return out

    return score


def build_context(spark, args, security: kafka_security.KafkaSecurity) -> batch.Context:
    served = model_store.load_serving_model(spark, args.models, args.model_version)
    log.info(
        "serving model %s: %d items, rank %d, %s, %s",
        served.version,
        len(served.items.movie_ids),
        served.items.rank,
        served.params,
        "predicted stars" if served.rating else "no rating model: no stars",
    )
    if args.scorer == "foldin":
        scorer = batch.fold_in_scorer(served.items, served.params)
    else:
        scorer = als_subset_scorer(spark, served.als_path)
    if args.store == "cassandra":
        store = CassandraStore(
            args.cassandra_hosts.split(","),
            args.keyspace,
            args.cassandra_port,
            create_schema=args.create_schema,
            username=args.cassandra_user,
            password=os.environ.get(args.cassandra_password_env, ""),
            ca_file=args.cassandra_ca,
        )
        sink = KafkaSink(args.bootstrap, args.dead_letter_topic, security.kafka_python())
    else:
        store, sink = MemoryStore(), ListSink()
    with common.timed(f"publishing the catalogue of {len(served.movies)} movies", log):
        store.publish_catalogue(served.movies, served.popular)
    store.record_start(args.stream_name, served.version)
    return batch.Context(
        scorer,
        served.movies,
        served.popular,
        store,
        sink,
        args.top_n,
        args.stream_name,
        served.version,
        served.rating.predict_many if served.rating else None,
    )


# What a micro-batch hands to Python, in one task (a task per Kafka partition costs a task
# launch each, for a few rows); the Kafka timestamp as epoch seconds (a datetime per row
# costs more than the rest of the row).
BATCH_COLUMNS = (
    "value",
    "topic",
    "partition",
    "offset",
    "CAST(unix_micros(timestamp) AS DOUBLE) / 1e6 AS timestamp",
)


def make_handler(ctx: batch.Context, metrics: stream_metrics.StreamMetrics | None = None):
    def handle(frame, batch_id: int) -> None:
        started = time.monotonic()
        rows = frame.coalesce(1).selectExpr(*BATCH_COLUMNS).collect()
        read_ms = (time.monotonic() - started) * 1000
        messages = [
            batch.Message(
                bytes(r["value"]) if r["value"] is not None else None,
                r["topic"],
                r["partition"],
                r["offset"],
                r["timestamp"] or 0.0,  # epoch seconds (BATCH_COLUMNS)
            )
            for r in rows
        ]
        stats = batch.process_batch(ctx, batch_id, messages)
        if metrics is not None:
            metrics.record_batch(
                stats.valid,
                stats.invalid,
                stats.users_updated,
                stats.sent,
                stream_metrics.now(),
            )
        log.info(
            "batch %d: %d valid, %d invalid, %d users updated (%d cold) in %d ms (read from "
            "Kafka in %d ms)",
            batch_id,
            stats.valid,
            stats.invalid,
            stats.users_updated,
            stats.cold_users,
            stats.duration_ms,
            read_ms,
        )

    return handle


def progress_summary(progress: list[dict]) -> str:
    """One line about recent micro-batches that read something: how many, their rows, and the
    mean milliseconds of each phase Spark reports (``durationMs`` of a query progress)."""
    busy = [p for p in progress if p.get("numInputRows")]
    if not busy:
        return "no new ratings"
    phases: dict[str, float] = {}
    for p in busy:
        for name, ms in p.get("durationMs", {}).items():
            phases[name] = phases.get(name, 0.0) + ms / len(busy)
    rows = sum(p["numInputRows"] for p in busy)
    detail = ", ".join(
        f"{name} {ms:.0f}" for name, ms in sorted(phases.items(), key=lambda x: -x[1])
    )
    return f"{len(busy)} batches, {rows} messages; mean ms per batch: {detail}"


def log_progress(query) -> None:
    log.info("recent micro-batches: %s", progress_summary(query.recentProgress))


def source_options(args, security: kafka_security.KafkaSecurity) -> dict[str, str]:
    """The Kafka source's options: where, what, from where, and how it logs in."""
    return {
        "kafka.bootstrap.servers": args.bootstrap,
        "subscribe": args.topic,
        "groupIdPrefix": f"{args.group_prefix}-stream",
        "kafka.fetch.max.wait.ms": str(args.kafka_fetch_max_wait_ms),
        **security.spark_options(),
    }


def start(
    spark,
    args,
    ctx: batch.Context,
    security: kafka_security.KafkaSecurity,
    metrics: stream_metrics.StreamMetrics | None = None,
):
    source = (
        spark.readStream.format("kafka")
        .options(**source_options(args, security))
        .option("startingOffsets", args.starting_offsets)
        .option("maxOffsetsPerTrigger", args.max_offsets_per_trigger)
        .option("failOnDataLoss", "false")
        .load()
    )
    writer = (
        source.writeStream.foreachBatch(make_handler(ctx, metrics))
        .option("checkpointLocation", args.checkpoint)
        .queryName(args.stream_name)
    )
    if args.available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{args.trigger_seconds} seconds")
    return writer.start()


def session_conf(args) -> dict[str, str]:
    """The streaming job's own Spark settings. Its event log is off unless asked for: it
    records every micro-batch's jobs, plans and progress for as long as the stream runs (and
    the history server shows an application once it has ended), and the driver JVM's part of
    reading a micro-batch averaged 277 ms with it, 194 ms without, on the stack at 200 and 600
    ratings/s. The live view is the driver's UI and its figures for Prometheus."""
    conf = {"spark.eventLog.enabled": str(args.event_log).lower()}
    if args.packages:
        conf["spark.jars.packages"] = args.packages
    return conf


def main(argv: list[str] | None = None) -> int:
    common.setup_logging()
    args = parser().parse_args(argv)
    try:
        security = kafka_security.from_env()
    except kafka_security.KafkaSecurityError as exc:
        log.error("%s", exc)
        return 2
    spark = common.spark_session("movielens-stream", args.master, session_conf(args))
    ctx = build_context(spark, args, security)
    metrics = None
    if args.metrics:
        host, _, port = args.metrics.rpartition(":")
        metrics = stream_metrics.StreamMetrics(args.stream_name, ctx.model_version)
        stream_metrics.serve(metrics, host.strip("[]"), int(port))
        log.info("figures for Prometheus on http://%s/metrics", args.metrics)
    query = start(spark, args, ctx, security, metrics)
    log.info("streaming %s from %s, checkpoint %s", args.topic, args.bootstrap, args.checkpoint)
    poll = min(args.metrics_every, args.progress_every) if metrics else args.progress_every
    try:
        return watch(spark, query, poll, args.progress_every, metrics)
    finally:
        spark.stop()


def watch(spark, query, poll: float, progress_every: float, metrics=None) -> int:
    """Until the query ends: its figures every `poll` seconds, a progress line every
    `progress_every`. 0 once it has ended by itself; 1 when Spark stopped under it, e.g. its
    YARN application killed by a restarted ResourceManager (the query may then never end), so
    that the service's manager starts the job again."""
    logged = time.monotonic()
    while not query.awaitTermination(poll):
        if spark.sparkContext._jsc.sc().isStopped():
            log.error("Spark stopped under the streaming query (its application ended): exiting")
            return 1
        if metrics is not None:
            metrics.record_progress(query.recentProgress)
        if time.monotonic() - logged >= progress_every:
            log_progress(query)
            logged = time.monotonic()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
