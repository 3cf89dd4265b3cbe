"""The recommendation pipeline on the Kerberized stack (playbooks/pipeline_setup.yml with
kerberos_realm set): the jobs' user logs in with a keytab of its own; HDFS refuses it without a
ticket and serves it with one; what the jobs wrote (the ingested data, the model version, the
jobs' logs) is the jobs' user's; the jobs ran on YARN as that user; and the streaming service,
with tickets and delegation tokens that live minutes only here (molecule.yml), turns a rating
into recommendations after it has outlived them all, because Spark logs in again with the
keytab and obtains new tokens."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests import inventory
from tests.kerberoshost import fqdn, run
from tests.labhost import eventually
from tests.pipelinehost import (
    cassandra_session,
    dataset,
    hdfs,
    rating,
    send,
    stream_running,
    yarn_apps,
)

JOBS_USER = "movielens"
SETTINGS = "/etc/movielens/movielens.env"
STREAM = "movielens-stream"
# How long the stream may take to turn a rating into recommendations (micro-batches every half
# second; a first batch after a quiet spell reads the model's users from Cassandra).
SETTLE_SECONDS = 180
# Users nobody has rated with yet (new at each run of the tests): each test's rating is the
# first of its user.
_RUN = 5_000_000 + int(time.time()) % 1_000_000 * 2
NEW_USERS = {"served": _RUN, "outlived": _RUN + 1}


@pytest.fixture(scope="module")
def settings(host) -> dict[str, str]:
    """The jobs' settings on the host (movielens.env, as the launcher reads it)."""
    script = f"set -a && . {SETTINGS} && set +a && env -0"
    out = host.check_output(f"sudo -u {JOBS_USER} bash -c '{script}'")
    pairs = (item.partition("=") for item in out.split("\0") if "=" in item)
    return {name: value for name, _, value in pairs}


def without_ticket(host, command: str, timeout: int = 120):
    """command as the jobs' user with no ticket in its cache (at most timeout seconds)."""
    return run(host, JOBS_USER, command, timeout=timeout)


def seconds(duration: str) -> int:
    """A Kerberos duration of the inventory (5m, 1h30m, 7d, 90s) in seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([dhms])", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * units[u] for n, u in parts)


def lifetimes() -> dict[str, int]:
    """The scenario's lifetimes in seconds: tickets, their renewal, HDFS's delegation tokens."""
    name = inventory.hosts("movielens")[0]
    site = inventory.hostvar(name, "hadoop_hdfs_site", {})
    return {
        "ticket": seconds(inventory.hostvar(name, "kerberos_ticket_lifetime")),
        "renewable": seconds(inventory.hostvar(name, "kerberos_renew_lifetime")),
        "token renewal": int(site["dfs.namenode.delegation.token.renew-interval"]) // 1000,
        "token": int(site["dfs.namenode.delegation.token.max-lifetime"]) // 1000,
    }


def klist_time(text: str) -> float:
    """A time as klist prints it in the C locale (MM/DD/YY or MM/DD/YYYY, then HH:MM:SS)."""
    year = "%Y" if len(text.split(maxsplit=1)[0]) == 10 else "%y"
    return time.mktime(time.strptime(text, f"%m/%d/{year} %H:%M:%S"))


def stream_unit(host) -> dict[str, str]:
    names = "ActiveState,MainPID,NRestarts,ActiveEnterTimestampMonotonic"
    out = host.check_output(f"systemctl show -p {names} {STREAM}")
    return dict(line.split("=", 1) for line in out.splitlines())


def stream_uptime(host) -> float:
    """Seconds since the streaming service last became active (the host's monotonic clock)."""
    entered = int(stream_unit(host)["ActiveEnterTimestampMonotonic"]) / 1e6
    now = float(host.check_output("cut -d' ' -f1 /proc/uptime"))
    return now - entered


def web_json(host, url: str):
    """GET url with SPNEGO and the jobs' user's ticket (on the host, by its name)."""
    out = hdfs(host, f'curl -sS -m 20 --negotiate -u : "{url}"')
    assert out.rc == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def spark_apps(host) -> list[dict]:
    """The Spark history server's applications: every job's, from its event log in HDFS."""
    port = inventory.endpoint("spark_history", "spark_history_ui").rpartition(":")[2]
    return web_json(host, f"http://{fqdn(host)}:{port}/api/v1/applications")


def recommended(user: int):
    with cassandra_session() as session:
        rows = session.execute("SELECT * FROM recommendations_by_user WHERE user_id = %s", [user])
        return list(rows)


def served_movie() -> int:
    """The most popular movie of the served model's catalogue (reco.movies)."""
    with cassandra_session() as session:
        rows = session.execute("SELECT movie_id, popularity_rank FROM movies")
        ranked = [row for row in rows if row.popularity_rank is not None]
        return min(ranked, key=lambda row: row.popularity_rank).movie_id


def rate_and_wait(user: int) -> list:
    """A first rating of a new user into Kafka (the producer jobs' login), then the user's
    recommendations in Cassandra, within SETTLE_SECONDS."""
    movie = served_movie()
    send([rating(user, movie, 5.0)])
    rows = eventually(lambda: recommended(user), f"recommendations for user {user}", SETTLE_SECONDS)
    assert movie not in {row.movie_id for row in rows}, "a rated movie recommended back"
    return rows


def test_the_jobs_keytab_holds_its_principal_and_only_the_jobs_user_reads_it(host, settings):
    keytab, principal = settings["MOVIELENS_KEYTAB"], settings["MOVIELENS_PRINCIPAL"]
    assert principal.startswith(f"{JOBS_USER}/")
    stat = host.file(keytab)
    assert (stat.user, stat.mode) == (JOBS_USER, 0o400)
    listed = host.run(f"sudo -u {JOBS_USER} klist -k {keytab}")
    assert listed.rc == 0 and principal in listed.stdout.split(), listed.stdout + listed.stderr
    for user in ("hdfs", "yarn", "spark"):
        assert host.run(f"sudo -u {user} klist -k {keytab}").rc != 0, f"{user} reads {keytab}"


def test_the_jobs_run_on_yarn_with_the_keytab(host, settings):
    # Spark's standalone master takes no keytab and hands out no delegation tokens.
    assert settings["MOVIELENS_SPARK_MASTER"] == "yarn"
    launcher = host.file("/usr/local/bin/movielens-job").content_string
    assert 'kerberos=(--principal "$MOVIELENS_PRINCIPAL" --keytab "$MOVIELENS_KEYTAB")' in launcher
    # Applications of YARN (application_...), run by the jobs' user, completed: from the history
    # server, which outlives a restart of the ResourceManager (the tests kill it).
    finished = {
        app["name"]
        for app in spark_apps(host)
        if app["id"].startswith("application_")
        and any(a["sparkUser"] == JOBS_USER and a["completed"] for a in app["attempts"])
    }
    assert {"movielens-ingest", "movielens-train"} <= finished, finished

    def stream_on_yarn() -> list[str]:
        apps = yarn_apps(host)
        return [
            app["user"]
            for app in apps
            if app["name"] == "movielens-stream" and app["state"] == "RUNNING"
        ]

    users = eventually(stream_on_yarn, "the streaming service's application running on YARN")
    assert users == [JOBS_USER], users


# A driver that lists an HDFS folder itself (no executor needed): what the jobs' drivers do
# first.
DRIVER_JOB = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("lab-krb-driver").getOrCreate()
jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
path = jvm.org.apache.hadoop.fs.Path("/models")
print("LAB-LISTED", len(path.getFileSystem(conf).listStatus(path)))
spark.stop()
"""


def test_spark_submit_skips_the_keytab_for_its_standalone_master(host, settings):
    """The same login runs the pipeline's jobs on YARN (test_the_jobs_run_on_yarn_...)."""
    host.run(
        f"cat > /tmp/lab_krb_driver.py <<'EOF'\n{DRIVER_JOB}\nEOF\nchmod 644 /tmp/lab_krb_driver.py"
    )
    url = f"spark://{inventory.endpoint('spark_master', 'spark_master')}"
    submit = (
        f". /etc/profile.d/spark.sh && spark-submit --master {url} "
        f"--principal {settings['MOVIELENS_PRINCIPAL']} --keytab {settings['MOVIELENS_KEYTAB']} "
        "/tmp/lab_krb_driver.py"
    )
    result = without_ticket(host, submit, timeout=300)
    # No ticket, no token: HDFS refuses the driver.
    assert result.rc != 0, result.stdout[-2000:]
    refused = "Client cannot authenticate via:[TOKEN, KERBEROS]"
    assert refused in result.stderr, result.stderr[-3000:]


def test_hdfs_refuses_the_jobs_user_without_a_ticket_and_serves_it_with_one(host):
    refused = without_ticket(host, "hdfs dfs -ls /models")
    assert refused.rc != 0
    assert "Client cannot authenticate via:[TOKEN, KERBEROS]" in refused.stderr, refused.stderr
    allowed = hdfs(host, "hdfs dfs -ls /models")
    assert allowed.rc == 0, allowed.stderr[-2000:]
    assert "/models/latest" in allowed.stdout


def test_the_ingested_data_the_model_and_the_logs_are_the_jobs_users(host):
    version = hdfs(host, "hdfs dfs -cat /models/latest").stdout.strip()
    assert version, "no model published under /models/latest"
    paths = [f"/models/{version}", f"/processed/{dataset()}/ratings.parquet", "/tmps/stream"]
    owners = hdfs(host, f'hdfs dfs -stat "%u %n" {" ".join(paths)}')
    assert owners.rc == 0, owners.stderr[-2000:]
    assert [line.split()[0] for line in owners.stdout.splitlines()] == [JOBS_USER] * 3, (
        owners.stdout
    )
    # The launcher's own hdfs command (after kinit from the keytab) copied the jobs' logs.
    logs = hdfs(host, "hdfs dfs -ls /logs").stdout.splitlines()
    for job in ("ingest", "train"):
        assert any(line.split()[2:3] == [JOBS_USER] and f"/logs/{job}-" in line for line in logs), (
            f"no {job} log of the jobs' user in /logs:\n{logs}"
        )


def test_the_stream_turns_a_rating_into_recommendations(host):
    assert stream_unit(host)["ActiveState"] == "active"
    eventually(lambda: stream_running(host), "the streaming query running", SETTLE_SECONDS)
    rows = rate_and_wait(NEW_USERS["served"])
    assert rows


def test_tickets_and_delegation_tokens_live_minutes_only(host, settings):
    limits = lifetimes()
    cache = "FILE:/tmp/lab-test-jobs-ticket"
    kinit = f"kinit -kt {settings['MOVIELENS_KEYTAB']} {settings['MOVIELENS_PRINCIPAL']}"
    script = f"export KRB5CCNAME={cache} LC_ALL=C && {kinit} && klist && kdestroy -q"
    out = host.run(f"sudo -u {JOBS_USER} bash -c '{script}'")
    assert out.rc == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if "krbtgt/" in line)
    start, end = (klist_time(" ".join(line.split()[i : i + 2])) for i in (0, 2))
    assert 0 < end - start <= limits["ticket"], line
    for key, value in (
        ("dfs.namenode.delegation.token.renew-interval", limits["token renewal"]),
        ("dfs.namenode.delegation.token.max-lifetime", limits["token"]),
    ):
        got = hdfs(host, f"hdfs getconf -confKey {key}").stdout.strip()
        assert int(got) // 1000 == value, (key, got)


def test_the_stream_outlives_its_tickets_and_delegation_tokens(host):
    limits = lifetimes()
    # Past every lifetime since the stream started, by a minute.
    needed = max(limits.values()) + 60
    unit = stream_unit(host)
    waited = needed - stream_uptime(host)
    if waited > 0:
        time.sleep(waited)
    uptime = stream_uptime(host)
    assert uptime >= needed, (uptime, needed)
    # The same process all along (its uptime counts from its last start, and no restart since
    # the test began; the recovery tests before may have had systemd restart it).
    later = stream_unit(host)
    assert (later["MainPID"], later["NRestarts"]) == (unit["MainPID"], unit["NRestarts"]), later
    # The driver writes the query's progress to its checkpoint in HDFS with the delegation
    # tokens Spark handed it: the tokens it got at the start have expired by now, and a rating
    # goes through only because Spark logged in again with the keytab and obtained new ones
    # (every 3.75 minutes here: 75 % of the tokens' renewal interval).
    rows = rate_and_wait(NEW_USERS["outlived"])
    assert rows, f"no recommendations after {uptime:.0f} s of streaming"
    # The NameNode's audit log: the driver committed micro-batches to its checkpoint with a
    # delegation token after every token the stream started with had expired.
    expired = int(host.check_output("date +%s")) - int(stream_uptime(host)) + limits["token"]
    audit = host.run(f"journalctl -u hadoop-namenode --since=@{expired} -o cat").stdout
    commits = [
        line
        for line in audit.splitlines()
        if f"ugi={JOBS_USER}/" in line
        and "(auth:TOKEN)" in line
        and "dst=/tmps/stream/commits/" in line
    ]
    assert commits, "no checkpoint commit with a token since the first tokens expired"
