"""The hadoop role's firewall table for MapReduce's ShuffleHandler, rendered by Ansible on this
machine (ansible-playbook -c local): the NodeManagers' addresses, IPv4 and IPv6, accepted on the
shuffle port, loopback too, everyone else reset; the port is the one mapred-site.xml names."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests import localplay

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "hadoop"
ADDRESSES = {"node1": "10.0.0.11", "node2": "10.0.0.12", "node3": "fd00::13"}


def render(directory: Path, **variables) -> tuple[str, dict]:
    """The table node1 gets, and the mapred-site.xml properties the role sets."""
    hosts = {
        name: {
            "ansible_host": address,
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
        }
        for name, address in ADDRESSES.items()
    }
    hosts["node1"]["kafka_address"] = "10.1.0.11"  # a second address of a NodeManager's host
    inventory = {
        "all": {
            "hosts": hosts,
            "children": {"hadoop_nodemanager": {"hosts": {name: {} for name in ADDRESSES}}},
        }
    }
    template = {
        "src": str(ROLE / "templates/shuffle-firewall.nft.j2"),
        "dest": f"{directory}/shuffle.nft",
        "mode": "0644",
    }
    mapred = localplay.render(
        directory,
        inventory,
        [ROLE / "defaults/main.yml", ROLE / "vars/main.yml"],
        [{"ansible.builtin.template": template}],
        "{{ hadoop_default_mapred_site | to_json }}",
        "-e",
        json.dumps(variables),
    )
    return (directory / "shuffle.nft").read_text(), mapred


def rules(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("tcp dport")]


def test_only_the_nodemanagers_and_loopback_reach_the_shuffle_port(tmp_path):
    text, mapred = render(tmp_path)
    assert str(mapred["mapreduce.shuffle.port"]) == "13562"
    assert rules(text) == [
        'tcp dport 13562 iifname "lo" accept',
        "tcp dport 13562 ip saddr { 10.0.0.11, 10.1.0.11, 10.0.0.12 } accept",
        "tcp dport 13562 ip6 saddr { fd00::13 } accept",
        "tcp dport 13562 reject with tcp reset",
    ]
    # The table is replaced whole: declared (so that it exists), deleted, then written.
    lines = [
        line for line in text.splitlines() if line.startswith("table") or line.startswith("delete")
    ]
    assert lines == [
        "table inet hadoop_shuffle",
        "delete table inet hadoop_shuffle",
        "table inet hadoop_shuffle {",
    ]


def test_another_port_and_clients_of_the_inventory(tmp_path):
    text, mapred = render(tmp_path, hadoop_shuffle_port=14000, hadoop_shuffle_clients=["10.9.0.1"])
    assert str(mapred["mapreduce.shuffle.port"]) == "14000"
    assert rules(text) == [
        'tcp dport 14000 iifname "lo" accept',
        "tcp dport 14000 ip saddr { 10.9.0.1 } accept",
        "tcp dport 14000 reject with tcp reset",
    ]
