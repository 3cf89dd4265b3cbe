"""What the brokers refuse and what they let the pipeline's logins do, side by side, against the
real brokers (kafka_security: sasl_ssl, the default).

Run in the kafka and stack scenarios (ZooKeeper mode, AclAuthorizer) and in the cluster scenario
(KRaft mode, StandardAuthorizer, controllers on mutual TLS), from the control node at the
inventory's addresses, with the control node's copy of the lab's CA and the inventory's
passwords:

- a client without TLS gets no Kafka answer; one with TLS but no login gets ApiVersions (the
  liveness check) and nothing else;
- a wrong password, or a login that does not exist, is refused by the SCRAM exchange itself
  (SASL_AUTHENTICATION_FAILED), also for Kafka's own Java tools;
- a valid login without an ACL for what it asks is refused: the page's login reading the
  ratings topic or writing the dead-letter topic (TopicAuthorizationFailed), the jobs' login
  creating a topic or using a consumer group outside its prefix;
- beside those, the page's login writes ratings, and the jobs' login writes them, reads them
  back in a consumer group of its prefix and writes the dead-letter topic;
- in KRaft mode the controllers' listener wants a client certificate of the lab's CA.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import (
    AuthorizationError,
    KafkaError,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
)

from tests import inventory, kafkawire

pytestmark = pytest.mark.skipif(
    inventory.kafka_security() != "sasl_ssl", reason="the brokers run without security"
)
# The checks on a broker host (its tools, its files) run on the first broker.
testinfra_hosts = inventory.hosts("kafka")[:1]

TOPIC = "movielens_ratings"
DEAD_LETTERS = "movielens_ratings_dlq"
BROKERS = inventory.kafka_bootstrap().split(",")
TOOLS = "/opt/kafka/bin"
# Quick failures: a refused client must not wait a minute for the metadata it will never get.
REFUSED_WAIT = {"request_timeout_ms": 10000, "max_block_ms": 10000, "bootstrap_timeout_ms": 10000}


def group_prefix() -> str:
    """The prefix of the jobs' consumer groups (movielens_kafka_group_prefix)."""
    jobs = inventory.hosts("movielens")
    if not jobs:
        return "movielens"
    return str(inventory.hostvar(jobs[0], "movielens_kafka_group_prefix", "movielens"))


def rating(user: int) -> bytes:
    return json.dumps(
        {"userId": user, "movieId": 1, "rating": 4.0, "timestamp": int(time.time())}
    ).encode()


@pytest.fixture(scope="module")
def topics():
    """The ratings topic and its dead-letter topic, as the pipeline makes them (the kafka
    scenario has no pipeline: the admin makes them here, as the kafka-topics step does)."""
    admin = KafkaAdminClient(
        bootstrap_servers=BROKERS, request_timeout_ms=30000, **inventory.kafka_client("admin")
    )
    replicas = min(3, len(BROKERS))
    try:
        for name in (TOPIC, DEAD_LETTERS):
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, 3, replicas)])
    finally:
        admin.close()
    return TOPIC, DEAD_LETTERS


def produce(user: str, topic: str, value: bytes, password: str | None = None):
    """Send one message as `user` and wait for the broker's acknowledgement."""
    producer = KafkaProducer(
        bootstrap_servers=BROKERS,
        acks="all",
        **REFUSED_WAIT,
        **inventory.kafka_client(user, password),
    )
    try:
        return producer.send(topic, key=b"security-test", value=value).get(timeout=30)
    finally:
        producer.close(timeout=5)


# No TLS, or TLS without a login


@pytest.mark.parametrize("address", BROKERS)
def test_a_client_without_tls_gets_no_kafka_answer(address):
    health = kafkawire.lab_health()
    # The liveness check in the clear, as lab-health kafka-plaintext sends it: no answer.
    assert not health.check("kafka-plaintext", address)[0]
    (answer,) = kafkawire.exchange(address, [kafkawire.api_versions_request()])
    assert kafkawire.correlation_id(answer) is None
    with pytest.raises(KafkaError):
        producer = KafkaProducer(
            bootstrap_servers=[address],
            security_protocol="PLAINTEXT",
            max_block_ms=5000,
            bootstrap_timeout_ms=5000,
        )
        try:
            producer.send(TOPIC, value=b"no-tls").get(timeout=5)
        finally:
            producer.close(timeout=5)


@pytest.mark.parametrize("address", BROKERS)
def test_tls_without_a_login_gets_api_versions_and_nothing_else(address, topics):
    context = kafkawire.tls_context(inventory.ca_cert())
    versions, metadata = kafkawire.exchange(
        address, [kafkawire.api_versions_request(), kafkawire.metadata_request()], context
    )
    # ApiVersions is answered before any login (it is what lab-health asks) ...
    assert kafkawire.correlation_id(versions) == 1
    # ... anything else closes the connection unanswered.
    assert metadata is None
    with pytest.raises(KafkaError):
        consumer = KafkaConsumer(
            bootstrap_servers=[address],
            security_protocol="SSL",
            ssl_cafile=inventory.ca_cert(),
            request_timeout_ms=5000,
            bootstrap_timeout_ms=5000,
        )
        try:
            consumer.assign([TopicPartition(TOPIC, 0)])
            consumer.seek(TopicPartition(TOPIC, 0), 0)
            if not consumer.poll(timeout_ms=5000):
                raise KafkaError("nothing read without a login")
        finally:
            consumer.close()


# Wrong passwords


@pytest.mark.parametrize("user", ["movielens", "movielens_web", "admin"])
def test_a_wrong_password_is_refused_beside_the_right_one(user):
    address, ca = BROKERS[0], inventory.ca_cert()
    assert kafkawire.login(address, user, inventory.kafka_password(user), ca)
    assert not kafkawire.login(address, user, "not-" + inventory.kafka_password(user), ca)
    assert not kafkawire.login(address, f"nobody-{uuid.uuid4().hex[:6]}", "whatever-pw", ca)


def test_a_client_with_a_wrong_password_cannot_produce(topics):
    with pytest.raises(KafkaError):
        produce("movielens", TOPIC, rating(990_000_001), password="a-wrong-password")


def test_kafkas_own_tools_with_a_wrong_password_are_refused(host):
    wrong = "/tmp/lab-kafka-wrong-login.properties"
    host.run(
        f'sed \'s/password="[^"]*"/password="a-wrong-password"/\' '
        f"{inventory.KAFKA_ADMIN_CONFIG} > {wrong} && chmod 600 {wrong}"
    )
    try:
        refused = host.run(
            f"timeout 120 {TOOLS}/kafka-topics.sh --bootstrap-server {BROKERS[0]} "
            f"--command-config {wrong} --list"
        )
    finally:
        host.run(f"rm -f {wrong}")
    assert refused.rc != 0
    assert "Authentication failed" in refused.stdout + refused.stderr, refused.stderr[-2000:]
    allowed = host.run(
        f"timeout 120 {TOOLS}/kafka-topics.sh --bootstrap-server {BROKERS[0]} "
        f"--command-config {inventory.KAFKA_ADMIN_CONFIG} --list"
    )
    assert allowed.rc == 0 and TOPIC in allowed.stdout.split(), allowed.stderr[-2000:]


# Valid logins without an ACL, beside what their ACLs allow


def test_the_pages_login_writes_ratings_but_may_not_read_them(topics):
    sent = produce("movielens_web", TOPIC, rating(990_000_002))
    assert sent.offset >= 0
    consumer = KafkaConsumer(
        bootstrap_servers=BROKERS,
        request_timeout_ms=20000,
        **inventory.kafka_client("movielens_web"),
    )
    try:
        partition = TopicPartition(TOPIC, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        with pytest.raises(TopicAuthorizationFailedError):
            for _ in range(10):
                consumer.poll(timeout_ms=3000)
    finally:
        consumer.close()


def test_the_pages_login_may_not_write_the_dead_letter_topic(topics):
    with pytest.raises(TopicAuthorizationFailedError):
        produce("movielens_web", DEAD_LETTERS, b'{"reason": "not the page\'s to write"}')


def test_the_jobs_login_writes_reads_in_its_groups_and_writes_dead_letters(topics):
    marker = uuid.uuid4().hex.encode()
    sent = produce("movielens", TOPIC, rating(990_000_003)[:-1] + b', "probe": "' + marker + b'"}')
    group = f"{group_prefix()}-security-test-{uuid.uuid4().hex[:8]}"
    consumer = KafkaConsumer(
        bootstrap_servers=BROKERS,
        group_id=group,
        enable_auto_commit=False,
        request_timeout_ms=20000,
        **inventory.kafka_client("movielens"),
    )
    try:
        partition = TopicPartition(TOPIC, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        values: list[bytes] = []
        deadline = time.monotonic() + 60
        while marker not in b"".join(values) and time.monotonic() < deadline:
            values += [r.value for batch in consumer.poll(timeout_ms=2000).values() for r in batch]
        assert any(marker in value for value in values)
        # The group's offset is committed: the group ACL (a prefix) allows the jobs' groups.
        consumer.commit()
        assert consumer.committed(partition) == consumer.position(partition)
    finally:
        consumer.close()
    letter = produce("movielens", DEAD_LETTERS, b'{"reason": "security test", "payload": null}')
    assert letter.offset >= 0


def test_the_jobs_login_may_not_use_a_group_outside_its_prefix(topics):
    consumer = KafkaConsumer(
        TOPIC,
        bootstrap_servers=BROKERS,
        group_id=f"not-the-jobs-{uuid.uuid4().hex[:8]}",
        request_timeout_ms=20000,
        **inventory.kafka_client("movielens"),
    )
    try:
        with pytest.raises(AuthorizationError):
            for _ in range(10):
                consumer.poll(timeout_ms=3000)
    finally:
        consumer.close()


def test_only_the_admin_creates_topics(topics):
    name = f"lab-security-{uuid.uuid4().hex[:8]}"
    for user in ("movielens", "movielens_web"):
        admin = KafkaAdminClient(
            bootstrap_servers=BROKERS, request_timeout_ms=20000, **inventory.kafka_client(user)
        )
        try:
            with pytest.raises(AuthorizationError):
                admin.create_topics([NewTopic(name, 1, 1)])
        finally:
            admin.close()


# The ACLs and the files on a broker


# (principal, resource type, resource name, pattern type, operation) of the role's default
# kafka_acls, as kafka-acls.sh lists them.
def expected_acls() -> set[tuple[str, str, str, str, str]]:
    jobs, page = "User:movielens", "User:movielens_web"
    acls = {(jobs, "TOPIC", TOPIC, "LITERAL", op) for op in ("WRITE", "READ", "DESCRIBE")}
    acls |= {(jobs, "TOPIC", DEAD_LETTERS, "LITERAL", op) for op in ("WRITE", "DESCRIBE")}
    acls |= {(jobs, "GROUP", group_prefix(), "PREFIXED", "READ")}
    acls |= {(page, "TOPIC", TOPIC, "LITERAL", op) for op in ("WRITE", "DESCRIBE")}
    return acls


def test_the_acls_of_the_logins_are_exactly_the_declared_ones(host):
    if inventory.hostvar(inventory.hosts("kafka")[0], "kafka_acls") is not None:
        pytest.skip("the inventory declares its own kafka_acls")
    listing = host.run(
        f"timeout 120 {TOOLS}/kafka-acls.sh --bootstrap-server {BROKERS[0]} "
        f"--command-config {inventory.KAFKA_ADMIN_CONFIG} --list"
    )
    assert listing.rc == 0, listing.stderr[-2000:]
    found, resource = set(), None
    for line in listing.stdout.splitlines():
        header = re.search(r"resourceType=(\w+), name=(.*), patternType=(\w+)\)", line)
        if header:
            resource = header.groups()
            continue
        entry = re.search(r"principal=(.+?), host=\*, operation=(\w+), permissionType=ALLOW", line)
        if entry and resource and entry[1] in ("User:movielens", "User:movielens_web"):
            found.add((entry[1], *resource, entry[2]))
    assert found == expected_acls(), listing.stdout


def test_the_files_with_passwords_are_for_root_and_the_broker_only(host):
    for path in ("/etc/kafka/server.properties", inventory.KAFKA_ADMIN_CONFIG):
        config = host.file(path)
        assert (config.user, config.group, config.mode) == ("root", "kafka", 0o640), path
    groups = host.run("id -nG kafka").stdout.split()
    assert "kafka" in groups and "ssl-cert" in groups, groups
    # Nobody else of the lab's service users may read them.
    assert host.run(f"sudo -u zookeeper cat {inventory.KAFKA_ADMIN_CONFIG}").rc != 0


# KRaft: the controllers' listener


@pytest.mark.skipif(inventory.kafka_mode() != "kraft", reason="ZooKeeper mode has no controllers")
@pytest.mark.parametrize("address", inventory.addresses("kafka"))
def test_the_controllers_want_a_client_certificate(address):
    port = int(inventory.hostvar(inventory.hosts("kafka")[0], "kafka_controller_port", 9093))
    controller = f"{address}:{port}"
    request = kafkawire.api_versions_request()
    # TLS with the lab's CA but without a certificate of our own: the handshake is refused.
    (answer,) = kafkawire.exchange(
        controller, [request], kafkawire.tls_context(inventory.ca_cert())
    )
    assert answer is None
    # In the clear: no answer either.
    (answer,) = kafkawire.exchange(controller, [request])
    assert kafkawire.correlation_id(answer) is None
