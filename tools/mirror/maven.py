"""Resolve Maven coordinates with their dependencies through `mvn` (so a site's settings apply)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from . import MirrorError


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
        parts = [self.group, self.artifact, self.version]
        if self.classifier:
            parts.append(self.classifier)
        if self.type != "jar" or self.classifier:
            parts.append(self.type)
        return ":".join(parts)

    def sha1(self) -> str:
        return hashlib.sha1(self.path.read_bytes()).hexdigest()  # noqa: S324 - Maven's own digest


def parse_coordinate(text: str) -> dict[str, str]:
    """g:a:v, g:a:v:type or g:a:v:classifier:type."""
    parts = text.split(":")
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


def pom(coordinates: list[str], excludes: list[str] = ()) -> str:
    """A throw-away POM that depends on the coordinates (runtime scope)."""
    deps = []
    exclusions = "".join(
        f"<exclusion><groupId>{escape(g)}</groupId><artifactId>{escape(a)}</artifactId></exclusion>"
        for g, a in (e.split(":") for e in excludes)
    )
    for text in coordinates:
        c = parse_coordinate(text)
        deps.append(
            "<dependency>"
            f"<groupId>{escape(c['group'])}</groupId>"
            f"<artifactId>{escape(c['artifact'])}</artifactId>"
            f"<version>{escape(c['version'])}</version>"
            + (f"<classifier>{escape(c['classifier'])}</classifier>" if c["classifier"] else "")
            + (f"<type>{escape(c['type'])}</type>" if c["type"] != "jar" else "")
            + (f"<exclusions>{exclusions}</exclusions>" if exclusions else "")
            + "</dependency>"
        )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        "<modelVersion>4.0.0</modelVersion>"
        "<groupId>movielens-lab.mirror</groupId><artifactId>resolve</artifactId>"
        "<version>1</version><packaging>pom</packaging>"
        f"<dependencies>{''.join(deps)}</dependencies></project>\n"
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


MISSING = re.compile(
    r"(?:Could not find artifact|Failure to find|Could not transfer artifact) (\S+)"
)


def resolve(
    coordinates: list[str],
    excludes: list[str] = (),
    transitive: bool = True,
    settings: Path | None = None,
) -> list[Artifact]:
    """Download the coordinates (with their runtime dependencies) and list what was resolved."""
    with tempfile.TemporaryDirectory(prefix="mirror-mvn-") as tmp:
        work = Path(tmp)
        (work / "pom.xml").write_text(pom(coordinates, excludes))
        cmd = [
            "mvn",
            "-B",
            "-q",
            "dependency:list",
            f"-DoutputFile={work / 'list.txt'}",
            "-DoutputAbsoluteArtifactFilename=true",
            "-DincludeScope=runtime",
            f"-DexcludeTransitive={'false' if transitive else 'true'}",
        ]
        if settings:
            cmd += ["-s", str(settings)]
        try:
            result = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
        except FileNotFoundError as exc:
            raise MirrorError("mvn is not installed (Debian package: maven)") from exc
        if result.returncode != 0:
            output = result.stdout + result.stderr
            missing = MISSING.search(output)
            what = missing.group(1) if missing else ", ".join(coordinates)
            errors = [ln for ln in output.splitlines() if "[ERROR]" in ln and "Help" not in ln]
            reason = errors[0].replace("[ERROR]", "").strip()[:300] if errors else "mvn failed"
            raise MirrorError(f"cannot fetch Maven artifact {what}: {reason}")
        return parse_list((work / "list.txt").read_text())
