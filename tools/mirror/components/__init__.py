"""What each archive of the mirror holds, in the layout of Apache's own release archives.

One module per component; each has `build(ctx, version) -> Built`. Files the project writes
itself (launchers, configuration) live under templates/<component>/tree/ with the path they
have inside the archive.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import MirrorError, pypi
from ..manifest import generated_part, maven_part
from ..maven import Artifact, Maven
from ..tarball import Entry

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
NAMES = ("hadoop", "spark", "kafka", "zookeeper", "cassandra")


@dataclass
class Built:
    """The entries of one archive and the parts they came from (for the manifest)."""

    entries: list[Entry] = field(default_factory=list)
    parts: list[dict] = field(default_factory=list)

    def add(self, other: Built) -> Built:
        self.entries += other.entries
        self.parts += other.parts
        return self


class Context:
    """What the component builders share: Maven, the PyPI download cache, progress output."""

    def __init__(self, cache: Path, settings: Path | None = None):
        self.cache = cache
        self.maven = Maven(cache / "m2", settings)

    def log(self, text: str) -> None:
        print(f"mirror:   {text}", flush=True)

    def resolve(self, coordinates: list[str], **kwargs) -> list[Artifact]:
        self.log(f"resolving {', '.join(coordinates)}")
        found = self.maven.resolve(coordinates, **kwargs)
        self._report(found)
        return found

    def resolve_sets(self, sets: dict[str, list[str]], **kwargs) -> dict[str, list[Artifact]]:
        for name, coordinates in sets.items():
            self.log(f"resolving ({name}) {', '.join(coordinates)}")
        found = self.maven.resolve_sets(sets, **kwargs)
        self._report({a.coordinate: a for arts in found.values() for a in arts}.values())
        return found

    def _report(self, artifacts) -> None:
        artifacts = list(artifacts)
        size = sum(a.path.stat().st_size for a in artifacts) / 1e6
        self.log(f"{len(artifacts)} Maven artifacts, {size:.0f} MB")

    def sdist(self, name: str, version: str) -> Path:
        return pypi.sdist(name, version, self.cache / "pypi")


def template_tree(component: str, skip: Callable[[str], bool] = lambda _: False) -> Built:
    """Every file under templates/<component>/tree, at the same path in the archive."""
    root = TEMPLATES / component / "tree"
    built = Built()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        if skip(name):
            continue
        mode = 0o755 if path.stat().st_mode & 0o100 else 0o644
        built.entries.append(Entry(name, data=path.read_bytes(), mode=mode))
        built.parts.append(generated_part(name))
    return built


def render(component: str, template: str, target: str, mode: int = 0o644, **subst: str) -> Built:
    """templates/<component>/<template> with @KEY@ replaced, as one generated entry."""
    text = (TEMPLATES / component / template).read_text()
    for key, value in subst.items():
        text = text.replace(f"@{key}@", value)
    if re.search(r"@[A-Z_]+@", text):
        raise MirrorError(f"template {component}/{template}: unreplaced placeholder")
    return generated(target, text.encode(), mode)


def generated(target: str, data: bytes, mode: int = 0o644) -> Built:
    return Built([Entry(target, data=data, mode=mode)], [generated_part(target)])


def jars_into(artifacts: list[Artifact], place: Callable[[Artifact], str]) -> Built:
    """Maven artifacts as entries <place(artifact)>/<file name>."""
    built = Built()
    for artifact in artifacts:
        target = f"{place(artifact)}/{artifact.path.name}"
        built.entries.append(Entry(target, source=artifact.path))
        built.parts.append(maven_part(artifact, target))
    return built


def builder(component: str) -> Callable[[Context, str], Built]:
    if component not in NAMES:
        raise MirrorError(f"no mirror builder for {component}; known: {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{component}").build
