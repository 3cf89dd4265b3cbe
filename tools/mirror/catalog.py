"""The catalog (files/artifacts.yml): which archives to build, the data files to copy, the
jobs' jars list and the Java agents' list."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from . import MirrorError


def load(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MirrorError(f"cannot read the catalog {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("archives"), dict):
        raise MirrorError(f"the catalog {path} has no 'archives:' mapping")
    return data


def archives(catalog: dict) -> Iterator[tuple[str, str, dict]]:
    """(component, version, entry) for every archive, in catalog order."""
    for component, versions in catalog["archives"].items():
        for version, entry in (versions or {}).items():
            for key in ("path", "top_dir"):
                if not entry or not entry.get(key):
                    raise MirrorError(f"catalog: {component} {version} has no '{key}'")
            yield component, str(version), entry


DATASET_KEYS = ("pypi", "path", "sha256")


def datasets(catalog: dict) -> Iterator[tuple[str, dict]]:
    """(name, entry) for every data file of PyPI the catalog pins, in catalog order."""
    for name, entry in (catalog.get("datasets") or {}).items():
        for key in DATASET_KEYS:
            if not entry or not entry.get(key):
                raise MirrorError(f"catalog: dataset {name} has no '{key}'")
        if not re.fullmatch(r"[0-9a-f]{64}", str(entry["sha256"])):
            raise MirrorError(f"catalog: dataset {name}: sha256 is not 64 hex digits")
        yield name, entry


def spark_version(catalog: dict) -> str:
    versions = list(catalog["archives"].get("spark") or {})
    if not versions:
        raise MirrorError("the catalog lists no Spark archive; the jobs' jars need one")
    return str(versions[-1])


def jars_block(jars: list[dict], key: str = "jars") -> str:
    lines = [f"{key}:"] if jars else [f"{key}: []"]
    for jar in jars:
        lines += [
            f"  - coordinate: {jar['coordinate']}",
            f"    path: {jar['path']}",
            f"    sha512: {jar['sha512']}",
        ]
    return "\n".join(lines) + "\n"


def top_level(key: str) -> re.Pattern:
    """The top-level `key:` line and the indented or blank lines after it."""
    return re.compile(
        rf"^{re.escape(key)}:[^\n]*(?:\n|\Z)(?:[ \t]+[^\n]*(?:\n|\Z)|\n)*", re.MULTILINE
    )


def replace_jars(text: str, jars: list[dict], key: str = "jars") -> str:
    """The catalog text with only its top-level `key:` block (`jars:`, `agents:`) replaced."""
    matches = list(top_level(key).finditer(text))
    if len(matches) != 1:
        raise MirrorError(f"the catalog needs exactly one top-level '{key}:' list to update")
    match = matches[0]
    block = match.group(0)
    trailing = block[len(block.rstrip()) :].count("\n")
    replacement = jars_block(jars, key) + "\n" * max(trailing - 1, 0)
    if not block.endswith("\n"):
        replacement = replacement.removesuffix("\n")
    updated = text[: match.start()] + replacement + text[match.end() :]
    before, after = yaml.safe_load(text), yaml.safe_load(updated)
    before.pop(key, None)
    if after.pop(key, None) != (jars or []) or after != before:
        raise MirrorError(f"updating the catalog's '{key}:' list would change more than the list")
    return updated


def update_jars(path: Path, jars: list[dict], key: str = "jars") -> None:
    """Rewrite the catalog's `key:` list, keeping the rest of the file byte for byte."""
    updated = replace_jars(path.read_text(), jars, key)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(updated)
    os.replace(tmp, path)
