"""Deterministic tar.gz files: the same entries always give the same bytes.

Entries are sorted, every directory is listed once, and times, owners and modes are fixed.
The archive is written to a hidden temporary file beside the target and renamed into place,
so an interrupted build never leaves a half-written tarball.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MTIME = 1700000000  # 2023-11-14: fixed, so that rebuilding gives identical archives
COMPRESSLEVEL = 6


@dataclass(frozen=True)
class Entry:
    """One file of an archive: a path inside the top directory, and its content."""

    name: str
    source: Path | None = None
    data: bytes | None = None
    mode: int = 0o644

    def size(self) -> int:
        return len(self.data) if self.data is not None else self.source.stat().st_size

    def open(self):
        return io.BytesIO(self.data) if self.data is not None else open(self.source, "rb")


def _info(name: str, size: int, mode: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.type, info.mtime = size, mode, kind, MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def directories(top_dir: str, names: list[str]) -> list[str]:
    """Every directory the entries need, the top directory included, sorted."""
    found = {top_dir}
    for name in names:
        for parent in PurePosixPath(top_dir, name).parents:
            if str(parent) == ".":
                break
            found.add(str(parent))
    return sorted(found)


def check(entries: list[Entry]) -> None:
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate entries: {duplicates[:5]}")
    unsafe = [n for n in names if n.startswith("/") or ".." in PurePosixPath(n).parts]
    if unsafe:
        raise ValueError(f"entries outside the top directory: {unsafe[:5]}")


def write(out: Path, top_dir: str, entries: list[Entry]) -> str:
    """Write out atomically as top_dir/<entries> and return its SHA-512."""
    check(entries)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with (
            open(tmp, "wb") as raw,
            gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=MTIME, compresslevel=COMPRESSLEVEL
            ) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for d in directories(top_dir, [e.name for e in entries]):
                tar.addfile(_info(d, 0, 0o755, tarfile.DIRTYPE))
            for entry in sorted(entries, key=lambda e: e.name):
                info = _info(f"{top_dir}/{entry.name}", entry.size(), entry.mode)
                with entry.open() as handle:
                    tar.addfile(info, handle)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return sha512(out)


def sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
