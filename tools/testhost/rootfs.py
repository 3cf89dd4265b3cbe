"""The cached Debian root file system that every test host is copied from."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

SUITE = "bookworm"
PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-apt",
    "openssh-server",
    "sudo",
    "iproute2",
    "procps",
    "ca-certificates",
    "curl",
    "locales",
]


def debian_mirror() -> str:
    """The Debian mirror used for debootstrap and inside the hosts."""
    return os.environ.get("LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def ensure(cache: Path) -> Path:
    """Return the cached root file system, making it with debootstrap once."""
    root = cache / f"rootfs-{SUITE}"
    if (root / ".complete").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "rootfs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".complete").exists():
            return root
        tmp = cache / f"rootfs-{SUITE}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"testhost: debootstrap {SUITE} from {debian_mirror()} (once, cached)", flush=True)
        cmd = [
            "debootstrap",
            "--variant=minbase",
            "--include=" + ",".join(PACKAGES),
            SUITE,
            str(tmp),
            debian_mirror(),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            sys.exit(
                f"testhost: debootstrap failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        for key in (tmp / "etc/ssh").glob("ssh_host_*"):
            key.unlink()
        (tmp / "etc/machine-id").write_text("")
        (tmp / ".complete").write_text("")
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    return root
