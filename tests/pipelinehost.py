"""What the pipeline's stack tests share: HDFS as the jobs' user, the stream's health, its
counters in Cassandra and the size of the ratings topic (all on the test host, over loopback)."""

from contextlib import contextmanager

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from kafka import KafkaConsumer, TopicPartition

BOOTSTRAP = "127.0.0.1:9092"
TOPIC = "movielens_ratings"
LOGIN = PlainTextAuthProvider(username="movielens", password="lab-movielens-secret")
STREAM_UI = "http://127.0.0.1:4050/StreamingQuery/"


def hdfs(host, command: str):
    """Run an HDFS shell command on the host as the jobs' user (at most 120 s)."""
    return host.run(
        f"sudo -u movielens timeout 120 bash -c '. /etc/profile.d/hadoop.sh && {command}'"
    )


def stream_running(host) -> bool:
    return host.run(f"curl -fsS -m 10 {STREAM_UI} | grep -q 'Active Streaming Queries (1)'").rc == 0


@contextmanager
def cassandra_session():
    """A session on keyspace reco with the jobs' login."""
    cluster = Cluster(["127.0.0.1"], auth_provider=LOGIN, connect_timeout=10)
    try:
        yield cluster.connect("reco")
    finally:
        cluster.shutdown()


def counted(session) -> int:
    """Messages the stream has accounted for (valid + invalid, over all micro-batches)."""
    rows = session.execute("SELECT valid, invalid FROM stream_stats WHERE stream = 'movielens'")
    return sum(row.valid + row.invalid for row in rows)


def topic_size(topic: str = TOPIC) -> int:
    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()
