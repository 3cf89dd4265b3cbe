"""JupyterLab answers with its token over HTTPS (the host's certificate, verified against the
lab's CA), refuses without it, and offers the PySpark kernel."""

import json

import pytest

from tests import inventory
from tests.labhost import INTERRUPTIONS, healthy, interrupt

TOKEN = "molecule-jupyter-token-0123"
ADDRESS = inventory.endpoint("jupyter", "jupyter")
TLS = inventory.hostvar(inventory.hosts("jupyter")[0], "jupyter_tls", True)
BASE = f"{'https' if TLS else 'http'}://{ADDRESS}"
# curl verifies the server's certificate, for the address asked, against the lab's CA.
CURL = "curl -s --cacert /etc/lab-tls/ca.crt" if TLS else "curl -s"


def http(host, path, token=None, base=BASE):
    header = f"-H 'Authorization: token {token}'" if token else ""
    result = host.run(f"{CURL} -o /tmp/body -w '%{{http_code}}' {header} {base}{path}")
    return int(result.stdout), host.file("/tmp/body").content_string


def test_service_runs_as_its_user(host):
    service = host.service("jupyter")
    assert service.is_running and service.is_enabled
    assert host.process.get(comm="jupyter-lab").user == "jupyter"


def test_token_is_required(host):
    status, _ = http(host, "/api/kernelspecs")
    assert status == 403
    status, _ = http(host, "/api/kernelspecs", token="wrong-token-wrong-token")
    assert status == 403


@pytest.mark.skipif(not TLS, reason="jupyter_tls is off")
def test_plain_http_is_not_served(host):
    """The token would cross the network in clear: the port speaks TLS only."""
    status, _ = http(host, "/api/kernelspecs", token=TOKEN, base=f"http://{ADDRESS}")
    assert status != 200
    status, _ = http(host, "/api/kernelspecs", token=TOKEN)
    assert status == 200


def test_pyspark_kernel_offered_with_token(host):
    status, body = http(host, "/api/kernelspecs", token=TOKEN)
    assert status == 200
    specs = json.loads(body)["kernelspecs"]
    assert "pyspark" in specs
    env = specs["pyspark"]["spec"]["env"]
    assert env["SPARK_HOME"] == "/opt/spark"


def test_kernel_runs_code(host):
    """Start a kernel through the REST API and check that it is alive."""
    status, _ = http(host, "/api/kernels", token=None)
    assert status == 403
    result = host.run(
        f"{CURL} -f -X POST -H 'Authorization: token {TOKEN}' -d '{{\"name\": \"pyspark\"}}' "
        f"{BASE}/api/kernels"
    )
    kernel = json.loads(result.stdout)
    assert kernel["name"] == "pyspark"
    auth = f"-H 'Authorization: token {TOKEN}'"
    host.run(f"{CURL} -f -X DELETE {auth} {BASE}/api/kernels/{kernel['id']}")


def test_token_not_world_readable(host):
    config = host.file("/etc/jupyter/jupyter_server_config.json")
    assert config.mode == 0o640
    assert config.group == "lab"


@pytest.mark.parametrize("how", INTERRUPTIONS)
def test_comes_back(host, how):
    kind = "jupyter" if TLS else "jupyter-http"
    interrupt(host, "jupyter", how, lambda: healthy(host, kind, ADDRESS))
