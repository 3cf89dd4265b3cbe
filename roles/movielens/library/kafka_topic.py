#!/usr/bin/python
"""Ansible module: make sure a Kafka topic exists with at least the given partitions."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    HAS_KAFKA = True
except ImportError:
    HAS_KAFKA = False

DOCUMENTATION = r"""
module: kafka_topic
short_description: Create a Kafka topic, or grow its partitions
description:
  - Creates I(name) with I(partitions) and I(replication_factor) when it does not exist
    (a topic another client created meanwhile counts as existing).
  - Adds partitions when the topic has fewer; fails when it has more (Kafka cannot remove
    partitions) or when its replication factor differs (that needs a reassignment).
  - Needs kafka-python on the host it runs on (set ansible_python_interpreter to a virtual
    environment that has it).
  - Logs in as the cluster asks (SASL SCRAM-SHA-512 over TLS, or PLAINTEXT); creating topics
    needs a login the ACLs allow to (the kafka role's admin).
options:
  bootstrap_servers: {description: Brokers (host:port, comma separated)., type: str, required: true}
  name: {description: Topic name., type: str, required: true}
  partitions: {description: Number of partitions., type: int, default: 1}
  replication_factor: {description: Replicas of each partition., type: int, default: 1}
  config: {description: Topic configuration on creation (name to value)., type: dict, default: {}}
  security_protocol: {description: PLAINTEXT or SASL_SSL., type: str, default: PLAINTEXT}
  sasl_mechanism: {description: SASL mechanism with SASL_SSL., type: str, default: SCRAM-SHA-512}
  sasl_plain_username: {description: Login with SASL_SSL., type: str}
  sasl_plain_password: {description: Its password., type: str}
  ssl_cafile:
    description: CA certificate (PEM) the brokers' certificates are checked against.
    type: path
"""

EXAMPLES = r"""
- name: The ratings topic
  kafka_topic:
    bootstrap_servers: kafka1:9092
    name: movielens_ratings
    partitions: 3
    replication_factor: 1
    security_protocol: SASL_SSL
    sasl_plain_username: admin
    sasl_plain_password: "{{ kafka_admin_password }}"
    ssl_cafile: /etc/lab-tls/ca.crt
  no_log: true
"""

RETURN = r"""
partitions: {description: Partitions of the topic afterwards., type: int, returned: success}
"""


def describe(admin, name: str) -> dict | None:
    """The topic's metadata, or None when it does not exist. kafka-python 3 names the fields
    as the protocol does (name, replica_nodes); 2.x used topic and replicas."""
    for topic in admin.describe_topics([name]):
        if topic.get("name", topic.get("topic")) == name and topic.get("error_code", 0) == 0:
            return topic
    return None


def replication_factor(topic: dict) -> int:
    first = topic["partitions"][0]
    return len(first.get("replica_nodes", first.get("replicas", [])))


def client_options(params: dict) -> dict:
    """kafka-python's security settings from the module's parameters."""
    protocol = params["security_protocol"]
    options = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL") and params.get("ssl_cafile"):
        options["ssl_cafile"] = params["ssl_cafile"]
    if protocol.startswith("SASL_"):
        options.update(
            sasl_mechanism=params["sasl_mechanism"],
            sasl_plain_username=params["sasl_plain_username"],
            sasl_plain_password=params["sasl_plain_password"],
        )
    return options


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "bootstrap_servers": {"type": "str", "required": True},
            "name": {"type": "str", "required": True},
            "partitions": {"type": "int", "default": 1},
            "replication_factor": {"type": "int", "default": 1},
            "config": {"type": "dict", "default": {}},
            "security_protocol": {
                "type": "str",
                "default": "PLAINTEXT",
                "choices": ["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"],
            },
            "sasl_mechanism": {"type": "str", "default": "SCRAM-SHA-512"},
            "sasl_plain_username": {"type": "str"},
            "sasl_plain_password": {"type": "str", "no_log": True},
            "ssl_cafile": {"type": "path"},
        },
        required_if=[
            ("security_protocol", "SASL_SSL", ["sasl_plain_username", "sasl_plain_password"]),
            ("security_protocol", "SASL_PLAINTEXT", ["sasl_plain_username", "sasl_plain_password"]),
        ],
        supports_check_mode=True,
    )
    if not HAS_KAFKA:
        module.fail_json(msg=missing_required_lib("kafka-python"))
    p = module.params
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=p["bootstrap_servers"].split(","),
            request_timeout_ms=30000,
            **client_options(p),
        )
    except KafkaError as exc:
        module.fail_json(msg=f"cannot reach Kafka at {p['bootstrap_servers']}: {exc}")
    try:
        topic = describe(admin, p["name"])
        if topic is None:
            if not module.check_mode:
                new = NewTopic(
                    p["name"],
                    p["partitions"],
                    p["replication_factor"],
                    topic_configs={k: str(v) for k, v in p["config"].items()},
                )
                try:
                    admin.create_topics([new])
                except TopicAlreadyExistsError:
                    module.exit_json(changed=False, partitions=p["partitions"])
            module.exit_json(changed=True, partitions=p["partitions"])
        have = len(topic["partitions"])
        replicas = replication_factor(topic)
        if replicas != p["replication_factor"]:
            module.fail_json(
                msg=f"topic {p['name']} has replication factor {replicas}, not "
                f"{p['replication_factor']}: change it with a partition reassignment"
            )
        if have > p["partitions"]:
            module.fail_json(
                msg=f"topic {p['name']} has {have} partitions, more than the {p['partitions']} "
                "asked for; Kafka cannot remove partitions"
            )
        if have < p["partitions"]:
            if not module.check_mode:
                admin.create_partitions({p["name"]: NewPartitions(p["partitions"])})
            module.exit_json(changed=True, partitions=p["partitions"])
        module.exit_json(changed=False, partitions=have)
    except KafkaError as exc:
        module.fail_json(msg=f"Kafka refused the change of topic {p['name']}: {exc}")
    finally:
        admin.close()


if __name__ == "__main__":
    main()
