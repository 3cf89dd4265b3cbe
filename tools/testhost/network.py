"""Test hosts with addresses of their own: a network namespace per host on one bridge.

Each host gets a namespace `lab-NAME`, a veth pair whose outer end is a port of the bridge
`labbr0` and whose inner end is the host's `eth0` with an address of LAB_NET (a private /24
that this tool owns; the bridge has .1). Hosts reach each other and the bridge address, and
nothing else: there is no default route. The proxy of proxy.py runs on the bridge address
while any host is attached, for apt and pip, and forwards the mirror's port there.
Everything is removed with the last host (and on a failed attach).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BRIDGE = "labbr0"
PROXY_PORT = 3128


class NetworkError(RuntimeError):
    """The namespaces, links or the proxy could not be set up or removed."""


def subnet() -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(os.environ.get("LAB_NET", "10.77.0.0/24"))


def gateway() -> str:
    """The bridge's address: the control node as the hosts see it."""
    return str(next(subnet().hosts()))


def proxy_url() -> str:
    return f"http://{gateway()}:{PROXY_PORT}"


def namespace(name: str) -> str:
    return f"lab-{name}"


def _veth(address: str) -> str:
    return f"labv{ipaddress.IPv4Address(address).packed[-1]}"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def _link_exists(name: str) -> bool:
    return _ip("link", "show", name, check=False).returncode == 0


def check_address(address: str) -> None:
    addr = ipaddress.IPv4Address(address)
    if addr not in subnet() or str(addr) == gateway() or addr == subnet().broadcast_address:
        raise NetworkError(
            f"{address} is not a host address of {subnet()} (the bridge has {gateway()})"
        )


def _ensure_bridge(state: Path, forwards: dict[int, tuple[str, int]]) -> None:
    if not _link_exists(BRIDGE):
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{gateway()}/{subnet().prefixlen}", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
    _ensure_proxy(state, forwards)


def _proxy_pid(state: Path) -> int | None:
    try:
        pid = int((state / "proxy.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _ensure_proxy(state: Path, forwards: dict[int, tuple[str, int]]) -> None:
    if _proxy_pid(state):
        return
    state.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "tools.testhost.proxy", "--bind", gateway()]
    args += ["--port", str(PROXY_PORT)]
    for local, (host, port) in forwards.items():
        args += ["--forward", f"{local}={host}:{port}"]
    with open(state / "proxy.log", "a") as out:
        proc = subprocess.Popen(  # noqa: S603
            args,
            cwd=Path(__file__).resolve().parents[2],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (state / "proxy.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["bash", "-c", f"exec 3<>/dev/tcp/{gateway()}/{PROXY_PORT}"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise NetworkError(
        f"the proxy did not start on {gateway()}:{PROXY_PORT}; see {state}/proxy.log"
    )


def attach(name: str, address: str, state: Path, forwards: dict[int, tuple[str, int]]) -> str:
    """Create the host's namespace with `address` on its eth0; return the namespace's path."""
    check_address(address)
    _ensure_bridge(state, forwards)
    ns, veth = namespace(name), _veth(address)
    detach(name, address, state, keep_bridge=True)
    try:
        _ip("netns", "add", ns)
        _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _ip("link", "set", veth, "master", BRIDGE)
        _ip("link", "set", veth, "up")
        _ip("-n", ns, "addr", "add", f"{address}/{subnet().prefixlen}", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
    except NetworkError:
        detach(name, address, state)
        raise
    return f"/run/netns/{ns}"


def detach(name: str, address: str, state: Path, keep_bridge: bool = False) -> None:
    """Remove the host's namespace and link; the bridge and the proxy go with the last host."""
    ns, veth = namespace(name), _veth(address)
    if _link_exists(veth):
        _ip("link", "del", veth, check=False)
    if Path(f"/run/netns/{ns}").exists():
        _ip("netns", "del", ns, check=False)
    if keep_bridge or attached():
        return
    pid = _proxy_pid(state)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    (state / "proxy.pid").unlink(missing_ok=True)
    if _link_exists(BRIDGE):
        _ip("link", "del", BRIDGE, check=False)


def attached() -> list[str]:
    """Namespaces of test hosts that exist now."""
    found = _ip("netns", "list", check=False).stdout.split("\n")
    return [line.split()[0] for line in found if line.startswith("lab-")]
