"""Create, boot and destroy one nspawn test host."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import rootfs

USER = "vagrant"
BOOT_TIMEOUT = 120
STOP_TIMEOUT = 60


class TestHostError(RuntimeError):
    """A test host could not be created, reached or removed."""


@dataclass
class Instance:
    """What Ansible (and Molecule's instance config) needs to reach a host."""

    instance: str
    address: str
    port: int
    user: str
    identity_file: str
    root: str
    pid: int


def cache_dir() -> Path:
    return Path(os.environ.get("LAB_CACHE", Path.home() / ".cache" / "movielens-lab"))


def state_dir(name: str) -> Path:
    return cache_dir() / "machines" / name


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise TestHostError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return result


def _prepare_root(root: Path, name: str, port: int, pubkey: str) -> None:
    (root / "etc/hostname").write_text(name + "\n")
    (root / "etc/hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {name}\n")
    mirror = rootfs.debian_mirror()
    (root / "etc/apt/sources.list").write_text(
        f"deb {mirror} {rootfs.SUITE} main\ndeb {mirror} {rootfs.SUITE}-updates main\n"
    )
    _run(["ssh-keygen", "-A", "-f", str(root)])
    (root / "etc/ssh/sshd_config.d/testhost.conf").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nPasswordAuthentication no\nUseDNS no\n"
    )
    if _run(["chroot", str(root), "getent", "passwd", USER], check=False).returncode != 0:
        _run(["chroot", str(root), "useradd", "-m", "-s", "/bin/bash", USER])
    (root / f"etc/sudoers.d/{USER}").write_text(f"{USER} ALL=(ALL) NOPASSWD: ALL\n")
    ssh_dir = root / "home" / USER / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(pubkey)
    _run(["chroot", str(root), "chown", "-R", f"{USER}:{USER}", f"/home/{USER}/.ssh"])
    _trust_host_certificates(root)
    # Units that make no sense in a container sharing the host's network.
    for unit in ("systemd-networkd.service", "systemd-resolved.service"):
        (root / "etc/systemd/system" / unit).unlink(missing_ok=True)
        (root / "etc/systemd/system" / unit).symlink_to("/dev/null")


def _certificates(bundle: Path) -> set[str]:
    text = bundle.read_text() if bundle.exists() else ""
    end = "-----END CERTIFICATE-----"
    return {part.strip() + "\n" + end + "\n" for part in text.split(end) if "BEGIN" in part}


def _trust_host_certificates(root: Path) -> None:
    """Make the host trust what this machine trusts (e.g. a site's TLS-inspecting proxy)."""
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    extra = sorted(_certificates(bundle) - _certificates(root / bundle.relative_to("/")))
    target = root / "usr/local/share/ca-certificates"
    for index, cert in enumerate(extra):
        (target / f"control-node-{index}.crt").write_text(cert)
    if extra:
        _run(["chroot", str(root), "update-ca-certificates"])
    # pip inside the host then uses the system bundle instead of its own copy.
    (root / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")


def ssh_command(inst: Instance, *remote: str) -> list[str]:
    return [
        "ssh",
        "-i",
        inst.identity_file,
        "-p",
        str(inst.port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=5",
        f"{inst.user}@{inst.address}",
        *remote,
    ]


def _wait_booted(inst: Instance, log: Path) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    state = ""
    while time.monotonic() < deadline:
        if not _alive(inst.pid):
            raise TestHostError(f"{inst.instance}: systemd-nspawn exited; see {log}")
        probe = subprocess.run(
            ssh_command(inst, "systemctl", "is-system-running", "--wait"),
            capture_output=True,
            text=True,
            timeout=BOOT_TIMEOUT,
            check=False,
        )
        state = probe.stdout.strip()
        if state in ("running", "degraded"):
            if state == "degraded":
                failed = subprocess.run(
                    ssh_command(inst, "systemctl", "--failed", "--no-legend"),
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout
                print(f"testhost: {inst.instance} booted degraded:\n{failed}", flush=True)
            return
        time.sleep(1)
    raise TestHostError(f"{inst.instance}: not booted after {BOOT_TIMEOUT}s (state {state!r})")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"


def create(name: str, port: int) -> Instance:
    """Copy the cached root file system, boot it and wait until SSH and systemd answer."""
    existing = load(name)
    if existing and _alive(existing.pid):
        return existing
    destroy(name)
    base = rootfs.ensure(cache_dir())
    state = state_dir(name)
    state.mkdir(parents=True)
    root = state / "root"
    print(f"testhost: copying root file system for {name}", flush=True)
    _run(["cp", "-a", "--reflink=auto", str(base), str(root)])
    key = state / "id_ed25519"
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)])
    _prepare_root(root, name, port, (state / "id_ed25519.pub").read_text())
    apt_cache = cache_dir() / "apt-archives"
    (apt_cache / "partial").mkdir(parents=True, exist_ok=True)
    log = state / "console.log"
    cmd = [
        "systemd-nspawn",
        "-D",
        str(root),
        "-M",
        name,
        "-b",
        "--register=no",
        "--keep-unit",
        f"--bind={apt_cache}:/var/cache/apt/archives",
    ]
    with open(log, "w") as out:
        proc = subprocess.Popen(  # noqa: S603
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    inst = Instance(name, "127.0.0.1", port, USER, str(key), str(root), proc.pid)
    (state / "instance.json").write_text(json.dumps(asdict(inst), indent=2))
    print(f"testhost: booting {name} (pid {proc.pid}, ssh port {port})", flush=True)
    try:
        _wait_booted(inst, log)
    except (TestHostError, subprocess.TimeoutExpired):
        destroy(name)
        raise
    print(f"testhost: {name} is up", flush=True)
    return inst


def load(name: str) -> Instance | None:
    path = state_dir(name) / "instance.json"
    if not path.exists():
        return None
    return Instance(**json.loads(path.read_text()))


def processes_in(root: Path) -> list[int]:
    """PIDs of every process whose root directory is inside the machine's root."""
    pids = []
    prefix = str(root.resolve())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            target = os.readlink(proc / "root")
        except OSError:
            continue
        if target == prefix or target.startswith(prefix + "/"):
            pids.append(int(proc.name))
    return pids


def mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return found


def destroy(name: str) -> bool:
    """Power the host off (forcefully if it does not stop) and delete it. True if it existed."""
    state = state_dir(name)
    if not state.exists():
        return False
    inst = load(name)
    root = state / "root"
    if inst and _alive(inst.pid):
        os.kill(inst.pid, signal.SIGTERM)  # nspawn asks the container's systemd to power off
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(inst.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
    leftovers = processes_in(root) if root.exists() else []
    if inst and _alive(inst.pid):
        leftovers.append(inst.pid)
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while root.exists() and processes_in(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    for point in reversed(mounts_under(state)):
        subprocess.run(["umount", "-l", point], check=False)
    if root.exists() and processes_in(root):
        raise TestHostError(f"{name}: processes still running in {root}")
    shutil.rmtree(state)
    return True
