"""Where the services of the tested hosts are: read from the Ansible inventory, the one place
that says it (Molecule's inventory of the scenario, else $LAB_INVENTORY, else the local test
host's inventories/local)."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
LOCAL_INVENTORY = PROJECT / "inventories" / "local"
# The defaults of the roles that these helpers repeat (a unit test keeps them equal).
DEFAULT_CA_DIR = "~/.cache/movielens-lab/tls"  # tls_ca_dir
DEFAULT_PAGE_PORT = 8050  # movielens_web_port
DEFAULT_KAFKA_SECURITY = "sasl_ssl"  # kafka_security
DEFAULT_KAFKA_MODE = "zookeeper"  # kafka_mode
# The Kafka logins: their names and the variable that holds each password, with its throwaway
# default for the lab (kafka_admin_password, movielens_kafka_password,
# movielens_web_kafka_password).
KAFKA_LOGINS = {
    "admin": ("kafka_admin_password", "lab-throwaway-kafka-admin-password"),
    "movielens": ("movielens_kafka_password", "lab-throwaway-kafka-movielens-password"),
    "movielens_web": ("movielens_web_kafka_password", "lab-throwaway-kafka-web-password"),
}
# The Cassandra logins: their names (the superuser's is the role's default
# cassandra_superuser_name) and the variable that holds each password, with the value the
# project's inventories give it.
CASSANDRA_LOGINS = {
    "admin": ("cassandra_superuser_password", "lab-cassandra-secret"),
    "movielens": ("movielens_cassandra_password", "lab-movielens-secret"),
    "movielens_web": ("movielens_web_cassandra_password", "lab-web-secret"),
}
# The client configuration of the Kafka tools on a broker (the admin's login).
KAFKA_ADMIN_CONFIG = "/etc/kafka/admin.properties"
DEFAULT_ZOOKEEPER_SASL = True  # zookeeper_sasl
# The brokers' login to ZooKeeper (kafka_zookeeper_user), the variable that holds its password
# with its throwaway default for the lab, and the JAAS file on a broker that carries it
# (kafka_zookeeper_jaas_file).
ZOOKEEPER_KAFKA_LOGIN = (
    "kafka",
    "kafka_zookeeper_password",
    "lab-throwaway-zookeeper-kafka-password",
)
ZOOKEEPER_CLIENT_JAAS = "/etc/kafka/zookeeper-client.jaas"
# ZooKeeper's own client on a ZooKeeper host, and Kafka's on a broker.
ZKCLI = "/opt/zookeeper/bin/zkCli.sh"
ZOOKEEPER_SHELL = "/opt/kafka/bin/zookeeper-shell.sh"


def source() -> str:
    """The inventory: Molecule's directory (generated hosts plus linked files), or a path."""
    molecule = os.environ.get("MOLECULE_INVENTORY_FILE")
    if molecule:
        return str(Path(molecule).parent)
    path = Path(os.environ.get("LAB_INVENTORY", LOCAL_INVENTORY))
    return str(path if path.is_absolute() or path.exists() else PROJECT / path)


def select(path: Path) -> None:
    """Read the inventory at `path` from now on (as LAB_INVENTORY would have it)."""
    os.environ["LAB_INVENTORY"] = str(path)
    _listing.cache_clear()


def tool(name: str) -> str:
    """An Ansible command of the control node's environment (beside this Python first)."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed on the control node"
    return found


@functools.cache
def _listing() -> dict:
    result = subprocess.run(
        [tool("ansible-inventory"), "-i", source(), "--list"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def hosts(group: str) -> list[str]:
    """Hosts of a group, children included, in inventory order."""
    listing = _listing()
    found: list[str] = []
    pending = [group]
    while pending:
        entry = listing.get(pending.pop(0), {})
        found += [h for h in entry.get("hosts", []) if h not in found]
        pending += entry.get("children", [])
    return found


@functools.cache
def _filters():
    """The playbooks' address filters: the tests find the services where the roles put them."""
    path = PROJECT / "playbooks" / "filter_plugins" / "lab_addresses.py"
    spec = importlib.util.spec_from_file_location("lab_addresses", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hostvars() -> dict:
    return _listing().get("_meta", {}).get("hostvars", {})


def hostvar(host: str, name: str, default=None):
    """A variable of the host as the inventory sets it (group_vars included, not templated)."""
    return _hostvars().get(host, {}).get(name, default)


def address(host: str) -> str:
    return _filters().lab_address(host, _hostvars())


def addresses(group: str, service: str | None = None) -> list[str]:
    return _filters().lab_addresses(hosts(group), _hostvars(), service)


def first(group: str) -> str:
    """Address of the group's first host (where a single service of the group runs)."""
    return addresses(group)[0]


def endpoint(group: str, service: str) -> str:
    """address:port of the service on the group's first host (see lab_endpoints)."""
    return _filters().lab_endpoints(hosts(group)[:1], _hostvars(), service)[0]


def jmx_exporter(group: str, daemon: str) -> set[str]:
    """address:port of the JMX exporter agent in the daemon's JVM on the group's first host (the
    monitoring role's jmx_<daemon> service), when the inventory has a monitoring host; else none."""
    return {endpoint(group, f"jmx_{daemon}")} if hosts("monitoring") else set()


def kafka_bootstrap() -> str:
    return ",".join(_filters().lab_endpoints(hosts("kafka"), _hostvars(), "kafka"))


def kafka_security() -> str:
    """sasl_ssl or plaintext, as the inventory sets kafka_security for the brokers."""
    return str(_var(hosts("kafka")[0], "kafka_security", DEFAULT_KAFKA_SECURITY))


def kafka_mode() -> str:
    return str(_var(hosts("kafka")[0], "kafka_mode", DEFAULT_KAFKA_MODE))


def kafka_health_kind() -> str:
    """The lab-health kind of the brokers (TLS unless the inventory turned security off)."""
    return "kafka" if kafka_security() == "sasl_ssl" else "kafka-plaintext"


def kafka_password(user: str) -> str:
    """The password of one of the lab's Kafka logins, as the inventory sets it."""
    variable, default = KAFKA_LOGINS[user]
    return str(_var(hosts("kafka")[0], variable, default))


def kafka_client(user: str = "admin", password: str | None = None) -> dict:
    """kafka-python's settings to reach the brokers from the control node as `user`: SASL
    SCRAM-SHA-512 over TLS, the brokers' certificates checked against the control node's copy
    of the lab's CA (with kafka_security: plaintext, none)."""
    if kafka_security() != "sasl_ssl":
        return {"security_protocol": "PLAINTEXT"}
    return {
        "security_protocol": "SASL_SSL",
        "ssl_cafile": ca_cert(),
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
        "sasl_plain_password": kafka_password(user) if password is None else password,
    }


def zookeeper_sasl() -> bool:
    """Whether the inventory's ZooKeeper requires SASL logins (zookeeper_sasl; none: False)."""
    servers = hosts("zookeeper")
    return bool(servers) and _flag(_var(servers[0], "zookeeper_sasl", DEFAULT_ZOOKEEPER_SASL))


def zookeeper_connect() -> str:
    """The brokers' ZooKeeper connection string: every server at its client address and port."""
    return ",".join(_filters().lab_endpoints(hosts("zookeeper"), _hostvars(), "zookeeper"))


def zookeeper_client(jaas: str | None = "") -> str:
    """A command that runs Kafka's ZooKeeper client on a broker against the inventory's
    ensemble (append a zkCli command): logged in with the brokers' JAAS file when ZooKeeper
    wants SASL, with the JAAS file `jaas` if given, without a login when `jaas` is None."""
    if jaas == "":
        jaas = ZOOKEEPER_CLIENT_JAAS if zookeeper_sasl() else None
    login = f"-Djava.security.auth.login.config={jaas}" if jaas else ""
    return (
        f"env KAFKA_OPTS={login} KAFKA_JMX_OPTS=-Dcom.sun.management.jmxremote.local.only=true "
        f"timeout 120 {ZOOKEEPER_SHELL} {zookeeper_connect()}"
    )


def testinfra_host(name: str):
    """A testinfra host of the inventory, to run commands on a host other than the test's."""
    import testinfra  # noqa: PLC0415 (only the verifiers have it)

    return testinfra.get_host(f"ansible://{name}", ansible_inventory=source())


def _var(host: str, name: str, default):
    """A variable the inventory sets for the host (as written there), else the default."""
    value = _hostvars().get(host, {}).get(name, default)
    assert "{{" not in str(value), f"{name} of {host} is a template ({value}): not for the tests"
    return value


def ca_cert() -> str:
    """The CA certificate on the control node that signed the hosts' certificates (the tls
    role's tls_ca_cert, else ca.crt in its tls_ca_dir)."""
    host = hosts("all")[0]
    path = _var(host, "tls_ca_cert", None)
    if path is None:
        path = f"{_var(host, 'tls_ca_dir', DEFAULT_CA_DIR)}/ca.crt"
    return os.path.expanduser(str(path))


def tls_context() -> ssl.SSLContext:
    """A client context that trusts the lab's CA only (and checks host names)."""
    return ssl.create_default_context(cafile=ca_cert())


def _flag(value) -> bool:
    return str(value).strip().lower() not in ("false", "no", "0", "off")


def cassandra_tls() -> bool:
    """Whether the inventory's Cassandra speaks TLS (cassandra_tls, the role's default true)."""
    host = (hosts("cassandra") or hosts("all"))[0]
    return _flag(_var(host, "cassandra_tls", True))


def cassandra_ssl_context() -> ssl.SSLContext | None:
    """cassandra-driver's ssl_context for the inventory's Cassandra: the lab's CA only, each
    node's certificate checked for the address connected to; None when it is plaintext."""
    return tls_context() if cassandra_tls() else None


def cassandra_password(user: str) -> str:
    """The password of one of the lab's Cassandra logins, as the inventory sets it."""
    variable, default = CASSANDRA_LOGINS[user]
    return str(_var((hosts("cassandra") or hosts("all"))[0], variable, default))


def page_url(path: str = "") -> str:
    """The recommendations page as a browser reaches it: https unless the inventory turned TLS
    off (movielens_web_tls: false)."""
    host = hosts("movielens_web")[0]
    tls = _flag(_var(host, "movielens_web_tls", True))
    port = _var(host, "movielens_web_port", DEFAULT_PAGE_PORT)
    return f"{'https' if tls else 'http'}://{address(host)}:{port}{path}"
