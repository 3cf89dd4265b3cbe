"""kafka_<scala>-<v>: libs/ from Maven, the launchers and configuration of the project."""

from __future__ import annotations

from . import Built, Context, jars_into, render, template_tree

MODULES = [
    "kafka-tools",
    "kafka-storage",
    "kafka-server-common",
    "kafka-metadata",
    "kafka-raft",
    "kafka-group-coordinator",
    "kafka-clients",
    "kafka-log4j-appender",
]

# Logging of Apache's Kafka 3.x tarball: SLF4J 1.7 on reload4j (log4j 1.2 compatible).
LOGGING = ["org.slf4j:slf4j-reload4j:1.7.36", "ch.qos.reload4j:reload4j:1.2.25"]
EXCLUDED = ("org.slf4j:slf4j-log4j12", "log4j:log4j")

# bin/<script> -> main class (and leading arguments), as in Kafka 3.6 (checked in the jars).
TOOLS = {
    "kafka-topics.sh": "kafka.admin.TopicCommand",
    "kafka-console-producer.sh": "kafka.tools.ConsoleProducer",
    "kafka-console-consumer.sh": "kafka.tools.ConsoleConsumer",
    "kafka-consumer-groups.sh": "kafka.admin.ConsumerGroupCommand",
    "kafka-storage.sh": "kafka.tools.StorageTool",
    "kafka-configs.sh": "kafka.admin.ConfigCommand",
    "kafka-get-offsets.sh": "kafka.tools.GetOffsetShell",
    "kafka-broker-api-versions.sh": "kafka.admin.BrokerApiVersionsCommand",
    "kafka-acls.sh": "kafka.admin.AclCommand",
    "kafka-features.sh": "kafka.admin.FeatureCommand",
    "kafka-metadata-quorum.sh": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-producer-perf-test.sh": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-consumer-perf-test.sh": "org.apache.kafka.tools.ConsumerPerformance",
    "zookeeper-shell.sh": "org.apache.zookeeper.ZooKeeperMainWithTlsSupportForKafka -server",
    "zookeeper-server-start.sh": "org.apache.zookeeper.server.quorum.QuorumPeerMain",
}


def build(ctx: Context, version: str, scala: str = "2.13") -> Built:
    coordinates = [f"org.apache.kafka:kafka_{scala}:{version}"]
    coordinates += [f"org.apache.kafka:{m}:{version}" for m in MODULES] + LOGGING
    artifacts = ctx.resolve(coordinates, excludes=EXCLUDED)
    built = jars_into(artifacts, lambda a: "libs").add(template_tree("kafka"))
    for script, main_class in TOOLS.items():
        built.add(render("kafka", "tool.sh.in", f"bin/{script}", 0o755, CLASS=main_class))
    return built
