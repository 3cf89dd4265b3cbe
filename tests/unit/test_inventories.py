"""The lab's inventories are secure by default: each names a Kerberos realm with a KDC among its
hosts (or an existing one), keeps TLS and Kafka's SASL on, and binds no daemon to every address.
Read with ansible-inventory, as the playbooks read them."""

from __future__ import annotations

import pytest

from tests import inventory

LAB_INVENTORIES = ("local", "vagrant", "cluster", "vagrant-cluster")
# The switches that turn a protection off (README: what each exposes).
OFF = {"kerberos_realm": "", "kafka_security": "plaintext", "cassandra_tls": False}
# The variables that bind a daemon to an address (docs/network.md).
BINDS = (
    "hadoop_bind_host",
    "spark_bind_host",
    "jupyter_ip",
    "movielens_web_bind_host",
    "monitoring_address",
)
WILDCARDS = ("0.0.0.0", "::", "")


@pytest.fixture(params=LAB_INVENTORIES)
def hostvars(request, monkeypatch):
    monkeypatch.setenv("LAB_INVENTORY", str(inventory.PROJECT / "inventories" / request.param))
    inventory._listing.cache_clear()
    yield {host: inventory._hostvars().get(host, {}) for host in inventory.hosts("all")}
    inventory._listing.cache_clear()


def test_every_host_is_in_a_realm_with_its_kdc(hostvars):
    kdcs = inventory.hosts("kerberos_kdc")
    assert kdcs and set(kdcs) <= set(hostvars)
    for host, variables in hostvars.items():
        assert variables.get("kerberos_realm"), host
        assert len(variables.get("kerberos_admin_password", "")) >= 8, host


def test_no_protection_is_turned_off(hostvars):
    for host, variables in hostvars.items():
        for name, off in OFF.items():
            if name in variables:
                assert variables[name] != off, (host, name)
        for name in ("jupyter_tls", "movielens_web_tls"):
            assert variables.get(name, True) is True, (host, name)


def test_no_daemon_listens_on_every_address(hostvars):
    for host, variables in hostvars.items():
        for name in BINDS:
            if name in variables:
                assert variables[name] not in WILDCARDS, (host, name, variables[name])
