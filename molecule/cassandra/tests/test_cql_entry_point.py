"""The role's `cql` entry point (tasks_from: cql) created what converge.yml asked for."""

from tests import cql


def test_keyspace_and_table_from_the_cql_entry_point():
    with cql.session(["127.0.0.1"]) as session:
        rows = session.execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'lab_converge'"
        )
        assert [row.table_name for row in rows] == ["checks"]
