"""Resolve Maven coordinates with their dependencies through `mvn` (so a site's settings apply).

Several sets of coordinates can be resolved by one `mvn` run: each set becomes a module of a
throw-away reactor, and `dependency:list` writes one list per module.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from . import MirrorError

GROUP = "movielens-lab.mirror"


@dataclass(frozen=True)
class Artifact:
    """One resolved file: its coordinate and where Maven stored it."""

    group: str
    artifact: str
    version: str
    type: str
    classifier: str
    path: Path

    @property
    def coordinate(self) -> str:
        """g:a:v, g:a:v:type or g:a:v:classifier:type (the forms parse_coordinate reads)."""
        parts = [self.group, self.artifact, self.version]
        if self.classifier:
            parts.append(self.classifier)
        if self.type != "jar" or self.classifier:
            parts.append(self.type)
        return ":".join(parts)

    @property
    def key(self) -> str:
        return f"{self.group}:{self.artifact}"

    @property
    def repository_path(self) -> str:
        """Where the file lives in a Maven repository (relative to its root)."""
        group = self.group.replace(".", "/")
        return f"{group}/{self.artifact}/{self.version}/{self.path.name}"

    def sha1(self) -> str:
        """The SHA-1 the repository published beside the file, else computed from the file."""
        published = self.path.with_name(self.path.name + ".sha1")
        if published.is_file():
            words = published.read_text(errors="replace").split()
            if words and re.fullmatch(r"[0-9a-fA-F]{40}", words[0]):
                return words[0].lower()
        return hashlib.sha1(self.path.read_bytes()).hexdigest()  # noqa: S324 - Maven's digest


def parse_coordinate(text: str) -> dict[str, str]:
    """g:a:v, g:a:v:type or g:a:v:classifier:type."""
    parts = text.split(":")
    if any(not p for p in parts):
        parts = []
    if len(parts) == 3:
        g, a, v = parts
        return {"group": g, "artifact": a, "version": v, "type": "jar", "classifier": ""}
    if len(parts) == 4:
        g, a, v, t = parts
        return {"group": g, "artifact": a, "version": v, "type": t, "classifier": ""}
    if len(parts) == 5:
        g, a, v, c, t = parts
        return {"group": g, "artifact": a, "version": v, "type": t, "classifier": c}
    raise MirrorError(f"not a Maven coordinate: {text!r} (expected group:artifact:version)")


def _dependency(text: str, exclusions: str = "", scope: str = "") -> str:
    """A <dependency>; `group:artifact` alone leaves the version to dependencyManagement."""
    if text.count(":") == 1:
        group, artifact = text.split(":")
        c = {"group": group, "artifact": artifact, "version": "", "type": "jar", "classifier": ""}
    else:
        c = parse_coordinate(text)
    return (
        "<dependency>"
        f"<groupId>{escape(c['group'])}</groupId>"
        f"<artifactId>{escape(c['artifact'])}</artifactId>"
        + (f"<version>{escape(c['version'])}</version>" if c["version"] else "")
        + (f"<classifier>{escape(c['classifier'])}</classifier>" if c["classifier"] else "")
        + (f"<type>{escape(c['type'])}</type>" if c["type"] != "jar" else "")
        + (f"<scope>{scope}</scope>" if scope else "")
        + (f"<exclusions>{exclusions}</exclusions>" if exclusions else "")
        + "</dependency>"
    )


def pom(
    coordinates: list[str],
    excludes: tuple[str, ...] = (),
    name: str = "resolve",
    managed_by: tuple[str, ...] = (),
) -> str:
    """A throw-away POM that depends on the coordinates, excluding group:artifact pairs.

    managed_by lists POMs (g:a:v:pom) whose dependencyManagement is imported, so that
    coordinates given as group:artifact get the versions those projects build with.
    """
    exclusions = "".join(
        f"<exclusion><groupId>{escape(g)}</groupId><artifactId>{escape(a)}</artifactId></exclusion>"
        for g, a in (e.split(":", 1) for e in excludes)
    )
    deps = "".join(_dependency(text, exclusions) for text in coordinates)
    imports = "".join(_dependency(text, scope="import") for text in managed_by)
    management = (
        f"<dependencyManagement><dependencies>{imports}</dependencies></dependencyManagement>"
        if imports
        else ""
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        "<modelVersion>4.0.0</modelVersion>"
        f"<groupId>{GROUP}</groupId><artifactId>{escape(name)}</artifactId>"
        "<version>1</version><packaging>pom</packaging>"
        f"{management}<dependencies>{deps}</dependencies></project>\n"
    )


def aggregator(modules: list[str]) -> str:
    listed = "".join(f"<module>{escape(m)}</module>" for m in modules)
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        "<modelVersion>4.0.0</modelVersion>"
        f"<groupId>{GROUP}</groupId><artifactId>reactor</artifactId>"
        "<version>1</version><packaging>pom</packaging>"
        f"<modules>{listed}</modules></project>\n"
    )


LIST_LINE = re.compile(
    r"^\s*([^:\s]+):([^:]+):([^:]+):(?:([^:]+):)?([^:]+):(compile|runtime):(/.+)$"
)


def parse_list(text: str) -> list[Artifact]:
    """Parse `mvn dependency:list -DoutputAbsoluteArtifactFilename=true` output."""
    found = []
    for line in text.splitlines():
        match = LIST_LINE.match(line.replace(" -- module", "").split(" (")[0])
        if not match:
            continue
        group, artifact, type_, classifier, version, _scope, path = match.groups()
        found.append(Artifact(group, artifact, version, type_, classifier or "", Path(path)))
    return sorted(found, key=lambda a: a.coordinate)


# g:a:type[:classifier]:version as Maven prints it in its error messages.
MAVEN_FORM = re.compile(r"\b([\w.\-]+):([\w.\-]+):([\w.\-]+)(?::([\w.\-]+))?:([\w.\-]+)\b")


def failure(output: str, requested: list[str]) -> str:
    """One line naming the coordinate that could not be fetched, and why."""
    errors = [ln.replace("[ERROR]", "").strip() for ln in output.splitlines() if "[ERROR]" in ln]
    errors = [e for e in errors if e and not e.startswith(("To see", "Re-run", "For more", "->"))]
    first = errors[0] if errors else output.strip().splitlines()[-1:] or ["mvn failed"]
    first = first if isinstance(first, str) else first[0]
    what = None
    for match in MAVEN_FORM.finditer(first):
        group, artifact, type_, classifier, version = match.groups()
        if group == GROUP:
            continue
        wanted = f"{group}:{artifact}:{version}"
        if classifier:
            wanted += f":{classifier}:{type_}"
        elif type_ != "jar":
            wanted += f":{type_}"
        what = wanted
        break
    if what is None:
        what = ", ".join(requested)
    lowered = first.lower()
    if any(s in lowered for s in ("not found", "could not find", "failure to find")):
        reason = "not found in the configured Maven repositories"
    elif "could not transfer" in lowered or "connect" in lowered:
        reason = "the Maven repository could not be reached"
    else:
        reason = re.sub(r"\s*-> \[Help \d+\]", "", first)[:240]
    return f"cannot fetch Maven artifact {what}: {reason}"


class Maven:
    """Runs `mvn` with the mirror's local repository and an optional settings.xml."""

    def __init__(self, repository: Path, settings: Path | None = None):
        self.repository = repository
        self.settings = settings

    def command(self, *goals: str) -> list[str]:
        cmd = ["mvn", "-B", "-q", f"-Dmaven.repo.local={self.repository}"]
        if self.settings:
            cmd += ["-s", str(self.settings)]
        return cmd + list(goals)

    def resolve_sets(
        self,
        sets: dict[str, list[str]],
        excludes: tuple[str, ...] = (),
        transitive: bool = True,
        managed_by: tuple[str, ...] = (),
    ) -> dict[str, list[Artifact]]:
        """Resolve each named set of coordinates (runtime scope) in one `mvn` run."""
        requested = [c for coords in sets.values() for c in coords]
        with tempfile.TemporaryDirectory(prefix="mirror-mvn-") as tmp:
            work = Path(tmp)
            names = [f"set{i}" for i in range(len(sets))]
            (work / "pom.xml").write_text(aggregator(names))
            for name, coords in zip(names, sets.values(), strict=True):
                (work / name).mkdir()
                (work / name / "pom.xml").write_text(pom(coords, excludes, name, managed_by))
            cmd = self.command(
                "dependency:list",
                "-DoutputFile=list.txt",
                "-DoutputAbsoluteArtifactFilename=true",
                "-DincludeScope=runtime",
                f"-DexcludeTransitive={'false' if transitive else 'true'}",
            )
            try:
                result = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
            except FileNotFoundError as exc:
                raise MirrorError("mvn is not installed (Debian package: maven)") from exc
            if result.returncode != 0:
                raise MirrorError(failure(result.stdout + result.stderr, requested))
            return {
                key: parse_list((work / name / "list.txt").read_text())
                for key, name in zip(sets, names, strict=True)
            }

    def resolve(self, coordinates: list[str], **kwargs) -> list[Artifact]:
        return self.resolve_sets({"all": coordinates}, **kwargs)["all"]
