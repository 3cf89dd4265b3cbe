"""The clients of Hadoop's secure mode beside the jobs, rendered by Ansible on this machine
(ansible-playbook -c local, into a temporary directory): the page's settings (movielens_web)
and JupyterLab's kernel spec (jupyter). Without a realm both are byte for byte what they were
before (fixtures/clients/) and no keytab is made; with one, the page reads WebHDFS and the
Hadoop daemons on their HTTPS ports with a keytab of its own, and the kernel's Spark sessions
run on YARN and log in with the jupyter user's keytab. The backup's HDFS commands get a ticket
of the jobs' keytab, and none without a realm."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests import localplay

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "clients"
REALM = "LAB.EXAMPLE"
GROUPS = (
    "hadoop_namenode",
    "hadoop_resourcemanager",
    "spark_master",
    "kafka",
    "cassandra",
    "movielens",
    "movielens_web",
    "jupyter",
)


def role_vars(role: str) -> list[str]:
    return [str(ROOT / "roles" / role / part) for part in ("defaults/main.yml", "vars/main.yml")]


def render(directory: Path, realm: str | None) -> dict:
    """The page's settings.json, the kernel's kernel.json (name -> text) and the keytabs of
    both roles (keytabs -> role -> list) for one host that runs everything, with
    kerberos_realm set to realm (None: not set)."""
    directory.mkdir()
    inventory = localplay.one_host(GROUPS, None if realm is None else {"kerberos_realm": realm})
    web_keytabs = "{{ (movielens_web_keytabs if movielens_web_kerberos else []) | to_json }}"
    jupyter_keytabs = "{{ (jupyter_keytabs if jupyter_kerberos else []) | to_json }}"
    plays = [
        {
            "hosts": "node1",
            "gather_facts": False,
            "vars_files": role_vars("movielens_web"),
            "tasks": [
                {
                    "ansible.builtin.copy": {
                        "content": "{{ movielens_web_settings_file | to_nice_json }}\n",
                        "dest": f"{directory}/settings.json",
                        "mode": "0644",
                    }
                },
                {
                    "ansible.builtin.copy": {
                        "content": web_keytabs,
                        "dest": f"{directory}/web-keytabs.json",
                        "mode": "0644",
                    }
                },
            ],
        },
        {
            "hosts": "node1",
            "gather_facts": False,
            "vars_files": role_vars("jupyter"),
            "vars": {"jupyter_py4j": {"files": [{"path": "/opt/spark/python/lib/py4j.zip"}]}},
            "tasks": [
                {
                    "ansible.builtin.template": {
                        "src": str(ROOT / "roles/jupyter/templates/kernel.json.j2"),
                        "dest": f"{directory}/kernel.json",
                        "mode": "0644",
                    }
                },
                {
                    "ansible.builtin.copy": {
                        "content": jupyter_keytabs,
                        "dest": f"{directory}/jupyter-keytabs.json",
                        "mode": "0644",
                    }
                },
            ],
        },
    ]
    result = localplay.run(directory, inventory, json.dumps(plays))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {
        "settings.json": (directory / "settings.json").read_text(),
        "kernel.json": (directory / "kernel.json").read_text(),
        "keytabs": {
            "movielens_web": json.loads((directory / "web-keytabs.json").read_text()),
            "jupyter": json.loads((directory / "jupyter-keytabs.json").read_text()),
        },
    }


@pytest.fixture(scope="module")
def simple(tmp_path_factory) -> dict:
    return render(tmp_path_factory.mktemp("clients") / "simple", None)


@pytest.fixture(scope="module")
def kerberos(tmp_path_factory) -> dict:
    return render(tmp_path_factory.mktemp("clients") / "kerberos", REALM)


@pytest.mark.parametrize("name", ["settings.json", "kernel.json"])
def test_without_a_realm_the_files_are_as_before_secure_mode(simple, name):
    assert simple[name] == (FIXTURES / name).read_text()


def test_without_a_realm_no_keytab(simple):
    assert simple["keytabs"] == {"movielens_web": [], "jupyter": []}


def test_with_a_realm_the_page_reads_hadoop_on_https_with_a_keytab_of_its_own(kerberos):
    settings = json.loads(kerberos["settings.json"])
    principal = f"movielens-web/node1@{REALM}"
    keytab = "/etc/security/keytabs/movielens-web.keytab"
    assert settings["kerberos"] == {"principal": principal, "keytab": keytab}
    assert kerberos["keytabs"]["movielens_web"] == [
        {
            "path": keytab,
            "principal": principal,
            "owner": "movielens-web",
            "group": "root",
            "mode": "0400",
        }
    ]
    assert settings["webhdfs"] == "https://10.0.0.11:9871"
    services = {s["name"]: s for s in settings["services"]}
    assert services["HDFS NameNode"]["address"] == "10.0.0.11:9871"
    assert services["HDFS NameNode"]["link"] == "https://10.0.0.11:9871"
    assert services["YARN ResourceManager"]["address"] == "10.0.0.11:8090"
    assert services["YARN ResourceManager"]["link"] == "https://10.0.0.11:8090"
    # Everything else as without a realm.
    simple = json.loads((FIXTURES / "settings.json").read_text())
    for name in ("HDFS NameNode", "YARN ResourceManager"):
        simple["services"] = [s for s in simple["services"] if s["name"] != name]
        settings["services"] = [s for s in settings["services"] if s["name"] != name]
    for key in ("kerberos", "webhdfs"):
        settings.pop(key)
        simple.pop(key, None)
    assert settings == simple


def test_with_a_realm_the_kernel_runs_spark_on_yarn_with_the_jupyter_keytab(kerberos, simple):
    env = json.loads(kerberos["kernel.json"])["env"]
    principal = f"jupyter/node1@{REALM}"
    keytab = "/etc/security/keytabs/jupyter.keytab"
    assert kerberos["keytabs"]["jupyter"] == [
        {
            "path": keytab,
            "principal": principal,
            "owner": "jupyter",
            "group": "root",
            "mode": "0400",
        }
    ]
    assert env["SPARK_MASTER"] == "yarn"
    assert shlex.split(env["PYSPARK_SUBMIT_ARGS"]) == [
        "--principal",
        principal,
        "--keytab",
        keytab,
        "pyspark-shell",
    ]
    before = json.loads(simple["kernel.json"])["env"]
    assert before["SPARK_MASTER"] == "spark://10.0.0.11:7077"
    assert "PYSPARK_SUBMIT_ARGS" not in before
    assert {k: v for k, v in env.items() if k not in ("SPARK_MASTER", "PYSPARK_SUBMIT_ARGS")} == {
        k: v for k, v in before.items() if k != "SPARK_MASTER"
    }


def backup_ticket(tmp_path: Path, env_file: str) -> str:
    """The backup's ticket snippet rendered for a settings file, as bash would run it."""
    directory = tmp_path / "backup"
    directory.mkdir()
    play = [
        {
            "hosts": "node1",
            "gather_facts": False,
            "vars_files": [str(ROOT / "roles/backup/vars/main.yml")],
            "vars": {"backup_movielens_env": env_file},
            "tasks": [
                {
                    "ansible.builtin.copy": {
                        "content": "{{ backup_hdfs_ticket }}\n",
                        "dest": f"{directory}/ticket.sh",
                        "mode": "0644",
                    }
                }
            ],
        }
    ]
    inventory = {
        "all": {
            "hosts": {
                "node1": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                }
            }
        }
    }
    result = localplay.run(directory, inventory, json.dumps(play))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return (directory / "ticket.sh").read_text()


@pytest.mark.parametrize("secure", [False, True])
def test_the_backup_gets_a_ticket_of_the_jobs_keytab_in_secure_mode_only(tmp_path, secure):
    settings = tmp_path / "movielens.env"
    lines = ["MOVIELENS_MODELS=hdfs:///models"]
    if secure:
        lines += [
            "MOVIELENS_PRINCIPAL='movielens/node1@LAB.EXAMPLE'",
            "MOVIELENS_KEYTAB=/k/m.keytab",
        ]
    settings.write_text("\n".join(lines) + "\n")
    snippet = backup_ticket(tmp_path, str(settings))
    # kinit and kdestroy as commands that print what they were asked.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("kinit", "kdestroy"):
        (bin_dir / name).write_text(f'#!/bin/sh\necho "{name} $* $KRB5CCNAME"\n')
        (bin_dir / name).chmod(0o755)
    script = f"set -euo pipefail\n{snippet}\necho done\n"
    run = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    if not secure:
        assert lines == ["done"]
        return
    kinit, done, kdestroy = lines
    assert kinit.startswith("kinit -kt /k/m.keytab movielens/node1@LAB.EXAMPLE FILE:/")
    assert done == "done"
    assert kdestroy.startswith("kdestroy -q FILE:/")
