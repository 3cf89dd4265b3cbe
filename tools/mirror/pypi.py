"""Distributions from PyPI through `pip download` (so a site's pip index configuration applies)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from . import MirrorError


def sdist(name: str, version: str, cache: Path) -> Path:
    """The source distribution of name==version, downloaded into cache once."""
    cache.mkdir(parents=True, exist_ok=True)
    found = _find(name, version, cache)
    if found:
        return found
    requirement = f"{name}=={version}"
    print(f"mirror:   downloading {requirement} (sdist) with pip", flush=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    cmd += ["--no-binary", ":all:", "--dest", str(cache), requirement]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise MirrorError(f"cannot fetch PyPI requirement {requirement}: {exc}") from exc
    found = _find(name, version, cache)
    if result.returncode != 0 or not found:
        lines = [ln.strip() for ln in result.stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR")]
        reason = (errors or lines or ["pip found no source distribution"])[0]
        raise MirrorError(f"cannot fetch PyPI requirement {requirement}: {reason}")
    size = found.stat().st_size / 1e6
    print(f"mirror:   {found.name}: {size:.0f} MB", flush=True)
    return found


def _find(name: str, version: str, cache: Path) -> Path | None:
    normalized = {name, name.replace("-", "_"), name.replace("_", "-")}
    for candidate in sorted(cache.iterdir()):
        for prefix in normalized:
            if candidate.name in (f"{prefix}-{version}.tar.gz", f"{prefix}-{version}.zip"):
                return candidate
    return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def wheel(name: str, version: str, cache: Path, python: str = "3.11") -> Path:
    """A wheel of name==version for CPython <python> on x86_64 Linux (or a pure one)."""
    cache.mkdir(parents=True, exist_ok=True)
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(cache.glob(pattern))
    if found:
        return found[0]
    requirement = f"{name}=={version}"
    print(f"mirror:   downloading {requirement} (wheel) with pip", flush=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    cmd += ["--only-binary", ":all:", "--python-version", python, "--implementation", "cp"]
    cmd += ["--platform", "manylinux2014_x86_64", "--platform", "any"]
    cmd += ["--dest", str(cache), requirement]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = sorted(cache.glob(pattern))
    if result.returncode != 0 or not found:
        lines = [ln.strip() for ln in result.stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR")]
        reason = (errors or lines or ["pip found no wheel"])[0]
        raise MirrorError(f"cannot fetch PyPI requirement {requirement}: {reason}")
    return found[0]
