"""Reading `ss -ltnpeH`: addresses in all their forms, processes, owners, and which sockets on
every address the listeners test reports."""

from __future__ import annotations

import pytest

from tests.listening import (
    Allowed,
    Listener,
    Process,
    describe,
    is_wildcard,
    offenders,
    parse_ss,
    split_address,
    unit_of,
    users_by_uid,
)

# The shapes `ss -ltnpeH` prints on a stack host (written for this test; ss pads the columns).
SS = "\n".join(
    [
        'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=310,fd=3)) ino:1710 sk:1 <->',
        'LISTEN 0 128 [::]:22 [::]:* users:(("sshd",pid=310,fd=4)) ino:1712 sk:2 v6only:1 <->',
        'LISTEN 0      128                *:13562            *:* users:(("java",pid=1477,fd=218))'
        " uid:997 ino:82385 sk:1a4 cgroup:/system.slice/hadoop-nodemanager.service v6only:0 <->",
        'LISTEN 0 256 [::ffff:10.0.0.11]:9000 *:* users:(("java",pid=1295,fd=200)) uid:999'
        " ino:82282 sk:1a6 v6only:0 <->",
        'LISTEN 0 50 *:38657 *:* users:(("java",pid=1818,fd=7)) uid:994 ino:82566 sk:1a5'
        " cgroup:/system.slice/kafka.service v6only:0 <->",
        'LISTEN 0 4096 127.0.0.1:7199 0.0.0.0:* users:(("java",pid=1939,fd=108)) uid:993'
        " ino:82601 sk:19c <->",
        "LISTEN 0 128 0.0.0.0:2024 0.0.0.0:* ino:651 sk:39 cgroup:/ <->",
        'LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=220,fd=15))'
        " uid:101 ino:1400 sk:3 <->",
        "LISTEN 0 128 [fe80::1]%eth0:8888 [::]:*"
        ' users:(("jupyter-lab",pid=2256,fd=6),("jupyter-lab",pid=2257,fd=6))'
        " uid:992 ino:83168 sk:103f <->",
    ]
)

PASSWD = """\
root:x:0:0:root:/root:/bin/bash
systemd-resolve:x:101:101::/run/systemd:/usr/sbin/nologin
jupyter:x:992:1000:JupyterLab:/var/lib/jupyter:/usr/sbin/nologin
cassandra:x:993:1000::/var/lib/cassandra:/usr/sbin/nologin
kafka:x:994:1000:Kafka:/var/lib/kafka:/usr/sbin/nologin
yarn:x:997:1000:YARN:/var/lib/yarn:/usr/sbin/nologin
hdfs:x:999:1000:HDFS:/var/lib/hdfs:/usr/sbin/nologin
"""

ALLOW = (
    Allowed("sshd", why="the way in"),
    Allowed("java", user="yarn", port=13562, why="ShuffleHandler"),
)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("0.0.0.0:22", ("0.0.0.0", "", 22)),
        ("*:13562", ("*", "", 13562)),
        ("[::]:22", ("::", "", 22)),
        ("[::ffff:127.0.0.1]:9092", ("::ffff:127.0.0.1", "", 9092)),
        ("127.0.0.53%lo:53", ("127.0.0.53", "lo", 53)),
        ("[fe80::1]%eth0:8888", ("fe80::1", "eth0", 8888)),
        ("[fe80::1%eth0]:8888", ("fe80::1", "eth0", 8888)),
    ],
)
def test_split_address(local, expected):
    assert split_address(local) == expected


def test_split_address_refuses_what_is_not_one():
    with pytest.raises(ValueError, match="address:port"):
        split_address("0.0.0.0:*")


def test_parse_ss_reads_every_listening_socket():
    listeners = parse_ss(SS)
    assert [(x.address, x.port) for x in listeners] == [
        ("0.0.0.0", 22),
        ("::", 22),
        ("*", 13562),
        ("::ffff:10.0.0.11", 9000),
        ("*", 38657),
        ("127.0.0.1", 7199),
        ("0.0.0.0", 2024),
        ("127.0.0.53", 53),
        ("fe80::1", 8888),
    ]


def test_parse_ss_reads_processes_and_owners():
    by_port = {x.port: x for x in parse_ss(SS)}
    assert by_port[13562].processes == (Process("java", 1477),)
    assert by_port[13562].uid == 997
    # -e leaves the uid out for root.
    assert by_port[22].uid == 0
    # A socket of a process outside the caller's PID namespace: no process.
    assert by_port[2024].processes == ()
    assert by_port[8888].processes == (Process("jupyter-lab", 2256), Process("jupyter-lab", 2257))
    assert by_port[8888].device == "eth0"
    assert by_port[53].device == "lo"


def test_parse_ss_without_the_extended_fields_knows_no_owner():
    line = 'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=310,fd=3))\n'
    (listener,) = parse_ss(line)
    assert listener.uid is None
    assert listener.processes == (Process("sshd", 310),)


def test_parse_ss_skips_headers_and_blank_lines():
    text = "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n\n"
    assert parse_ss(text) == []


@pytest.mark.parametrize(
    ("address", "wildcard"),
    [
        ("0.0.0.0", True),
        ("*", True),
        ("::", True),
        ("::ffff:0.0.0.0", True),
        ("127.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("10.0.0.11", False),
        ("::1", False),
    ],
)
def test_is_wildcard(address, wildcard):
    assert is_wildcard(address) is wildcard


def test_users_by_uid():
    users = users_by_uid(PASSWD)
    assert users[0] == "root"
    assert users[997] == "yarn"
    assert 1000 not in users


def test_unit_of_a_process():
    assert unit_of("0::/system.slice/kafka.service\n") == "kafka.service"
    nested = "0::/payload/system.slice/hadoop-nodemanager.service\n"
    assert unit_of(nested) == "hadoop-nodemanager.service"
    assert unit_of("0::/user.slice/user-0.slice/session-3.scope\n") == "session-3.scope"
    assert unit_of("0::/\n") == ""


def test_offenders_are_the_unlisted_processes_on_every_address():
    users = users_by_uid(PASSWD)
    found = offenders(parse_ss(SS), users, ALLOW)
    # sshd (both families) and the ShuffleHandler are allowed, loopback and own addresses are
    # fine, and the socket without a process is not this host's.
    assert [(x.port, x.processes) for x in found] == [(38657, (Process("java", 1818),))]


def test_an_allowed_process_on_another_port_or_user_is_an_offender():
    users = users_by_uid(PASSWD)
    by_yarn = Listener("*", 8042, (Process("java", 1477),), 997)
    by_hdfs = Listener("*", 13562, (Process("java", 1295),), 999)
    assert offenders([by_yarn, by_hdfs], users, ALLOW) == [by_yarn, by_hdfs]


def test_describe_names_the_process_its_user_unit_and_port():
    users = users_by_uid(PASSWD)
    kafka = next(x for x in parse_ss(SS) if x.port == 38657)
    text = describe(kafka, users, {1818: "kafka.service"})
    assert text == "java (pid 1818, user kafka, kafka.service) on *:38657"
    ipv6 = Listener("::", 22, (Process("sshd", 310),), 0)
    assert describe(ipv6, users, {}) == "sshd (pid 310, user root) on [::]:22"
