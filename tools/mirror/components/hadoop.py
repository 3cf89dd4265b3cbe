"""hadoop-<v>: share/hadoop/{common,hdfs,yarn,mapreduce}[/lib] from Maven, launchers, etc/hadoop.

Everything is resolved together, so each library has one version on the classpath; where a
library goes follows Apache's layout: Hadoop's own jars in share/hadoop/<part>, a library in
common/lib when hadoop-common needs it, else in the lib/ of the first part that needs it.
"""

from __future__ import annotations

import zipfile

from ..manifest import maven_part
from ..maven import Artifact
from ..tarball import Entry
from . import Built, Context, jars_into, template_tree

PARTS = {
    "common": ["hadoop-common", "hadoop-auth", "hadoop-registry"],
    "hdfs": ["hadoop-hdfs", "hadoop-hdfs-client"],
    "yarn": [
        "hadoop-yarn-api",
        "hadoop-yarn-common",
        "hadoop-yarn-client",
        "hadoop-yarn-server-common",
        "hadoop-yarn-server-resourcemanager",
        "hadoop-yarn-server-nodemanager",
        "hadoop-yarn-server-web-proxy",
        "hadoop-yarn-server-applicationhistoryservice",
        "hadoop-yarn-server-timelineservice",
    ],
    "mapreduce": [
        "hadoop-mapreduce-client-core",
        "hadoop-mapreduce-client-common",
        "hadoop-mapreduce-client-jobclient",
        "hadoop-mapreduce-client-app",
        "hadoop-mapreduce-client-hs",
        "hadoop-mapreduce-client-shuffle",
        "hadoop-mapreduce-examples",
    ],
}

# Logging as in Apache's 3.3 and 3.4 tarballs: SLF4J on reload4j only; the log4j 1.2 jar and the
# slf4j-log4j12 binding some modules still pull in would be a second binding.
EXCLUDED = ("org.slf4j:slf4j-log4j12", "log4j:log4j")
LOGGING = ["ch.qos.reload4j:reload4j", "org.slf4j:slf4j-reload4j"]

# Hadoop's own jars that Apache keeps in share/hadoop/common rather than common/lib.
COMMON_OWN = {"hadoop-common", "hadoop-registry", "hadoop-kms", "hadoop-nfs"}


def own_part(artifact: Artifact) -> str | None:
    """share/hadoop/<part> of one of Hadoop's own jars, None for a library."""
    if artifact.group != "org.apache.hadoop" or artifact.artifact.startswith("hadoop-shaded"):
        return None
    for part in ("hdfs", "yarn", "mapreduce"):
        if artifact.artifact.startswith(f"hadoop-{part}"):
            return part
    return "common" if artifact.artifact in COMMON_OWN else None


def placement(everything: list[Artifact], closures: dict[str, list[Artifact]]):
    """A function giving the directory of each jar of `everything`."""
    needed_by: dict[str, str] = {}
    for part in PARTS:  # common first: the order decides which lib/ a shared library joins
        for artifact in closures.get(part, []):
            needed_by.setdefault(artifact.key, part)

    def place(artifact: Artifact) -> str:
        part = own_part(artifact)
        if part:
            return f"share/hadoop/{part}"
        lib_of = needed_by.get(artifact.key, "common")
        return f"share/hadoop/{'common' if lib_of == 'mapreduce' else lib_of}/lib"

    return place


def webapps(ctx: Context, version: str) -> Built:
    """The HDFS web UIs: Apache ships share/hadoop/hdfs/webapps; on Maven Central they are only
    inside hadoop-hdfs's tests jar."""
    (tests,) = ctx.resolve([f"org.apache.hadoop:hadoop-hdfs:{version}:tests:jar"], transitive=False)
    built = Built()
    with zipfile.ZipFile(tests.path) as archive:
        for name in archive.namelist():
            if name.startswith("webapps/") and not name.endswith("/"):
                built.entries.append(Entry(f"share/hadoop/hdfs/{name}", data=archive.read(name)))
    built.parts.append(maven_part(tests, "share/hadoop/hdfs/webapps/"))
    return built


def build(ctx: Context, version: str) -> Built:
    sets = {
        part: [f"org.apache.hadoop:{m}:{version}" for m in modules]
        for part, modules in PARTS.items()
    }
    sets["common"] += LOGGING
    sets["all"] = [c for coords in sets.values() for c in coords]
    # Versions of libraries as Hadoop's own build pins them (hadoop-project's
    # dependencyManagement), so the classpath matches Apache's tarball.
    managed = (f"org.apache.hadoop:hadoop-project:{version}:pom",)
    resolved = ctx.resolve_sets(sets, excludes=EXCLUDED, managed_by=managed)
    everything = resolved.pop("all")
    built = jars_into(everything, placement(everything, resolved))
    return built.add(webapps(ctx, version)).add(template_tree("hadoop"))
