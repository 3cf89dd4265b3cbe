"""What the pipeline's stack tests share: HDFS as the jobs' user, the stream's health, its
counters in Cassandra and the size of the ratings topic (at the addresses of the inventory)."""

import json
import subprocess
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests import cql, inventory
from tests.kerberoshost import fqdn, secure
from tests.labhost import healthy

TOPIC = "movielens_ratings"


def run_playbook(name: str, timeout: float, **extra_vars) -> subprocess.CompletedProcess:
    """ansible-playbook playbooks/<name> from the project's directory against the scenario's
    inventory, as `make` runs it."""
    command = [inventory.tool("ansible-playbook"), "-i", inventory.source(), f"playbooks/{name}"]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    return subprocess.run(
        command, cwd=inventory.PROJECT, capture_output=True, text=True, timeout=timeout, check=False
    )


def succeeded(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, (
        f"{' '.join(result.args[:4])} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    )


# In Hadoop's secure mode the jobs' settings name the jobs' principal and keytab: a ticket of
# it first, in a ticket cache of the command's own.
JOBS_SETTINGS = "/etc/movielens/movielens.env"
JOBS_TICKET = (
    f"if grep -q ^MOVIELENS_KEYTAB= {JOBS_SETTINGS}; then set -a && . {JOBS_SETTINGS} && set +a"
    ' && export KRB5CCNAME="FILE:$(mktemp)" && trap "kdestroy -q" EXIT'
    ' && kinit -kt "$MOVIELENS_KEYTAB" "$MOVIELENS_PRINCIPAL"; fi'
)


def hdfs(host, command: str):
    """Run an HDFS shell command on the host as the jobs' user (at most 120 s), with a ticket
    of the jobs' keytab in Hadoop's secure mode."""
    return host.run(
        "sudo -u movielens timeout 120 bash -c "
        f"'. /etc/profile.d/hadoop.sh && {JOBS_TICKET} && {command}'"
    )


def yarn_apps(host, since_ms: int = 0) -> list[dict]:
    """The ResourceManager's applications started since since_ms (epoch ms; those since its last
    start, which it keeps no others), from its REST API: over HTTPS by the host's name with the
    jobs' ticket (SPNEGO) in secure mode."""
    query = f"/ws/v1/cluster/apps?startedTimeBegin={since_ms}"
    if secure():
        https = inventory.endpoint("hadoop_resourcemanager", "resourcemanager_https")
        url = f"https://{fqdn(host)}:{https.rpartition(':')[2]}{query}"
        out = hdfs(host, f'curl -fsS -m 20 --negotiate -u : "{url}"')
    else:
        url = (
            f"http://{inventory.endpoint('hadoop_resourcemanager', 'resourcemanager_http')}{query}"
        )
        out = host.run(f"curl -fsS -m 20 '{url}'")
    assert out.rc == 0, out.stderr[-2000:]
    return (json.loads(out.stdout).get("apps") or {}).get("app") or []


def stream_running(host) -> bool:
    """The stream's lab-health check: its driver's UI lists the query as active."""
    return healthy(host, "stream", inventory.endpoint("movielens", "stream_ui"))


def cassandra_session(addresses: list[str] | None = None, password: str | None = None):
    """A session on keyspace reco with the jobs' login (a context manager; cql.session: the
    inventory's nodes and password unless given)."""
    return cql.session(addresses, "movielens", password, "reco")


def counted(session) -> int:
    """Messages the stream has accounted for (valid + invalid, over all micro-batches)."""
    rows = session.execute("SELECT valid, invalid FROM stream_stats WHERE stream = 'movielens'")
    return sum(row.valid + row.invalid for row in rows)


def topic_size(topic: str = TOPIC) -> int:
    consumer = KafkaConsumer(
        bootstrap_servers=inventory.kafka_bootstrap(), **inventory.kafka_client("admin")
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def send(messages: list[tuple[int, bytes | None]], pause: float = 0.0) -> None:
    """Into the ratings topic with the pipeline's login, as the producer jobs send."""
    producer = KafkaProducer(
        bootstrap_servers=inventory.kafka_bootstrap(),
        acks="all",
        retries=10,
        **inventory.kafka_client("movielens"),
    )
    try:
        for key, value in messages:
            producer.send(TOPIC, key=str(key).encode(), value=value)
            if pause:
                time.sleep(pause)
        producer.flush(timeout=60)
    finally:
        producer.close()


def rating(user: int, movie: int, stars: float, ts: int | None = None) -> tuple[int, bytes]:
    body = {"userId": user, "movieId": movie, "rating": stars, "timestamp": ts or int(time.time())}
    return user, json.dumps(body).encode()


def dataset() -> str:
    """The pipeline's dataset: the inventory's movielens_dataset for the jobs' host (ml-100k in
    inventories/local), else the role's default."""
    return inventory.hostvar(inventory.hosts("movielens")[0], "movielens_dataset", "synthetic")


def catalogue(host) -> list[int]:
    """Movie ids of the served model (from the ingested movies file on the jobs' host)."""
    movies_csv = f"/var/lib/movielens/data/{dataset()}/movies.csv"
    out = host.run(f"awk -F, 'NR > 1 && $1 ~ /^[0-9]+$/ {{print $1}}' {movies_csv}")
    return [int(line) for line in out.stdout.split()]
