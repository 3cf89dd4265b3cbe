"""The clients of the Kerberized stack beside the jobs, each with a keytab of its own and each
request refused without a ticket beside the same request served with one: the recommendations
page's status (its panel and movielens-status read WebHDFS and the NameNode's figures over
HTTPS with SPNEGO), JupyterLab's user (refused by HDFS without a ticket; its kernel's Spark
sessions on YARN, logged in with its keytab, run the notebooks in test_pipeline_notebooks.py).
A backup's HDFS copies, made with a ticket of the jobs' keytab: test_backup.py."""

from __future__ import annotations

import json
import re

import pytest

from tests import inventory
from tests.kerberoshost import NO_TICKET, fqdn, run
from tests.labhost import eventually

PAGE_USER = "movielens-web"
PAGE_KEYTAB = "/etc/security/keytabs/movielens-web.keytab"
PAGE_CONF = "/etc/movielens-web"
PAGE_PYTHON = "/opt/movielens-web/venv/bin/python"
JUPYTER_USER = "jupyter"
JUPYTER_KEYTAB = "/etc/security/keytabs/jupyter.keytab"
# The folders the page's status shows and the jobs have written by now (/input is empty again:
# the ingestion moves the raw files to /processed).
WRITTEN = ("/models", "/logs", "/processed")
# A request may time out on the loaded test machine (lab_health's 5 s): the status is asked
# again for this long.
STATUS_SECONDS = 120


def principal(host, user: str) -> str:
    realm = inventory.hostvar(inventory.hosts("movielens")[0], "kerberos_realm")
    return f"{user}/{fqdn(host)}@{realm}"


@pytest.mark.parametrize(
    ("keytab", "user"), [(PAGE_KEYTAB, PAGE_USER), (JUPYTER_KEYTAB, JUPYTER_USER)]
)
def test_each_client_has_a_keytab_of_its_own_readable_by_it_only(host, keytab, user):
    with host.sudo():
        f = host.file(keytab)
        assert (f.user, f.group, f.mode) == (user, "root", 0o400)
        assert principal(host, user) in host.check_output(f"klist -k {keytab}").split()
    assert host.run(f"sudo -u movielens cat {keytab} >/dev/null").rc != 0


def page_status(host, settings: str | None = None) -> dict:
    """movielens-status --json as the page's user with the page's settings, or with another
    settings file."""
    if settings is None:
        command = "movielens-status --json"
    else:
        command = (
            f"set -a && . {PAGE_CONF}/web.env && set +a && "
            f"PYTHONPATH=/opt/movielens-web/app MOVIELENS_WEB_SETTINGS={settings} "
            f"{PAGE_PYTHON} -m movielens_web.cli --json"
        )
    out = host.run(f"sudo -u {PAGE_USER} timeout 120 bash -c '{command}'")
    # The command exits 1 when something is not healthy; its JSON is there all the same.
    assert out.stdout.strip(), out.stderr[-2000:]
    return json.loads(out.stdout)


def assert_hdfs_figures(hdfs_part: dict) -> None:
    assert "error" not in hdfs_part, hdfs_part
    assert hdfs_part["capacity"] > 0 and hdfs_part["used"] > 0, hdfs_part
    assert hdfs_part["live_datanodes"] >= 1 and hdfs_part["state"] == "Operational", hdfs_part
    for path in WRITTEN:
        entry = hdfs_part["dirs"][path]
        assert "error" not in entry, (path, entry)
        assert entry["bytes"] > 0 and entry["files"] > 0, (path, entry)


def with_hdfs_figures(read) -> dict:
    """read()'s status once its HDFS part is complete (asked again for STATUS_SECONDS)."""

    def complete():
        status = read()
        assert_hdfs_figures(status["hdfs"])
        return status

    return eventually(complete, "the status's HDFS figures", STATUS_SECONDS)


def test_the_status_reads_hdfs_with_the_pages_ticket_and_is_refused_without(host):
    status = with_hdfs_figures(lambda: page_status(host))
    assert re.fullmatch(r"\d{8}T\d{6}Z", status["model"]["newest"]), status["model"]
    services = {s["name"]: s for s in status["services"]}
    for name in ("HDFS NameNode", "YARN ResourceManager"):
        assert services[name]["healthy"], services[name]
        assert services[name]["link"].startswith("https://"), services[name]

    # The same settings without the page's keytab: every Hadoop request is refused, and the
    # status says why.
    bare = "/tmp/lab-test-web-settings.json"
    drop = (
        f"import json; s = json.load(open('{PAGE_CONF}/settings.json')); s.pop('kerberos'); "
        f"json.dump(s, open('{bare}', 'w'))"
    )
    with host.sudo():
        assert host.run(f'python3 -c "{drop}" && chmod 0644 {bare}').rc == 0
    refused = page_status(host, bare)
    assert refused["hdfs"] == {
        "error": "HTTP 401: asks for a Kerberos ticket, and the page has no keytab"
    }
    assert "Kerberos" in refused["model"].get("error", ""), refused["model"]
    services = {s["name"]: s for s in refused["services"]}
    assert not services["HDFS NameNode"]["healthy"], services["HDFS NameNode"]
    assert "HTTP 401" in services["HDFS NameNode"]["detail"], services["HDFS NameNode"]


def test_the_pages_panel_shows_hdfs_read_with_its_ticket(host):
    """The running page (the service, as its user) answers its status API with HDFS's figures
    read with its ticket; WebHDFS itself refuses the same folder to a request without one."""
    address = inventory.address(inventory.hosts("movielens_web")[0])
    url = f"https://{address}:8050/api/status"

    def panel() -> dict:
        out = host.run(f"curl -sS -m 60 --cacert /etc/lab-tls/ca.crt {url}")
        assert out.rc == 0, out.stderr
        return json.loads(out.stdout)

    with_hdfs_figures(panel)
    page = host.run(f"curl -sS -m 60 --cacert /etc/lab-tls/ca.crt https://{address}:8050/status")
    assert page.rc == 0 and "live DataNode(s), state Operational" in page.stdout, page.stdout[
        -2000:
    ]

    webhdfs = f"https://{fqdn(host)}:9871/webhdfs/v1/models?op=GETCONTENTSUMMARY"
    code = host.run(
        f"env KRB5CCNAME={NO_TICKET} curl -s -o /dev/null -w '%{{http_code}}' "
        f"--cacert /etc/lab-tls/ca.crt --negotiate -u : '{webhdfs}'"
    )
    assert code.stdout == "401", code.stdout


def test_the_kernels_user_is_refused_hdfs_without_a_ticket(host):
    # With its kernel's ticket the notebooks read HDFS: test_pipeline_notebooks.py.
    refused = run(host, JUPYTER_USER, "hdfs dfs -ls /processed", timeout=120)
    assert refused.rc != 0
    assert "Client cannot authenticate via:[TOKEN, KERBEROS]" in refused.stderr, refused.stderr
