"""Spark on the same host: a job on the standalone master, one on YARN, the history server."""

import json
import time

import pytest

from tests.labhost import INTERRUPTIONS, healthy, interrupt

ENV = ". /etc/profile.d/hadoop.sh && . /etc/profile.d/spark.sh && "
JOB = """
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName(sys.argv[1]).getOrCreate()
total = spark.range(1, 1001).groupBy().sum("id").first()[0]
print(f"LAB-RESULT {total}")
spark.stop()
"""


@pytest.fixture(scope="module")
def job_file(host):
    host.run(f"cat > /tmp/lab_sum.py <<'EOF'\n{JOB}\nEOF\nchmod 644 /tmp/lab_sum.py")
    return "/tmp/lab_sum.py"


def submit(host, master: str, name: str, job_file: str, extra: str = ""):
    return host.run(
        f"sudo -u spark bash -c '{ENV}spark-submit --master {master} {extra} {job_file} {name}'"
    )


def test_job_on_the_standalone_master(host, job_file):
    result = submit(host, "spark://127.0.0.1:7077", "lab-standalone", job_file)
    assert result.rc == 0, result.stderr[-2000:]
    assert "LAB-RESULT 500500" in result.stdout


def test_history_server_lists_the_job(host, job_file):
    deadline = time.monotonic() + 90
    names = []
    while time.monotonic() < deadline:
        apps = host.run("curl -fsS http://127.0.0.1:18080/api/v1/applications")
        names = [app["name"] for app in json.loads(apps.stdout or "[]")] if apps.rc == 0 else []
        if "lab-standalone" in names:
            return
        time.sleep(5)
    pytest.fail(f"history server lists {names}")


def test_job_on_yarn_succeeds(host, job_file):
    result = submit(host, "yarn", "lab-yarn", job_file, "--deploy-mode client")
    assert result.rc == 0, result.stderr[-2000:]
    assert "LAB-RESULT 500500" in result.stdout
    apps = host.run(f"{ENV}yarn application -list -appStates FINISHED")
    assert "lab-yarn" in apps.stdout and "SUCCEEDED" in apps.stdout


def test_jobs_jars_are_installed(host):
    jars = host.run("ls /opt/spark/jars").stdout.split()
    assert any(j.startswith("spark-sql-kafka-0-10_2.12-3.5.1") for j in jars)
    assert any(j.startswith("spark-cassandra-connector_2.12-3.5.1") for j in jars)


# Each unit's lab-health check (kind, address): the worker's is its registration with the master.
CHECKS = {
    "spark-master": ("spark-master", "127.0.0.1:8080"),
    "spark-worker": ("spark-worker", "127.0.0.1:8081"),
    "spark-history": ("spark-history", "127.0.0.1:18080"),
}


@pytest.mark.parametrize("unit", sorted(CHECKS))
@pytest.mark.parametrize("how", INTERRUPTIONS)
def test_comes_back(host, unit, how):
    interrupt(host, unit, how, lambda: healthy(host, *CHECKS[unit]))
