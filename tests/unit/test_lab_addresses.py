"""The filters that turn inventory hosts into service addresses (playbooks/filter_plugins)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "lab_addresses", ROOT / "playbooks" / "filter_plugins" / "lab_addresses.py"
)
lab = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab)

HOSTVARS = {
    "node1": {"ansible_host": "10.0.0.11"},
    "node2": {"ansible_host": "10.0.0.12", "kafka_address": "192.168.1.12", "kafka_port": 9094},
    "node3": {},
    "node4": {"ansible_host": "10.0.0.14", "cassandra_listen_address": ""},
}


def test_ansible_host_then_the_inventory_name():
    assert lab.lab_address("node1", HOSTVARS) == "10.0.0.11"
    assert lab.lab_address("node3", HOSTVARS) == "node3"


def test_a_service_s_own_address_and_port_win():
    assert lab.lab_endpoints(["node1", "node2"], HOSTVARS, "kafka") == [
        "10.0.0.11:9092",
        "192.168.1.12:9094",
    ]
    # An empty service address (listen everywhere) is no address to reach it on.
    assert lab.lab_addresses(["node4"], HOSTVARS, "cassandra") == ["10.0.0.14"]
    assert lab.lab_endpoints("node3", HOSTVARS, "namenode") == ["node3:9000"]


def test_a_name_outside_the_inventory_is_its_own_address():
    assert lab.lab_endpoints(["localhost"], HOSTVARS, "kafka") == ["localhost:9092"]


def test_an_unknown_service_is_named():
    with pytest.raises(AnsibleFilterError, match="unknown service 'hbase'"):
        lab.lab_endpoints(["node1"], HOSTVARS, "hbase")


@pytest.mark.parametrize("service", sorted(lab.SERVICES))
def test_the_default_ports_are_the_owning_roles(service):
    spec_ = lab.SERVICES[service]
    defaults = {}
    for path in (ROOT / "roles").glob("*/defaults/main.yml"):
        defaults.update(yaml.safe_load(path.read_text()) or {})
    assert int(defaults[spec_.port_var]) == spec_.port
    if spec_.address_var:
        assert spec_.address_var in defaults


def test_every_address_the_inventory_gives_a_host():
    assert lab.lab_host_addresses("node2", HOSTVARS) == ["10.0.0.12", "192.168.1.12"]
    # a wildcard or empty service address is not an address of the host
    assert lab.lab_host_addresses("node4", HOSTVARS) == ["10.0.0.14"]
    assert lab.lab_host_addresses("node3", HOSTVARS) == []
    assert lab.lab_host_addresses("localhost", HOSTVARS) == []
    both = {"ansible_host": "10.0.0.15", "kafka_address": "10.0.0.15", "zookeeper_address": "h5"}
    assert lab.lab_host_addresses("node5", {"node5": both}) == ["10.0.0.15", "h5"]


def test_subject_alt_names_tell_addresses_from_names():
    names = ["Node1", "node1.example.org", "10.0.0.11", "::1", "[fe80::1]", "", "node1"]
    assert lab.lab_subject_alt_names(names) == [
        "DNS:node1",
        "DNS:node1.example.org",
        "IP:10.0.0.11",
        "IP:::1",
        "IP:fe80::1",
    ]
    assert lab.lab_subject_alt_names("127.0.0.1") == ["IP:127.0.0.1"]
