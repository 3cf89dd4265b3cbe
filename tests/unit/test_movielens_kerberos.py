"""The movielens role's launcher and settings with and without Kerberos, rendered by Ansible on
this machine (ansible-playbook -c local, into a temporary directory): without a realm both files
are byte for byte what they were before secure mode (fixtures/movielens/); with one, the jobs'
user has a principal and a keytab readable by it only, the launcher gets a ticket from the
keytab before its HDFS commands and hands the keytab to spark-submit, and the jobs run on YARN
(Spark's standalone mode takes no keytab and hands out no delegation tokens)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from tests import localplay

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "movielens"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "movielens"
REALM = "LAB.EXAMPLE"
GROUPS = ("spark_master", "kafka", "cassandra", "movielens", "hadoop_namenode")
FILES = {"movielens.env": "movielens.env.j2", "movielens-job": "movielens-job.j2"}


def render(directory: Path, realm: str | None) -> dict:
    """The role's settings file and launcher (name -> text) and its keytabs for one host that
    runs everything, with kerberos_realm set to realm (None: not set)."""
    directory.mkdir()
    inventory = localplay.one_host(GROUPS, None if realm is None else {"kerberos_realm": realm})
    tasks = [
        {
            "ansible.builtin.template": {
                "src": str(ROLE / "templates" / template),
                "dest": f"{directory}/{name}",
                "mode": "0644",
            }
        }
        for name, template in FILES.items()
    ]
    facts = "{{ {'keytabs': movielens_keytabs if movielens_kerberos else []} | to_json }}"
    vars_files = [ROLE / "defaults/main.yml", ROLE / "vars/main.yml"]
    rendered = localplay.render(directory, inventory, vars_files, tasks, facts)
    for name in FILES:
        rendered[name] = (directory / name).read_text()
    return rendered


@pytest.fixture(scope="module")
def simple(tmp_path_factory) -> dict:
    return render(tmp_path_factory.mktemp("movielens") / "simple", None)


@pytest.fixture(scope="module")
def kerberos(tmp_path_factory) -> dict:
    return render(tmp_path_factory.mktemp("movielens") / "kerberos", REALM)


@pytest.mark.parametrize("name", sorted(FILES))
def test_without_a_realm_the_files_are_as_before_secure_mode(simple, name):
    assert simple[name] == (FIXTURES / name).read_text()


def test_without_a_realm_no_keytab(simple):
    assert simple["keytabs"] == []


def settings(rendered: dict) -> dict[str, str]:
    """movielens.env as the launcher reads it (bash's set -a; . movielens.env)."""
    values = {}
    for line in rendered["movielens.env"].splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = shlex.split(value)[0] if value else ""
    return values


def test_with_a_realm_the_jobs_user_has_its_own_principal_and_keytab(kerberos):
    principal = f"movielens/node1@{REALM}"
    assert kerberos["keytabs"] == [
        {
            "path": "/etc/security/keytabs/movielens.keytab",
            "principal": principal,
            "owner": "movielens",
            "group": "root",
            "mode": "0400",
        }
    ]
    env = settings(kerberos)
    assert env["MOVIELENS_PRINCIPAL"] == principal
    assert env["MOVIELENS_KEYTAB"] == "/etc/security/keytabs/movielens.keytab"
    # The hdfs command's Kerberos code on Java 17.
    assert "sun.security.krb5=ALL-UNNAMED" in env["HADOOP_OPTS"]


def test_with_a_realm_the_jobs_run_on_yarn_the_stream_with_one_executor(kerberos, simple):
    env = settings(kerberos)
    assert env["MOVIELENS_SPARK_MASTER"] == "yarn"
    assert settings(simple)["MOVIELENS_SPARK_MASTER"] == "spark://10.0.0.11:7077"
    assert "--num-executors 1" in env["MOVIELENS_STREAM_SUBMIT_OPTS"]
    assert "--num-executors" not in settings(simple)["MOVIELENS_STREAM_SUBMIT_OPTS"]


def test_with_a_realm_spark_submit_gets_the_keytab_and_hdfs_a_ticket_first(kerberos):
    launcher = kerberos["movielens-job"]
    submits = [line for line in launcher.splitlines() if "bin/spark-submit" in line]
    assert len(submits) == 2
    for line in submits:
        assert '"${kerberos[@]}"' in line, line
    assert 'kerberos=(--principal "$MOVIELENS_PRINCIPAL" --keytab "$MOVIELENS_KEYTAB")' in launcher
    logged = launcher[launcher.index("logged() {") :]
    assert logged.index("  ticket ") < logged.index('"$HADOOP_HOME/bin/hdfs" dfs -put')
    assert 'kinit -kt "$MOVIELENS_KEYTAB" "$MOVIELENS_PRINCIPAL"' in launcher


@pytest.mark.parametrize("rendering", ["simple", "kerberos"])
def test_the_launcher_is_valid_bash(rendering, request, tmp_path):
    script = tmp_path / "movielens-job"
    script.write_text(request.getfixturevalue(rendering)["movielens-job"])
    checked = subprocess.run(
        ["bash", "-n", str(script)], check=False, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
