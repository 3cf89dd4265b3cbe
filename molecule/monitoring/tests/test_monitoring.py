"""Prometheus, Alertmanager and the exporters on a converged stack (the monitoring role).

Against the real services, at the addresses of the scenario's inventory: every target that the
inventory's groups call for is scraped and up; each service gives a figure that says something
true about it (live DataNodes, under-replicated partitions, the ring, the stream's messages);
promtool and amtool accept what the role wrote. Run by the monitoring scenario, by stack and by
the cluster. Every wait is bounded, and derived from the inventory's scrape interval. The alerts
are tested in test_monitoring_alerts.py.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse

import pytest
from kafka import KafkaProducer

from tests import inventory
from tests.kerberoshost import secure
from tests.labhost import eventually
from tests.monitoringhost import PROMETHEUS, SCRAPE, counted_since, get_json, query, value
from tests.pipelinehost import TOPIC, catalogue

testinfra_hosts = ["monitoring"]

RULES_DIR = "/etc/prometheus/rules"

# Prometheus' jobs and the inventory group whose every host they scrape (the role's
# monitoring_scrape_jobs).
JOBS = {
    "prometheus": "monitoring",
    "alertmanager": "monitoring",
    "node": "all",
    "hadoop-namenode": "hadoop_namenode",
    "hadoop-datanode": "hadoop_datanode",
    "hadoop-resourcemanager": "hadoop_resourcemanager",
    "hadoop-nodemanager": "hadoop_nodemanager",
    "spark-master": "spark_master",
    "spark-worker": "spark_worker",
    "spark-history": "spark_history",
    "zookeeper": "zookeeper",
    "kafka": "kafka",
    "cassandra": "cassandra",
    "spark-master-metrics": "spark_master",
    "spark-applications": "spark_master",
    "spark-worker-metrics": "spark_worker",
    "movielens-stream": "movielens",
    "movielens-stream-driver": "movielens",
    "movielens-web": "movielens_web",
}


# The jobs of the JVM daemons' JMX exporter agents.
JVM_JOBS = {
    "hadoop-namenode",
    "hadoop-datanode",
    "hadoop-resourcemanager",
    "hadoop-nodemanager",
    "spark-master",
    "spark-worker",
    "spark-history",
    "zookeeper",
    "kafka",
    "cassandra",
}


# The jobs of web UIs that ask for a Kerberos ticket in Hadoop's secure mode (the Spark daemons'
# PrometheusServlet), which Prometheus, without SPNEGO, does not scrape then (the role's
# `ticket: true`); their daemons' JMX exporters remain.
TICKET_JOBS = {"spark-master-metrics", "spark-applications", "spark-worker-metrics"}


def expected_jobs() -> set[str]:
    jobs = {job for job, group in JOBS.items() if inventory.hosts(group)}
    return jobs - TICKET_JOBS if secure() else jobs


def test_promtool_and_amtool_accept_what_the_role_wrote(host):
    with host.sudo():
        config = host.run("promtool check config /etc/prometheus/prometheus.yml")
        rules = host.run(f"promtool check rules {RULES_DIR}/*.yml")
        manager = host.run("amtool check-config /etc/prometheus/alertmanager.yml")
    assert config.rc == 0, config.stdout + config.stderr
    assert rules.rc == 0, rules.stdout + rules.stderr
    assert manager.rc == 0, manager.stdout + manager.stderr
    assert rules.stdout.count("SUCCESS") == len(re.findall(r"Checking ", rules.stdout)) == 7, (
        rules.stdout
    )


def test_every_target_of_the_inventory_is_scraped_and_up():
    def all_up():
        targets = get_json(f"http://{PROMETHEUS}/api/v1/targets")["data"]["activeTargets"]
        down = [
            f"{t['labels']['job']} {t['scrapeUrl']}: {t['lastError']}"
            for t in targets
            if t["health"] != "up"
        ]
        assert not down, "down: " + "; ".join(down)
        return targets

    targets = eventually(all_up, "every target up", timeout=10 * SCRAPE + 120)
    jobs = {t["labels"]["job"] for t in targets}
    assert jobs == expected_jobs()
    for job in jobs:
        hosts = {t["labels"]["host"] for t in targets if t["labels"]["job"] == job}
        assert hosts == set(inventory.hosts(JOBS[job])), job
    # Each target is reached on its host's address from the inventory, never loopback's
    # stand-in for a wildcard.
    for target in targets:
        address = urllib.parse.urlsplit(target["scrapeUrl"]).hostname
        assert address == inventory.address(target["labels"]["host"]), target["scrapeUrl"]


def test_each_service_reports_a_true_figure():
    datanodes = len(inventory.hosts("hadoop_datanode"))
    assert value("hdfs_live_datanodes") == datanodes
    assert value("hdfs_dead_datanodes") == 0
    assert value("hdfs_capacity_total_bytes") > 0
    assert value("sum(hdfs_datanode_capacity_bytes)") > 0
    assert value('yarn_nodemanagers{state="active"}') == len(inventory.hosts("hadoop_nodemanager"))
    assert value("sum(kafka_server_under_replicated_partitions)") == 0
    assert value("sum(kafka_server_partitions)") > 0
    # One active controller: each broker's figure is scraped at its own moment, so while the
    # controller moves (a KRaft election) the sum reads 0 or 2 for up to a scrape interval.
    eventually(
        lambda: value("sum(kafka_controller_active)") == 1,
        "one active Kafka controller",
        timeout=4 * SCRAPE + 30,
    )
    nodes = len(inventory.hosts("cassandra"))
    for sample in query('cassandra_endpoints{state="up"}'):
        assert float(sample["value"][1]) == nodes, sample
    assert value('sum(cassandra_endpoints{state="down"})') == 0
    assert value("count(cassandra_compaction_pending_tasks)") == nodes
    if inventory.hosts("zookeeper"):
        assert value("min(zookeeper_znodes)") > 0
    if "spark-master-metrics" in expected_jobs():
        workers = len(inventory.hosts("spark_worker"))
        assert value('{__name__=~"metrics_master_aliveWorkers_Value"}') == workers
    every = len(inventory.hosts("all"))
    assert value("count(node_memory_MemAvailable_bytes)") == every
    # Every JVM daemon's agent reports its heap.
    heaps = {s["metric"]["job"] for s in query('jvm_memory_used_bytes{area="heap"}')}
    assert heaps == expected_jobs() & JVM_JOBS
    assert value("sum(movielens_web_requests_total)") > 0


def send_ratings(movies: list[int], count: int) -> None:
    """`count` ratings of known movies and one message that is not JSON, with the jobs'
    login: the stream takes the ratings and sends the bad one to the dead-letter topic."""
    producer = KafkaProducer(
        bootstrap_servers=inventory.kafka_bootstrap(),
        acks="all",
        retries=10,
        **inventory.kafka_client("movielens"),
    )
    try:
        now = int(time.time())
        for i in range(count):
            user, movie = 900_001 + i % 3, movies[i % len(movies)]
            body = {"userId": user, "movieId": movie, "rating": 4.0, "timestamp": now}
            producer.send(TOPIC, json.dumps(body).encode())
        producer.send(TOPIC, b"not a rating")
        producer.flush(timeout=60)
    finally:
        producer.close()


@pytest.mark.skipif(not inventory.hosts("movielens"), reason="no streaming job in the inventory")
def test_the_stream_reports_its_messages_latency_and_lag():
    jobs_host = inventory.testinfra_host(inventory.hosts("movielens")[0])
    # Counted from now on, restarts of the stream included (a fault test before this one may
    # have had systemd start it again, its counters from 0).
    start = time.time()
    send_ratings(catalogue(jobs_host)[:20], 20)

    def counted():
        valid = counted_since('movielens_stream_messages_total{outcome="valid"}', start)
        return valid >= 20 and counted_since("movielens_stream_dead_letters_total", start) >= 1

    # With room for a stream that systemd is starting again (a minute or two on two cores).
    eventually(counted, "the stream's counters in Prometheus", timeout=6 * SCRAPE + 300)
    # The latency of the 20 ratings served; the dead letter is no rating served.
    assert counted_since("movielens_stream_end_to_end_latency_seconds_count", start) >= 20

    def phases():
        return {s["metric"]["phase"] for s in query("movielens_stream_batch_duration_seconds")}

    # Each figure is eventually there: a stream started again shows them after its first batch.
    eventually(lambda: {"addBatch", "triggerExecution"} <= phases(), "the batch phases", 120)
    eventually(lambda: value("movielens_stream_consumer_lag") == 0, "no lag", timeout=120)
    age = "time() - movielens_stream_last_progress_timestamp_seconds"
    eventually(lambda: value(age) < 60 + SCRAPE, "a last progress under a minute old", 120)
