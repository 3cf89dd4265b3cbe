"""Which processes of a host listen on every address: `ss -ltnpeH` read into records.

    listeners = parse_ss(host.run("ss -ltnpeH").stdout)
    wildcard = [x for x in listeners if x.processes and is_wildcard(x.address)]

`ss` prints a listening socket's local address as `0.0.0.0:22` (IPv4, every address),
`*:13562` (an IPv6 socket that also takes IPv4, every address: how a JVM's wildcard shows),
`[::]:22` (IPv6, every address), `[::ffff:127.0.0.1]:9092` (a JVM's IPv4 socket), and with a
device scope as `127.0.0.53%lo:53` or `[fe80::1]%eth0:22`. With -p it names the processes
holding the socket (`users:(("java",pid=14771,fd=218))`, only those in the caller's PID
namespace); with -e the owner's uid (`uid:997`, left out for root).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Local addresses that mean every address of the host (brackets and device scope removed).
WILDCARDS = frozenset({"*", "0.0.0.0", "::", "::ffff:0.0.0.0"})
_PROCESS = re.compile(r'\("(.*?)",pid=(\d+),fd=\d+\)')
_UID = re.compile(r"\buid:(\d+)\b")


@dataclass(frozen=True)
class Process:
    name: str
    pid: int


@dataclass(frozen=True)
class Listener:
    address: str  # without brackets or device scope: "0.0.0.0", "*", "::", "10.0.0.11"
    port: int
    processes: tuple[Process, ...] = ()  # empty: a socket of a process ss cannot see
    uid: int | None = None  # None without `ss -e`
    device: str = ""  # the device a socket is bound to (`%eth0`), "" for none

    @property
    def endpoint(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}{'%' + self.device if self.device else ''}:{self.port}"


def split_address(local: str) -> tuple[str, str, int]:
    """`[fe80::1]%eth0:22` -> ("fe80::1", "eth0", 22); `0.0.0.0:22` -> ("0.0.0.0", "", 22)."""
    host, sep, port = local.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"not an address:port: {local!r}")
    if host.startswith("[") and "]" in host:
        inside, _, after = host[1:].partition("]")
        host = inside + after  # a scope may follow the address inside or after the brackets
    host, _, device = host.partition("%")
    return host, device, int(port)


def parse_ss(text: str) -> list[Listener]:
    """The listening sockets of `ss -ltnpH` (or `-ltnpeH`, which adds the owner's uid)."""
    listeners = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] != "LISTEN":
            continue
        address, device, port = split_address(fields[3])
        rest = " ".join(fields[5:])
        users = rest[rest.find("users:(") :] if "users:(" in rest else ""
        processes = tuple(
            dict.fromkeys(Process(name, int(pid)) for name, pid in _PROCESS.findall(users))
        )
        details = _PROCESS.sub("", rest)
        uid = _UID.search(details)
        if uid:
            owner: int | None = int(uid.group(1))
        else:
            # -e prints ino: for every socket and uid: only when it is not root's.
            owner = 0 if "ino:" in details else None
        listeners.append(Listener(address, port, processes, owner, device))
    return listeners


def is_wildcard(address: str) -> bool:
    return address in WILDCARDS


def users_by_uid(passwd: str) -> dict[int, str]:
    """uid -> name from `getent passwd` (or /etc/passwd) lines."""
    users = {}
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            users.setdefault(int(fields[2]), fields[0])
    return users


def unit_of(cgroup: str) -> str:
    """The systemd unit of a process from /proc/PID/cgroup (its last *.service or *.scope)."""
    for line in cgroup.splitlines():
        for part in reversed(line.rpartition(":")[2].split("/")):
            if part.endswith((".service", ".scope")):
                return part
    return ""


@dataclass(frozen=True)
class Allowed:
    """A process that may listen on every address; `why` says what forces it."""

    process: str
    why: str
    port: int | None = None  # None: any port
    user: str | None = None  # None: any user


def allowed(listener: Listener, users: Mapping[int, str], allow: Iterable[Allowed]) -> bool:
    user = users.get(listener.uid) if listener.uid is not None else None
    return any(
        entry.process == process.name
        and entry.port in (None, listener.port)
        and entry.user in (None, user)
        for entry in allow
        for process in listener.processes
    )


def offenders(
    listeners: Iterable[Listener], users: Mapping[int, str], allow: Iterable[Allowed]
) -> list[Listener]:
    """Sockets on every address whose process is not allowed to have one. Sockets without a
    process are left out: on a host that shares its network with others (the single test
    host), they belong to processes outside it."""
    allow = list(allow)
    return [
        listener
        for listener in listeners
        if listener.processes
        and is_wildcard(listener.address)
        and not allowed(listener, users, allow)
    ]


def describe(listener: Listener, users: Mapping[int, str], units: Mapping[int, str]) -> str:
    """`java (pid 14771, user yarn, hadoop-nodemanager.service) on *:13562`."""
    user = users.get(listener.uid, str(listener.uid)) if listener.uid is not None else "?"
    owners = ", ".join(
        f"{p.name} (pid {p.pid}, user {user}"
        + (f", {units[p.pid]}" if units.get(p.pid) else "")
        + ")"
        for p in listener.processes
    )
    return f"{owners} on {listener.endpoint}"
