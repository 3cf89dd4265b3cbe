"""ZooKeeper and a Kafka broker on a Debian 12 host: real reads and writes, restarts, crashes.

The Kafka client here talks to the broker at the inventory's address directly, as the cluster's
admin (SASL SCRAM-SHA-512 over TLS, the broker's
certificate checked against the control node's copy of the lab's CA; the scratch topics here
are the admin's to write); the tools on the host use its admin.properties. ZooKeeper is read
with its four-letter words and with zkCli.sh on the host (logged in as the brokers). What each
login may do, and what is refused, is in test_kafka_security.py and test_zookeeper_security.py.
"""

import socket
import time
import uuid
from collections import Counter

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from tests import inventory
from tests.labhost import INTERRUPTIONS, eventually, healthy, interrupt, main_pid

# The inventory's addresses of ZooKeeper's client port and of the broker.
ZK_ADDRESS = inventory.endpoint("zookeeper", "zookeeper")
ZOOKEEPER = (ZK_ADDRESS.rsplit(":", 1)[0], int(ZK_ADDRESS.rsplit(":", 1)[1]))
BOOTSTRAP = inventory.endpoint("kafka", "kafka")
ADMIN = inventory.kafka_client("admin")
KIND = inventory.kafka_health_kind()
LISTENER = "SASL_SSL" if inventory.kafka_security() == "sasl_ssl" else "PLAINTEXT"
TOOLS = "/opt/kafka/bin"
# ZooKeeper's own client, logged in with the brokers' login when ZooKeeper requires SASL
# (test_zookeeper_security.py tries it without).
ZK_LOGIN = (
    f" -Djava.security.auth.login.config={inventory.ZOOKEEPER_CLIENT_JAAS}"
    if inventory.zookeeper_sasl()
    else ""
)
ZKCLI = (
    f"env ZOOCFGDIR=/etc/zookeeper 'CLIENT_JVMFLAGS=-Dzookeeper.console.threshold=WARN{ZK_LOGIN}' "
    f"{inventory.ZKCLI} -server {ZK_ADDRESS}"
)


def four_letter_word(word: str) -> str:
    with socket.create_connection(ZOOKEEPER, timeout=5) as conn:
        conn.sendall(word.encode())
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def zkcli(host, command: str):
    return host.run(f"{ZKCLI} {command}")


def listening_ports(host, pid: str) -> set[str]:
    sockets = host.run(f"ss -Hltnp | grep 'pid={pid},'").stdout.splitlines()
    # A JVM's IPv4 socket shows as IPv4-mapped IPv6 ([::ffff:127.0.0.1]:2181).
    return {line.split()[3].replace("[::ffff:", "").replace("]", "") for line in sockets}


def create_topic(partitions: int = 3) -> str:
    topic = f"lab-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=20000, **ADMIN)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()
    return topic


def produce(topic: str, count: int) -> list[str]:
    values = [f"{topic}-message-{i:05d}-{uuid.uuid4().hex}" for i in range(count)]
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", retries=10, **ADMIN)
    try:
        for i, value in enumerate(values):
            producer.send(topic, key=str(i).encode(), value=value.encode())
        producer.flush(timeout=60)
    finally:
        producer.close()
    return values


def consume_all(topic: str, expected: int, timeout: float = 60) -> list[str]:
    """Everything in the topic, read from the beginning: wait for `expected` records, then keep
    polling a little to catch any extra (a duplicate or a stray record would show)."""
    consumer = KafkaConsumer(
        bootstrap_servers=BOOTSTRAP, enable_auto_commit=False, auto_offset_reset="earliest", **ADMIN
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        received: list[str] = []
        deadline = time.monotonic() + timeout
        while len(received) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                received += [record.value.decode() for record in records]
        for records in consumer.poll(timeout_ms=2000).values():
            received += [record.value.decode() for record in records]
        end_offsets = consumer.end_offsets(partitions)
    finally:
        consumer.close()
    assert sum(end_offsets.values()) == len(received), "the consumer missed records"
    return received


# ZooKeeper


def test_zookeeper_and_broker_are_healthy(host):
    assert healthy(host, "zookeeper", ZK_ADDRESS)
    assert healthy(host, KIND, BOOTSTRAP)


def test_zookeeper_four_letter_words():
    assert four_letter_word("ruok") == "imok"
    status = four_letter_word("srvr")
    assert "Zookeeper version: 3.8.4" in status
    assert "Mode: standalone" in status


def test_zookeeper_listens_only_on_its_client_port(host):
    # The AdminServer is off (it would take 8080 or the role's 8089) and the client port is on
    # the inventory's address only; so is the JMX exporter's, when a Prometheus scrapes it.
    expected = {ZK_ADDRESS} | inventory.jmx_exporter("zookeeper", "zookeeper")
    assert listening_ports(host, main_pid(host, "zookeeper")) == expected


def test_znode_written_and_read_back(host):
    name = f"/lab-{uuid.uuid4().hex[:10]}"
    first, second = f"ratings-{uuid.uuid4().hex}", f"movies-{uuid.uuid4().hex}"
    assert zkcli(host, f"create {name} {first}").rc == 0
    assert first in zkcli(host, f"get {name}").stdout.splitlines()
    assert zkcli(host, f"set {name} {second}").rc == 0
    assert second in zkcli(host, f"get {name}").stdout.splitlines()
    assert zkcli(host, f"delete {name}").rc == 0
    gone = zkcli(host, f"get {name}")
    assert "does not exist" in gone.stdout + gone.stderr


def test_zookeeper_runs_as_its_user_with_the_small_heap(host):
    process = host.process.get(pid=int(main_pid(host, "zookeeper")))
    assert process.user == "zookeeper"
    assert "-Xmx256m" in process.args
    assert host.file("/var/lib/zookeeper/data/myid").content_string.strip() == "1"


# Kafka


def test_broker_registered_in_zookeeper(host):
    registration = zkcli(host, "get /brokers/ids/1")
    assert registration.rc == 0
    assert f"{LISTENER}://{BOOTSTRAP}" in registration.stdout


def test_broker_listens_only_on_its_listener(host):
    expected = {BOOTSTRAP} | inventory.jmx_exporter("kafka", "kafka")
    assert listening_ports(host, main_pid(host, "kafka")) == expected
    process = host.process.get(pid=int(main_pid(host, "kafka")))
    assert process.user == "kafka"
    assert "-Xmx512m" in process.args


def test_produce_500_and_consume_exactly_those():
    topic = create_topic()
    sent = produce(topic, 500)
    received = consume_all(topic, 500)
    assert len(received) == 500
    assert Counter(received) == Counter(sent)


def test_console_tools_see_the_topic(host):
    topic = create_topic(partitions=2)
    produce(topic, 7)
    described = host.run(
        f"{TOOLS}/kafka-topics.sh --bootstrap-server {BOOTSTRAP} "
        f"--command-config {inventory.KAFKA_ADMIN_CONFIG} --describe --topic {topic}"
    )
    assert described.rc == 0
    assert "PartitionCount: 2" in described.stdout
    consumed = host.run(
        f"{TOOLS}/kafka-console-consumer.sh --bootstrap-server {BOOTSTRAP} --topic {topic} "
        f"--consumer.config {inventory.KAFKA_ADMIN_CONFIG} "
        "--from-beginning --max-messages 7 --timeout-ms 30000"
    )
    assert consumed.rc == 0
    assert len([line for line in consumed.stdout.splitlines() if line.startswith(topic)]) == 7


# Restarts and crashes: the daemon serves again, with what it held before, and takes new writes.


@pytest.mark.parametrize("how", INTERRUPTIONS)
def test_zookeeper_recovers(host, how):
    name = f"/lab-{how}-{uuid.uuid4().hex[:8]}"
    data = f"kept-{uuid.uuid4().hex}"
    assert zkcli(host, f"create {name} {data}").rc == 0

    interrupt(host, "zookeeper", how, lambda: healthy(host, "zookeeper", ZK_ADDRESS))

    assert data in zkcli(host, f"get {name}").stdout.splitlines()
    assert zkcli(host, f"delete {name}").rc == 0
    # The broker keeps (or re-establishes) its session and still takes writes.
    eventually(lambda: zkcli(host, "get /brokers/ids/1").rc == 0, "broker registered again")
    topic = eventually(create_topic, "creating a topic")
    sent = produce(topic, 20)
    assert Counter(consume_all(topic, 20)) == Counter(sent)


@pytest.mark.parametrize("how", INTERRUPTIONS)
def test_kafka_recovers(host, how):
    topic = create_topic()
    kept = produce(topic, 100)

    interrupt(host, "kafka", how, lambda: healthy(host, KIND, BOOTSTRAP))

    # Everything written before is still there, exactly once.
    received = eventually(lambda: consume_all(topic, 100, timeout=20), "reading the old topic")
    assert Counter(received) == Counter(kept)
    # And it takes new topics and writes.
    fresh = eventually(create_topic, "creating a topic")
    sent = produce(fresh, 50)
    assert Counter(consume_all(fresh, 50)) == Counter(sent)
