"""apache-cassandra-<v>: lib/ from cassandra-all and its dependencies, launchers, conf/.

Apache's bin tarball of 5.0 is not on Maven Central (its `apache-cassandra` artifact stops at
3.11.5), so the archive is assembled: the server's jars, Sigar's native library (which Apache
ships in lib/sigar-bin), and the project's own bin/ and conf/.
"""

from __future__ import annotations

import zipfile

from ..manifest import maven_part
from ..tarball import Entry
from . import Built, Context, cqlsh, jars_into, template_tree

SIGAR_NATIVE = "org.fusesource:sigar:{version}:native:jar"
# Files of Sigar's native jar -> the names Sigar looks for in lib/sigar-bin.
SIGAR_LIBRARIES = {"libsigar-amd64-linux-{version}.so": "libsigar-amd64-linux.so"}


def sigar_bin(ctx: Context, sigar_version: str) -> Built:
    (native,) = ctx.resolve([SIGAR_NATIVE.format(version=sigar_version)], transitive=False)
    built = Built()
    with zipfile.ZipFile(native.path) as archive:
        for source, name in SIGAR_LIBRARIES.items():
            data = archive.read(source.format(version=sigar_version))
            built.entries.append(Entry(f"lib/sigar-bin/{name}", data=data, mode=0o755))
            built.parts.append(maven_part(native, f"lib/sigar-bin/{name}"))
    return built


def build(ctx: Context, version: str) -> Built:
    artifacts = ctx.resolve([f"org.apache.cassandra:cassandra-all:{version}"])
    built = jars_into(artifacts, lambda a: "lib")
    sigar = [a for a in artifacts if a.key == "org.fusesource:sigar"]
    if sigar:
        built.add(sigar_bin(ctx, sigar[0].version))
    built.add(cqlsh.build(ctx))
    return built.add(template_tree("cassandra"))
