"""The kafka_topic module reads topic metadata in both kafka-python shapes."""

import importlib.util
from pathlib import Path

MODULE = Path(__file__).parents[2] / "roles/movielens/library/kafka_topic.py"
spec = importlib.util.spec_from_file_location("kafka_topic", MODULE)
kafka_topic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kafka_topic)


class Admin:
    def __init__(self, topics):
        self.topics = topics

    def describe_topics(self, names):
        return [t for t in self.topics if t.get("name", t.get("topic")) in names] or [
            {"name": names[0], "error_code": 3, "partitions": []}
        ]


def test_kafka_python_3_metadata():
    topic = {"error_code": 0, "name": "r", "partitions": [{"replica_nodes": [1, 2]}]}
    assert kafka_topic.describe(Admin([topic]), "r") is topic
    assert kafka_topic.replication_factor(topic) == 2


def test_kafka_python_2_metadata():
    topic = {"error_code": 0, "topic": "r", "partitions": [{"replicas": [1]}]}
    assert kafka_topic.describe(Admin([topic]), "r") is topic
    assert kafka_topic.replication_factor(topic) == 1


def test_unknown_topic_is_none():
    assert kafka_topic.describe(Admin([]), "missing") is None
