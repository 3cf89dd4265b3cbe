"""How the cassandra role moves a running ring between plaintext and TLS without splitting it.

A node is at one of four levels (the role records the level a node runs with after each restart
it waited for; a node without that record is at the level of its cassandra.yaml's
server_encryption_options):

    0  plaintext: the storage port refuses TLS, the node sends plaintext
    1  the storage port accepts TLS and plaintext, the node still sends plaintext
    2  the storage port accepts TLS and plaintext, the node sends TLS
    3  TLS only

(at 1 and 2 the CQL port accepts TLS and plaintext too). Two nodes whose levels differ by one
still talk both ways; 0 and 2, or 1 and 3, do not: a ring goes up or down one level per rolling
restart. On a ring of several nodes with a configuration already, the role rolls it through
the levels between the lowest (going up) or highest (going down) level it finds and the one
asked for, then to that one.

    {{ cassandra_hosts | cassandra_tls_plan(hostvars, 3) }}
        -> {"steps": [1, 2], "levels": {"node1": 0, ...}, "missing": []}
    {{ 0 | cassandra_tls_step_level(1, 3) }}   -> 1  (the level a node takes at a step)
    {{ cassandra_yaml_dict | cassandra_tls_level_of }}   -> 3
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ansible.errors import AnsibleFilterError

PLAINTEXT, ACCEPTS_TLS, SENDS_TLS, TLS_ONLY = 0, 1, 2, 3
# A node without a cassandra.yaml yet (not installed): it takes whatever level a step asks.
NO_CONFIGURATION = -1
# The fact the role sets on each node: its level before this run.
LEVEL_FACT = "cassandra_tls_level_before"


def _flag(value) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "yes", "1", "on")


def cassandra_tls_level_of(config) -> int:
    """The level of a node's cassandra.yaml (a mapping); -1 for none (empty or not a mapping)."""
    if not isinstance(config, Mapping) or not config:
        return NO_CONFIGURATION
    server = config.get("server_encryption_options") or {}
    if not isinstance(server, Mapping):
        server = {}
    internode = str(server.get("internode_encryption", "none")).strip().lower()
    optional = _flag(server.get("optional"))
    if internode in ("none", "false", ""):
        # Cassandra also accepts TLS without `optional` when a keystore exists; the role always
        # writes `optional` with a keystore, so a node without it is plaintext.
        return ACCEPTS_TLS if optional else PLAINTEXT
    return SENDS_TLS if optional else TLS_ONLY


def _level(value) -> int:
    try:
        level = int(value)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"not a TLS level: {value!r}") from exc
    if not NO_CONFIGURATION <= level <= TLS_ONLY:
        raise AnsibleFilterError(f"not a TLS level: {value!r}")
    return level


def cassandra_tls_steps(levels: Iterable, target) -> list[int]:
    """The levels a ring at `levels` (one a node; -1 for a node without configuration) rolls
    through before `target`: none when it is there, has no configured node, or is one node."""
    target = _level(target)
    known = [_level(level) for level in levels]
    known = [level for level in known if level != NO_CONFIGURATION]
    if len(known) < 1 or all(level == target for level in known):
        return []
    if target > min(known):
        return list(range(min(known) + 1, target))
    if target < max(known):
        return list(range(max(known) - 1, target, -1))
    return []


def cassandra_tls_step_level(before, step, target) -> int:
    """The level a node at `before` takes at `step` of a move towards `target` (a node that is
    further along already stays where it is; a node without configuration takes the step)."""
    before, step, target = _level(before), _level(step), _level(target)
    if before == NO_CONFIGURATION:
        return step
    return max(before, step) if target >= step else min(before, step)


def cassandra_tls_plan(hosts: Iterable[str], hostvars: Mapping, target) -> dict:
    """What the role does to the ring of `hosts` to bring it to `target`: its `levels` (from each
    host's cassandra_tls_level_before fact), the `steps` in between (one rolling restart each),
    and the hosts `missing` from the play, whose level is unknown (a move that leaves them out
    would split the ring). A ring of one node needs no steps: it has no peer to lose."""
    if isinstance(hosts, str):
        hosts = [hosts]
    hosts = list(hosts)
    levels: dict[str, int] = {}
    missing: list[str] = []
    for host in hosts:
        try:
            value = hostvars[host].get(LEVEL_FACT)
        except Exception:  # noqa: BLE001 - a host the inventory does not know
            value = None
        if value is None or str(value) == "":
            missing.append(host)
        else:
            levels[host] = _level(value)
    steps = cassandra_tls_steps(levels.values(), target) if len(hosts) > 1 else []
    return {"steps": steps, "levels": levels, "missing": missing}


class FilterModule:
    def filters(self):
        return {
            "cassandra_tls_level_of": cassandra_tls_level_of,
            "cassandra_tls_plan": cassandra_tls_plan,
            "cassandra_tls_step_level": cassandra_tls_step_level,
        }
