"""The tls role on this machine (ansible-playbook -c local), into temporary directories: the CA,
a host certificate that chains to it with the inventory's names and addresses, the keystores
Java reads, and a second run that changes nothing. (Two runs: about 14 s of CPU each.)"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import inventory, localplay

x509 = pytest.importorskip("cryptography.x509")

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "unit-test-keystore"


def playbook(tmp: Path, **extra) -> dict[str, int]:
    """Run the role on this machine; the play recap's counts."""
    inventory = {
        "all": {
            "hosts": {
                "labhost": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                    "ansible_host": "127.0.0.1",
                    "kafka_address": "127.0.0.3",
                }
            }
        }
    }
    variables = {
        "tls_ca_dir": str(tmp / "ca"),
        "tls_dir": str(tmp / "host"),
        "tls_owner": pwd.getpwuid(os.getuid()).pw_name,
        "tls_group": grp.getgrgid(os.getgid()).gr_name,
        "tls_system_trust": False,
        "tls_packages": [],
        "tls_keystore_password": PASSWORD,
        **extra,
    }
    (tmp / "vars.json").write_text(json.dumps(variables))
    play = "- hosts: all\n  gather_facts: false\n  roles: [tls]\n"
    result = localplay.run(
        tmp,
        inventory,
        play,
        "-e",
        f"@{tmp / 'vars.json'}",
        env={"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"},
    )
    recap = re.search(r"labhost\s+:\s+(.*)", result.stdout.split("PLAY RECAP")[-1])
    assert result.returncode == 0 and recap, result.stdout[-4000:] + result.stderr[-2000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap.group(1))}


def certificate(path: Path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def keytool_entries(store: Path) -> str:
    keytool = shutil.which("keytool")
    if keytool is None:
        return ""
    listing = subprocess.run(
        [keytool, "-list", "-keystore", str(store), "-storetype", "PKCS12"],
        input=PASSWORD,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return listing.stdout


@pytest.mark.skipif(shutil.which("keytool") is None, reason="the truststore needs Java's keytool")
def test_ca_host_certificate_keystores_and_a_second_run_that_changes_nothing(tmp_path):
    first = playbook(tmp_path)
    assert first["changed"] > 0 and first["failed"] == 0
    host, ca = tmp_path / "host", tmp_path / "ca"

    # The CA stays on the control node, private; the host gets its certificate, not the CA key.
    assert oct((ca / "ca.key").stat().st_mode & 0o777) == "0o600"
    assert oct(ca.stat().st_mode & 0o777) == "0o700"
    assert sorted(p.name for p in host.iterdir()) == [
        "ca.crt",
        "host.crt",
        "host.key",
        "keystore.p12",
        "truststore.p12",
    ]
    assert oct((host / "host.key").stat().st_mode & 0o777) == "0o640"
    assert oct((host / "keystore.p12").stat().st_mode & 0o777) == "0o640"
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca / "ca.crt"), str(host / "host.crt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0 and verify.stdout.strip().endswith(": OK"), verify.stderr

    cert = certificate(host / "host.crt")
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["labhost", "localhost"]
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == [
        "127.0.0.1",
        "127.0.0.3",
    ]
    ca_cert = certificate(ca / "ca.crt")
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca_cert.subject
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    # What Java sees: the key with its chain, and the CA as a trusted entry.
    assert re.search(r"^host, .*PrivateKeyEntry", keytool_entries(host / "keystore.p12"), re.M)
    assert re.search(r"^lab-ca, .*trustedCertEntry", keytool_entries(host / "truststore.p12"), re.M)

    second = playbook(tmp_path)
    assert second["changed"] == 0, second


def test_the_test_helpers_repeat_the_roles_defaults():
    """tests/inventory.py finds the CA and the page where the roles put them by default."""
    tls = yaml.safe_load((ROOT / "roles/tls/defaults/main.yml").read_text())
    web = yaml.safe_load((ROOT / "roles/movielens_web/defaults/main.yml").read_text())
    assert tls["tls_ca_dir"] == inventory.DEFAULT_CA_DIR
    assert tls["tls_ca_cert"] == "{{ tls_ca_dir }}/ca.crt"
    assert web["movielens_web_port"] == inventory.DEFAULT_PAGE_PORT
    assert web["movielens_web_tls"] is True
    # The page's defaults name the tls role's files and group.
    assert (
        web["movielens_web_tls_cert"]
        == "{{ tls_dir | default('" + tls["tls_dir"] + "') }}/host.crt"
    )
    assert (
        web["movielens_web_tls_key"] == "{{ tls_dir | default('" + tls["tls_dir"] + "') }}/host.key"
    )
    assert web["movielens_web_tls_group"] == "{{ tls_group | default('" + tls["tls_group"] + "') }}"


def test_served_names_the_missing_material_and_what_to_do(tmp_path):
    present = tmp_path / "host.crt"
    present.write_text("certificate")
    missing = tmp_path / "host.key"
    play = (
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: tls, tasks_from: served}\n"
        "      vars:\n"
        "        tls_served_by: The page\n"
        "        tls_served_switch: movielens_web_tls\n"
        f"        tls_served_files: ['{present}', '{missing}']\n"
    )
    refused = localplay.run(tmp_path, localplay.one_host([]), play)
    assert refused.returncode != 0
    assert (
        f"The page serves TLS (movielens_web_tls) but {missing} does not exist on node1"
        in " ".join(refused.stdout.split())
    ), refused.stdout[-3000:]
    assert str(present) not in refused.stdout.split("does not exist")[0].split("but")[-1]

    missing.write_text("key")
    served = localplay.run(tmp_path, localplay.one_host([]), play)
    assert served.returncode == 0, served.stdout[-3000:]
