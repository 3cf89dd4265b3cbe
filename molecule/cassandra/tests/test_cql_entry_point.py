"""The role's `cql` entry point (tasks_from: cql) created what converge.yml asked for."""

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster

from tests import inventory

# The scenario's inventory (molecule.yml) sets this password; the role's default name is admin.
SUPERUSER = PlainTextAuthProvider(username="admin", password="lab-cassandra-secret")


def test_keyspace_and_table_from_the_cql_entry_point():
    cluster = Cluster(
        ["127.0.0.1"],
        auth_provider=SUPERUSER,
        ssl_context=inventory.cassandra_ssl_context(),
        connect_timeout=10,
    )
    try:
        rows = cluster.connect().execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'lab_converge'"
        )
        assert [row.table_name for row in rows] == ["checks"]
    finally:
        cluster.shutdown()
