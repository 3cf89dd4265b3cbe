"""No process of a stack host listens on every address: each daemon binds the address the
inventory gives it (docs/network.md), but for the few below that cannot be told.

Run on every host of the scenario: the one stack host here, and each of the three hosts of the
cluster scenario (molecule/cluster/molecule.yml adds this file to its verifier). Sockets that
`ss` shows without a process are left out: the single test host shares the network of the
machine it runs on, whose own listeners are not the host's (see tests/listening.py).
"""

from __future__ import annotations

import pytest

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
    # requests signed with the job's token.
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
