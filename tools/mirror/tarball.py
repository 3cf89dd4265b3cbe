"""Deterministic tar.gz files: the same entries always give the same bytes."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

MTIME = 1700000000  # fixed, so that rebuilding gives identical archives


@dataclass(frozen=True)
class Entry:
    """One file of an archive: a path inside the top directory, and its content."""

    name: str
    source: Path | None = None
    data: bytes | None = None
    mode: int = 0o644

    def content(self) -> bytes:
        return self.data if self.data is not None else self.source.read_bytes()


def _info(name: str, size: int, mode: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.type, info.mtime = size, mode, kind, MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def write(out: Path, top_dir: str, entries: list[Entry]) -> str:
    """Write out atomically and return its SHA-512."""
    names = [e.name for e in entries]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate entries in {out.name}: {sorted(duplicates)[:5]}")
    dirs = {top_dir}
    for name in names:
        parent = Path(top_dir, name).parent
        while str(parent) not in dirs and str(parent) != ".":
            dirs.add(str(parent))
            parent = parent.parent
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=MTIME, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for d in sorted(dirs):
            tar.addfile(_info(d, 0, 0o755, tarfile.DIRTYPE))
        for entry in sorted(entries, key=lambda e: e.name):
            data = entry.content()
            tar.addfile(_info(f"{top_dir}/{entry.name}", len(data), entry.mode), io.BytesIO(data))
    os.replace(tmp, out)
    return sha512(out)


def sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
