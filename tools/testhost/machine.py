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

from . import network, rootfs

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
    # The host's own address in a network namespace ("" for a host on this machine's network).
    network_address: str = ""


def cache_dir() -> Path:
    return Path(os.environ.get("LAB_CACHE", Path.home() / ".cache" / "movielens-lab"))


def state_dir(name: str) -> Path:
    return cache_dir() / "machines" / name


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise TestHostError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return result


def _prepare_root(root: Path, name: str, port: int, pubkey: str, address: str) -> None:
    (root / "etc/hostname").write_text(name + "\n")
    own = address or "127.0.1.1"
    (root / "etc/hosts").write_text(f"127.0.0.1 localhost\n{own} {name}\n")
    mirror = rootfs.debian_mirror()
    (root / "etc/apt/sources.list").write_text(
        f"deb {mirror} {rootfs.SUITE} main\ndeb {mirror} {rootfs.SUITE}-updates main\n"
    )
    _run(["ssh-keygen", "-A", "-f", str(root)])
    (root / "etc/ssh/sshd_config.d/testhost.conf").write_text(
        f"Port {port}\nListenAddress {address or '127.0.0.1'}\n"
        "PasswordAuthentication no\nUseDNS no\n"
    )
    if _run(["chroot", str(root), "getent", "passwd", USER], check=False).returncode != 0:
        _run(["chroot", str(root), "useradd", "-m", "-s", "/bin/bash", USER])
    (root / f"etc/sudoers.d/{USER}").write_text(f"{USER} ALL=(ALL) NOPASSWD: ALL\n")
    ssh_dir = root / "home" / USER / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(pubkey)
    _run(["chroot", str(root), "chown", "-R", f"{USER}:{USER}", f"/home/{USER}/.ssh"])
    _trust_host_certificates(root)
    if address:
        _use_proxy(root)
    # Units that make no sense in a container sharing the host's network, and apt's daily
    # timers, which would hold apt's lock while a playbook installs packages.
    for unit in (
        "systemd-networkd.service",
        "systemd-resolved.service",
        "apt-daily.timer",
        "apt-daily-upgrade.timer",
    ):
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


def _use_proxy(root: Path) -> None:
    """Apt and pip of a host in its own namespace go out through the bridge's proxy."""
    url = network.proxy_url()
    (root / "etc/apt/apt.conf.d/90testhost-proxy").write_text(
        f'Acquire::http::Proxy "{url}";\nAcquire::https::Proxy "{url}";\n'
    )
    with open(root / "etc/pip.conf", "a") as conf:
        conf.write(f"proxy = {url}\n")


def _forwards() -> dict[int, tuple[str, int]]:
    """Control-node services the hosts reach on the bridge address: the mirror."""
    port = int(os.environ.get("LAB_MIRROR_PORT", "8790"))
    return {port: ("127.0.0.1", port)}


def network_state() -> Path:
    return cache_dir() / "network"


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
    if pid <= 0:
        return False
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


def create(name: str, port: int, address: str = "") -> Instance:
    """Copy the cached root file system, boot it and wait until SSH and systemd answer.

    With an address, the host gets a network namespace of its own with that address (SSH on
    port 22 there); without, it shares this machine's network (SSH on `port` of loopback).
    """
    existing = load(name)
    if existing and _alive(existing.pid):
        return existing
    destroy(name)
    if address:
        network.check_address(address)
        port = 22
    base = rootfs.ensure(cache_dir())
    state = state_dir(name)
    state.mkdir(parents=True)
    root = state / "root"
    print(f"testhost: copying root file system for {name}", flush=True)
    _run(["cp", "-a", "--reflink=auto", str(base), str(root)])
    key = state / "id_ed25519"
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)])
    _prepare_root(root, name, port, (state / "id_ed25519.pub").read_text(), address)
    inst = Instance(name, address or "127.0.0.1", port, USER, str(key), str(root), 0, address)
    (state / "instance.json").write_text(json.dumps(asdict(inst), indent=2))
    try:
        if address:
            network.attach(name, address, network_state(), _forwards())
        return boot(inst)
    except (TestHostError, network.NetworkError, subprocess.TimeoutExpired):
        destroy(name)
        raise


def boot(inst: Instance) -> Instance:
    """Start the host's systemd-nspawn (again, after a power-off) and wait for its boot."""
    name, state = inst.instance, state_dir(inst.instance)
    # Downloaded packages are kept for the next host. Hosts that run at the same time (the
    # namespaced ones of a cluster) each have their own: apt locks the directory.
    apt_cache = cache_dir() / "apt-archives"
    if inst.network_address:
        apt_cache = apt_cache / "hosts" / name
    (apt_cache / "partial").mkdir(parents=True, exist_ok=True)
    log = state / "console.log"
    cmd = [
        "systemd-nspawn",
        "-D",
        inst.root,
        "-M",
        name,
        "-b",
        "--register=no",
        "--keep-unit",
        f"--bind={apt_cache}:/var/cache/apt/archives",
    ]
    if inst.network_address:
        # Its own network namespace, and the right to manage its firewall there, as a server
        # has (the hadoop role's nftables table); a host on this machine's network has not.
        cmd.append(f"--network-namespace-path=/run/netns/{network.namespace(name)}")
        cmd.append("--capability=CAP_NET_ADMIN")
    with open(log, "a") as out:
        proc = subprocess.Popen(  # noqa: S603
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    inst.pid = proc.pid
    (state / "instance.json").write_text(json.dumps(asdict(inst), indent=2))
    print(f"testhost: booting {name} (pid {proc.pid}, ssh {inst.address}:{inst.port})", flush=True)
    _wait_booted(inst, log)
    print(f"testhost: {name} is up", flush=True)
    return inst


def boot_again(name: str) -> Instance:
    """Boot a powered-off host by its name."""
    inst = load(name)
    if inst is None:
        raise TestHostError(f"no test host named {name}")
    return boot(inst)


def running(name: str) -> bool:
    inst = load(name)
    return bool(inst and _alive(inst.pid))


def poweroff(name: str) -> None:
    """Cut the host's power: SIGKILL to every process of the machine, no shutdown at all.

    Its disk (root file system) and its network namespace stay; `boot` starts it again.
    """
    inst = load(name)
    if inst is None:
        raise TestHostError(f"no test host named {name}")
    _kill_all(inst.pid)


def _kill_all(pid: int) -> None:
    """SIGKILL to every process of the machine and to its systemd-nspawn."""
    victims = processes_of(pid) + ([pid] if _alive(pid) else [])
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while any(_alive(v) for v in victims) and time.monotonic() < deadline:
        time.sleep(0.2)
    if any(_alive(v) for v in victims):
        raise TestHostError(f"processes {victims} of the machine survived SIGKILL")


def load(name: str) -> Instance | None:
    path = state_dir(name) / "instance.json"
    if not path.exists():
        return None
    return Instance(**json.loads(path.read_text()))


def _pid_namespace(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(proc.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def processes_of(nspawn_pid: int) -> list[int]:
    """PIDs of every process of the machine: those in the PID namespace of nspawn's child, the
    machine's init. (A process's root directory does not tell: inside the machine it is /.)"""
    if not _alive(nspawn_pid):
        return []
    own = _pid_namespace(os.getpid())
    namespaces = {_pid_namespace(child) for child in _children(nspawn_pid)} - {"", own}
    return [
        int(proc.name)
        for proc in Path("/proc").iterdir()
        if proc.name.isdigit() and _pid_namespace(int(proc.name)) in namespaces
    ]


def mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return found


def destroy(name: str, clean: bool = True) -> bool:
    """Power the host off and delete it. True if it existed.

    With `clean`, the host's systemd stops its services first (SIGKILL if it does not stop
    within STOP_TIMEOUT); without, its power is cut at once: for a host that is deleted
    anyway, whose services' shutdown would only take time."""
    state = state_dir(name)
    if not state.exists():
        return False
    inst = load(name)
    if inst and _alive(inst.pid):
        if clean:
            os.kill(inst.pid, signal.SIGTERM)  # nspawn asks the container's systemd to power off
            deadline = time.monotonic() + STOP_TIMEOUT
            while _alive(inst.pid) and time.monotonic() < deadline:
                time.sleep(0.5)
        _kill_all(inst.pid)
    for point in reversed(mounts_under(state)):
        subprocess.run(["umount", "-l", point], check=False)
    if inst and inst.network_address:
        network.detach(name, inst.network_address, network_state())
    shutil.rmtree(state)
    return True
