#!/usr/bin/python
"""Ansible module: the cluster's own superuser, and the default cassandra login disabled."""

from __future__ import annotations

import secrets
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.cassandra_session import (
    CONNECTION_OPTIONS,
    DRIVER_LIBRARY,
    HAS_DRIVER,
    TRANSIENT_ERRORS,
    LoginRefused,
    Node,
    Unreachable,
    quote_identifier,
)

DOCUMENTATION = r"""
module: cassandra_superuser
short_description: Replace Cassandra's default superuser by a configured one
description:
  - Logs in with the configured superuser, or else with I(previous_password), or else with
    Cassandra's default C(cassandra)/C(cassandra) login (waiting until a fresh node has
    created it), and makes sure the configured role exists as a superuser that can log in
    with I(password).
  - Then takes login and superuser status from the default role, with a random password,
    so that the default credentials are refused.
  - Optionally sets the replication of C(system_auth) to NetworkTopologyStrategy with a
    replication factor in every data centre of the cluster, before it writes any role (so
    that every replica holds the roles it writes).
  - Reports changed only when it changed something; supports check mode.
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
  wait_timeout:
    description: Seconds to wait for the node to answer and for a fresh node's default login.
    type: int
    default: 60
  name: {description: Name of the superuser., type: str, required: true}
  password: {description: Password of the superuser., type: str, required: true}
  previous_password:
    description: The superuser's password before a change of I(password) ("" for none).
    type: str
    default: ""
  default_login:
    description: Name of Cassandra's default superuser, disabled once I(name) works.
    type: str
    default: cassandra
  system_auth_replication_factor:
    description: Replicas of system_auth in each data centre (capped at its nodes); 0 to leave it.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Replace the default superuser
  cassandra_superuser:
    login_host: 10.0.0.11
    name: admin
    password: "{{ vault_cassandra_superuser_password }}"
    system_auth_replication_factor: 3
  no_log: true
"""

RETURN = r"""
actions: {description: What was (or in check mode would be) changed., type: list, returned: always}
logged_in_as:
  description: "Which login worked first: configured, previous or default."
  type: str
  returned: always
"""

# Cassandra creates this login on a fresh cluster; its password is public knowledge.
DEFAULT_PASSWORD = "cassandra"
NTS = "org.apache.cassandra.locator.NetworkTopologyStrategy"


def first_login(node: Node, candidates: list[tuple[str, str, str]], timeout: int) -> str:
    """Log in with the first candidate that works; wait while the node or its auth is not ready.

    A fresh node opens its CQL port a few seconds before it has created the default login,
    so a refusal of every candidate is retried until the timeout too.
    """
    deadline = time.monotonic() + timeout
    while True:
        unreachable = None
        for user, password, label in candidates:
            try:
                node.login(user, password)
                return label
            except LoginRefused:
                continue
            except Unreachable as exc:
                unreachable = exc
                break
        if time.monotonic() >= deadline:
            if unreachable is not None:
                raise unreachable
            raise LoginRefused(", ".join(label for _, _, label in candidates))
        time.sleep(3)


def role_row(node: Node, name: str):
    return node.one(
        "SELECT is_superuser, can_login FROM system_auth.roles WHERE role = %s", (name,)
    )


def ensure_superuser(module, node: Node, logged_in_as: str, actions: list[str]) -> None:
    """Create the configured superuser, or give it the configured password."""
    params = module.params
    name = params["name"]
    role = quote_identifier(name).replace("%", "%%")
    row = role_row(node, name)
    if logged_in_as == "configured":
        if not (row.is_superuser and row.can_login):
            module.fail_json(
                msg=f"Role {name} logs in but is not a superuser; a superuser must grant it "
                "SUPERUSER and LOGIN, or choose another cassandra_superuser_name."
            )
        return
    if row is None:
        actions.append(f"create superuser {name}")
        statement = f"CREATE ROLE {role} WITH PASSWORD = %s AND SUPERUSER = true AND LOGIN = true"
    elif logged_in_as == "previous":
        actions.append(f"change the password of {name}")
        statement = f"ALTER ROLE {role} WITH PASSWORD = %s"
    else:
        actions.append(f"set the password, superuser and login of {name}")
        statement = f"ALTER ROLE {role} WITH PASSWORD = %s AND SUPERUSER = true AND LOGIN = true"
    if not module.check_mode:
        node.execute(statement, (params["password"],))


def login_as_superuser(module, node: Node) -> None:
    """Log in as the configured superuser after creating it (the caches need a moment)."""
    params = module.params
    deadline = time.monotonic() + 30
    while True:
        try:
            node.login(params["name"], params["password"])
            return
        except (LoginRefused, Unreachable) as exc:
            if time.monotonic() >= deadline:
                module.fail_json(
                    msg=f"Cannot log in as {params['name']} after setting it up: {exc}"
                )
        time.sleep(2)


def disable_default(module, node: Node, actions: list[str]) -> None:
    """Take login and superuser from the default role, with a random password."""
    default = module.params["default_login"]
    if default == module.params["name"]:
        return
    row = role_row(node, default)
    if row is None or not (row.can_login or row.is_superuser):
        return
    actions.append(f"disable the default login {default}")
    if not module.check_mode:
        node.execute(
            f"ALTER ROLE {quote_identifier(default).replace('%', '%%')} WITH PASSWORD = %s "
            "AND SUPERUSER = false AND LOGIN = false",
            (secrets.token_urlsafe(32),),
        )


def ensure_auth_replication(module, node: Node, actions: list[str]) -> None:
    """system_auth on NetworkTopologyStrategy with the factor in every data centre."""
    factor = module.params["system_auth_replication_factor"]
    if factor <= 0:
        return
    nodes: dict[str, int] = {}
    local = node.one("SELECT data_center FROM system.local").data_center
    nodes[local] = 1
    for peer in node.execute("SELECT data_center FROM system.peers"):
        nodes[peer.data_center] = nodes.get(peer.data_center, 0) + 1
    wanted = {"class": NTS, **{dc: str(min(factor, count)) for dc, count in nodes.items()}}
    current = dict(
        node.one(
            "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'system_auth'"
        ).replication
    )
    if current == wanted:
        return
    actions.append(
        "set the replication of system_auth to "
        + ", ".join(f"{dc}: {wanted[dc]}" for dc in sorted(nodes))
        + ("; run `nodetool repair system_auth` on every node" if sum(nodes.values()) > 1 else "")
    )
    if not module.check_mode:
        replication = ", ".join(f"'{key}': '{value}'" for key, value in wanted.items())
        node.execute(f"ALTER KEYSPACE system_auth WITH replication = {{{replication}}}")


def set_up_logins(
    module, node: Node, candidates: list[tuple[str, str, str]], deadline: float, actions: list
) -> str:
    """Log in, then replicate system_auth, set up the configured superuser and disable the
    default login; returns which login worked first."""
    params = module.params
    try:
        logged_in_as = first_login(node, candidates, max(0, int(deadline - time.monotonic())))
    except Unreachable as exc:
        module.fail_json(msg=f"Cassandra does not answer CQL: {exc}")
    except LoginRefused:
        module.fail_json(
            msg=f"Cassandra refuses {params['name']} with the configured password, and "
            f"the default {params['default_login']} login too. If the superuser's password "
            "was changed, set cassandra_superuser_previous_password to the one it has now."
        )
    # system_auth gets its replicas before any role is written: a role written while it had
    # one replica would be missing from the others until a repair, and a login read from them
    # refused.
    ensure_auth_replication(module, node, actions)
    ensure_superuser(module, node, logged_in_as, actions)
    if logged_in_as != "configured" and not module.check_mode:
        login_as_superuser(module, node)
    disable_default(module, node, actions)
    return logged_in_as


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_OPTIONS,
            "name": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "previous_password": {"type": "str", "default": "", "no_log": True},
            "default_login": {"type": "str", "default": "cassandra"},
            "system_auth_replication_factor": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    if not HAS_DRIVER:
        module.fail_json(msg=missing_required_lib(DRIVER_LIBRARY))
    params = module.params
    if not params["password"]:
        module.fail_json(msg="password is empty")

    candidates = [(params["name"], params["password"], "configured")]
    if params["previous_password"]:
        candidates.append((params["name"], params["previous_password"], "previous"))
    candidates.append((params["default_login"], DEFAULT_PASSWORD, "default"))

    node = Node(params["login_host"], params["login_port"], ssl_ca=params["ssl_ca"])
    actions: list[str] = []
    deadline = time.monotonic() + params["wait_timeout"]
    # Every step reads before it writes, so the whole procedure is asked again when the node
    # stops answering half-way (a fresh ring still settling its schema and gossip).
    while True:
        try:
            logged_in_as = set_up_logins(module, node, candidates, deadline, actions)
            break
        except TRANSIENT_ERRORS as exc:
            if time.monotonic() >= deadline:
                module.fail_json(
                    msg=f"Cassandra at {node.describe()} stopped answering while the logins "
                    f"were set up, until wait_timeout: {exc}",
                    actions=list(dict.fromkeys(actions)),
                )
            time.sleep(3)
        finally:
            node.close()
    actions = list(dict.fromkeys(actions))  # a step asked again is reported once
    module.exit_json(changed=bool(actions), actions=actions, logged_in_as=logged_in_as)


if __name__ == "__main__":
    main()
