"""ZooKeeper and Kafka on a real host: znodes, messages, restarts and crashes."""

import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

BOOTSTRAP = "127.0.0.1:9092"
ZKCLI = "env ZOOCFGDIR=/etc/zookeeper /opt/zookeeper/bin/zkCli.sh -server 127.0.0.1:2181"


def test_zookeeper_answers_four_letter_words(host):
    status = host.run(
        "env ZOOCFGDIR=/etc/zookeeper ZK_STATUS_HOST=127.0.0.1 "
        "/opt/zookeeper/bin/zkServer.sh status"
    )
    assert status.rc == 0
    assert "Mode: standalone" in status.stdout


def test_znode_written_and_read_back(host):
    name = f"/lab-{uuid.uuid4().hex[:8]}"
    assert host.run(f"{ZKCLI} create {name} movielens").rc == 0
    read = host.run(f"{ZKCLI} get {name}")
    assert read.rc == 0
    assert "movielens" in read.stdout.splitlines()
    host.run(f"{ZKCLI} delete {name}")


def test_broker_registered_in_zookeeper(host):
    ids = host.run(f"{ZKCLI} ls /brokers/ids")
    assert "[1]" in ids.stdout


def test_daemons_run_as_their_users(host):
    assert host.process.get(user="zookeeper", comm="java")
    assert host.process.get(user="kafka", comm="java")


def produce_and_consume(count: int) -> tuple[list[str], list[str]]:
    topic = f"lab-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    admin.close()
    sent = [f"message-{i}" for i in range(count)]
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    for value in sent:
        producer.send(topic, value.encode())
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=15000,
    )
    received = [record.value.decode() for record in consumer]
    consumer.close()
    return sent, received


def test_produce_n_consume_exactly_n():
    sent, received = produce_and_consume(500)
    assert sorted(received) == sorted(sent)
    assert len(received) == 500


def wait_healthy(host, unit: str, check: str, before: str, timeout: int = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = host.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()
        if pid not in (before, "0") and host.run(check).rc == 0:
            return
        time.sleep(2)
    pytest.fail(f"{unit} not healthy again within {timeout}s")


CHECKS = {
    "zookeeper": f"{ZKCLI} ls /",
    "kafka": f"/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server {BOOTSTRAP}",
}


@pytest.mark.parametrize("unit", ["zookeeper", "kafka"])
@pytest.mark.parametrize("how", ["systemctl restart", "systemctl kill -s SIGKILL"])
def test_comes_back(host, unit, how):
    before = host.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()
    with host.sudo():
        assert host.run(f"{how} {unit}").rc == 0
    wait_healthy(host, unit, CHECKS[unit], before)
    if unit == "kafka":
        sent, received = produce_and_consume(20)
        assert sorted(received) == sorted(sent)
