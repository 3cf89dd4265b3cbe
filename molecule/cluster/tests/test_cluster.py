"""The three-host cluster doing real work, checked from the control node and from the masters.

HDFS keeps three replicas of a file on three DataNodes and serves it over WebHDFS; a Spark job
on YARN runs containers on several NodeManagers and one on the standalone master runs executors
on several workers; in Hadoop's secure mode (the inventory's kerberos_realm) each host's
DataNode and NodeManager logged in with a principal of its own, and a host that is not the
masters' is refused HDFS and YARN without a ticket and served with one; Kafka runs as a KRaft
quorum of three with the ratings topics replicated three times (two in sync to acknowledge),
written and read with the pipeline's login (what the logins may not do is in the kafka
scenario's test_kafka_security.py, which runs here too); Cassandra is a ring of three nodes
holding `reco` three times, written and read at QUORUM through different coordinators over
TLS; the jobs' host has the clients' configuration of every service; every host has a
certificate from the lab's CA for its names, and trusts the others' (the page over HTTPS from
every host)."""

from __future__ import annotations

import hashlib
import re
import urllib.request
import uuid
from pathlib import Path

import pytest
from cassandra import ConsistencyLevel
from cassandra.query import SimpleStatement
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from tests import cql, inventory, kerberoshost
from tests.kerberoshost import KEYTABS, SPARK_ENV, as_service, http_code, run, secure
from tests.listening import parse_ss

testinfra_hosts = ["masters"]
ADMIN_CONFIG = f"--command-config {inventory.KAFKA_ADMIN_CONFIG}"
NODES = 3
TOPICS = ("movielens_ratings", "movielens_ratings_dlq")
# Prints the host each partition ran on: the executors' hosts.
SPREAD_JOB = """
import socket, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName(sys.argv[1]).getOrCreate()
hosts = spark.sparkContext.parallelize(range(48), 48).map(lambda _: socket.gethostname()).distinct()
print("LAB-HOSTS " + ",".join(sorted(hosts.collect())))
spark.stop()
"""


# The keytab whose principal each user of these tests takes a ticket of in secure mode: HDFS's
# superuser the NameNode's, spark its own.
KEYTAB_OF = {"hdfs": "nn", "spark": "spark"}
# A host that runs DataNodes and NodeManagers but no master: a client of the masters' daemons.
WORKER = next(x for x in inventory.hosts("hadoop_datanode") if x not in inventory.hosts("masters"))
# In secure mode the DataNodes and NodeManagers speak HTTPS only (README, "Kerberos").
NODEMANAGER_UI = 8044 if secure() else 8042
needs_realm = pytest.mark.skipif(not secure(), reason="no Kerberos realm in the inventory")


def as_user(host, user: str, command: str, timeout: int = 600):
    """command as user on the masters' host, with a ticket of its keytab in secure mode."""
    return as_service(host, user, KEYTAB_OF[user], command, env=SPARK_ENV, timeout=timeout)


def fqdn(name: str) -> str:
    """A host's name as Hadoop puts it for _HOST: the host part of its principals."""
    return kerberoshost.fqdn(inventory.testinfra_host(name))


def on_worker(command: str, ticket: bool):
    """command as hdfs on a host without masters: with a ticket of its DataNode's principal
    (which Hadoop maps to hdfs, as the NameNode's), or with none."""
    tab = f"{KEYTABS}/dn.service.keytab" if ticket else None
    return run(inventory.testinfra_host(WORKER), "hdfs", command, tab, timeout=300)


@pytest.fixture(scope="module")
def spread_job(host):
    host.run(f"cat > /tmp/lab_spread.py <<'EOF'\n{SPREAD_JOB}\nEOF\nchmod 644 /tmp/lab_spread.py")
    return "/tmp/lab_spread.py"


def executor_hosts(result) -> set[str]:
    assert result.rc == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("LAB-HOSTS "))
    return set(line.split(" ", 1)[1].split(","))


# HDFS


def test_three_datanodes_are_live(host):
    report = as_user(host, "hdfs", "hdfs dfsadmin -report")
    assert report.rc == 0, report.stderr
    assert f"Live datanodes ({NODES}):" in report.stdout, report.stdout[:2000]
    if secure():
        refused = run(host, "hdfs", "hdfs dfsadmin -report")
        assert refused.rc != 0 and "Live datanodes" not in refused.stdout, refused.stdout


def test_a_file_has_three_replicas_on_three_datanodes(host):
    host.run("head -c 5000000 /dev/urandom > /tmp/lab-replicas && chmod 644 /tmp/lab-replicas")
    put = as_user(
        host, "hdfs", "hdfs dfs -D dfs.replication=3 -put -f /tmp/lab-replicas /lab-replicas"
    )
    assert put.rc == 0, put.stderr
    fsck = as_user(host, "hdfs", "hdfs fsck /lab-replicas -files -blocks -locations")
    assert "is HEALTHY" in fsck.stdout, fsck.stdout
    blocks = [line for line in fsck.stdout.splitlines() if " len=" in line]
    assert blocks, fsck.stdout
    for block in blocks:
        assert "Live_repl=3" in block, block
        datanodes = set(re.findall(r"DatanodeInfoWithStorage\[([0-9.]+):", block))
        assert datanodes == set(inventory.addresses("hadoop_datanode")), block


@pytest.mark.skipif(secure(), reason="secure mode: WebHDFS asks for a ticket, see below")
def test_webhdfs_open_redirects_to_a_datanode_the_client_reaches(host):
    """The control node is a client outside the cluster: it only knows the addresses."""
    namenode = inventory.endpoint("hadoop_namenode", "namenode_http")
    url = f"http://{namenode}/webhdfs/v1/lab-replicas?op=OPEN&user.name=hdfs"
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a test host
        served = response.read()
    original = host.run("sha256sum < /tmp/lab-replicas").stdout.split()[0]
    assert hashlib.sha256(served).hexdigest() == original


# Hadoop's secure mode across hosts


@needs_realm
def test_hdfs_refuses_a_host_without_a_ticket_and_serves_it_with_one():
    refused = on_worker("hdfs dfs -ls /", ticket=False)
    assert refused.rc != 0
    assert "Client cannot authenticate via:[TOKEN, KERBEROS]" in refused.stderr, refused.stderr
    allowed = on_worker("hdfs dfs -ls /", ticket=True)
    assert allowed.rc == 0, allowed.stderr[-2000:]
    assert "/processed" in allowed.stdout, allowed.stdout


@needs_realm
@pytest.mark.parametrize("daemon", ["datanode", "nodemanager"])
@pytest.mark.parametrize("name", inventory.hosts("hadoop_datanode"))
def test_each_hosts_daemons_logged_in_with_their_own_principal(name, daemon):
    """dn/<host> and nm/<host> of each host, the name its address resolves back to, which the
    NameNode and the ResourceManager check against the address each connects from."""
    node = inventory.testinfra_host(name)
    service = {"datanode": "dn", "nodemanager": "nm"}[daemon]
    realm = inventory.hostvar(name, "kerberos_realm")
    principal = f"{service}/{fqdn(name)}@{realm}"
    log = node.run(f"journalctl -u hadoop-{daemon} -o cat --no-pager | grep 'Login successful'")
    assert f"Login successful for user {principal}" in log.stdout, log.stdout[-2000:]
    # The host's address resolves back to that name, on the host and on the masters' host.
    masters = inventory.testinfra_host(inventory.hosts("masters")[0])
    for resolver in (node, masters):
        back = resolver.check_output(f"getent hosts {inventory.address(name)}").split()
        assert back[1:2] == [fqdn(name)], (resolver.backend.get_hostname(), back)


@needs_realm
def test_webhdfs_refuses_the_control_node_without_a_ticket():
    """A client outside the cluster without a ticket gets 401 (over HTTPS, the lab's CA)."""
    namenode = inventory.first("hadoop_namenode")
    url = f"https://{namenode}:9871/webhdfs/v1/lab-replicas?op=OPEN&user.name=hdfs"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=60, context=inventory.tls_context())  # noqa: S310
    assert refused.value.code == 401


@needs_realm
def test_webhdfs_open_with_a_ticket_redirects_to_a_datanode_by_name(host):
    """From a host without masters: SPNEGO at the NameNode, which redirects to a DataNode
    (named by its host name, as its principal) with a delegation token."""
    namenode = fqdn(inventory.hosts("hadoop_namenode")[0])
    url = f"https://{namenode}:9871/webhdfs/v1/lab-replicas?op=OPEN"
    assert http_code(inventory.testinfra_host(WORKER), "GET", url) == "401"
    read = on_worker(f'curl -sS -f -L --negotiate -u : "{url}" | sha256sum', ticket=True)
    original = host.run("sha256sum < /tmp/lab-replicas").stdout.split()[0]
    assert read.rc == 0 and read.stdout.split()[0] == original, read.stdout + read.stderr


@needs_realm
def test_yarn_rest_refuses_a_new_application_without_a_ticket_and_allows_one():
    resourcemanager = fqdn(inventory.hosts("hadoop_resourcemanager")[0])
    url = f"https://{resourcemanager}:8090/ws/v1/cluster/apps/new-application"
    assert http_code(inventory.testinfra_host(WORKER), "POST", url) == "401"
    made = on_worker(f'curl -sS --negotiate -u : -X POST "{url}"', ticket=True)
    assert '"application-id":"application_' in made.stdout, made.stdout + made.stderr


# YARN and Spark


def test_a_yarn_job_runs_containers_on_several_nodemanagers(host, spread_job):
    # Executors of 1 GiB (2 GiB containers) on NodeManagers of 3 GiB: at most one a node.
    result = as_user(
        host,
        "spark",
        "spark-submit --master yarn --deploy-mode client --num-executors 3 --executor-cores 1 "
        f"--executor-memory 1g {spread_job} lab-yarn-spread",
    )
    used = executor_hosts(result)
    assert len(used) >= 2, used
    assert used <= set(inventory.hosts("hadoop_nodemanager"))
    # Spark's jars come from the zip in HDFS (spark.yarn.archive), not uploaded again.
    assert "falling back to uploading libraries" not in result.stderr
    archive = re.search(r"Not copying hdfs:\S*/spark-jars\.zip", result.stderr)
    assert archive, result.stderr[-3000:]


def test_a_standalone_job_runs_executors_on_several_workers(host, spread_job):
    master = inventory.first("spark_master")
    result = as_user(
        host,
        "spark",
        f"spark-submit --master spark://{master}:7077 --total-executor-cores 3 "
        f"--executor-cores 1 --executor-memory 512m {spread_job} lab-standalone-spread",
    )
    used = executor_hosts(result)
    assert len(used) >= 2, used
    assert used <= set(inventory.hosts("spark_worker"))


# Kafka


def test_kafka_metadata_is_a_kraft_quorum_of_three(host):
    bootstrap = inventory.kafka_bootstrap().split(",")[0]
    status = host.run(
        f"/opt/kafka/bin/kafka-metadata-quorum.sh --bootstrap-server {bootstrap} {ADMIN_CONFIG} "
        "describe --status"
    )
    assert status.rc == 0, status.stderr
    voters = re.search(r"CurrentVoters:\s*\[([^\]]*)\]", status.stdout)
    assert voters and len(re.findall(r"\d+", voters.group(1))) == NODES, status.stdout
    assert re.search(r"LeaderId:\s*\d+", status.stdout), status.stdout
    assert not host.file("/etc/zookeeper/zoo.cfg").exists


def test_three_brokers_and_the_ratings_topics_replicated_three_times(host):
    tools, bootstrap = "/opt/kafka/bin", inventory.kafka_bootstrap()
    versions = host.run(
        f"{tools}/kafka-broker-api-versions.sh --bootstrap-server {bootstrap} {ADMIN_CONFIG}"
    )
    brokers = set(re.findall(r"^\S+:\d+ \(id: (\d+)", versions.stdout, re.MULTILINE))
    assert len(brokers) == NODES, versions.stdout[:2000]
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **inventory.kafka_client("admin")
    )
    try:
        for topic in admin.describe_topics(list(TOPICS)):
            assert topic["partitions"], topic
            for partition in topic["partitions"]:
                assert len(partition["replica_nodes"]) == NODES, topic
                assert len(partition["isr_nodes"]) == NODES, topic
    finally:
        admin.close()
    for name in TOPICS:
        configs = host.run(
            f"{tools}/kafka-configs.sh --bootstrap-server {bootstrap} {ADMIN_CONFIG} "
            "--describe --all "
            f"--entity-type topics --entity-name {name}"
        )
        assert re.search(r"^\s*min\.insync\.replicas=2\s", configs.stdout, re.MULTILINE), (
            configs.stdout[:3000]
        )


def test_acks_all_writes_read_back_through_every_broker():
    """Written and read back with the pipeline's login, which may do both on this topic."""
    topic = TOPICS[0]
    marker = uuid.uuid4().hex.encode()
    jobs = inventory.kafka_client("movielens")
    producer = KafkaProducer(
        bootstrap_servers=inventory.kafka_bootstrap(), acks="all", retries=10, **jobs
    )
    try:
        metadata = [
            producer.send(topic, key=b"0", value=b'{"probe": "%s"}' % marker).get(timeout=60)
            for _ in range(3)
        ]
    finally:
        producer.close()
    for address in inventory.addresses("kafka"):
        consumer = KafkaConsumer(
            bootstrap_servers=f"{address}:9092", enable_auto_commit=False, **jobs
        )
        try:
            tp = TopicPartition(topic, metadata[0].partition)
            consumer.assign([tp])
            consumer.seek(tp, metadata[0].offset)
            records = consumer.poll(timeout_ms=10000, max_records=10)
            values = [r.value for batch in records.values() for r in batch]
            assert any(marker in value for value in values), address
        finally:
            consumer.close()


# Cassandra


def test_cassandra_ring_has_three_nodes_up():
    for address in inventory.addresses("cassandra"):
        with cql.session([address], only=True) as session:
            peers = list(session.execute("SELECT peer FROM system.peers"))
        assert len(peers) == NODES - 1, (address, peers)


def test_nodetool_reports_every_node_up_and_normal(host):
    status = host.run("/usr/local/bin/nodetool status")
    assert status.rc == 0, status.stderr
    states = re.findall(r"^([UD][NLJM])\s+(\S+)", status.stdout, re.MULTILINE)
    assert sorted(addr for _, addr in states) == sorted(inventory.addresses("cassandra"))
    assert {state for state, _ in states} == {"UN"}, status.stdout


def test_reco_is_replicated_three_times_and_quorum_reads_see_quorum_writes():
    first, *others = inventory.addresses("cassandra")
    with cql.session([first], only=True) as session:
        keyspace = session.execute(
            "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'reco'"
        ).one()
        assert keyspace and keyspace.replication.get("replication_factor") == "3", keyspace
        session.execute(
            "CREATE TABLE IF NOT EXISTS reco.cluster_probe (id text PRIMARY KEY, value text)"
        )
        probe = uuid.uuid4().hex
        session.execute(
            SimpleStatement(
                "INSERT INTO reco.cluster_probe (id, value) VALUES (%s, %s)",
                consistency_level=ConsistencyLevel.QUORUM,
            ),
            [probe, "written on " + first],
        )
    for address in others:
        with cql.session([address], only=True) as session:
            row = session.execute(
                SimpleStatement(
                    "SELECT value FROM reco.cluster_probe WHERE id = %s",
                    consistency_level=ConsistencyLevel.QUORUM,
                ),
                [probe],
            ).one()
        assert row and row.value == "written on " + first


# Clients


def test_the_jobs_host_has_every_clients_configuration(host):
    namenode = inventory.first("hadoop_namenode")
    core = host.file("/etc/hadoop/core-site.xml").content_string
    assert f"hdfs://{namenode}:9000" in core
    spark = host.file("/etc/spark/spark-defaults.conf").content_string
    assert f"spark://{inventory.first('spark_master')}:7077" in spark
    settings = host.run("sudo cat /etc/movielens/movielens.env").stdout
    for address in inventory.addresses("kafka"):
        assert f"{address}:9092" in settings, settings
    # The jobs' Kafka login is in that file, which only root and the jobs' group read.
    if inventory.kafka_security() == "sasl_ssl":
        assert "MOVIELENS_KAFKA_SECURITY_PROTOCOL=SASL_SSL" in settings
        assert "MOVIELENS_KAFKA_USER=movielens" in settings
    env_file = host.file("/etc/movielens/movielens.env")
    assert (env_file.user, env_file.mode) == ("root", 0o640)
    # The jobs reach Cassandra over TLS, verifying the nodes against the lab's CA.
    assert "MOVIELENS_CASSANDRA_CA=/etc/lab-tls/ca.crt" in settings, settings


# That nothing listens on every address is checked on each host by the stack's
# test_listeners.py (molecule.yml adds it); here, that the daemons are on the host's address.
@pytest.mark.parametrize("name", inventory.hosts("all"))
def test_the_daemons_listen_on_their_hosts_address(name):
    node = inventory.testinfra_host(name)
    listeners = parse_ss(node.run("ss -Hltn").stdout)
    own = inventory.address(name)
    ports = {x.port for x in listeners if x.address in (own, f"::ffff:{own}")}
    # DataNode, NodeManager UI, Kafka, Cassandra (CQL and storage), the Spark worker's UI.
    assert {9866, NODEMANAGER_UI, 9092, 9042, 7000, 8081} <= ports, sorted(ports)


@pytest.mark.parametrize("name", inventory.hosts("all"))
def test_every_host_has_a_certificate_of_the_lab_ca_and_trusts_the_others(name):
    node = inventory.testinfra_host(name)
    ca = node.file("/etc/lab-tls/ca.crt").content_string
    assert ca == Path(inventory.ca_cert()).read_text(), "not the control node's CA"
    chain = node.run("openssl verify -CAfile /etc/lab-tls/ca.crt /etc/lab-tls/host.crt")
    assert chain.rc == 0, chain.stdout + chain.stderr
    names = node.check_output("openssl x509 -in /etc/lab-tls/host.crt -noout -ext subjectAltName")
    assert f"DNS:{name}" in names and f"IP Address:{inventory.address(name)}" in names, names
    # The system's trust store has the CA: the page's certificate verifies from every host.
    page = inventory.page_url("/health")
    answer = node.run(f"curl -fsS -m 20 {page}")
    assert (answer.rc, answer.stdout) == (0, "ok\n"), answer.stderr
