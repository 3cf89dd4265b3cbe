"""The backup role's Python: the manifest (sizes, SHA-256, what differs) and the CQL that makes
a keyspace's schema and grants again."""

import importlib.util
import json
from pathlib import Path

ROLE = Path(__file__).parents[2] / "roles/backup"


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


manifest = load("backup_manifest", ROLE / "library/backup_manifest.py")
cql = load("backup_cql", ROLE / "filter_plugins/backup_cql.py")


def backup(tmp_path: Path) -> Path:
    (tmp_path / "hdfs").mkdir()
    (tmp_path / "hdfs/models.tar.gz").write_bytes(b"models" * 1000)
    (tmp_path / "cassandra").mkdir()
    (tmp_path / "cassandra/schema.cql").write_text("CREATE KEYSPACE reco;\n")
    built = manifest.build(str(tmp_path), {"hdfs/models.tar.gz": "the models"}, {"x": 1})
    (tmp_path / "manifest.json").write_text(json.dumps(built))
    return tmp_path


def test_the_manifest_lists_every_file_with_its_size_and_checksum(tmp_path):
    built = manifest.build(str(backup(tmp_path)), {"hdfs/models.tar.gz": "the models"}, {"x": 1})
    assert sorted(built["files"]) == ["cassandra/schema.cql", "hdfs/models.tar.gz"]
    entry = built["files"]["hdfs/models.tar.gz"]
    assert entry["size"] == 6000 and entry["what"] == "the models"
    assert entry["sha256"] == manifest.sha256(str(tmp_path / "hdfs/models.tar.gz"))
    assert built["total_size"] == 6000 + len("CREATE KEYSPACE reco;\n") and built["x"] == 1


def test_an_intact_backup_has_no_problem(tmp_path):
    root = backup(tmp_path)
    assert manifest.problems(str(root), json.loads((root / "manifest.json").read_text())) == []


def test_a_changed_missing_or_shorter_file_is_named(tmp_path):
    root = backup(tmp_path)
    listed = json.loads((root / "manifest.json").read_text())
    data = bytearray((root / "hdfs/models.tar.gz").read_bytes())
    data[0] ^= 0xFF
    (root / "hdfs/models.tar.gz").write_bytes(bytes(data))
    (root / "cassandra/schema.cql").unlink()
    assert manifest.problems(str(root), listed) == [
        "cassandra/schema.cql is missing",
        "hdfs/models.tar.gz does not match its SHA-256",
    ]
    (root / "hdfs/models.tar.gz").write_bytes(b"short")
    assert "hdfs/models.tar.gz has 5 bytes, not 6000" in manifest.problems(str(root), listed)
    assert manifest.problems(str(root), {"files": {}}) == ["the manifest lists no file"]


SCHEMA = """CREATE KEYSPACE reco WITH replication = {'class': 'X'}  AND durable_writes = true;

CREATE TABLE reco.streams (
    stream text PRIMARY KEY,
    offsets map<int, bigint>
) WITH comment = ''
    AND gc_grace_seconds = 864000;

CREATE INDEX IF NOT EXISTS by_model ON reco.streams (model_version);
"""


def test_the_schema_file_gives_idempotent_statements():
    assert cql.backup_schema_statements(SCHEMA) == [
        "CREATE KEYSPACE IF NOT EXISTS reco WITH replication = {'class': 'X'}"
        "  AND durable_writes = true",
        "CREATE TABLE IF NOT EXISTS reco.streams (\n    stream text PRIMARY KEY,\n"
        "    offsets map<int, bigint>\n) WITH comment = ''\n    AND gc_grace_seconds = 864000",
        "CREATE INDEX IF NOT EXISTS by_model ON reco.streams (model_version)",
    ]


def test_grants_of_the_keyspace_and_its_tables_only():
    rows = [
        {"role": "movielens", "resource": "<keyspace reco>", "permission": "SELECT"},
        {"role": "movielens", "resource": "<keyspace reco>", "permission": "MODIFY"},
        {"role": "web", "resource": "<table reco.movies>", "permission": "SELECT"},
        {"role": "web", "resource": "<table other.movies>", "permission": "SELECT"},
        {"role": "x", "resource": "<keyspace recommendations>", "permission": "SELECT"},
        {"role": "x", "resource": "<all keyspaces>", "permission": "SELECT"},
    ]
    grants = cql.backup_grant_statements(rows, "reco")
    assert grants == [
        'GRANT SELECT ON KEYSPACE reco TO "movielens"',
        'GRANT MODIFY ON KEYSPACE reco TO "movielens"',
        'GRANT SELECT ON TABLE reco.movies TO "web"',
    ]
    # Written into grants.cql as backup.yml writes it, they come back as they were.
    text = "\n\n".join(g + ";" for g in grants) + "\n"
    assert cql.backup_schema_statements(text) == grants
