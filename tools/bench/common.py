"""What the benchmarks share: running commands on a test host, timing, writing results."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from tools.testhost import machine

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "benchmarks"


def on_host(host: str, command: str, check: bool = True) -> str:
    """Run ``command`` (bash, as root) on the test host and return its output."""
    inst = machine.load(host)
    if inst is None:
        raise SystemExit(f"bench: no test host named {host} (make up boots 'lab')")
    cmd = machine.ssh_command(inst, "sudo", "bash", "-c", _quote(command))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        output = result.stdout[-2000:] + result.stderr[-2000:]
        raise SystemExit(f"bench: on {host}: {command}\n{output}")
    return result.stdout


def _quote(command: str) -> str:
    return "'" + command.replace("'", "'\"'\"'") + "'"


def timed(argv: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    return time.monotonic() - started, result


def stack_memory_mib(host: str) -> dict[str, float]:
    """Resident memory of the stack's processes on the host, per user, in MiB: the JVMs, the
    Python programs, Prometheus, Alertmanager and the node exporter."""
    out = on_host(
        host, "ps -eo rss=,user:32=,comm= | awk '$3 ~ /^(java|python|jupyter|prometheus)/'"
    )
    per_user: dict[str, float] = {}
    for line in out.splitlines():
        rss, user, _ = line.split(None, 2)
        per_user[user] = per_user.get(user, 0.0) + int(rss) / 1024
    return {user: round(mib) for user, mib in sorted(per_user.items())}


def write(name: str, figures: dict) -> Path:
    """Write the figures with what produced them to docs/benchmarks/<name>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count() or 0,
            "memory_gib": _memory_gib(),
            "python": platform.python_version(),
        },
        **figures,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def _memory_gib() -> float:
    with open("/proc/meminfo") as f:
        total_kib = int(f.readline().split()[1])
    return round(total_kib / 1024 / 1024, 1)


def jobs_code(revision: str, into: Path) -> Path:
    """The jobs' code of ``revision`` in ``into`` (a package tree to put on PYTHONPATH)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "jobs"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into
