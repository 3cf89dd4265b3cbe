"""lab-health against real servers on loopback: HTTP serving the daemons' documented JSON, and
TCP servers speaking ZooKeeper's four-letter words, Kafka's ApiVersions and CQL's OPTIONS (in the
clear and over TLS with a throwaway CA, as a SASL_SSL listener answers ApiVersions before any
login)."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import lab_health

MODULE = Path(lab_health.__file__)


def closed_port() -> str:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{free.getsockname()[1]}"


@pytest.fixture
def lab_ca(lab_tls, monkeypatch) -> str:
    """lab-health trusts lab_tls's CA (as a host trusts the lab's)."""
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    return lab_tls["ca"]


# HTTP daemons: (kind, path served, a healthy answer, an unhealthy one, the reason expected)
HTTP_CASES = [
    (
        "namenode",
        "jmx",
        {"beans": [{"name": "Hadoop:service=NameNode,name=NameNodeStatus", "State": "active"}]},
        {"beans": [{"name": "Hadoop:service=NameNode,name=NameNodeStatus", "State": "standby"}]},
        "NameNode state standby",
    ),
    (
        "datanode",
        "jmx",
        {"beans": [{"name": "Hadoop:service=DataNode,name=DataNodeInfo", "Version": "3.3.6"}]},
        {"beans": []},
        "no DataNodeInfo bean",
    ),
    (
        "resourcemanager",
        "ws/v1/cluster/info",
        {"clusterInfo": {"id": 1, "state": "STARTED", "haState": "ACTIVE"}},
        {"clusterInfo": {"id": 1, "state": "INITED"}},
        "ResourceManager state INITED",
    ),
    (
        "nodemanager",
        "ws/v1/node/info",
        {"nodeInfo": {"nodeHealthy": True, "healthReport": ""}},
        {"nodeInfo": {"nodeHealthy": False, "healthReport": "1/1 local-dirs are bad"}},
        "unhealthy: 1/1 local-dirs are bad",
    ),
    (
        "spark-master",
        "json/index.html",
        {"url": "spark://h:7077", "aliveworkers": 1, "status": "ALIVE"},
        {"url": "spark://h:7077", "aliveworkers": 0, "status": "RECOVERING"},
        "master RECOVERING",
    ),
    (
        "spark-worker",
        "json/index.html",
        {"id": "worker-1", "masterurl": "spark://h:7077", "cores": 2},
        {"id": "worker-1", "masterurl": "", "cores": 2},
        "not registered with a master",
    ),
    ("spark-history", "api/v1/version", {"spark": "3.5.1"}, {}, "Spark None"),
    ("jupyter-http", "api", {"version": "2.14.2"}, {"detail": "x"}, "Jupyter server None"),
]


def serve(root: Path, path: str, body: object) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body if isinstance(body, str) else json.dumps(body))


def address_of(url: str) -> str:
    return url.removeprefix("http://")


@pytest.mark.parametrize("case", HTTP_CASES, ids=[case[0] for case in HTTP_CASES])
def test_http_daemon_healthy_or_says_why(http_dir, case):
    kind, path, good, bad, why = case
    root, url = http_dir
    serve(root, path, good)
    healthy, detail = lab_health.check(kind, address_of(url))
    assert healthy, detail
    serve(root, path, bad)
    healthy, detail = lab_health.check(kind, address_of(url))
    assert not healthy and why in detail


def test_page_without_tls_and_streaming_query(http_dir):
    root, url = http_dir
    serve(root, "health", "ok\n")
    serve(root, "StreamingQuery/index.html", "<h4>Active Streaming Queries (1)</h4>")
    assert lab_health.check("page-http", address_of(url)) == (True, "/health: ok")
    assert lab_health.check("stream", address_of(url))[0]
    serve(root, "StreamingQuery/index.html", "<h4>Active Streaming Queries (0)</h4>")
    healthy, detail = lab_health.check("stream", address_of(url))
    assert not healthy and "no streaming query is active" in detail


def test_monitoring_daemons(http_dir):
    root, url = http_dir
    address = address_of(url)
    serve(root, "-/ready", "Prometheus Server is Ready.\n")
    assert lab_health.check("prometheus", address)[0]
    serve(root, "-/ready", "Service Unavailable")
    assert not lab_health.check("prometheus", address)[0]
    serve(root, "-/ready", "OK")
    assert lab_health.check("alertmanager", address) == (True, "Alertmanager /-/ready: OK")
    serve(root, "metrics", "# HELP up x\n# TYPE up gauge\nnode_load1 0.5\njvm_threads 12\n")
    assert lab_health.check("metrics", address) == (True, "/metrics: 2 samples")
    serve(root, "metrics", "# HELP nothing yet\n")
    assert lab_health.check("metrics", address) == (False, "/metrics: 0 samples")
    serve(root, "health", "ok\n")
    assert lab_health.check("alert-log", address) == (True, "alert log /health: ok")


def test_page_over_https_verified_against_the_ca(https_dir, lab_tls, monkeypatch):
    root, url = https_dir
    serve(root, "health", "ok\n")
    address = url.removeprefix("https://")
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    assert lab_health.check("page", address) == (True, "/health over HTTPS: ok")
    # The certificate names 127.0.0.1, not localhost (the same server).
    port = address.rsplit(":", 1)[1]
    healthy, detail = lab_health.check("page", f"localhost:{port}")
    assert not healthy and "TLS: Hostname mismatch" in detail, detail
    # Another CA signed nothing here; plain HTTP gets no answer from a TLS server.
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["other_ca"])
    healthy, detail = lab_health.check("page", address)
    assert not healthy and "TLS: unable to get local issuer certificate" in detail, detail
    assert not lab_health.check("page-http", address)[0]


def test_jupyter_over_https_verified_against_the_ca(https_dir, lab_tls, monkeypatch):
    root, url = https_dir
    serve(root, "api", {"version": "2.14.2"})
    address = url.removeprefix("https://")
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    assert lab_health.check("jupyter", address) == (True, "Jupyter server 2.14.2")
    assert not lab_health.check("jupyter-http", address)[0]
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["other_ca"])
    healthy, detail = lab_health.check("jupyter", address)
    assert not healthy and "TLS: unable to get local issuer certificate" in detail, detail


def test_jupyter_over_https_refuses_a_plain_http_server(http_dir, lab_tls, monkeypatch):
    root, url = http_dir
    serve(root, "api", {"version": "2.14.2"})
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    healthy, detail = lab_health.check("jupyter", address_of(url))
    assert not healthy and detail.startswith("jupyter at 127.0.0.1:"), detail


def test_page_over_https_refuses_a_plain_http_server(http_dir, lab_tls, monkeypatch):
    root, url = http_dir
    serve(root, "health", "ok")
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    healthy, detail = lab_health.check("page", address_of(url))
    assert not healthy and detail.startswith("page at 127.0.0.1:"), detail


def test_http_errors_give_the_reason(http_dir):
    root, url = http_dir
    healthy, detail = lab_health.check("resourcemanager", address_of(url))
    assert not healthy and "HTTP 404" in detail
    serve(root, "api", "<html>login</html>")
    assert "not JSON" in lab_health.check("jupyter-http", address_of(url))[1]
    serve(root, "ws/v1/node/info", {"somethingElse": {}})
    assert "lacks the expected fields" in lab_health.check("nodemanager", address_of(url))[1]
    healthy, detail = lab_health.check("namenode", closed_port())
    assert not healthy and "refused" in detail.lower()


# ZooKeeper

SRVR = "Zookeeper version: 3.8.4-abc, built on 2024-02-12\nLatency min/avg/max: 0/0.0/0\n"


def test_zookeeper_serving_reports_its_mode(tcp_server):
    address = tcp_server(lambda _: (SRVR + "Mode: standalone\nNode count: 5\n").encode())
    assert lab_health.check("zookeeper", address) == (True, "Mode: standalone")
    assert tcp_server.requests == [b"srvr"]


def test_zookeeper_not_serving_says_what_it_answered(tcp_server):
    address = tcp_server(lambda _: b"This ZooKeeper instance is not currently serving requests\n")
    healthy, detail = lab_health.check("zookeeper", address)
    assert not healthy and "no Mode line" in detail and "not currently serving" in detail


# Kafka: an ApiVersions v0 answer as a broker sends it (size, correlation id, error code, APIs).


def kafka_answer(correlation_id: int, error_code: int, apis: list[tuple[int, int, int]]) -> bytes:
    body = struct.pack(">ihi", correlation_id, error_code, len(apis))
    body += b"".join(struct.pack(">hhh", *api) for api in apis)
    return struct.pack(">i", len(body)) + body


BROKER_APIS = [(0, 0, 9), (1, 0, 15), (3, 0, 12), (18, 0, 3)]


def assert_api_versions_request(request: bytes) -> None:
    size, api_key, api_version, correlation_id, client_id_length = struct.unpack(
        ">ihhih", request[:14]
    )
    assert (size, api_key, api_version, correlation_id) == (len(request) - 4, 18, 0, 1)
    assert request[14:] == b"lab-health" and client_id_length == 10


def test_kafka_broker_answering_api_versions_over_tls_is_healthy(tls_server, lab_tls, monkeypatch):
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    address = tls_server(lambda _: kafka_answer(1, 0, BROKER_APIS))
    assert lab_health.check("kafka", address) == (
        True,
        "broker answers ApiVersions (4 APIs) over TLS",
    )
    (request,) = tls_server.requests
    assert_api_versions_request(request)


def test_kafka_over_tls_verifies_the_certificate_and_its_names(tls_server, lab_tls, monkeypatch):
    address = tls_server(lambda _: kafka_answer(1, 0, BROKER_APIS))
    # Another CA signed nothing here: no request is sent to a broker that is not the lab's.
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["other_ca"])
    healthy, detail = lab_health.check("kafka", address)
    assert not healthy and "TLS: unable to get local issuer certificate" in detail, detail
    # The certificate names 127.0.0.1, not localhost (the same server).
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    port = address.rsplit(":", 1)[1]
    healthy, detail = lab_health.check("kafka", f"localhost:{port}")
    assert not healthy and "TLS: Hostname mismatch" in detail, detail
    assert tls_server.requests == []


def test_kafka_over_tls_refuses_a_broker_without_tls(tcp_server, lab_tls, monkeypatch):
    """A PLAINTEXT listener does not speak TLS: the check fails instead of reading its answer
    as a handshake."""
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    address = tcp_server(lambda _: kafka_answer(1, 0, BROKER_APIS))
    healthy, detail = lab_health.check("kafka", address)
    assert not healthy and detail.startswith("kafka at 127.0.0.1:"), detail


def test_kafka_without_tls_is_another_kind(tcp_server, tls_server, lab_tls, monkeypatch):
    address = tcp_server(lambda _: kafka_answer(1, 0, BROKER_APIS))
    assert lab_health.check("kafka-plaintext", address) == (
        True,
        "broker answers ApiVersions (4 APIs)",
    )
    (request,) = tcp_server.requests
    assert_api_versions_request(request)
    # A TLS listener gives no Kafka answer to a request in the clear.
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    tls_address = tls_server(lambda _: kafka_answer(1, 0, BROKER_APIS))
    assert not lab_health.check("kafka-plaintext", tls_address)[0]


def test_tls_uses_the_hosts_lab_ca_when_no_ca_is_given(tmp_path, lab_tls, monkeypatch):
    monkeypatch.setattr(lab_health, "CA_FILE", None)
    monkeypatch.setattr(lab_health, "HOST_CA_FILE", lab_tls["ca"])
    assert lab_health.tls_client().get_ca_certs()[0]["subject"] == ((("commonName", "unit ca"),),)
    monkeypatch.setattr(lab_health, "HOST_CA_FILE", str(tmp_path / "missing.crt"))
    # Without the tls role's copy: the system's trust store (which may be empty here).
    assert lab_health.tls_client().verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (kafka_answer(1, 35, []), "ApiVersions error code 35"),
        (kafka_answer(7, 0, BROKER_APIS), "correlation id 7"),
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not a Kafka ApiVersions answer"),
        (b"", "connection closed after 0 of 4 bytes"),
        (kafka_answer(1, 0, BROKER_APIS)[:8], "connection closed after 4 of"),
    ],
)
def test_kafka_wrong_answers_say_why(tcp_server, tls_server, lab_ca, answer, why):
    healthy, detail = lab_health.check("kafka-plaintext", tcp_server(lambda _: answer))
    assert not healthy and why in detail
    healthy, detail = lab_health.check("kafka", tls_server(lambda _: answer))
    assert not healthy and why in detail


@pytest.mark.parametrize("kind", ["kafka", "kafka-plaintext"])
def test_kafka_down_is_refused(kind):
    healthy, detail = lab_health.check(kind, closed_port())
    assert not healthy and detail.startswith(f"{kind} at 127.0.0.1:") and "refused" in detail


# Cassandra: the frames of CQL native protocol v4.


def cql_string(text: str) -> bytes:
    return struct.pack(">H", len(text)) + text.encode()


def cql_frame(opcode: int, body: bytes, version: int = 0x84) -> bytes:
    return struct.pack(">BBhBi", version, 0, 0, opcode, len(body)) + body


SUPPORTED_BODY = (
    struct.pack(">H", 2)
    + cql_string("CQL_VERSION")
    + struct.pack(">H", 1)
    + cql_string("3.4.7")
    + cql_string("COMPRESSION")
    + struct.pack(">H", 2)
    + cql_string("snappy")
    + cql_string("lz4")
)


OPTIONS_FRAME = bytes([4, 0, 0, 0, 5, 0, 0, 0, 0])


@pytest.fixture
def cql_tls_server(tls_server) -> tuple[str, list[bytes]]:
    """A node that speaks CQL over TLS only, with lab_tls's certificate for 127.0.0.1: it answers
    one OPTIONS frame per connection with SUPPORTED. (address, requests received)."""
    address = tls_server(lambda _: cql_frame(0x06, SUPPORTED_BODY))
    return address, tls_server.requests


def test_cassandra_over_tls_verified_against_the_ca(cql_tls_server, lab_tls, monkeypatch):
    address, requests = cql_tls_server
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    healthy, detail = lab_health.check("cassandra", address)
    assert healthy, detail
    assert detail.startswith("answers CQL (versions 3.4.7) over TLSv1.")
    assert requests == [OPTIONS_FRAME]


def test_cassandra_over_tls_refuses_another_ca_and_another_name(
    cql_tls_server, lab_tls, monkeypatch
):
    address, requests = cql_tls_server
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["other_ca"])
    healthy, detail = lab_health.check("cassandra", address)
    assert not healthy and "TLS: unable to get local issuer certificate" in detail, detail
    # The certificate names 127.0.0.1, not localhost (the same server).
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    healthy, detail = lab_health.check("cassandra", f"localhost:{address.rsplit(':', 1)[1]}")
    assert not healthy and "TLS: Hostname mismatch" in detail, detail
    assert requests == [], "an OPTIONS frame went to a node that did not verify"


def test_cassandra_tls_and_plaintext_do_not_mix(cql_tls_server, tcp_server, lab_tls, monkeypatch):
    monkeypatch.setattr(lab_health, "CA_FILE", lab_tls["ca"])
    # A plaintext OPTIONS frame to a node that requires TLS gets no CQL answer.
    address, requests = cql_tls_server
    healthy, detail = lab_health.check("cassandra-plain", address)
    assert not healthy and detail.startswith("cassandra-plain at 127.0.0.1:"), detail
    assert requests == []
    # TLS to a plaintext node: its CQL answer is no TLS handshake.
    plaintext = tcp_server(lambda _: cql_frame(0x06, SUPPORTED_BODY))
    healthy, detail = lab_health.check("cassandra", plaintext)
    assert not healthy and "TLS: " in detail, detail
    assert lab_health.check("cassandra-plain", plaintext) == (True, "answers CQL (versions 3.4.7)")


def test_cassandra_without_tls_answering_supported_is_healthy(tcp_server):
    address = tcp_server(lambda _: cql_frame(0x06, SUPPORTED_BODY))
    assert lab_health.check("cassandra-plain", address) == (True, "answers CQL (versions 3.4.7)")
    assert tcp_server.requests == [OPTIONS_FRAME]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (cql_frame(0x00, struct.pack(">i", 0x000A) + cql_string("Invalid")), "CQL error: Invalid"),
        (cql_frame(0x02, b""), "opcode 0x02, not SUPPORTED"),
        (cql_frame(0x06, SUPPORTED_BODY, version=0x83), "version byte 0x83"),
        (b"\x84\x00", "connection closed after 2 of 9 bytes"),
    ],
)
def test_cassandra_wrong_answers_say_why(tcp_server, answer, why):
    healthy, detail = lab_health.check("cassandra-plain", tcp_server(lambda _: answer))
    assert not healthy and why in detail


# Hadoop's web servers in secure mode: 401 with `WWW-Authenticate: Negotiate` until a request
# carries a Kerberos ticket (SPNEGO).

TICKET = "dGlja2V0"  # what the stand-in for the keytab's ticket sends


@pytest.fixture
def kerberized_namenode(monkeypatch):
    """A NameNode's /jmx on loopback that asks for Kerberos, and the Authorization headers it
    was sent; lab-health's ticket is a stand-in (a KDC and its tickets are the kerberos
    scenario's)."""
    sent: list[str | None] = []
    status = {"beans": [{"name": "Hadoop:service=NameNode,name=NameNodeStatus", "State": "active"}]}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            sent.append(self.headers.get("Authorization"))
            if sent[-1] != f"Negotiate {TICKET}":
                self.send_response(401)
                self.send_header("WWW-Authenticate", "Negotiate")
                self.end_headers()
                return
            body = json.dumps(status).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(lab_health, "WEB", lab_health.Web())
    monkeypatch.setattr(lab_health, "spnego_token", lambda host: TICKET)
    try:
        yield f"127.0.0.1:{server.server_address[1]}", sent
    finally:
        server.shutdown()
        server.server_close()


def test_kerberos_refused_without_a_keytab(kerberized_namenode):
    address, sent = kerberized_namenode
    healthy, detail = lab_health.check("namenode", address)
    assert not healthy and "HTTP 401" in detail
    assert sent == [None]


def test_kerberos_asked_again_with_a_ticket_of_the_keytab(kerberized_namenode, capsys):
    address, sent = kerberized_namenode
    keytab = ["--keytab", "/etc/security/keytabs/HTTP.service.keytab", "--principal", "HTTP/h@R"]
    assert lab_health.main([*keytab, "namenode", address]) == 0
    assert capsys.readouterr().out == "NameNode state active\n"
    assert sent == [None, f"Negotiate {TICKET}"]


def test_https_option_asks_hadoop_over_tls(https_dir, lab_ca, monkeypatch):
    root, url = https_dir
    monkeypatch.setattr(lab_health, "WEB", lab_health.Web())
    serve(root, "jmx", {"beans": [{"name": "Hadoop:service=DataNode,name=DataNodeInfo"}]})
    address = url.removeprefix("https://")
    assert not lab_health.check("datanode", address)[0]
    assert lab_health.main(["--https", "datanode", address]) == 0


# The command line


def test_cli_exit_codes_and_messages(http_dir, capsys):
    root, url = http_dir
    serve(root, "health", "ok")
    assert lab_health.main(["page-http", address_of(url)]) == 0
    assert capsys.readouterr().out == "/health: ok\n"
    assert lab_health.main(["page", closed_port()]) == 1
    assert "refused" in capsys.readouterr().err.lower()
    assert lab_health.main(["web", "h:1"]) == 2
    assert "usage: lab-health [--https] [--keytab FILE --principal NAME] KIND HOST:PORT" in (
        capsys.readouterr().err
    )
    # A keytab goes with its principal; an unknown option is refused.
    assert lab_health.main(["--keytab", "/k", "namenode", "h:1"]) == 2
    assert lab_health.main(["--tls", "namenode", "h:1"]) == 2
    assert lab_health.main(["page", "no-port"]) == 1
    assert "not HOST:PORT" in capsys.readouterr().err


def run_cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(MODULE), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_cli_runs_as_a_script(http_dir):
    root, url = http_dir
    serve(root, "api", {"version": "2.14.2"})
    ok = run_cli("jupyter-http", address_of(url))
    assert (ok.returncode, ok.stdout) == (0, "Jupyter server 2.14.2\n")
    down = run_cli("jupyter", closed_port())
    assert down.returncode == 1 and "jupyter at 127.0.0.1:" in down.stderr


def test_the_daemon_role_offers_every_kind():
    yaml = pytest.importorskip("yaml")
    specs = Path("roles/daemon/meta/argument_specs.yml").read_text(encoding="utf-8")
    option = yaml.safe_load(specs)["argument_specs"]["main"]["options"]["daemon_health_check"]
    assert option["choices"] == ["", *lab_health.CHECKS]
