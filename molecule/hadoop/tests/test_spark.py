"""Spark on the same host: a job on the standalone master, one on YARN, the history server.

In Hadoop's secure mode (the inventory sets kerberos_realm) Spark's jobs run on YARN only (the
standalone master cannot reach the Kerberized HDFS its event logs go to), as the jobs' user with
its keytab (the stack's test_kerberos.py), and the daemons' health checks ask their UIs with the
spark user's ticket; the stack's test_spark_ui_kerberos.py and test_pipeline_kerberos.py check
the rest."""

import json
import time

import pytest

from tests import inventory
from tests.kerberoshost import (
    SPARK_ENV,
    as_hdfs,
    as_service,
    health_login,
    keytab,
    principal,
    secure,
)
from tests.labhost import INTERRUPTIONS, interrupt

STANDALONE_ONLY = pytest.mark.skipif(
    secure(), reason="secure mode: jobs run on YARN (test_pipeline_kerberos.py)"
)
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
    # The spark user's home in HDFS, where a job on YARN stages its files.
    home = as_hdfs(host, "hdfs dfs -mkdir -p /user/spark && hdfs dfs -chown spark /user/spark")
    assert home.rc == 0, home.stderr[-2000:]
    return "/tmp/lab_sum.py"


def submit(host, master: str, name: str, job_file: str, extra: str = ""):
    """spark-submit as spark; in secure mode logged in with its keytab (principal and keytab)."""
    if secure():
        extra += f" --principal {principal(host, 'spark')} --keytab {keytab('spark')}"
    command = f"spark-submit --master {master} {extra} {job_file} {name}"
    return as_service(host, "spark", "spark", command, env=SPARK_ENV)


@STANDALONE_ONLY
def test_job_on_the_standalone_master(host, job_file):
    master = f"spark://{inventory.endpoint('spark_master', 'spark_master')}"
    result = submit(host, master, "lab-standalone", job_file)
    assert result.rc == 0, result.stderr[-2000:]
    assert "LAB-RESULT 500500" in result.stdout


@STANDALONE_ONLY
def test_history_server_lists_the_job(host, job_file):
    deadline = time.monotonic() + 90
    names = []
    history = inventory.endpoint("spark_history", "spark_history_ui")
    while time.monotonic() < deadline:
        apps = host.run(f"curl -fsS http://{history}/api/v1/applications")
        names = [app["name"] for app in json.loads(apps.stdout or "[]")] if apps.rc == 0 else []
        if "lab-standalone" in names:
            return
        time.sleep(5)
    pytest.fail(f"history server lists {names}")


@pytest.mark.skipif(
    secure(),
    reason="secure mode: the jobs' user runs the jobs on YARN with its keytab (test_kerberos.py)",
)
def test_job_on_yarn_succeeds(host, job_file):
    result = submit(host, "yarn", "lab-yarn", job_file, "--deploy-mode client")
    assert result.rc == 0, result.stderr[-2000:]
    assert "LAB-RESULT 500500" in result.stdout
    apps = as_hdfs(host, "yarn application -list -appStates FINISHED", ticket=secure())
    assert "lab-yarn" in apps.stdout and "SUCCEEDED" in apps.stdout


def test_jobs_jars_are_installed(host):
    jars = host.run("ls /opt/spark/jars").stdout.split()
    assert any(j.startswith("spark-sql-kafka-0-10_2.12-3.5.1") for j in jars)
    assert any(j.startswith("spark-cassandra-connector_2.12-3.5.1") for j in jars)


# Each unit's lab-health kind, its inventory group and UI: the worker's check is its registration
# with the master.
CHECKS = {
    "spark-master": ("spark_master", "spark_master_ui"),
    "spark-worker": ("spark_worker", "spark_worker_ui"),
    "spark-history": ("spark_history", "spark_history_ui"),
}


def healthy(host, unit: str) -> bool:
    """The daemon's lab-health check, in secure mode with the spark user's ticket (SPNEGO)."""
    address = inventory.endpoint(*CHECKS[unit])
    check = f"/usr/local/bin/lab-health {health_login(host, 'spark')} {unit} {address}"
    return host.run(check).rc == 0


@pytest.mark.parametrize("unit", sorted(CHECKS))
@pytest.mark.parametrize("how", INTERRUPTIONS)
def test_comes_back(host, unit, how):
    interrupt(host, unit, how, lambda: healthy(host, unit))
