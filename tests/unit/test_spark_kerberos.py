"""The spark role's configuration with and without Kerberos, rendered by Ansible on this machine
(ansible-playbook -c local, into a temporary directory): without a realm, spark-defaults.conf,
spark-env.sh and each daemon's environment are byte for byte what they were before the daemons'
UIs asked for tickets (fixtures/spark/), with no keytab and a health check without a ticket;
with one, the master's, the workers' and the history server's UIs load Hadoop's authentication
filter with the host's HTTP/ principal from the daemons' copy of its keytab, as Java system
properties of the daemons only (not in spark-defaults.conf, which the drivers read)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests import localplay

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "spark"
REALM = "LAB.EXAMPLE"
GROUPS = ("spark_master", "spark_worker", "spark_history", "hadoop_namenode")
DAEMONS = ("master", "worker", "history")
FILTER = "org.apache.hadoop.security.authentication.server.AuthenticationFilter"
SPARK_HTTP_KEYTAB = "/etc/security/keytabs/spark-HTTP.service.keytab"
FILES = ["spark-defaults.conf", "spark-env.sh"] + [f"{d}.environment.json" for d in DAEMONS]


def render(directory: Path, realm: str | None) -> dict:
    """spark-defaults.conf, spark-env.sh and each daemon's environment (name -> text), and the
    keytabs and each daemon's health options, for one host that runs every daemon, with
    kerberos_realm set to realm (None: not set)."""
    directory.mkdir()
    inventory = localplay.one_host(GROUPS, None if realm is None else {"kerberos_realm": realm})
    facts = (
        "{{ {'keytabs': spark_keytabs if spark_kerberos else [],"
        " 'health': spark_daemon_health_options} | to_json }}"
    )
    tasks = [
        {
            "ansible.builtin.template": {
                "src": str(ROLES / f"spark/templates/{name}.j2"),
                "dest": f"{directory}/{name}",
                "mode": "0644",
            }
        }
        for name in ("spark-defaults.conf", "spark-env.sh")
    ]
    tasks += [
        {
            "ansible.builtin.copy": {
                "content": "{{ spark_daemon_environment | to_nice_json }}\n",
                "dest": f"{directory}/{{{{ spark_daemon.name }}}}.environment.json",
                "mode": "0644",
            },
            "loop": "{{ spark_daemons }}",
            "loop_control": {"loop_var": "spark_daemon"},
        },
    ]
    roles = ("common/defaults", "spark/defaults", "spark/vars")
    vars_files = [ROLES / f"{role}/main.yml" for role in roles]
    facts = localplay.render(directory, inventory, vars_files, tasks, facts)
    return {name: (directory / name).read_text() for name in FILES} | facts


@pytest.fixture(scope="module")
def simple(tmp_path_factory) -> dict:
    return render(tmp_path_factory.mktemp("spark") / "simple", None)


@pytest.fixture(scope="module")
def kerberos(tmp_path_factory) -> dict:
    return render(tmp_path_factory.mktemp("spark") / "kerberos", REALM)


def options(rendered: dict, daemon: str) -> dict[str, str]:
    """The Java system properties of the daemon's own options (SPARK_<DAEMON>_OPTS)."""
    environment = json.loads(rendered[f"{daemon}.environment.json"])
    words = shlex.split(environment[f"SPARK_{daemon.upper()}_OPTS"])
    return dict(word.removeprefix("-D").split("=", 1) for word in words)


@pytest.mark.parametrize("name", FILES)
def test_without_a_realm_the_files_are_as_before_the_uis_asked_for_tickets(simple, name):
    assert simple[name] == (FIXTURES / name).read_text()


def test_without_a_realm_no_keytab_and_no_ticket_for_the_health_checks(simple):
    assert (simple["keytabs"], simple["health"]) == ([], [])


@pytest.mark.parametrize("daemon", DAEMONS)
def test_with_a_realm_each_daemons_ui_asks_for_a_ticket_of_the_hosts_http_principal(
    kerberos, simple, daemon
):
    properties = options(kerberos, daemon)
    param = f"spark.{FILTER}.param."
    assert properties["spark.ui.filters"] == FILTER
    assert properties[f"{param}type"] == "kerberos"
    assert properties[f"{param}kerberos.principal"] == f"HTTP/node1@{REALM}"
    assert properties[f"{param}kerberos.keytab"] == SPARK_HTTP_KEYTAB
    # The role's ACLs: every user with a ticket, unless the inventory names some.
    assert properties["spark.acls.enable"] == "true"
    assert properties["spark.admin.acls"] == "*"
    assert properties["spark.history.ui.admin.acls"] == "*"
    # Hadoop's own filter (hadoop-auth) ahead of Spark's jars; the rest as without a realm.
    environment = json.loads(kerberos[f"{daemon}.environment.json"])
    jar = "/opt/hadoop/share/hadoop/common/lib/hadoop-auth-3.4.2.jar"
    assert environment.pop("SPARK_DAEMON_CLASSPATH") == jar
    before = json.loads(simple[f"{daemon}.environment.json"])
    opts = f"SPARK_{daemon.upper()}_OPTS"
    assert environment.pop(opts).startswith(before.pop(opts) + " -D")
    assert environment == before


def test_with_a_realm_the_drivers_settings_stay_without_the_filter(kerberos, simple):
    assert FILTER not in kerberos["spark-defaults.conf"]
    assert kerberos["spark-env.sh"] == simple["spark-env.sh"]


def test_with_a_realm_the_daemons_keytab_is_a_copy_of_the_hosts_http_keytab(kerberos):
    keytabs = {entry["path"]: entry for entry in kerberos["keytabs"]}
    assert keytabs[SPARK_HTTP_KEYTAB] == {
        "path": SPARK_HTTP_KEYTAB,
        "principal": f"HTTP/node1@{REALM}",
        "source": "/etc/security/keytabs/HTTP.service.keytab",
        "owner": "spark",
        "group": "root",
        "mode": "0400",
    }
    principal = f"spark/node1@{REALM}"
    assert keytabs["/etc/security/keytabs/spark.service.keytab"]["principal"] == principal
    keytab = "/etc/security/keytabs/spark.service.keytab"
    assert kerberos["health"] == ["--keytab", keytab, "--principal", principal]
