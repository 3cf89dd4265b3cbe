"""Run a command with a time limit and sample the resident memory of its process tree.

Every ``interval`` seconds the tree under the command (read from ``/proc``) is walked and
the resident sizes are summed by kind: the Java processes (Spark's JVM: in local mode the
driver and the executor are one JVM) and the Python ones (the program itself and Spark's
Python workers). The peaks of those sums are what ``run`` reports. A command that runs past
its time limit is stopped with its whole process group (it is started in a session of its
own), and every process of its tree at that moment too, so no JVM is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass
class Outcome:
    seconds: float
    returncode: int | None  # None: stopped at the time limit
    peak_mib: dict[str, float] = field(default_factory=dict)  # java, python, total

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may contain spaces: split after it
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(entry.name)] = int(fields[1])
    return out


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(children.get(pid, ()))
    return found


def kind_of(cmdline: str) -> str:
    """``java``, ``python`` or ``other``, from a process's command line (NUL-separated)."""
    program = os.path.basename(cmdline.split("\0", 1)[0])
    if program == "java":
        return "java"
    if program.startswith("python"):
        return "python"
    return "other"


def _sample(pids: set[int]) -> dict[str, float]:
    """Resident MiB of ``pids`` summed by kind."""
    sums = {"java": 0.0, "python": 0.0}
    for pid in pids:
        try:
            kind = kind_of(Path(f"/proc/{pid}/cmdline").read_text())
            resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if kind in sums:
            sums[kind] += resident * PAGE_KIB / 1024
    return sums


def run(
    argv: list[str], log_path: Path, timeout: float, env: dict | None = None, interval=0.5
) -> Outcome:
    """Run ``argv`` with its output in ``log_path``; stop it after ``timeout`` seconds."""
    started = time.monotonic()
    peak = {"java": 0.0, "python": 0.0, "total": 0.0}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        returncode = None
        while True:
            try:
                returncode = proc.wait(timeout=interval)
                break
            except subprocess.TimeoutExpired:
                pass
            tree = descendants(proc.pid, _parents())
            sums = _sample(tree)
            for kind, mib in sums.items():
                peak[kind] = max(peak[kind], mib)
            peak["total"] = max(peak["total"], sum(sums.values()))
            if time.monotonic() - started > timeout:
                stop(proc)
                break
    peak_mib = {kind: round(mib) for kind, mib in peak.items()}
    return Outcome(round(time.monotonic() - started, 1), returncode, peak_mib)


def stop(proc: subprocess.Popen) -> None:
    """Stop every process of the command's tree as it is now, and its process group."""
    for pid in descendants(proc.pid, _parents()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
