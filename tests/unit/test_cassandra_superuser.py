"""The cassandra role's cassandra_superuser module against a node that stops answering half-way
(a fresh ring settling its schema): the whole procedure is asked again and ends as on a calm
node; a node that never comes back fails with a clear message within wait_timeout."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible.module_utils.testing import patch_module_args
from cassandra import ConsistencyLevel, Unavailable, WriteTimeout, WriteType
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionShutdown

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


session = load(
    "ansible.module_utils.cassandra_session",
    ROOT / "roles/cassandra/module_utils/cassandra_session.py",
)
superuser = load("cassandra_superuser", ROOT / "roles/cassandra/library/cassandra_superuser.py")


# How a request fails on a ring that is still forming or under load.
NO_HOST = NoHostAvailable("Unable to complete the operation", {"node": "defunct"})
DROPPED = ConnectionShutdown("Connection to 10.0.0.1:9042 is defunct")
WRITE_TIMEOUT = WriteTimeout(
    "Operation timed out - received only 0 responses.",
    consistency=ConsistencyLevel.QUORUM,
    required_responses=2,
    received_responses=0,
    write_type=WriteType.SIMPLE,
)
UNAVAILABLE = Unavailable(
    "Cannot achieve consistency level QUORUM",
    consistency=ConsistencyLevel.QUORUM,
    required_replicas=2,
    alive_replicas=1,
)


class FlakyRing:
    """The roles of a one-node ring whose first `drops` statements fail with `error`."""

    def __init__(self, drops: int, error: Exception = NO_HOST) -> None:
        self.drops = drops
        self.error = error
        self.roles = {"cassandra": {"password": "cassandra", "is_superuser": True, "login": True}}
        self.replication = {"class": "SimpleStrategy", "replication_factor": "1"}
        self.statements: list[str] = []

    def node(self, *_args, **_kwargs):
        ring = self

        class Node:
            def login(self, user, password):
                role = ring.roles.get(user)
                if not (role and role["login"] and role["password"] == password):
                    raise session.LoginRefused(user)

            def execute(self, statement, parameters=None):
                if ring.drops:
                    ring.drops -= 1
                    raise ring.error
                ring.statements.append(statement)
                return ring.answer(statement, parameters)

            def one(self, statement, parameters=None):
                rows = self.execute(statement, parameters)
                return rows[0] if rows else None

            def describe(self):
                return "10.0.0.1:9042 without TLS"

            def close(self):
                pass

        return Node()

    def answer(self, statement: str, parameters) -> list:
        handlers = {
            "SELECT data_center FROM system.local": lambda: [SimpleNamespace(data_center="dc1")],
            "SELECT data_center FROM system.peers": list,
            "SELECT replication": lambda: [SimpleNamespace(replication=self.replication)],
            "ALTER KEYSPACE": lambda: self.replicate({"class": superuser.NTS, "dc1": "1"}),
            "SELECT is_superuser": lambda: self.role_rows(parameters[0]),
            "CREATE ROLE": lambda: self.set_role("admin", parameters[0], superuser=True),
            'ALTER ROLE "cassandra"': lambda: self.set_role("cassandra", parameters[0], False),
        }
        prefix = next(p for p in handlers if statement.startswith(p))
        return handlers[prefix]()

    def replicate(self, replication: dict) -> list:
        self.replication = replication
        return []

    def role_rows(self, name: str) -> list:
        role = self.roles.get(name)
        if role is None:
            return []
        return [SimpleNamespace(is_superuser=role["is_superuser"], can_login=role["login"])]

    def set_role(self, name: str, password: str, superuser: bool) -> list:
        self.roles[name] = {"password": password, "is_superuser": superuser, "login": superuser}
        return []


def run(ring: FlakyRing, monkeypatch, capsys, wait_timeout: int = 30) -> dict:
    monkeypatch.setattr(superuser, "Node", ring.node)
    monkeypatch.setattr(superuser.time, "sleep", lambda _seconds: None)
    args = {
        "name": "admin",
        "password": "admin-secret-123",
        "system_auth_replication_factor": 3,
        "wait_timeout": wait_timeout,
    }
    with patch_module_args(args), pytest.raises(SystemExit):
        superuser.main()
    return json.loads(capsys.readouterr().out)


def test_a_calm_node_gets_the_superuser_and_loses_the_default_login(monkeypatch, capsys):
    ring = FlakyRing(drops=0)
    result = run(ring, monkeypatch, capsys)
    assert result["changed"] and result["logged_in_as"] == "default"
    assert result["actions"] == [
        "set the replication of system_auth to dc1: 1",
        "create superuser admin",
        "disable the default login cassandra",
    ]
    assert not ring.roles["cassandra"]["login"]


@pytest.mark.parametrize("error", [NO_HOST, DROPPED, WRITE_TIMEOUT, UNAVAILABLE])
@pytest.mark.parametrize("drops", [1, 3, 5])
def test_a_node_that_fails_requests_half_way_ends_the_same(monkeypatch, capsys, drops, error):
    ring = FlakyRing(drops=drops, error=error)
    result = run(ring, monkeypatch, capsys)
    assert "failed" not in result, result
    assert result["changed"]
    assert ring.roles["admin"]["password"] == "admin-secret-123"
    assert not ring.roles["cassandra"]["login"]
    assert ring.replication == {"class": superuser.NTS, "dc1": "1"}
    assert len(result["actions"]) == len(set(result["actions"]))


def test_a_node_that_never_answers_fails_naming_it(monkeypatch, capsys):
    clock = iter(range(0, 10_000, 10))
    monkeypatch.setattr(superuser.time, "monotonic", lambda: next(clock))
    result = run(FlakyRing(drops=10_000), monkeypatch, capsys, wait_timeout=60)
    assert result["failed"]
    assert "10.0.0.1:9042" in result["msg"] and "stopped answering" in result["msg"]
