"""The monitoring role's Prometheus and Alertmanager configuration and alerting rules, rendered
by Ansible for a three-host inventory on this machine (ansible-playbook -c local, into a
temporary directory): scrape targets from the inventory's groups at the filter plugin's
addresses, promtool and amtool accepting every file (tools/bootstrap takes them out of
Debian's `prometheus` and `prometheus-alertmanager` into build/tools; PROMTOOL and AMTOOL name
others; without them those tests are skipped), and every
metric an alert needs produced by one of the exporters' rules or by the stream."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import localplay

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "monitoring"
HOSTS = {"node1": "10.0.0.11", "node2": "10.0.0.12", "node3": "10.0.0.13"}


def tool(name: str) -> str | None:
    """promtool or amtool: PROMTOOL/AMTOOL, else tools/bootstrap's copy, else the PATH's."""
    bootstrapped = ROOT / "build" / "tools" / name
    return (
        os.environ.get(name.upper())
        or (str(bootstrapped) if bootstrapped.exists() else None)
        or shutil.which(name)
    )


def render(tmp: Path, extra: dict | None = None) -> Path:
    """The role's templates rendered for inventories/cluster's layout (a monitoring host), with
    extra variables for every host."""
    nodes = {name: {"ansible_host": address} for name, address in HOSTS.items()}
    nodes["node1"].update(ansible_connection="local", ansible_python_interpreter=sys.executable)
    inventory = {
        "all": {
            "children": {
                "nodes": {"hosts": nodes},
                "masters": {"hosts": {"node1": {}}},
                **{g: {"children": {"nodes": {}}} for g in ("kafka", "cassandra")},
                **{
                    g: {"children": {"masters": {}}}
                    for g in ("hadoop_namenode", "hadoop_resourcemanager", "spark_master")
                },
                **{
                    g: {"children": {"masters": {}}}
                    for g in ("spark_history", "movielens", "movielens_web", "monitoring")
                },
                **{
                    g: {"children": {"nodes": {}}}
                    for g in ("hadoop_datanode", "hadoop_nodemanager", "spark_worker")
                },
                "zookeeper": {"hosts": {}},
            }
        }
    }
    (tmp / "ca.crt").write_text("")
    variables = {
        "monitoring_rules_dir": str(tmp / "rules"),
        "monitoring_ca_file": str(tmp / "ca.crt"),
        **(extra or {}),
    }
    play = [
        {
            "hosts": "node1",
            "gather_facts": False,
            "vars_files": [str(ROLE / "defaults/main.yml"), str(ROLE / "vars/main.yml")],
            "tasks": [
                {"ansible.builtin.file": {"path": str(tmp / "rules"), "state": "directory"}},
                {
                    "ansible.builtin.template": {
                        "src": str(ROLE / "templates/rules/{{ item }}.yml.j2"),
                        "dest": str(tmp / "rules/{{ item }}.yml"),
                        "mode": "0644",
                    },
                    "loop": "{{ monitoring_rule_files }}",
                },
                *[
                    {
                        "ansible.builtin.template": {
                            "src": str(ROLE / f"templates/{name}.j2"),
                            "dest": str(tmp / name),
                            "mode": "0644",
                        }
                    }
                    for name in ("prometheus.yml", "alertmanager.yml")
                ],
            ],
        }
    ]
    (tmp / "vars.json").write_text(json.dumps(variables))
    result = localplay.run(tmp, inventory, yaml.safe_dump(play), "-e", f"@{tmp / 'vars.json'}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return tmp


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("monitoring"))


def test_targets_come_from_the_inventory_groups(rendered):
    config = yaml.safe_load((rendered / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert "zookeeper" not in jobs  # an empty group: no job
    node = jobs["node"]["static_configs"]
    assert [(c["targets"], c["labels"]["host"]) for c in node] == [
        ([f"{address}:9100"], name) for name, address in HOSTS.items()
    ]
    assert [c["targets"] for c in jobs["kafka"]["static_configs"]] == [
        [f"{address}:9509"] for address in HOSTS.values()
    ]
    assert jobs["hadoop-namenode"]["static_configs"] == [
        {"targets": ["10.0.0.11:9501"], "labels": {"host": "node1"}}
    ]
    assert jobs["spark-master-metrics"]["metrics_path"] == "/metrics/master/prometheus/"
    assert jobs["movielens-stream"]["static_configs"][0]["targets"] == ["10.0.0.11:9511"]
    page = jobs["movielens-web"]
    assert page["scheme"] == "https" and page["static_configs"][0]["targets"] == ["10.0.0.11:8050"]
    alerting = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alerting == ["10.0.0.11:9095"]


def test_in_secure_mode_no_job_scrapes_the_spark_uis_which_ask_for_tickets(tmp_path):
    config = render(tmp_path, {"kerberos_realm": "LAB.EXAMPLE"}) / "prometheus.yml"
    jobs = {job["job_name"] for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    spark_uis = {"spark-master-metrics", "spark-applications", "spark-worker-metrics"}
    assert not jobs & spark_uis
    assert {"spark-master", "spark-worker", "spark-history", "hadoop-namenode"} <= jobs


def test_alertmanager_sends_everything_to_the_alert_log(rendered):
    config = yaml.safe_load((rendered / "alertmanager.yml").read_text())
    assert config["route"]["receiver"] == "alert-log"
    (receiver,) = config["receivers"]
    assert receiver["webhook_configs"] == [
        {"url": "http://127.0.0.1:9096/alerts", "send_resolved": True}
    ]


def needed(name: str) -> str:
    """The tool's path; without it the test is skipped, or fails in CI (CI=true), whose
    tools/bootstrap provides it."""
    found = tool(name)
    if not found:
        message = f"{name} is not installed (tools/bootstrap puts it into build/tools)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_promtool_accepts_the_rules_and_the_configuration(rendered):
    promtool = needed("promtool")
    rules = sorted((rendered / "rules").glob("*.yml"))
    assert len(rules) == 7
    checked = subprocess.run(
        [promtool, "check", "rules", *map(str, rules)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = subprocess.run(
        [promtool, "check", "config", str(rendered / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert config.returncode == 0, config.stdout + config.stderr


def test_amtool_accepts_the_alertmanager_configuration(rendered):
    checked = subprocess.run(
        [needed("amtool"), "check-config", str(rendered / "alertmanager.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset"}


def metrics_of(expr: str) -> set[str]:
    """The metric names an expression reads (not its functions, labels or keywords)."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    words = re.findall(r"\b([a-z_][a-z0-9_]*)\b(?!\s*\()", bare)
    return {w for w in words if w not in PROMQL_WORDS}


def produced() -> set[str]:
    """Metric names the JMX exporter rules and the stream's driver produce."""
    names = set()
    for path in (ROLE / "files" / "jmx").glob("*.yml"):
        for rule in yaml.safe_load(path.read_text())["rules"]:
            names.add(rule["name"])
    source = (ROOT / "jobs" / "reco" / "stream_metrics.py").read_text()
    names |= set(re.findall(r"\"(movielens_stream_[a-z_]+)\"", source))
    return names


def test_alerts_say_what_and_how_long_in_plain_lines(rendered):
    for path in (rendered / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
                for text in rule["annotations"].values():
                    assert "  " not in text and "{%" not in text, (rule["alert"], text)
                assert (
                    "{{ $labels" in rule["annotations"]["summary"]
                    or "{{ $value" in (rule["annotations"]["summary"])
                ), rule["alert"]
    down = yaml.safe_load((rendered / "rules" / "targets.yml").read_text())["groups"][0]
    assert down["rules"][0]["for"] == "2m"
    assert " for 2m: " in down["rules"][0]["annotations"]["description"]


def test_every_metric_an_alert_needs_is_produced(rendered):
    known = produced()
    for path in (rendered / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                used = metrics_of(rule["expr"])
                assert used, rule["alert"]
                # up: Prometheus' own; node_*: the node exporter's.
                missing = {m for m in used if m != "up" and not m.startswith("node_")} - known
                assert not missing, f"{rule['alert']} reads {missing}, which nothing exports"
