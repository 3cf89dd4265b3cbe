"""Backup and restore (playbooks/backup.yml, playbooks/restore.yml), run from the control node
as a person would run them.

With the pipeline serving recommendations and the stream caught up with the topic, a backup
goes into a directory of the test; then the data is destroyed (the stream stopped, the keyspace
dropped, HDFS /models and the stream's checkpoint deleted) and the backup restored: the same
model version is served and sample users have the same top-N, row for row. New ratings sent
then are each counted once (the stream goes on from the checkpoint's positions: nothing lost,
nothing counted twice). A backup whose file no longer matches its manifest is refused before
anything changes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import time

import pytest

from tests import inventory, pipelinehost
from tests.kerberoshost import run, secure
from tests.labhost import eventually, main_pid
from tests.pipelinehost import (
    cassandra_session,
    catalogue,
    counted,
    hdfs,
    rating,
    send,
    stream_running,
    succeeded,
    topic_size,
)

testinfra_hosts = ["movielens"]
# A backup and a restore each stop and start the stream (about a minute on two cores).
PLAYBOOK_SECONDS = 600
STREAM_SECONDS = 300
SAMPLE_USERS = 3
NEW_RATINGS = 60


def run_playbook(name: str, **extra_vars) -> subprocess.CompletedProcess:
    return pipelinehost.run_playbook(name, PLAYBOOK_SECONDS, **extra_vars)


def served(host) -> str:
    return hdfs(host, "hdfs dfs -cat /models/latest").stdout.strip()


def counted_now() -> int:
    with cassandra_session() as session:
        return counted(session)


def caught_up() -> bool:
    return counted_now() == topic_size()


def state(users: list[int]) -> dict:
    """What a restore must give back: each sample user's top-N, row for row, and the model the
    stream serves."""
    with cassandra_session() as session:
        tops = {
            user: [
                tuple(row)
                for row in session.execute(
                    "SELECT rank, movie_id, score, title, genres, model_version, because, stars "
                    "FROM recommendations_by_user WHERE user_id = %s",
                    [user],
                )
            ]
            for user in users
        }
        stream = session.execute("SELECT model_version FROM streams WHERE stream = 'movielens'")
        return {"tops": tops, "model": stream.one().model_version}


@pytest.fixture(scope="module")
def backup(host, tmp_path_factory) -> dict:
    """A backup of the pipeline caught up with its topic, and what it held then."""
    eventually(lambda: stream_running(host), "the streaming query running", STREAM_SECONDS)
    # Sample users with recommendations: a few ratings each, through the stream, before the
    # backup (the pipeline may have served nobody yet).
    users = list(range(1, SAMPLE_USERS + 1))
    movies = catalogue(host)
    send(
        [
            rating(user, movies[(user * 7 + i) % len(movies)], 4.5)
            for user in users
            for i in range(3)
        ]
    )
    eventually(caught_up, "the stream counting every message of the topic", STREAM_SECONDS)
    before = {"version": served(host), "counted": counted_now(), **state(users)}
    assert all(len(top) > 0 for top in before["tops"].values()), before["tops"]

    backups = tmp_path_factory.mktemp("backups")
    result = run_playbook("backup.yml", backup_dir=str(backups))
    succeeded(result)
    (path,) = list(backups.iterdir())
    assert f"Backup in {path}" in result.stdout, result.stdout[-3000:]
    return {"path": path, "users": users, **before}


def test_a_backup_holds_every_part_with_its_checksum(backup):
    manifest = json.loads((backup["path"] / "manifest.json").read_text())
    cassandra_nodes = inventory.hosts("cassandra")
    expected = {"hdfs/models.tar.gz", "hdfs/checkpoint.tar.gz", "cassandra/schema.cql"}
    expected |= {"cassandra/grants.cql", "kafka/positions.json", "kafka/consumer-groups.txt"}
    expected |= {f"cassandra/{node}.tar.gz" for node in cassandra_nodes}
    expected |= {f"config/{name}.tar.gz" for name in inventory.hosts("all")}
    assert set(manifest["files"]) == expected
    for name, entry in manifest["files"].items():
        assert (backup["path"] / name).stat().st_size == entry["size"], name
        assert len(entry["sha256"]) == 64 and entry["what"], (name, entry)
    schema = (backup["path"] / "cassandra/schema.cql").read_text()
    assert (
        "CREATE KEYSPACE reco" in schema and "CREATE TABLE reco.recommendations_by_user" in schema
    )
    positions = json.loads((backup["path"] / "kafka/positions.json").read_text())
    # The checkpoint's positions are where the stream stood: the end of the topic.
    assert sum(positions["checkpoint"]["offsets"]["movielens_ratings"].values()) == topic_size()


def test_the_served_model_is_copied_with_a_ticket_of_the_jobs_keytab(host, backup):
    # In secure mode the jobs' user is refused HDFS without a ticket: the backup's copy of
    # /models was made with one, from the jobs' keytab.
    if secure():
        refused = run(host, "movielens", "hdfs dfs -ls /models", timeout=120)
        assert refused.rc != 0, refused.stdout
    with tarfile.open(backup["path"] / "hdfs" / "models.tar.gz") as models:
        names = models.getnames()
    version = backup["version"]
    assert any(name.strip("./").startswith(f"{version}/") for name in names), names[:20]


def test_a_backup_that_does_not_match_its_manifest_is_refused(host, backup, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(backup["path"], damaged)
    with (damaged / "hdfs/models.tar.gz").open("r+b") as f:
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 0xFF]))
    pid = main_pid(host, "movielens-stream")

    result = run_playbook("restore.yml", backup_restore_from=str(damaged))

    assert result.returncode != 0
    # Ansible prints a failed task's message on stderr.
    said = " ".join((result.stdout + result.stderr).split())
    assert "does not match its manifest, nothing was restored" in said, said[-3000:]
    assert "hdfs/models.tar.gz does not match its SHA-256" in said
    # Nothing was touched: the stream was not stopped, the model is the same.
    assert main_pid(host, "movielens-stream") == pid
    assert served(host) == backup["version"]


def test_a_restore_brings_back_the_model_and_the_recommendations(host, backup):
    with host.sudo():
        assert host.run("systemctl stop movielens-stream").rc == 0
    with cassandra_session() as session:
        session.execute("DROP KEYSPACE reco", timeout=60)
    gone = hdfs(host, "hdfs dfs -rm -r -f -skipTrash '/models/*' /tmps/stream")
    assert gone.rc == 0, gone.stderr
    assert served(host) == ""

    succeeded(run_playbook("restore.yml", backup_restore_from=str(backup["path"])))

    assert stream_running(host)
    assert served(host) == backup["version"]
    assert state(backup["users"]) == {"tops": backup["tops"], "model": backup["model"]}
    assert counted_now() == backup["counted"]


def test_after_a_restore_the_stream_counts_each_new_rating_once(host, backup):
    eventually(lambda: stream_running(host), "the streaming query running", STREAM_SECONDS)
    before = counted_now()
    topic_before = topic_size()
    assert before == topic_before, "the restored stream does not stand at the end of the topic"
    movies = catalogue(host)
    users = backup["users"]
    send(
        [
            rating(users[i % len(users)], movies[(i * 13) % len(movies)], 4.0)
            for i in range(NEW_RATINGS)
        ]
    )

    eventually(
        lambda: counted_now() == topic_before + NEW_RATINGS,
        f"the stream counting the {NEW_RATINGS} new ratings",
        STREAM_SECONDS,
    )
    # And it stays so: no micro-batch counts any of them again.
    time.sleep(10)
    assert counted_now() == topic_size() == topic_before + NEW_RATINGS
