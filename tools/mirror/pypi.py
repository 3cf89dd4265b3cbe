"""Source distributions from PyPI through pip (so a site's index configuration applies)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from . import MirrorError


def sdist(name: str, version: str, cache: Path) -> Path:
    """Return the sdist of name==version, downloading it into cache once."""
    cache.mkdir(parents=True, exist_ok=True)
    for candidate in cache.glob(f"{name}-{version}.tar.gz"):
        return candidate
    print(f"mirror: downloading {name}=={version} from PyPI", flush=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
    cmd += ["--dest", str(cache), f"{name}=={version}"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = list(cache.glob(f"{name}-{version}.tar.gz"))
    if result.returncode != 0 or not found:
        reason = (result.stderr.strip().splitlines() or ["no sdist"])[-1]
        raise MirrorError(f"cannot fetch PyPI package {name}=={version}: {reason}")
    return found[0]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
