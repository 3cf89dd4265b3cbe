"""What ZooKeeper refuses and what it lets Kafka's login do, side by side (zookeeper_sasl, the
default): a client must log in with SASL (DIGEST-MD5) before ZooKeeper does anything for it,
and Kafka's znodes carry ACLs (the brokers' login may change them, everyone else may read them).

Run with Kafka's own ZooKeeper client on a broker (zookeeper-shell.sh) against the inventory's
ensemble, in the kafka and stack scenarios; skipped where the inventory has no ZooKeeper (the
cluster's KRaft) or turns its SASL off:

- without a login a client is refused creating a znode under Kafka's paths (and anywhere
  else), and the znode does not appear; a wrong password is refused too;
- beside those, the brokers' login creates and deletes a scratch znode, reads the ACL of
  /brokers/ids (its login with every right, everyone else read only) and of the SCRAM
  credentials (its login only);
- the four-letter words still answer without a login (lab-health's check), the passwords are
  in files of the services' users only and on no command line.

That Kafka itself still works (topics, produce, consume, restarts of ZooKeeper) is in
test_kafka.py and test_kafka_security.py.
"""

from __future__ import annotations

import uuid

import pytest

from tests import inventory

pytestmark = pytest.mark.skipif(
    not inventory.zookeeper_sasl(), reason="no ZooKeeper, or its SASL is off (zookeeper_sasl)"
)

# Kafka's znodes that a client without a login tries to write under.
KAFKA_PATHS = ("/brokers", "/config", "/admin")
LOGIN, PASSWORD_VARIABLE, PASSWORD_DEFAULT = inventory.ZOOKEEPER_KAFKA_LOGIN


@pytest.fixture(scope="module")
def broker():
    """The first broker: Kafka's ZooKeeper client and the brokers' JAAS file are there."""
    return inventory.testinfra_host(inventory.hosts("kafka")[0])


def zk(broker, command: str, jaas: str | None = ""):
    """Kafka's ZooKeeper client on the broker: logged in as the brokers (default), with another
    JAAS file, or without a login (jaas=None). Its stdout and stderr together."""
    result = broker.run(f"{inventory.zookeeper_client(jaas)} {command}")
    return result.stdout + result.stderr


def exists(broker, path: str) -> bool:
    return "Node does not exist" not in zk(broker, f"stat {path}")


@pytest.mark.parametrize("parent", [*KAFKA_PATHS, ""])
def test_a_client_without_a_login_may_not_create_a_znode(broker, parent):
    name = f"{parent}/lab-anonymous-{uuid.uuid4().hex[:10]}"
    refused = zk(broker, f"create {name} anonymous", jaas=None)
    assert "Session closed because client failed to authenticate" in refused, refused[-2000:]
    assert f"Created {name}" not in refused
    # Beside it, the brokers' login sees that nothing was created.
    assert not exists(broker, name)


def test_a_client_without_a_login_may_not_read_either(broker):
    refused = zk(broker, "get /brokers/ids/1", jaas=None)
    assert "Session closed because client failed to authenticate" in refused, refused[-2000:]
    assert "PLAINTEXT://" not in refused and "SASL_SSL://" not in refused


def test_a_wrong_password_is_refused(broker):
    wrong = f"/tmp/zookeeper-wrong-{uuid.uuid4().hex[:8]}.jaas"
    broker.run(
        f"umask 077; printf '%s\\n' 'Client {{' "
        "'  org.apache.zookeeper.server.auth.DigestLoginModule required' "
        f"'  username=\"{LOGIN}\" password=\"not-the-password\";' '}};' > {wrong}"
    )
    try:
        name = f"/lab-wrong-{uuid.uuid4().hex[:10]}"
        refused = zk(broker, f"create {name} wrong", jaas=wrong)
        assert "AuthFailed" in refused or "failed to authenticate" in refused, refused[-2000:]
        assert f"Created {name}" not in refused
    finally:
        broker.run(f"rm -f {wrong}")
    assert not exists(broker, name)


def test_the_brokers_login_creates_and_deletes_a_scratch_znode(broker):
    name = f"/lab-login-{uuid.uuid4().hex[:10]}"
    data = f"allowed-{uuid.uuid4().hex}"
    assert f"Created {name}" in zk(broker, f"create {name} {data}")
    assert data in zk(broker, f"get {name}").splitlines()
    zk(broker, f"delete {name}")
    assert not exists(broker, name)


def acl(broker, path: str) -> list[tuple[str, str]]:
    """The ACL of a znode as (id, permissions) pairs, read with the brokers' login."""
    lines = zk(broker, f"getAcl {path}").splitlines()
    return [
        (line, lines[i + 1].removeprefix(": "))
        for i, line in enumerate(lines[:-1])
        if line.startswith("'") and lines[i + 1].startswith(": ")
    ]


def test_kafkas_znodes_belong_to_the_brokers_login_and_everyone_reads(broker):
    expected = [(f"'sasl,'{LOGIN}", "cdrwa"), ("'world,'anyone", "r")]
    for path in ("/brokers/ids", "/brokers/topics", "/config/topics", "/admin"):
        assert sorted(acl(broker, path)) == expected, path


def test_the_scram_credentials_are_for_the_brokers_login_only(broker):
    if inventory.kafka_security() != "sasl_ssl":
        pytest.skip("kafka_security is plaintext: no SCRAM credentials")
    assert acl(broker, "/config/users/admin") == [(f"'sasl,'{LOGIN}", "cdrwa")]


def test_the_four_letter_words_answer_without_a_login(broker):
    for address in inventory.zookeeper_connect().split(","):
        assert broker.run(f"lab-health zookeeper {address}").rc == 0


def test_the_jaas_files_are_for_their_service_only(broker):
    client = broker.file(inventory.ZOOKEEPER_CLIENT_JAAS)
    assert (client.user, client.group, client.mode) == ("kafka", "kafka", 0o440)
    password = inventory.hostvar(inventory.hosts("kafka")[0], PASSWORD_VARIABLE, PASSWORD_DEFAULT)
    assert f'password="{password}"' in client.content_string
    assert broker.run(f"sudo -u zookeeper cat {inventory.ZOOKEEPER_CLIENT_JAAS}").rc != 0
    kafka = broker.run("ps -o args= -u kafka").stdout
    assert f"-Djava.security.auth.login.config={inventory.ZOOKEEPER_CLIENT_JAAS}" in kafka
    assert password not in kafka
    for name in inventory.hosts("zookeeper"):
        server = inventory.testinfra_host(name)
        jaas = server.file("/etc/zookeeper/jaas.conf")
        assert (jaas.user, jaas.group, jaas.mode) == ("zookeeper", "root", 0o400)
        assert server.run("sudo -u kafka cat /etc/zookeeper/jaas.conf").rc != 0
        config = server.file("/etc/zookeeper/zoo.cfg").content_string.splitlines()
        assert "enforce.auth.enabled=true" in config
        assert "enforce.auth.schemes=sasl" in config
        # The daemon names its JAAS file; no password is on a command line.
        command = server.run("ps -o args= -C java").stdout
        assert "-Djava.security.auth.login.config=/etc/zookeeper/jaas.conf" in command
        assert password not in command
