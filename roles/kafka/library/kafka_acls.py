#!/usr/bin/python
"""Ansible module: the ACLs of some Kafka principals, exactly as declared."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import NamedTuple

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: kafka_acls
short_description: Make the ACLs of some Kafka principals exactly the declared ones
description:
  - Lists the cluster's ACLs with C(kafka-acls.sh --list), adds those of I(acls) that are
    missing and removes the ACLs of the I(principals) that I(acls) does not declare. ACLs of
    other principals are left alone. Nothing changes when the listing already matches (and in
    check mode nothing is changed; the result says what would be).
  - Runs C(kafka-acls.sh --bootstrap-server) with the client configuration I(command_config)
    (a super user's login), so the cluster's authorizer applies them in either mode.
options:
  acls:
    description:
      - principal (a user name, or C(User:name)), resource_type (topic, group, cluster,
        transactional_id), resource_name (not for cluster), pattern_type (literal or prefixed,
        default literal), operations (read, write, describe, create, delete, alter,
        describe_configs, alter_configs, cluster_action, idempotent_write, all), permission
        (allow or deny, default allow), host (default C(*)).
    type: list
    elements: dict
    required: true
  principals:
    description: Principals whose ACLs are exactly those of I(acls) (user names or User:name).
    type: list
    elements: str
    default: []
  kafka_home:
    description: Kafka's installation (bin/kafka-acls.sh).
    type: path
    default: /opt/kafka
  bootstrap_server: {description: Brokers (host:port)., type: str, required: true}
  command_config:
    description: Client configuration file of a super user.
    type: path
    required: true
"""

RETURN = r"""
added:
  description: ACLs added (or that would be), one line each.
  type: list
  returned: always
removed:
  description: ACLs removed (or that would be), one line each.
  type: list
  returned: always
"""

RESOURCE_TYPES = {
    "topic": ("TOPIC", "--topic"),
    "group": ("GROUP", "--group"),
    "cluster": ("CLUSTER", "--cluster"),
    "transactional_id": ("TRANSACTIONAL_ID", "--transactional-id"),
}
CLUSTER_NAME = "kafka-cluster"
OPERATIONS = [
    "read",
    "write",
    "describe",
    "create",
    "delete",
    "alter",
    "describe_configs",
    "alter_configs",
    "cluster_action",
    "idempotent_write",
    "all",
]


class Acl(NamedTuple):
    """One ACL as Kafka lists it (enum names in upper case)."""

    resource_type: str
    resource_name: str
    pattern_type: str
    principal: str
    host: str
    operation: str
    permission: str

    def line(self) -> str:
        return (
            f"{self.permission} {self.principal} {self.operation} on {self.resource_type} "
            f"{self.resource_name} ({self.pattern_type}) from {self.host}"
        )


# kafka-acls.sh --list (Kafka 3.6, AclCommand): for each resource a header line, then one line
# per ACL entry:
#   Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`:
#       (principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)
RESOURCE = re.compile(
    r"^Current ACLs for resource `ResourcePattern\(resourceType=(?P<type>\w+), "
    r"name=(?P<name>.*), patternType=(?P<pattern>\w+)\)`:"
)
ENTRY = re.compile(
    r"^\s*\(principal=(?P<principal>.+?), host=(?P<host>.+?), "
    r"operation=(?P<operation>\w+), permissionType=(?P<permission>\w+)\)\s*$"
)


def parse_listing(output: str) -> set[Acl]:
    acls: set[Acl] = set()
    resource = None
    for line in output.splitlines():
        header = RESOURCE.match(line.strip())
        if header:
            resource = (header["type"], header["name"], header["pattern"])
            continue
        entry = ENTRY.match(line)
        if entry and resource:
            acls.add(
                Acl(
                    *resource,
                    entry["principal"],
                    entry["host"],
                    entry["operation"],
                    entry["permission"],
                )
            )
    return acls


def principal(name: str) -> str:
    return name if ":" in name else f"User:{name}"


def expand(declared: list[dict]) -> set[Acl]:
    """The declared entries as single ACLs; ValueError names what is wrong."""
    acls: set[Acl] = set()
    for entry in declared:
        kind = str(entry.get("resource_type", "")).lower()
        if kind not in RESOURCE_TYPES:
            raise ValueError(f"resource_type {kind!r} of {entry}: one of {list(RESOURCE_TYPES)}")
        name = CLUSTER_NAME if kind == "cluster" else str(entry.get("resource_name") or "")
        if not name:
            raise ValueError(f"{entry} needs a resource_name")
        pattern = str(entry.get("pattern_type") or "literal").upper()
        permission = str(entry.get("permission") or "allow").upper()
        if pattern not in ("LITERAL", "PREFIXED") or permission not in ("ALLOW", "DENY"):
            raise ValueError(f"{entry}: pattern_type literal|prefixed, permission allow|deny")
        operations = [str(op).lower() for op in entry.get("operations") or []]
        unknown = [op for op in operations if op not in OPERATIONS]
        if unknown or not operations:
            raise ValueError(f"operations {unknown or operations} of {entry}: from {OPERATIONS}")
        for operation in operations:
            acls.add(
                Acl(
                    RESOURCE_TYPES[kind][0],
                    name,
                    pattern,
                    principal(str(entry.get("principal", ""))),
                    str(entry.get("host") or "*"),
                    operation.upper(),
                    permission,
                )
            )
    return acls


def plan(current: set[Acl], desired: set[Acl], managed: set[str]) -> tuple[set, set]:
    """(to add, to remove): the missing desired ACLs, and the managed principals' others."""
    owned = {acl for acl in current if acl.principal in managed}
    return desired - current, owned - desired


def pascal(operation: str) -> str:
    """The name kafka-acls.sh --operation takes (IDEMPOTENT_WRITE -> IdempotentWrite)."""
    return "".join(part.capitalize() for part in operation.split("_"))


def commands(action: str, acls: set[Acl]) -> list[list[str]]:
    """kafka-acls.sh arguments (after the connection's) to add or remove the ACLs: one command
    per resource, principal, host and permission, with all their operations."""
    grouped: dict[tuple, list[str]] = defaultdict(list)
    for acl in acls:
        key = (acl.resource_type, acl.resource_name, acl.pattern_type, acl.principal, acl.host)
        grouped[(*key, acl.permission)].append(acl.operation)
    out = []
    for (kind, name, pattern, who, host, permission), operations in sorted(grouped.items()):
        option = next(opt for k, (t, opt) in RESOURCE_TYPES.items() if t == kind)
        resource = [option] if kind == "CLUSTER" else [option, name]
        side = "allow" if permission == "ALLOW" else "deny"
        args = [f"--{action}"] + (["--force"] if action == "remove" else [])
        args += [f"--{side}-principal", who, f"--{side}-host", host]
        for operation in sorted(operations):
            args += ["--operation", pascal(operation)]
        out.append(args + resource + ["--resource-pattern-type", pattern.lower()])
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "acls": {"type": "list", "elements": "dict", "required": True},
            "principals": {"type": "list", "elements": "str", "default": []},
            "kafka_home": {"type": "path", "default": "/opt/kafka"},
            "bootstrap_server": {"type": "str", "required": True},
            "command_config": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        desired = expand(p["acls"])
    except ValueError as exc:
        module.fail_json(msg=f"kafka_acls: {exc}")
    managed = {principal(name) for name in p["principals"]} | {acl.principal for acl in desired}
    script = f"{p['kafka_home']}/bin/kafka-acls.sh"
    connection = [
        "--bootstrap-server",
        p["bootstrap_server"],
        "--command-config",
        p["command_config"],
    ]

    def run(args: list[str], what: str) -> str:
        rc, out, err = module.run_command([script, *connection, *args])
        if rc != 0 or "Error while executing ACL command" in out:
            module.fail_json(msg=f"kafka-acls.sh failed {what}: {(err or out).strip()[-2000:]}")
        return out

    current = parse_listing(run(["--list"], "listing the ACLs"))
    to_add, to_remove = plan(current, desired, managed)
    if not module.check_mode:
        for args in commands("add", to_add) + commands("remove", to_remove):
            run(args, "changing the ACLs")
    module.exit_json(
        changed=bool(to_add or to_remove),
        added=sorted(acl.line() for acl in to_add),
        removed=sorted(acl.line() for acl in to_remove),
        diff={
            "before": "\n".join(sorted(a.line() for a in current if a.principal in managed)) + "\n",
            "after": "\n".join(sorted(a.line() for a in desired)) + "\n",
        },
    )


if __name__ == "__main__":
    main()
