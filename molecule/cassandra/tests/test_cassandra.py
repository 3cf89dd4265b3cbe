"""Cassandra on a real host: the ring, CQL with the configured login, restarts and crashes."""

import time
import uuid

import pytest
from cassandra import AuthenticationFailed
from cassandra.cluster import NoHostAvailable

from tests import cql, inventory
from tests.labhost import INTERRUPTIONS, healthy, interrupt

# The inventory's address and CQL port of the node, and the address alone.
ENDPOINT = inventory.endpoint("cassandra", "cassandra")
HOST = ENDPOINT.rpartition(":")[0]
# The role keeps Cassandra's periodic commit log sync (commitlog_sync_period 10000ms): a write
# survives a crash of the JVM once the next sync has written it out.
COMMITLOG_SYNC_SECONDS = 10


def query(statement: str, parameters=None):
    """Rows of a statement of the superuser."""
    with cql.session([HOST]) as session:
        return list(session.execute(statement, parameters))


def test_node_is_up_and_normal(host):
    with host.sudo():
        status = host.run("nodetool status")
    assert status.rc == 0, status.stderr
    assert any(line.split()[:2] == ["UN", HOST] for line in status.stdout.splitlines())


def test_runs_as_cassandra_on_java_17_with_the_configured_heap(host):
    process = host.process.get(user="cassandra", comm="java")
    assert "/java-17-" in process.args
    with host.sudo():
        options = host.file("/etc/cassandra/jvm-server.options").content_string
        java17 = host.file("/etc/cassandra/jvm17-server.options").content_string
    assert "-Xmx1G" in options.split()
    assert "--add-opens java.base/java.nio=ALL-UNNAMED" in java17


def test_password_authentication_and_authorization_are_on():
    rows = query(
        "SELECT name, value FROM system_views.settings "
        "WHERE name IN ('authenticator.class_name', 'authorizer.class_name')"
    )
    assert {row.name: row.value for row in rows} == {
        "authenticator.class_name": "PasswordAuthenticator",
        "authorizer.class_name": "CassandraAuthorizer",
    }


def test_write_and_read_back():
    keyspace = f"lab_{uuid.uuid4().hex[:8]}"
    with cql.session([HOST]) as session:
        session.execute(
            f"CREATE KEYSPACE {keyspace} WITH replication = "
            "{'class': 'NetworkTopologyStrategy', 'datacenter1': 1}"
        )
        session.execute(
            f"CREATE TABLE {keyspace}.ratings (user int, movie int, rating float, "
            "PRIMARY KEY (user, movie))"
        )
        insert = session.prepare(
            f"INSERT INTO {keyspace}.ratings (user, movie, rating) VALUES (?, ?, ?)"
        )
        for movie in range(50):
            session.execute(insert, (7, movie, movie / 10))
        rows = list(session.execute(f"SELECT movie, rating FROM {keyspace}.ratings WHERE user = 7"))
        assert [row.movie for row in rows] == list(range(50))
        assert rows[42].rating == pytest.approx(4.2)
        session.execute(f"DROP KEYSPACE {keyspace}")


def test_default_credentials_are_refused():
    with pytest.raises(NoHostAvailable) as refused, cql.session([HOST], "cassandra", "cassandra"):
        pass
    assert any(isinstance(e, AuthenticationFailed) for e in refused.value.errors.values())


def test_superuser_replaces_the_default_one():
    roles = {
        row.role: row
        for row in query("SELECT role, is_superuser, can_login FROM system_auth.roles")
    }
    assert roles["admin"].is_superuser and roles["admin"].can_login
    assert not roles["cassandra"].is_superuser and not roles["cassandra"].can_login


def serving(host) -> bool:
    """Healthy (lab-health) and answering a query of the superuser."""
    kind = "cassandra" if inventory.cassandra_tls() else "cassandra-plain"
    if not healthy(host, kind, ENDPOINT):
        return False
    query("SELECT release_version FROM system.local")
    return True


@pytest.fixture(scope="module")
def checks_table() -> str:
    query(
        "CREATE KEYSPACE IF NOT EXISTS lab_checks WITH replication = "
        "{'class': 'NetworkTopologyStrategy', 'datacenter1': 1}"
    )
    query("CREATE TABLE IF NOT EXISTS lab_checks.checks (name text PRIMARY KEY, value int)")
    return "lab_checks.checks"


@pytest.mark.parametrize("how", INTERRUPTIONS)
def test_comes_back_with_its_data(host, how, checks_table):
    key = uuid.uuid4().hex
    query(f"INSERT INTO {checks_table} (name, value) VALUES (%s, %s)", (key, 42))
    time.sleep(COMMITLOG_SYNC_SECONDS + 2)
    interrupt(host, "cassandra", how, lambda: serving(host))
    # After SIGKILL the row comes back from the replayed commit log.
    rows = query(f"SELECT value FROM {checks_table} WHERE name = %s", (key,))
    assert [row.value for row in rows] == [42]
