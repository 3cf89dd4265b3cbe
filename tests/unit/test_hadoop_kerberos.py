"""The hadoop role's configuration with and without Kerberos, rendered by Ansible on this machine
(ansible-playbook -c local, into a temporary directory): without a realm nothing of secure mode
appears; with one, Kerberos everywhere, each daemon's principal and keytab, HTTPS for HDFS and
the rules that map the daemons' principals to their users."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests import localplay

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "hadoop"
REALM = "LAB.EXAMPLE"
GROUPS = ("hadoop_namenode", "hadoop_datanode", "hadoop_resourcemanager", "hadoop_nodemanager")
SITE_FILES = "{{ hadoop_site_files | dict2items(key_name='name', value_name='properties') }}"
# Each daemon's principal's service, its user, and where its site file names its principal and
# keytab.
DAEMONS = [
    ("nn", "hdfs", "hdfs-site", "dfs.namenode.kerberos.principal", "dfs.namenode.keytab.file"),
    ("dn", "hdfs", "hdfs-site", "dfs.datanode.kerberos.principal", "dfs.datanode.keytab.file"),
    ("rm", "yarn", "yarn-site", "yarn.resourcemanager.principal", "yarn.resourcemanager.keytab"),
    ("nm", "yarn", "yarn-site", "yarn.nodemanager.principal", "yarn.nodemanager.keytab"),
]


def render(directory: Path, realm: str | None) -> dict:
    """The role's site files (name -> properties), keytabs and environment for one host that
    runs every daemon, with kerberos_realm set to realm (None: not set)."""
    directory.mkdir()
    inventory = localplay.one_host(GROUPS, None if realm is None else {"kerberos_realm": realm})
    play = [
        {
            "hosts": "node1",
            "gather_facts": False,
            "vars_files": [str(ROLE / "defaults/main.yml"), str(ROLE / "vars/main.yml")],
            "tasks": [
                {
                    "ansible.builtin.template": {
                        "src": str(ROLE / "templates/site.xml.j2"),
                        "dest": f"{directory}/{{{{ item.name }}}}.xml",
                        "mode": "0644",
                    },
                    "loop": SITE_FILES,
                },
                {
                    "ansible.builtin.copy": {
                        "content": "{{ {'keytabs': hadoop_keytabs if hadoop_kerberos else [],"
                        " 'environment': hadoop_environment} | to_json }}",
                        "dest": f"{directory}/facts.json",
                        "mode": "0644",
                    }
                },
            ],
        }
    ]
    result = localplay.run(directory, inventory, json.dumps(play))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rendered = json.loads((directory / "facts.json").read_text())
    for path in directory.glob("*.xml"):
        tree = ET.parse(path).getroot()
        rendered[path.stem] = {p.findtext("name"): p.findtext("value") for p in tree}
    return rendered


@pytest.fixture(scope="module")
def simple(tmp_path_factory) -> dict:
    return render(tmp_path_factory.mktemp("hadoop") / "simple", None)


@pytest.fixture(scope="module")
def kerberos(tmp_path_factory) -> dict:
    return render(tmp_path_factory.mktemp("hadoop") / "kerberos", REALM)


def test_without_a_realm_nothing_of_secure_mode(simple):
    properties = {**simple["core-site"], **simple["hdfs-site"], **simple["yarn-site"]}
    secure = [name for name in properties if re.search(r"security|kerberos|keytab|principal", name)]
    assert secure == []
    assert "dfs.http.policy" not in properties and "dfs.data.transfer.protection" not in properties
    # YARN's web servers stay on HTTP.
    assert [name for name in simple["yarn-site"] if re.search(r"http\.policy|https", name)] == []
    assert simple["hdfs-site"]["dfs.datanode.hostname"] == "10.0.0.11"
    assert "HADOOP_OPTS" not in simple["environment"]
    assert simple["keytabs"] == []


def test_kerberos_authenticates_and_authorizes_everything(kerberos):
    core = kerberos["core-site"]
    assert core["hadoop.security.authentication"] == "kerberos"
    assert core["hadoop.security.authorization"] == "true"
    assert core["hadoop.http.authentication.type"] == "kerberos"
    assert core["hadoop.http.authentication.simple.anonymous.allowed"] == "false"
    hdfs = kerberos["hdfs-site"]
    assert hdfs["dfs.block.access.token.enable"] == "true"
    assert hdfs["dfs.http.policy"] == "HTTPS_ONLY"
    assert hdfs["dfs.data.transfer.protection"] == "authentication"
    # By the NameNode's name, for which clients ask HTTP/<name> (hdfs fsck); its admin servlets
    # are HDFS's superuser's.
    assert hdfs["dfs.namenode.https-address"] == "node1:9871"
    assert hdfs["dfs.cluster.administrators"] == "hdfs"
    # The DataNode logs in as dn/<its name>, the name the NameNode expects for dn/_HOST.
    assert hdfs["dfs.datanode.hostname"] == "node1"
    # YARN's web servers too: HTTPS only, with the same keystores (ssl-server.xml).
    yarn = kerberos["yarn-site"]
    assert yarn["yarn.http.policy"] == "HTTPS_ONLY"
    assert yarn["yarn.resourcemanager.webapp.https.address"] == "10.0.0.11:8090"
    assert yarn["yarn.nodemanager.webapp.https.address"] == "10.0.0.11:8044"
    # The rest of the configuration is as without Kerberos.
    assert kerberos["mapred-site"] and kerberos["capacity-scheduler"]
    assert (
        "--add-opens=java.security.jgss/sun.security.krb5" in kerberos["environment"]["HADOOP_OPTS"]
    )


def test_each_daemon_logs_in_with_its_own_keytab(kerberos):
    keytabs = {entry["principal"]: entry for entry in kerberos["keytabs"]}
    for service, user, site, principal, keytab in DAEMONS:
        assert kerberos[site][principal] == f"{service}/_HOST@{REALM}"
        entry = keytabs[f"{service}/node1@{REALM}"]
        assert entry["path"] == kerberos[site][keytab]
        assert (entry["owner"], entry["mode"]) == (user, "0400")
    spnego = keytabs[f"HTTP/node1@{REALM}"]
    assert (spnego["owner"], spnego["group"], spnego["mode"]) == ("root", "hadoop", "0440")
    web = [
        kerberos["core-site"]["hadoop.http.authentication.kerberos.keytab"],
        kerberos["hdfs-site"]["dfs.web.authentication.kerberos.keytab"],
        kerberos["yarn-site"]["yarn.resourcemanager.webapp.spnego-keytab-file"],
        kerberos["yarn-site"]["yarn.nodemanager.webapp.spnego-keytab-file"],
    ]
    assert set(web) == {spnego["path"]}


def test_auth_to_local_maps_the_daemons_to_their_users(kerberos):
    rules = kerberos["core-site"]["hadoop.security.auth_to_local"].split()
    realm = re.escape(REALM)
    assert rules[:2] == [
        rf"RULE:[2:$1@$0]([nd]n@{realm})s/.*/hdfs/",
        rf"RULE:[2:$1@$0]([rn]m@{realm})s/.*/yarn/",
    ]
    assert rules[-1] == "DEFAULT"
