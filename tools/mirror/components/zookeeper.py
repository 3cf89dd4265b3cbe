"""apache-zookeeper-<v>-bin: lib/ from Maven, the launchers and configuration of the project."""

from __future__ import annotations

from . import Built, Context, jars_into, template_tree

# Optional in ZooKeeper's POM but shipped in Apache's bin tarball: metrics, snapshot
# compression, and the CLI's parser and line editor. Their
# versions come from ZooKeeper's own parent POM (imported as dependencyManagement).
OPTIONAL = [
    "io.dropwizard.metrics:metrics-core",
    "org.xerial.snappy:snappy-java",
    "commons-cli:commons-cli",
    "jline:jline",
]


def build(ctx: Context, version: str) -> Built:
    artifacts = ctx.resolve(
        [
            f"org.apache.zookeeper:zookeeper:{version}",
            *OPTIONAL,
        ],
        managed_by=(f"org.apache.zookeeper:parent:{version}:pom",),
    )
    return jars_into(artifacts, lambda a: "lib").add(template_tree("zookeeper"))
