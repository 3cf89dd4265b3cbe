"""Build the mirror tree: every catalog archive, the extra jars, .sha512 files and manifest.json."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import time
from pathlib import Path

import yaml

from . import MirrorError, components
from .tarball import sha512, write

CODE = Path(__file__).parent


def code_digest() -> str:
    """Changes when the builders or templates change, so their archives are rebuilt."""
    digest = hashlib.sha256()
    for path in sorted(CODE.rglob("*")):
        if path.is_file() and path.suffix in (
            ".py",
            ".sh",
            ".xml",
            ".properties",
            ".yaml",
            ".options",
        ):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def sha512_line(path: Path) -> str:
    return f"{sha512(path)}  {path.name}\n"


def write_sha512(path: Path, checksum: str) -> None:
    Path(f"{path}.sha512").write_text(f"{checksum}  {path.name}\n")


def load_catalog(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MirrorError(f"cannot read the catalog {path}: {exc}") from exc


class Builder:
    def __init__(self, out: Path, catalog: dict, cache: Path, settings: Path | None = None):
        self.out, self.catalog, self.cache = out, catalog, cache
        self.ctx = components.Context(cache, settings)
        self.code = code_digest()
        self.stamps = cache / "stamps"
        self.stamps.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, dict] = {}

    def archive(self, component: str, version: str, entry: dict) -> None:
        target = self.out / entry["path"]
        stamp = self.stamps / f"{component}-{version}.json"
        if target.exists() and stamp.exists():
            recorded = json.loads(stamp.read_text())
            if recorded["code"] == self.code and recorded["sha512"] == sha512(target):
                print(f"mirror: {component} {version}: up to date", flush=True)
                self.files[entry["path"]] = recorded["file"]
                return
        start = time.monotonic()
        print(f"mirror: {component} {version}: building {entry['path']}", flush=True)
        entries, parts = components.builder(component)(self.ctx, version)
        checksum = write(target, entry["top_dir"], entries)
        write_sha512(target, checksum)
        info = {
            "sha512": checksum,
            "size": target.stat().st_size,
            "top_dir": entry["top_dir"],
            "component": component,
            "version": version,
            "parts": parts,
        }
        stamp.write_text(json.dumps({"code": self.code, "sha512": checksum, "file": info}))
        self.files[entry["path"]] = info
        size = info["size"] / 1e6
        print(
            f"mirror: {component} {version}: {size:.0f} MB in {time.monotonic() - start:.0f}s",
            flush=True,
        )

    def jars(self) -> list[dict]:
        """The closure of the jobs' jar roots, minus what Spark's own jars/ already has."""
        roots = self.catalog.get("jar_roots") or []
        if not roots:
            return []
        spark_versions = list(self.catalog["archives"].get("spark", {}))
        spark_path = self.out / self.catalog["archives"]["spark"][spark_versions[0]]["path"]
        shipped = spark_jar_names(spark_path)
        print(f"mirror: jars for the jobs: {', '.join(roots)}", flush=True)
        found = []
        for artifact in self.ctx.resolve(roots):
            if any(name.startswith(f"{artifact.artifact}-") for name in shipped):
                continue
            rel = maven_path(artifact)
            target = self.out / "maven2" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.stat().st_size != artifact.path.stat().st_size:
                shutil.copyfile(artifact.path, target)
            checksum = sha512(target)
            write_sha512(target, checksum)
            self.files[f"maven2/{rel}"] = {
                "sha512": checksum,
                "size": target.stat().st_size,
                "parts": [components.maven_part(artifact, rel)],
            }
            found.append({"coordinate": artifact.coordinate, "path": rel, "sha512": checksum})
        return found

    def manifest(self) -> Path:
        path = self.out / "manifest.json"
        body = {"generated_by": "tools/mirror", "files": dict(sorted(self.files.items()))}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=1) + "\n")
        tmp.replace(path)
        return path


def maven_path(artifact) -> str:
    group = artifact.group.replace(".", "/")
    return f"{group}/{artifact.artifact}/{artifact.version}/{artifact.path.name}"


def spark_jar_names(tarball: Path) -> set[str]:
    with tarfile.open(tarball) as tar:
        return {Path(n).name for n in tar.getnames() if "/jars/" in n and n.endswith(".jar")}


def update_catalog_jars(catalog_path: Path, jars: list[dict]) -> None:
    """Rewrite the catalog's trailing `jars:` list (the rest of the file is kept as it is)."""
    text = catalog_path.read_text()
    head, sep, _ = text.rpartition("\njars:")
    if not sep:
        raise MirrorError(f"{catalog_path} has no top-level 'jars:' list at its end")
    lines = [
        f"  - coordinate: {j['coordinate']}\n    path: {j['path']}\n    sha512: {j['sha512']}"
        for j in jars
    ]
    catalog_path.write_text(head + "\njars:\n" + "\n".join(lines) + "\n")


def build(
    out: Path,
    catalog_path: Path,
    cache: Path,
    *,
    only: list[str],
    settings: Path | None,
    update_catalog: bool,
) -> Path:
    catalog = load_catalog(catalog_path)
    builder = Builder(out, catalog, cache, settings)
    timings = []
    for component, versions in catalog["archives"].items():
        if only and component not in only:
            continue
        for version, entry in versions.items():
            start = time.monotonic()
            builder.archive(component, str(version), entry)
            timings.append((f"{component} {version}", time.monotonic() - start))
    if not only or "jars" in only:
        start = time.monotonic()
        jars = builder.jars()
        timings.append(("jars", time.monotonic() - start))
        if update_catalog:
            update_catalog_jars(catalog_path, jars)
    previous = out / "manifest.json"
    if only and previous.exists():
        old = json.loads(previous.read_text())["files"]
        builder.files = {**old, **builder.files}
    path = builder.manifest()
    for name, seconds in timings:
        print(f"mirror: {name:<22} {seconds:6.1f}s", flush=True)
    return path
