"""The daemons' log files and the journal, as the roles configure them (rendered by Ansible
from the roles' defaults, vars and templates): every file-logging daemon has a rolling file with
the size and the number of kept files of its role's variables, which start from the common
role's; the Spark workers roll their executors' output alike; journald's drop-in caps the
journal."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests import localplay

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("common", "hadoop", "spark", "kafka", "zookeeper", "cassandra")
# What each file is rendered from: (role, template, variables of the task).
RENDERED = {
    "journald.conf": ("common", "journald.conf.j2", {}),
    "hadoop-log4j.properties": ("hadoop", "log4j.properties.j2", {}),
    "log4j2.properties": ("spark", "log4j2.properties.j2", {}),
    "log4j2-worker.properties": (
        "spark",
        "log4j2-daemon.properties.j2",
        {"spark_log_daemon": "worker"},
    ),
    "spark-defaults.conf": ("spark", "spark-defaults.conf.j2", {}),
    "kafka-log4j.properties": ("kafka", "log4j.properties.j2", {}),
    "zookeeper-logback.xml": ("zookeeper", "logback-server.xml.j2", {}),
    "zookeeper-client-logback.xml": ("zookeeper", "logback.xml.j2", {}),
    "cassandra-logback.xml": ("cassandra", "logback.xml.j2", {}),
}
# The common role's sizes for every role, and one role that sets its own.
EXTRA = {
    "common_log_max_file_size": "3MB",
    "common_log_max_backups": 7,
    "common_journal_max_use": "300M",
    "common_journal_max_file_size": "30M",
    "kafka_log_max_file_size": "512KB",
    "kafka_log_max_backups": 2,
}


def play(out: Path) -> str:
    vars_files = [
        f"{ROOT}/roles/{role}/{kind}/main.yml" for role in ROLES for kind in ("defaults", "vars")
    ]
    tasks = [
        {
            "name": f"Render {name}",
            "ansible.builtin.template": {
                "src": f"{ROOT}/roles/{role}/templates/{template}",
                "dest": f"{out}/{name}",
                "mode": "0600",
            },
            "vars": variables,
        }
        for name, (role, template, variables) in RENDERED.items()
    ]
    return yaml.safe_dump(
        [{"hosts": "all", "gather_facts": False, "vars_files": vars_files, "tasks": tasks}]
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("logging")
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "ansible_host": "10.0.0.11",
    }
    groups = ("spark_master", "spark_worker", "spark_history", "hadoop_namenode", "zookeeper")
    inventory = {
        "all": {
            "hosts": {"node1": host},
            "children": {group: {"hosts": {"node1": {}}} for group in groups},
        }
    }
    result = localplay.run(out, inventory, play(out), "-e", json.dumps(EXTRA), timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return out


def properties(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_journald_caps_the_persistent_and_the_volatile_journal(rendered):
    config = properties(rendered / "journald.conf")
    assert config == {
        "SystemMaxUse": "300M",
        "RuntimeMaxUse": "300M",
        "SystemMaxFileSize": "30M",
        "RuntimeMaxFileSize": "30M",
    }
    assert "[Journal]" in (rendered / "journald.conf").read_text()


def test_hadoop_daemons_roll_their_file_at_the_common_size(rendered):
    config = properties(rendered / "hadoop-log4j.properties")
    assert config["hadoop.log.maxfilesize"] == "3MB"
    assert config["hadoop.log.maxbackupindex"] == "7"
    assert config["log4j.appender.RFA"] == "org.apache.log4j.RollingFileAppender"
    assert config["log4j.appender.RFA.MaxFileSize"] == "${hadoop.log.maxfilesize}"
    assert config["log4j.appender.RFA.MaxBackupIndex"] == "${hadoop.log.maxbackupindex}"
    assert config["log4j.appender.RFA.File"] == "${hadoop.log.dir}/${hadoop.log.file}"
    # The commands log to the console only; the daemons' units ask for RFA as well.
    assert config["hadoop.root.logger"] == "INFO,console"


def test_kafka_uses_its_own_sizes_over_the_common_ones(rendered):
    config = properties(rendered / "kafka-log4j.properties")
    assert [x.strip() for x in config["log4j.rootLogger"].split(",")] == ["INFO", "stdout", "file"]
    assert config["log4j.appender.file"] == "org.apache.log4j.RollingFileAppender"
    assert config["log4j.appender.file.File"] == "/var/log/kafka/server.log"
    assert config["log4j.appender.file.MaxFileSize"] == "512KB"
    assert config["log4j.appender.file.MaxBackupIndex"] == "2"


def test_spark_daemon_adds_a_rolling_file_to_the_console(rendered):
    base = properties(rendered / "log4j2.properties")
    daemon = properties(rendered / "log4j2-worker.properties")
    assert "appender.file.type" not in base, "the drivers log to their console only"
    assert daemon["appender.file.type"] == "RollingFile"
    assert daemon["appender.file.fileName"] == "/var/log/spark/spark-worker.log"
    assert daemon["appender.file.filePattern"] == "/var/log/spark/spark-worker.log.%i"
    assert daemon["appender.file.policies.size.type"] == "SizeBasedTriggeringPolicy"
    assert daemon["appender.file.policies.size.size"] == "3MB"
    assert daemon["appender.file.strategy.max"] == "7"
    assert daemon["appender.file.strategy.fileIndex"] == "min"
    assert daemon["rootLogger.appenderRef.file.ref"] == "file"


def test_spark_workers_roll_their_executors_output(rendered):
    lines = (rendered / "spark-defaults.conf").read_text().splitlines()
    config = dict(line.split(" ", 1) for line in lines if line and not line.startswith("#"))
    assert config["spark.executor.logs.rolling.strategy"] == "size"
    assert config["spark.executor.logs.rolling.maxSize"] == str(3 * 1024 * 1024)
    assert config["spark.executor.logs.rolling.maxRetainedFiles"] == "7"


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("zookeeper-logback.xml", "/var/log/zookeeper/zookeeper.log"),
        ("cassandra-logback.xml", "/var/log/cassandra/system.log"),
    ],
)
def test_logback_daemons_roll_their_file_in_a_fixed_window(rendered, name, path):
    root = ET.fromstring((rendered / name).read_text())
    rolling = [
        a
        for a in root.iter("appender")
        if a.get("class") == "ch.qos.logback.core.rolling.RollingFileAppender"
    ]
    assert len(rolling) == 1, name
    appender = rolling[0]
    assert appender.findtext("file") == path
    policy = appender.find("rollingPolicy")
    assert policy.get("class") == "ch.qos.logback.core.rolling.FixedWindowRollingPolicy"
    assert policy.findtext("fileNamePattern") == f"{path}.%i"
    assert (policy.findtext("minIndex"), policy.findtext("maxIndex")) == ("1", "7")
    trigger = appender.find("triggeringPolicy")
    assert trigger.get("class") == "ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy"
    assert trigger.findtext("maxFileSize") == "3MB"
    refs = {r.get("ref") for r in root.find("root").iter("appender-ref")}
    assert appender.get("name") in refs and len(refs) == 2, "the console and the file"


def test_zookeeper_clients_log_to_their_console_only(rendered):
    """zkCli.sh run as root with the server's configuration directory must not write (or roll
    over) the server's log."""
    root = ET.fromstring((rendered / "zookeeper-client-logback.xml").read_text())
    classes = {a.get("class") for a in root.iter("appender")}
    assert classes == {"ch.qos.logback.core.ConsoleAppender"}


def test_spark_drivers_do_not_warn_of_micro_batches_outlasting_their_trigger(rendered):
    base = properties(rendered / "log4j2.properties")
    name = "org.apache.spark.sql.execution.streaming.ProcessingTimeExecutor"
    assert base["logger.trigger.name"] == name
    assert base["logger.trigger.level"] == "error"
