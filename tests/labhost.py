"""What the Molecule verifiers share: a daemon's health, waiting for it, restarting or killing it.

The tests reach the services at the addresses of the scenario's inventory (tests/inventory.py):
loopback for the single hosts, which share the control node's network, the hosts' own
addresses for the cluster.
"""

import os
import time
from collections.abc import Callable

import pytest

# Longest a daemon may take to serve again after a restart or a crash (a Kafka broker killed
# with SIGKILL waits for its old ZooKeeper session to expire; Cassandra replays its commit log).
RECOVERY_SECONDS = 300
# How the recovery tests interrupt a daemon: SIGKILL (systemd must bring it back) and, in a
# role's own scenario, systemctl restart too. The whole stack (`make test`) faces the crash
# only: a clean restart is the easier case, and the stack's daemons are many.
INTERRUPTIONS = (
    ("sigkill",) if os.environ.get("MOLECULE_SCENARIO_NAME") == "stack" else ("restart", "sigkill")
)


def eventually(check: Callable[[], object], what: str, timeout: float = RECOVERY_SECONDS):
    """Call check until it returns a true value without raising; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
            last = result
        except Exception as exc:  # noqa: BLE001 - a daemon coming back raises all sorts
            last = exc
        time.sleep(2)
    pytest.fail(f"{what}: not within {timeout:.0f}s (last: {last!r})")


def healthy(host, kind: str, address: str) -> bool:
    """The daemon's lab-health check, run on the host: what the roles' waits and the status
    page call healthy."""
    return host.run(f"/usr/local/bin/lab-health {kind} {address}").rc == 0


def main_pid(host, unit: str) -> str:
    return host.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()


def restarts(host, unit: str) -> int:
    return int(host.run(f"systemctl show -p NRestarts --value {unit}").stdout.strip() or 0)


def interrupt(host, unit: str, how: str, healthy: Callable[[], object]) -> None:
    """Restart the unit (how="restart") or kill its JVM with SIGKILL (how="sigkill"), then wait
    until it runs under a new process and healthy() is true. After SIGKILL it must be systemd
    that brought it back (the unit's restart counter went up)."""
    before_pid = main_pid(host, unit)
    before_restarts = restarts(host, unit)
    with host.sudo():
        if how == "restart":
            assert host.run(f"systemctl restart {unit}").rc == 0
        else:
            assert how == "sigkill", how
            assert host.run(f"kill -KILL {before_pid}").rc == 0
    eventually(lambda: main_pid(host, unit) not in ("0", before_pid), f"{unit} running again")
    if how == "sigkill":
        assert restarts(host, unit) == before_restarts + 1, "systemd did not restart the JVM"
    eventually(healthy, f"{unit} healthy again")
