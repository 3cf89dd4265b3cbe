"""The Spark daemons' web UIs in Hadoop's secure mode: the master's, a worker's and the history
server's each refuse a request without a Kerberos ticket (401, asking for Negotiate) and serve
the same request with one (SPNEGO, Hadoop's authentication filter with the host's HTTP/
principal); the master and the workers refuse a user with a ticket whom spark_ui_acls leaves
out (403). The daemons read a copy of the host's HTTP/ keytab with the same keys, readable by
spark only. A driver's own UI (the streaming job's, on YARN) sends every other host to the
ResourceManager's web proxy, which asks for a ticket too."""

from __future__ import annotations

import http.client
import json
import re

import pytest

from tests import inventory
from tests.kerberoshost import fqdn, keytab

# The host's HTTP/ keytab (the hadoop role's) and the Spark daemons' copy of it.
HTTP_KEYTAB = keytab("HTTP")
SPARK_HTTP_KEYTAB = keytab("spark-HTTP")
SPARK_KEYTAB = keytab("spark")
JOBS_SETTINGS = "/etc/movielens/movielens.env"
# Each UI: its inventory group, the service of lab_endpoints, lab-health's kind.
UIS = {
    "master": ("spark_master", "spark_master_ui", "spark-master"),
    "worker": ("spark_worker", "spark_worker_ui", "spark-worker"),
    "history": ("spark_history", "spark_history_ui", "spark-history"),
}


@pytest.fixture(scope="module")
def name(host) -> str:
    """The host's name, for which a client asks a ticket of HTTP/<name>."""
    return fqdn(host)


@pytest.fixture(scope="module")
def realm(host) -> str:
    return inventory.hostvar(host.backend.get_hostname(), "kerberos_realm")


@pytest.fixture(scope="module")
def jobs_login(host) -> tuple[str, str]:
    """The jobs' user's principal and keytab (the movielens role's): a user with a ticket whom
    the scenario's spark_ui_acls leaves out."""
    names = host.check_output(
        f"sudo -u movielens bash -c '. {JOBS_SETTINGS} && "
        'echo "$MOVIELENS_PRINCIPAL $MOVIELENS_KEYTAB"\''
    )
    principal, keytab = names.split()
    return principal, keytab


def url(ui: str, name: str) -> str:
    group, service, _ = UIS[ui]
    port = inventory.endpoint(group, service).rpartition(":")[2]
    return f"http://{name}:{port}/"


def get(host, user: str, target: str, login: tuple[str, str] | None, out: str) -> str:
    """curl's answer to GET target as user (out: its options for what to print): without a
    ticket, or with SPNEGO after kinit from login's keytab (principal, keytab), in a ticket
    cache of the test's own."""
    cache = f"FILE:/tmp/lab-test-sparkui-{user}"
    kinit = f"kinit -kt {login[1]} {login[0]} && " if login else f"kdestroy -q -c {cache}; "
    negotiate = "--negotiate -u : " if login else ""
    curl = f"curl -sS {out} {negotiate}{target}"
    result = host.run(f"sudo -u {user} env KRB5CCNAME={cache} bash -c '{kinit}{curl}'")
    assert result.stdout, result.stderr
    return result.stdout


def status(host, user: str, target: str, login: tuple[str, str] | None) -> str:
    """The HTTP status of GET target as user (see get)."""
    return get(host, user, target, login, "-o /dev/null -w %{http_code}")


@pytest.mark.parametrize("ui", sorted(UIS))
def test_ui_refuses_a_request_without_a_ticket_and_serves_one_with_it(host, name, realm, ui):
    target = url(ui, name)
    headers = host.run(f"curl -sS -o /dev/null -D - {target}").stdout
    assert headers.startswith("HTTP/1.1 401"), headers
    assert "WWW-Authenticate: Negotiate" in headers, headers
    assert status(host, "spark", target, None) == "401"
    spark = (f"spark/{name}@{realm}", SPARK_KEYTAB)
    assert status(host, "spark", target, spark) == "200"


@pytest.mark.parametrize("ui", ["master", "worker"])
def test_ui_refuses_a_user_with_a_ticket_whom_the_acls_leave_out(host, name, jobs_login, ui):
    assert status(host, "movielens", url(ui, name), jobs_login) == "403"


def test_history_server_lists_applications_to_any_user_with_a_ticket(host, name, jobs_login):
    # Its ACLs are each application's (the owner's, and spark_ui_acls'), not the listing's.
    assert status(host, "movielens", url("history", name), jobs_login) == "200"


def test_history_server_still_reads_the_event_logs_in_hdfs_with_its_keytab(host, name, realm):
    # Hadoop's authentication filter ahead of Spark's jars leaves the daemon's own Kerberos
    # login alone: it lists the pipeline's jobs, which ran on YARN.
    spark = (f"spark/{name}@{realm}", SPARK_KEYTAB)
    listing = get(host, "spark", f"{url('history', name)}api/v1/applications", spark, "")
    names = {app["name"] for app in json.loads(listing)}
    assert "movielens-ingest" in names, listing[:2000]


@pytest.mark.parametrize("ui", sorted(UIS))
def test_health_check_asks_the_ui_with_the_spark_users_ticket(host, name, realm, ui):
    group, service, kind = UIS[ui]
    address = inventory.endpoint(group, service)
    refused = host.run(f"/usr/local/bin/lab-health {kind} {address}")
    assert refused.rc == 1 and "HTTP 401" in refused.stderr, refused.stderr
    login = f"--keytab {SPARK_KEYTAB} --principal spark/{name}@{realm}"
    allowed = host.run(f"/usr/local/bin/lab-health {login} {kind} {address}")
    assert allowed.rc == 0, allowed.stderr


def test_the_daemons_keytab_is_a_copy_of_the_hosts_http_keytab_only_spark_reads(host, name):
    keytab = host.file(SPARK_HTTP_KEYTAB)
    assert (keytab.user, keytab.mode) == ("spark", 0o400)
    # The same principal with the same version of its keys: a copy, not new keys from kadmin
    # (which would have made the Hadoop daemons' keytab stale).
    copy = host.check_output(f"klist -k -K {SPARK_HTTP_KEYTAB}").splitlines()[1:]
    original = host.check_output(f"klist -k -K {HTTP_KEYTAB}").splitlines()[1:]
    assert copy == original
    assert f"HTTP/{name}@" in "\n".join(copy)
    for user in ("hdfs", "yarn", "movielens", "spark"):
        reads = host.run(f"sudo -u {user} klist -k {SPARK_HTTP_KEYTAB}").rc == 0
        assert reads == (user == "spark"), f"{user} reading {SPARK_HTTP_KEYTAB}"


def test_the_streams_driver_ui_sends_other_hosts_to_the_proxy_which_asks_for_a_ticket(
    host, name, jobs_login
):
    """A driver's UI has no login of its own; on YARN, Spark puts YARN's AmIpFilter in front of
    it, which answers every host but the ResourceManager's with a redirect to the RM's web
    proxy (HTTPS, SPNEGO). Asked from the control node here: another host."""
    address, _, port = inventory.endpoint("movielens", "stream_ui").rpartition(":")
    ui = http.client.HTTPConnection(address, int(port), timeout=30)
    try:
        ui.request("GET", "/api/v1/applications")
        answer = ui.getresponse()
        assert answer.status == 302, answer.read()[:500]
        moved_to = answer.getheader("Location")
    finally:
        ui.close()
    proxy = (
        f"https://{name}:"
        + inventory.endpoint("hadoop_resourcemanager", "resourcemanager_https").rpartition(":")[2]
    )
    found = re.fullmatch(
        rf"{re.escape(proxy)}/proxy/redirect/(application_\d+_\d+)/api/v1/applications", moved_to
    )
    assert found, moved_to
    target = f"{proxy}/proxy/{found[1]}/api/v1/applications"
    assert status(host, "movielens", target, None) == "401"
    apps = json.loads(get(host, "movielens", target, jobs_login, "-L"))
    assert [app["name"] for app in apps] == ["movielens-stream"]
