"""No process of a stack host listens on every address: each daemon binds the address the
inventory gives it (docs/network.md), but for the few below that cannot be told.

Run on every host of the scenario: the one stack host here, and each of the three hosts of the
cluster scenario (molecule/cluster/molecule.yml adds this file to its verifier). Sockets that
`ss` shows without a process are left out: the single test host shares the network of the
machine it runs on, whose own listeners are not the host's (see tests/listening.py).
"""

from __future__ import annotations

import socket

import pytest

from tests import inventory
from tests.listening import Allowed, describe, offenders, parse_ss, unit_of, users_by_uid

testinfra_hosts = ["all"]

# What may listen on every address, and why.
ALLOWED = (
    # SSH is how Ansible and these tests reach a host. sshd listens where the host's own
    # sshd_config says (every address on a stock Debian server); this project leaves it alone.
    Allowed("sshd", why="the way in; the host's own configuration"),
    # MapReduce's ShuffleHandler, an auxiliary service inside the NodeManager (yarn user) on
    # mapreduce.shuffle.port: Hadoop 3.4.2, as 3.3.6, binds it to new InetSocketAddress(port),
    # every address, and has no property for its address. It serves map output only to
    # requests signed with the job's token, and the hadoop role's firewall lets only the
    # NodeManagers' hosts reach it (test_the_shuffle_port_answers_the_nodemanagers_only).
    Allowed("java", user="yarn", port=13562, why="Hadoop's ShuffleHandler has no bind address"),
)


def test_no_process_listens_on_every_address(host):
    with host.sudo():
        listening = host.run("ss -ltnpeH")
        passwd = host.run("getent passwd")
    assert listening.rc == 0, listening.stderr
    listeners = parse_ss(listening.stdout)
    assert any(x.processes for x in listeners), "ss names no process: not run as root?"
    users = users_by_uid(passwd.stdout)
    found = offenders(listeners, users, ALLOWED)
    if found:
        pids = {p.pid for x in found for p in x.processes}
        units = {pid: unit_of(host.run(f"cat /proc/{pid}/cgroup").stdout) for pid in pids}
        lines = [describe(x, users, units) for x in found]
        name = host.run("hostname").stdout.strip()
        pytest.fail(
            f"{len(found)} socket(s) on every address of {name}, not in this test's allow-list:"
            "\n  " + "\n  ".join(lines),
            pytrace=False,
        )


SHUFFLE_PORT = 13562


def reaches(host, address: str, port: int) -> bool:
    """Whether a TCP connection from the host to address:port is accepted (within 5 s)."""
    probe = f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/{port}'"
    return host.run(probe).rc == 0


def test_the_shuffle_port_answers_the_nodemanagers_only(host):
    name = host.backend.get_hostname()
    if name not in inventory.hosts("hadoop_nodemanager"):
        pytest.skip("no NodeManager on this host")
    if str(inventory.hostvar(name, "hadoop_shuffle_firewall", True)).lower() == "false":
        pytest.skip("hadoop_shuffle_firewall is off")
    address = inventory.address(name)
    with host.sudo():
        table = host.run("nft list table inet hadoop_shuffle")
    assert table.rc == 0 and f"tcp dport {SHUFFLE_PORT}" in table.stdout, table.stderr
    # Refused: this machine (the control node), whose address is no NodeManager's.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, SHUFFLE_PORT), timeout=5).close()
    # Served: every NodeManager's host, this one included.
    for other in inventory.hosts("hadoop_nodemanager"):
        assert reaches(inventory.testinfra_host(other), address, SHUFFLE_PORT), (other, address)
