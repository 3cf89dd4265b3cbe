"""Hadoop's secure mode with the realm's KDC on one host: each request refused without a
Kerberos ticket, beside the same request allowed with one; the keytabs readable by their
service only; the KDC refusing a wrong password."""

import re

import pytest

from tests import inventory
from tests.kerberoshost import HADOOP_WEB, KEYTABS, SPARK_ENV, as_hdfs, fqdn, http_code, run
from tests.pipelinehost import hdfs as jobs_user_with_ticket

# The keytabs: principal's service, owner, mode (group hadoop: the daemons' users).
KEYTAB_OWNERS = [
    ("nn", "hdfs", 0o400),
    ("dn", "hdfs", 0o400),
    ("rm", "yarn", 0o400),
    ("nm", "yarn", 0o400),
    ("HTTP", "root", 0o440),
]


@pytest.fixture(scope="module")
def variables(host) -> dict:
    """The inventory's Kerberos settings of the host, and its address."""
    name = host.backend.get_hostname()
    names = ("kerberos_realm", "kerberos_admin_principal", "kerberos_admin_password")
    return {key: inventory.hostvar(name, key) for key in names} | {
        "address": inventory.address(name)
    }


@pytest.fixture(scope="module")
def name(host) -> str:
    """The host's name: the host part of its principals and of its certificate's names."""
    return fqdn(host)


@pytest.fixture(scope="module")
def principal(name, variables):
    """This host's principal of a service (nn, dn, rm, nm, HTTP)."""
    return lambda service: f"{service}/{name}@{variables['kerberos_realm']}"


def test_hdfs_refuses_a_client_without_a_ticket_and_serves_one_with_it(host):
    refused = as_hdfs(host, "hdfs dfs -ls /", ticket=False)
    assert refused.rc != 0
    assert "Client cannot authenticate via:[TOKEN, KERBEROS]" in refused.stderr, refused.stderr
    allowed = as_hdfs(host, "hdfs dfs -ls /")
    assert allowed.rc == 0, allowed.stderr[-2000:]


def test_a_file_written_reads_back_identical_and_the_datanode_is_live(host):
    host.run("head -c 3000000 /dev/urandom > /tmp/lab-krb-blob && chmod 644 /tmp/lab-krb-blob")
    copy = "hdfs dfs -put -f /tmp/lab-krb-blob /lab-krb-blob && "
    copy += "hdfs dfs -get -f /lab-krb-blob /tmp/lab-krb-blob.back"
    written = as_hdfs(host, copy)
    assert written.rc == 0, written.stderr[-2000:]
    original = host.check_output("sha256sum < /tmp/lab-krb-blob")
    assert host.check_output("sha256sum < /tmp/lab-krb-blob.back") == original
    report = as_hdfs(host, "hdfs dfsadmin -report")
    assert "Live datanodes (1)" in report.stdout, report.stdout[-2000:] + report.stderr[-2000:]
    assert as_hdfs(host, "hdfs dfsadmin -report", ticket=False).rc != 0


def test_webhdfs_refuses_a_request_without_a_ticket_and_allows_spnego(host, name):
    url = f"https://{name}:9871/webhdfs/v1/lab-krb-web?user.name=hdfs&op=MKDIRS"
    assert as_hdfs(host, "hdfs dfs -rm -r -f /lab-krb-web").rc == 0
    assert http_code(host, "PUT", url) == "401"
    assert as_hdfs(host, "hdfs dfs -test -d /lab-krb-web").rc != 0
    made = as_hdfs(host, f'curl -sS --negotiate -u : -X PUT "{url}"')
    assert made.stdout == '{"boolean":true}', made.stdout + made.stderr
    assert as_hdfs(host, "hdfs dfs -test -d /lab-krb-web").rc == 0


def test_yarn_rest_refuses_a_new_application_without_a_ticket_and_allows_one(host, name):
    url = f"https://{name}:8090/ws/v1/cluster/apps/new-application"
    assert http_code(host, "POST", url) == "401"
    made = as_hdfs(host, f'curl -sS --negotiate -u : -X POST "{url}"')
    assert '"application-id":"application_' in made.stdout, made.stdout + made.stderr


# The HDFS daemons' log levels (read here, not changed): for HDFS's administrators only
# (dfs.cluster.administrators: its superuser). Their metrics, thread dumps and configuration
# (/jmx, /stacks, /conf) stay open to every authenticated user, as Hadoop has them
# (hadoop.security.instrumentation.requires.admin false): the health checks read /jmx.
LOGGER = "org.apache.hadoop.hdfs.server"
ADMIN_SERVLETS = {
    "datanode": (9865, f"/logLevel?log={LOGGER}.datanode.DataNode"),
    "namenode": (9871, f"/logLevel?log={LOGGER}.namenode.NameNode"),
}


@pytest.mark.parametrize("servlet", sorted(ADMIN_SERVLETS))
def test_log_levels_are_for_hdfs_administrators_only(host, name, servlet):
    port, path = ADMIN_SERVLETS[servlet]
    url = f"https://{name}:{port}{path}"
    assert http_code(host, "GET", url) == "401"
    curl = f'curl -sS -o /dev/null -w "%{{http_code}}" --negotiate -u : "{url}"'
    # The jobs' user, with a ticket: authenticated, and not an administrator.
    refused = jobs_user_with_ticket(host, curl)
    assert refused.stdout == "403", refused.stdout + refused.stderr
    allowed = as_hdfs(host, curl)
    assert allowed.stdout == "200", allowed.stdout + allowed.stderr


@pytest.mark.parametrize("unit", sorted(HADOOP_WEB))
def test_health_check_needs_the_web_servers_ticket(host, variables, principal, unit):
    kind, port, _ = HADOOP_WEB[unit]
    address = f"{variables['address']}:{port}"
    refused = host.run(f"/usr/local/bin/lab-health --https {kind} {address}")
    assert refused.rc == 1 and "HTTP 401" in refused.stderr, refused.stderr
    keytab = f"--keytab {KEYTABS}/HTTP.service.keytab --principal {principal('HTTP')}"
    allowed = host.run(f"/usr/local/bin/lab-health --https {keytab} {kind} {address}")
    assert allowed.rc == 0, allowed.stderr


@pytest.mark.parametrize("unit", sorted(HADOOP_WEB))
def test_web_server_serves_https_only(host, variables, unit):
    _, https_port, http_port = HADOOP_WEB[unit]
    # Each listening socket's address:port (Java's IPv4 sockets show as [::ffff:a.b.c.d]:port).
    lines = host.check_output("ss -Htln").splitlines()
    listening = {re.sub(r"^\[::ffff:(.*)\]", r"\1", line.split()[3]) for line in lines}
    assert f"{variables['address']}:{https_port}" in listening, sorted(listening)
    assert not {a for a in listening if a.endswith(f":{http_port}")}, sorted(listening)


@pytest.mark.parametrize("keytab_owner", KEYTAB_OWNERS, ids=[k[0] for k in KEYTAB_OWNERS])
def test_keytab_holds_its_principal_and_only_its_service_reads_it(host, principal, keytab_owner):
    service, owner, mode = keytab_owner
    path = f"{KEYTABS}/{service}.service.keytab"
    keytab = host.file(path)
    assert (keytab.user, keytab.group, keytab.mode) == (owner, "hadoop", mode)
    assert principal(service) in host.check_output(f"klist -k {path}")
    readers = {"hdfs", "yarn"} if owner == "root" else {owner}
    for user in ("hdfs", "yarn", "spark"):
        reads = host.run(f"sudo -u {user} klist -k {path}").rc == 0
        assert reads == (user in readers), f"{user} reading {path}"


def test_kdc_refuses_a_wrong_password_and_takes_the_right_one(host, variables):
    admin = variables["kerberos_admin_principal"]
    kinit = f"KRB5CCNAME=MEMORY: kinit {admin}@{variables['kerberos_realm']}"
    wrong = host.run(f"echo not-the-password | {kinit}")
    assert wrong.rc != 0 and "Password incorrect" in wrong.stderr, wrong.stderr
    right = host.run(f"echo '{variables['kerberos_admin_password']}' | {kinit}")
    assert right.rc == 0, right.stderr


# The jobs' user (the movielens role's movielens_user) without a ticket. Spark on secure YARN
# with the jobs' keytab, writing HDFS and reading it back, is what the pipeline's own jobs do:
# test_pipeline_kerberos.py checks their applications, their files and the stream.
JOBS_USER = "movielens"


def test_yarn_refuses_the_jobs_user_without_a_ticket(host):
    # The client keeps retrying after its first refusal: 45 s are enough to see it.
    refused = run(host, JOBS_USER, "timeout 45 yarn application -list", env=SPARK_ENV, timeout=120)
    assert refused.rc != 0
    message = refused.stderr[-2000:]
    assert "Client cannot authenticate via:[TOKEN, KERBEROS]" in refused.stderr, message
