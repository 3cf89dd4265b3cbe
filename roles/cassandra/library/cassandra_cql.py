#!/usr/bin/python
"""Ansible module: run CQL statements on a Cassandra node with a login."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.cassandra_session import (
    CONNECTION_OPTIONS,
    DRIVER_LIBRARY,
    HAS_DRIVER,
    LoginRefused,
    Node,
    Unreachable,
    plain,
)

DOCUMENTATION = r"""
module: cassandra_cql
short_description: Run CQL statements on a Cassandra node
description:
  - Runs I(statements) in order on one node, logged in as I(login_user).
  - Reports changed when the node's schema version changed, so idempotent DDL such as
    C(CREATE KEYSPACE IF NOT EXISTS) reports changed only the first time. Statements that
    change data but not the schema report unchanged; set C(changed_when) on the task for them.
  - Not run in check mode (the statements cannot be dry-run).
  - Needs the Python driver (Debian package C(python3-cassandra)) on the node it runs on.
options:
  login_host: {description: Address of the node's CQL port., type: str, default: 127.0.0.1}
  login_port: {description: CQL port., type: int, default: 9042}
  ssl_ca:
    description:
      - CA certificate (PEM, a path on the node the module runs on) to verify the node's
        certificate against, for its address I(login_host); the connection is TLS. "" for
        plaintext.
    type: path
    default: ""
  wait_timeout: {description: Seconds to wait for the node to answer., type: int, default: 60}
  login_user: {description: Role to log in as., type: str, required: true}
  login_password: {description: Its password., type: str, required: true}
  keyspace: {description: Keyspace the statements run in ("" for none)., type: str, default: ""}
  consistency: {description: Consistency level of the statements., type: str, default: LOCAL_QUORUM}
  statements: {description: CQL statements, in order., type: list, elements: str, required: true}
"""

EXAMPLES = r"""
- name: Create the keyspace of the recommendations
  cassandra_cql:
    login_user: admin
    login_password: "{{ cassandra_superuser_password }}"
    statements:
      - >-
        CREATE KEYSPACE IF NOT EXISTS reco
        WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 1}
"""

RETURN = r"""
results:
  description: The rows of each statement (at most 1000 each), as lists of mappings.
  type: list
  returned: always
"""

MAX_ROWS = 1000


def tls_hint(params) -> str:
    if not params["ssl_ca"]:
        return ""
    return (
        " (over TLS: if the ring does not serve TLS yet, run playbooks/site.yml first;"
        " cassandra_tls: false keeps it plaintext)"
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_OPTIONS,
            "login_user": {"type": "str", "required": True},
            "login_password": {"type": "str", "required": True, "no_log": True},
            "keyspace": {"type": "str", "default": ""},
            "consistency": {"type": "str", "default": "LOCAL_QUORUM"},
            "statements": {"type": "list", "elements": "str", "required": True},
        },
        supports_check_mode=False,
    )
    if not HAS_DRIVER:
        module.fail_json(msg=missing_required_lib(DRIVER_LIBRARY))
    params = module.params
    try:
        node = Node(
            params["login_host"], params["login_port"], params["consistency"], params["ssl_ca"]
        )
    except KeyError:
        module.fail_json(msg=f"Unknown consistency level {params['consistency']}")
    results = []
    try:
        node.wait_for_login(
            params["login_user"],
            params["login_password"],
            params["wait_timeout"],
            params["keyspace"] or None,
        )
        before = node.schema_version()
        for statement in params["statements"]:
            try:
                rows = node.execute(statement)
            except Exception as exc:  # the driver raises many kinds; report the statement
                module.fail_json(msg=f"{statement}: {exc}", results=results)
            taken = []
            for row in rows:
                if len(taken) == MAX_ROWS:
                    break
                taken.append({key: plain(value) for key, value in row._asdict().items()})
            results.append(taken)
        after = node.schema_version()
    except LoginRefused:
        module.fail_json(msg=f"Cassandra refuses the login {params['login_user']}")
    except Unreachable as exc:
        module.fail_json(msg=f"Cassandra does not answer CQL: {exc}{tls_hint(params)}")
    finally:
        node.close()
    module.exit_json(changed=before != after, results=results)


if __name__ == "__main__":
    main()
