"""manifest.json and the .sha512 files: what the mirror holds and where each part came from."""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import GENERATED, MirrorError
from .maven import Artifact

NAME = "manifest.json"


def sha512_line(checksum: str, filename: str) -> str:
    """The line of a .sha512 file, as `sha512sum` writes it: `<hex>  <name>`."""
    return f"{checksum.lower()}  {filename}\n"


def write_sha512(path: Path, checksum: str) -> Path:
    target = Path(f"{path}.sha512")
    target.write_text(sha512_line(checksum, path.name))
    return target


def maven_part(artifact: Artifact, target: str) -> dict:
    return {"path": target, "maven": artifact.coordinate, "sha1": artifact.sha1()}


def pypi_part(target: str, filename: str, sha256: str) -> dict:
    return {"path": target, "pypi": filename, "sha256": sha256}


def generated_part(target: str) -> dict:
    return {"path": target, "source": GENERATED}


def record(
    path: str, sha512: str, size: int, parts: list[dict], top_dir: str | None = None
) -> dict:
    """The manifest's entry of one produced file."""
    entry = {"path": path, "sha512": sha512, "size": size}
    if top_dir is not None:
        entry["top_dir"] = top_dir
    entry["parts"] = sorted(parts, key=lambda p: (p["path"], json.dumps(p, sort_keys=True)))
    return entry


def document(files: dict[str, dict]) -> dict:
    return {"generated_by": "tools/mirror", "files": dict(sorted(files.items()))}


def write(out: Path, files: dict[str, dict]) -> Path:
    path = out / NAME
    tmp = out / f".{NAME}.tmp"
    tmp.write_text(json.dumps(document(files), indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def load(out: Path) -> dict[str, dict]:
    """The files of an existing manifest, or {} when there is none."""
    path = out / NAME
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())["files"]
    except (ValueError, KeyError) as exc:
        raise MirrorError(f"{path} is not a manifest written by tools/mirror: {exc}") from exc
