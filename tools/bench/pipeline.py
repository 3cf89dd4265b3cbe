"""Benchmark: the recommendation pipeline on a running stack (the test host after `make up`).

    .venv/bin/python -m tools.bench.pipeline [--host lab] [--rates 200,400,800] [--seconds 20]

Measures, and writes to docs/benchmarks/pipeline.json:

* training: wall time of jobs/train.py on the ingested dataset (--dataset, by default the one
  inventories/local sets up) into a scratch model folder, so the served model stays as it is;
* producer: messages per second of jobs/produce.py replaying the dataset as fast as Kafka
  takes them (into a scratch topic), by its own count and by the wall time of the program;
* end-to-end latency, from a rating entering Kafka to its user's top-N in Cassandra, at
  each sustained rate of --rates for --seconds: every message is a rating by its own new
  user, so the user's ``updated_at`` in ``reco.recommendations_by_user`` marks when that very
  message was served; p50, p99 and max, and whether every message was served within
  --settle seconds; the highest rate whose p99 stayed within 3 s is the sustained rate;
* the same latency at the first rate with the original project's scoring
  (``--scorer als-subset``: ``ALSModel.recommendForUserSubset`` per micro-batch), run as a
  second streaming query beside the service on a scratch checkpoint and stream name.

Everything it sends is bounded by --rates x --seconds; all traffic stays on this machine.
Kafka and Cassandra are reached as inventories/local sets them up (by default over TLS, checked
against the control node's copy of the lab's CA; Kafka with SASL SCRAM-SHA-512 logins): the
ratings as the pipeline's login, the scratch topic made by the admin, who lets the pipeline's
login write it for the producer's run and removes both after.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
import uuid

import yaml
from kafka import KafkaProducer
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    NewTopic,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)

from tests import inventory
from tests.pipelinehost import cassandra_session
from tools.bench import common

TOPIC = "movielens_ratings"
P99_TARGET_S = 3.0
DATA_DIR = "/var/lib/movielens/data"


def local_dataset() -> str:
    """The dataset `make up` sets up: inventories/local's movielens_dataset, else the role's."""
    path = common.ROOT / "inventories/local/group_vars/all.yml"
    return (yaml.safe_load(path.read_text()) or {}).get("movielens_dataset", "synthetic")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def kafka_bootstrap() -> str:
    """The brokers of the selected inventory (tests.inventory: the local one by default)."""
    return inventory.kafka_bootstrap()


def admin_client() -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=kafka_bootstrap(), **inventory.kafka_client("admin"))


def scratch_acls(name: str, user: str = "movielens") -> list[ACL]:
    """What the pipeline's login needs to write the scratch topic."""
    topic = ResourcePattern(ResourceType.TOPIC, name, ACLResourcePatternType.LITERAL)
    return [
        ACL(f"User:{user}", "*", operation, ACLPermissionType.ALLOW, topic)
        for operation in (ACLOperation.WRITE, ACLOperation.DESCRIBE)
    ]


def scratch_topic(name: str, partitions: int = 3) -> None:
    """A topic for the producer's run, which the pipeline's login may write (with security)."""
    admin = admin_client()
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
        if inventory.kafka_security() == "sasl_ssl":
            admin.create_acls(scratch_acls(name))
    finally:
        admin.close()


def drop_scratch_topic(name: str) -> None:
    admin = admin_client()
    try:
        if inventory.kafka_security() == "sasl_ssl":
            topic = ResourcePatternFilter(ResourceType.TOPIC, name, ACLResourcePatternType.LITERAL)
            admin.delete_acls(
                [ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY, topic)]
            )
        admin.delete_topics([name])
    finally:
        admin.close()


def training(host: str, dataset: str) -> dict:
    models = f"/tmps/bench-models-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    out = common.on_host(
        host,
        f"sudo -u movielens movielens-job train --input hdfs:///processed/{dataset} "
        f"--models {models} 2>/dev/null | tail -1",
    )
    seconds = time.monotonic() - started
    common.on_host(
        host, f"sudo -u movielens bash -c '. /etc/profile.d/hadoop.sh; hdfs dfs -rm -r -f {models}'"
    )
    return {"seconds": round(seconds, 1), "quality": json.loads(out)}


def producer(host: str, dataset: str, limit: int) -> dict:
    """jobs/produce.py as fast as Kafka takes the messages: its own rate (first send to the
    last acknowledgement) and the wall time of the whole program, start-up included."""
    topic = f"bench-produce-{uuid.uuid4().hex[:8]}"
    scratch_topic(topic)
    started = time.monotonic()
    try:
        out = common.on_host(
            host,
            f"sudo -u movielens movielens-job produce --input {DATA_DIR}/{dataset} "
            f"--topic {topic} --rate 0 --limit {limit} 2>&1 | grep 'done: '",
        )
        seconds = time.monotonic() - started
    finally:
        drop_scratch_topic(topic)
    avg = re.search(r"avg=(\d+)/s", out)
    return {
        "messages": limit,
        "per_second": int(avg.group(1)) if avg else None,
        "wall_seconds": round(seconds, 1),
        "wall_per_second": round(limit / seconds),
    }


def movies(host: str, dataset: str) -> list[int]:
    out = common.on_host(
        host, f"awk -F, 'NR > 1 && $1 ~ /^[0-9]+$/ {{print $1}}' {DATA_DIR}/{dataset}/movies.csv"
    )
    return [int(m) for m in out.split()][:500]


def send_at_rate(
    rate: int, seconds: float, first_user: int, catalogue: list[int], bootstrap: str = ""
) -> dict:
    """One rating per new user at `rate` per second, sent with the pipeline's login; returns
    user -> send time (epoch s)."""
    producer = KafkaProducer(
        bootstrap_servers=(bootstrap or kafka_bootstrap()).split(","),
        acks=1,
        linger_ms=5,
        enable_idempotence=False,
        **inventory.kafka_client("movielens"),
    )
    sent: dict[int, float] = {}
    start = time.monotonic()
    count = int(rate * seconds)
    try:
        for i in range(count):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            user = first_user + i
            body = {
                "userId": user,
                "movieId": catalogue[i % len(catalogue)],
                "rating": 4.0,
                "timestamp": int(time.time()),
            }
            sent[user] = time.time()
            producer.send(TOPIC, key=str(user).encode(), value=json.dumps(body).encode())
        producer.flush(timeout=60)
    finally:
        producer.close()
    return sent


def served_times(session, users: list[int]) -> dict[int, float]:
    query = session.prepare(
        "SELECT updated_at FROM recommendations_by_user WHERE user_id = ? LIMIT 1"
    )
    out = {}
    for user in users:
        row = session.execute(query, [user]).one()
        if row is not None:
            out[user] = row.updated_at.timestamp()
    return out


def latency_run(  # noqa: PLR0913
    session,
    rate: int,
    seconds: float,
    settle: float,
    catalogue: list[int],
    *,
    bootstrap: str = "",
) -> dict:
    # New users no earlier run has rated: their first id moves on by 100 000 a second, more
    # than any run sends in one.
    first_user = 10_000_000 + int(time.time() * 100_000) % 2_000_000_000
    sent = send_at_rate(rate, seconds, first_user, catalogue, bootstrap)
    deadline = time.monotonic() + settle
    served: dict[int, float] = {}
    while time.monotonic() < deadline:
        served = served_times(session, list(sent))
        if len(served) == len(sent):
            break
        time.sleep(2)
    # A user's row written before the rating was sent is not its answer.
    served = {u: t for u, t in served.items() if t >= sent[u] - 1}
    latencies = [served[u] - sent[u] for u in served]
    figures = {
        "rate": rate,
        "messages": len(sent),
        "served": len(served),
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p99_s": round(percentile(latencies, 0.99), 3) if latencies else None,
        "max_s": round(max(latencies), 3) if latencies else None,
    }
    figures["sustained"] = bool(
        len(served) == len(sent) and latencies and figures["p99_s"] <= P99_TARGET_S
    )
    print(f"bench: latency at {rate}/s: {figures}", flush=True)
    return figures


def highest_sustained(runs: list[dict]) -> int | None:
    """The highest rate of ``latency_run``'s runs that was sustained, or None."""
    sustained = [run["rate"] for run in runs if run["sustained"]]
    return max(sustained) if sustained else None


def start_stream(host: str, name: str, args: str, env: str = "") -> None:
    """Stop the streaming service and run the streaming job as unit ``movielens-bench-<name>``
    instead, on a scratch checkpoint and stream name from the topic's end (``args``: more of
    its options; ``env``: ``NAME=value`` pairs for ``movielens-job``); returns once its query
    runs."""
    unit = f"movielens-bench-{name}"
    setenv = " ".join(f"--setenv {pair}" for pair in env.split())
    common.on_host(
        host,
        f"systemctl stop movielens-stream && systemd-run --unit {unit} --uid movielens "
        f"--gid lab --property WorkingDirectory=/var/lib/movielens {setenv} "
        f"/usr/local/bin/movielens-job stream --stream-name bench-{name} "
        f"--starting-offsets latest --checkpoint /tmps/bench-{name} {args}",
    )
    common.on_host(
        host,
        f"for i in $(seq 120); do curl -fsS http://{inventory.endpoint('movielens', 'stream_ui')}"
        "/StreamingQuery/ 2>/dev/null "
        "| grep -q 'Active Streaming Queries (1)' && exit 0; sleep 2; done; exit 1",
    )


def stop_stream(host: str, name: str) -> None:
    """Stop ``start_stream``'s unit, remove its checkpoint and start the service again."""
    unit = f"movielens-bench-{name}"
    common.on_host(
        host,
        f"systemctl stop {unit}; systemctl reset-failed {unit}; "
        "sudo -u movielens bash -c '. /etc/profile.d/hadoop.sh; "
        f"hdfs dfs -rm -r -f /tmps/bench-{name}' >/dev/null; "
        "systemctl start movielens-stream",
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="lab")
    p.add_argument(
        "--dataset", default=local_dataset(), help="the ingested dataset (default: %(default)s)"
    )
    p.add_argument("--rates", default="200,400,800", help="ratings per second, comma separated")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each rate's run")
    p.add_argument("--settle", type=float, default=60.0, help="wait for the last messages")
    p.add_argument("--producer-messages", type=int, default=50_000)
    p.add_argument(
        "--password", help="the password of Cassandra's login movielens (default: the inventory's)"
    )
    args = p.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]

    print("bench: training", flush=True)
    train = training(args.host, args.dataset)
    print(f"bench: training took {train['seconds']}s", flush=True)
    print("bench: producer", flush=True)
    produce = producer(args.host, args.dataset, args.producer_messages)
    print(f"bench: producer {produce}", flush=True)

    catalogue = movies(args.host, args.dataset)
    with cassandra_session(password=args.password) as session:
        foldin = [latency_run(session, r, args.seconds, args.settle, catalogue) for r in rates]
        start_stream(args.host, "als-subset", "--scorer als-subset --trigger-seconds 1")
        try:
            subset = latency_run(session, rates[0], args.seconds, args.settle, catalogue)
        finally:
            stop_stream(args.host, "als-subset")

    figures = {
        "command": f".venv/bin/python -m tools.bench.pipeline --rates {args.rates} "
        f"--seconds {args.seconds:g} --dataset {args.dataset}",
        "dataset": args.dataset,
        "training": train,
        "producer": produce,
        "latency_foldin": foldin,
        "highest_sustained_rate": highest_sustained(foldin),
        "latency_als_subset": subset,
    }
    path = common.write("pipeline", figures)
    print(json.dumps(figures, indent=2))
    print(f"bench: written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
