#!/usr/bin/python3
"""Whether one daemon of the lab is healthy: the one definition the restart waits, the status
page and the tests share.

    lab-health [--https] [--keytab FILE --principal NAME] KIND HOST:PORT

exits 0 and prints what it saw when the daemon at HOST:PORT is healthy, else exits 1 and
prints why not. KIND is one of the keys of CHECKS. Each check asks the daemon itself, on its
own protocol, with a short timeout (HTTP for the web UIs and REST APIs, the four-letter word
`srvr` for ZooKeeper, an ApiVersions request for Kafka, a CQL OPTIONS frame for Cassandra).
The page (`page`) and JupyterLab (`jupyter`) answer HTTPS, Cassandra (`cassandra`) speaks CQL
over TLS and a broker (`kafka`) its protocol over TLS; their certificates must verify for HOST
against the lab's CA (the tls role's copy on the host, else the system's trust store). Kafka
answers ApiVersions before any SASL authentication, so no login is needed. `page-http`,
`jupyter-http`, `cassandra-plain` and `kafka-plaintext` are the same checks without TLS.

The Hadoop daemons' web servers in Hadoop's secure mode: `--https` asks them on HTTPS (verified
like the page), and a server that answers 401 with `WWW-Authenticate: Negotiate` is asked again
with a Kerberos ticket of NAME got from the keytab FILE (SPNEGO; the ticket stays in this
process's memory). A program that imports this module passes the same options to check() and
get_url() (a Web), for the calling thread only; the command line's are the default.

Only the standard library, but for Kerberos (Debian's python3-gssapi, on the hosts of a realm):
it runs on every host with the system's Python.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import struct
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

TIMEOUT = 5.0
Result = tuple[bool, str]


def split_address(address: str) -> tuple[str, int]:
    """("host", port) of "host:port" (an IPv6 host in brackets)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"not HOST:PORT: {address!r}")
    return host.strip("[]"), int(port)


# HTTP: the daemon's own answer, never a proxy's (the hosts may have http_proxy set).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# TLS (the page's HTTPS, Cassandra's CQL, Kafka) is verified against these CA certificates (a
# PEM file); None: the tls role's copy of the lab's CA on this host, else the system's trust
# store.
CA_FILE: str | None = None
HOST_CA_FILE = "/etc/lab-tls/ca.crt"


def tls_client() -> ssl.SSLContext:
    """A client context that verifies the server for the host connected to (see CA_FILE)."""
    cafile = CA_FILE or (HOST_CA_FILE if os.path.exists(HOST_CA_FILE) else None)
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass
class Web:
    """How the daemons' web servers are asked (the command line's options)."""

    https: bool = False  # HTTPS instead of HTTP, for the kinds without a scheme of their own
    keytab: str | None = None  # Kerberos (SPNEGO) with this keytab's ...
    principal: str | None = None  # ... principal, when a server asks for it


WEB = Web()
# The options of the check or request this thread runs (check(..., web), get_url(..., web)).
_THREAD = threading.local()


def web_options() -> Web:
    """This thread's options, else the command line's."""
    return getattr(_THREAD, "web", None) or WEB


@contextmanager
def _options(web: Web | None):
    """Ask with web (None: the options in force) in this thread until the block ends."""
    previous = getattr(_THREAD, "web", None)
    _THREAD.web = web or previous
    try:
        yield
    finally:
        _THREAD.web = previous


def spnego_token(host: str) -> str:
    """The Authorization header's token for the web server on host: a Kerberos ticket for its
    HTTP/ principal, named after the host's name (which an address resolves back to), from
    the principal's keys in the keytab of web_options()."""
    try:
        import gssapi  # noqa: PLC0415 - Debian's python3-gssapi, only where Kerberos is on
    except ImportError as exc:
        raise ValueError("the server asks for Kerberos, but python3-gssapi is missing") from exc
    web = web_options()
    try:
        store = {"client_keytab": web.keytab, "ccache": "MEMORY:lab-health"}
        client = gssapi.Name(web.principal, gssapi.NameType.kerberos_principal)
        credentials = gssapi.Credentials(name=client, usage="initiate", store=store)
        server = gssapi.Name(f"HTTP@{socket.getfqdn(host)}", gssapi.NameType.hostbased_service)
        # The Kerberos mechanism itself, as Hadoop's own clients send it.
        context = gssapi.SecurityContext(
            name=server, creds=credentials, mech=gssapi.MechType.kerberos, usage="initiate"
        )
        return base64.b64encode(context.step()).decode("ascii")
    except gssapi.exceptions.GSSError as exc:
        raise ValueError(f"Kerberos: {exc}") from exc


def asks_for_kerberos(error: urllib.error.HTTPError) -> bool:
    offered = error.headers.get("WWW-Authenticate") or ""
    return error.code == 401 and offered.lower().startswith("negotiate")


def http_text(address: str, path: str, scheme: str | None = None) -> str:
    """The body at path; scheme None: HTTPS with --https, else HTTP. A server that asks for
    Kerberos is asked again with a ticket when the command line named a keytab."""
    host, port = split_address(address)
    web = web_options()
    scheme = scheme or ("https" if web.https else "http")
    opener = _OPENER
    if scheme == "https":
        context = tls_client()
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
    url = f"{scheme}://{url_host(host)}:{port}{path}"
    try:
        with opener.open(url, timeout=TIMEOUT) as response:
            return response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        if not (web.keytab and asks_for_kerberos(error)):
            raise
    request = urllib.request.Request(
        url, headers={"Authorization": f"Negotiate {spnego_token(host)}"}
    )
    with opener.open(request, timeout=TIMEOUT) as response:
        return response.read().decode("utf-8", "replace")


def get_url(url: str, web: Web | None = None) -> str:
    """The body at an http(s) URL, asked as http_text asks (web: the options, for this call)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    with _options(web):
        return http_text(parts.netloc, path, scheme=parts.scheme)


def http_json(address: str, path: str, scheme: str | None = None) -> Any:
    return json.loads(http_text(address, path, scheme=scheme))


def jmx_bean(address: str, name: str) -> dict | None:
    """The JMX bean of that name from a Hadoop daemon's /jmx servlet, or None."""
    beans = http_json(address, f"/jmx?qry={name}").get("beans") or []
    return beans[0] if beans else None


# Hadoop


def namenode(address: str) -> Result:
    bean = jmx_bean(address, "Hadoop:service=NameNode,name=NameNodeStatus")
    if bean is None:
        return False, "no NameNodeStatus bean"
    state = bean.get("State")
    return state == "active", f"NameNode state {state}"


def datanode(address: str) -> Result:
    bean = jmx_bean(address, "Hadoop:service=DataNode,name=DataNodeInfo")
    if bean is None:
        return False, "no DataNodeInfo bean"
    return True, f"DataNode {bean.get('Version', '')}".strip()


def resourcemanager(address: str) -> Result:
    state = http_json(address, "/ws/v1/cluster/info")["clusterInfo"].get("state")
    return state == "STARTED", f"ResourceManager state {state}"


def nodemanager(address: str) -> Result:
    info = http_json(address, "/ws/v1/node/info")["nodeInfo"]
    if info.get("nodeHealthy") is True:
        return True, "NodeManager healthy"
    return False, f"NodeManager unhealthy: {info.get('healthReport') or 'no health report'}"


# Spark


def spark_master(address: str) -> Result:
    state = http_json(address, "/json/")
    status = state.get("status")
    return status == "ALIVE", f"master {status}, {state.get('aliveworkers', 0)} alive workers"


def spark_worker(address: str) -> Result:
    state = http_json(address, "/json/")
    if not state.get("masterurl"):
        return False, f"worker {state.get('id', '?')} not registered with a master"
    return True, f"worker {state.get('id')} registered with {state['masterurl']}"


def spark_history(address: str) -> Result:
    version = http_json(address, "/api/v1/version").get("spark")
    return bool(version), f"history server of Spark {version}"


def streaming_query(address: str) -> Result:
    """The streaming job's driver UI lists its query as active (the UI answers before)."""
    page = http_text(address, "/StreamingQuery/")
    if "Active Streaming Queries (1)" in page:
        return True, "one active streaming query"
    return False, "the driver's UI answers, but no streaming query is active"


# JupyterLab and the page


def jupyter(address: str) -> Result:
    """JupyterLab over HTTPS, its certificate verified for the address's host."""
    return _jupyter(address, "https")


def jupyter_http(address: str) -> Result:
    """JupyterLab with TLS turned off (jupyter_tls: false)."""
    return _jupyter(address, "http")


def _jupyter(address: str, scheme: str) -> Result:
    version = http_json(address, "/api", scheme=scheme).get("version")
    return bool(version), f"Jupyter server {version}"


def page(address: str) -> Result:
    """The page over HTTPS, its certificate verified for the address's host."""
    answer = http_text(address, "/health", scheme="https").strip()
    return answer == "ok", f"/health over HTTPS: {answer[:80] or 'empty'}"


def page_http(address: str) -> Result:
    """The page with TLS turned off (movielens_web_tls: false)."""
    answer = http_text(address, "/health", scheme="http").strip()
    return answer == "ok", f"/health: {answer[:80] or 'empty'}"


# Monitoring


def prometheus(address: str) -> Result:
    """Prometheus has loaded its storage and configuration (/-/ready)."""
    answer = http_text(address, "/-/ready").strip()
    return "ready" in answer.lower(), f"Prometheus: {answer[:80] or 'empty'}"


def alertmanager(address: str) -> Result:
    answer = http_text(address, "/-/ready").strip()
    return answer == "OK", f"Alertmanager /-/ready: {answer[:80] or 'empty'}"


def metrics(address: str) -> Result:
    """An exporter (node exporter, a JMX exporter agent, the stream's figures) serves samples
    in Prometheus' text format on /metrics."""
    lines = http_text(address, "/metrics").splitlines()
    samples = [ln for ln in lines if ln and not ln.startswith("#")]
    return bool(samples), f"/metrics: {len(samples)} samples"


def alert_log(address: str) -> Result:
    """The webhook receiver that writes Alertmanager's notifications to a log."""
    answer = http_text(address, "/health").strip()
    return answer == "ok", f"alert log /health: {answer[:80] or 'empty'}"


# ZooKeeper: `srvr` (whitelisted by the zookeeper role) reports a Mode once the server serves.


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def zookeeper(address: str) -> Result:
    with socket.create_connection(split_address(address), timeout=TIMEOUT) as sock:
        sock.sendall(b"srvr")
        answer = read_all(sock).decode("utf-8", "replace")
    for line in answer.splitlines():
        if line.startswith("Mode: "):
            return True, line
    return False, f"srvr: no Mode line in {answer.strip()[:120]!r}"


# Binary protocols: one request, one length-prefixed answer.


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ValueError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


# Kafka: ApiVersions (key 18) version 0, request header v1 (key, version, correlation id,
# client id); the answer is a size, the correlation id, an error code and the list of APIs.
KAFKA_API_VERSIONS = 18
KAFKA_CLIENT_ID = b"lab-health"
KAFKA_CORRELATION_ID = 1


def kafka_api_versions_request() -> bytes:
    header = struct.pack(">hhih", KAFKA_API_VERSIONS, 0, KAFKA_CORRELATION_ID, len(KAFKA_CLIENT_ID))
    message = header + KAFKA_CLIENT_ID
    return struct.pack(">i", len(message)) + message


def kafka_api_versions(sock: socket.socket) -> Result:
    """Send ApiVersions on a connected socket (plain or TLS) and read the broker's answer."""
    sock.sendall(kafka_api_versions_request())
    (size,) = struct.unpack(">i", recv_exactly(sock, 4))
    if not 10 <= size <= 1 << 20:
        raise ValueError(f"not a Kafka ApiVersions answer (size {size})")
    body = recv_exactly(sock, size)
    correlation_id, error_code, api_count = struct.unpack(">ihi", body[:10])
    if correlation_id != KAFKA_CORRELATION_ID:
        return False, f"answer to another request (correlation id {correlation_id})"
    if error_code != 0:
        return False, f"ApiVersions error code {error_code}"
    return True, f"broker answers ApiVersions ({api_count} APIs)"


def kafka(address: str) -> Result:
    """A broker's SASL_SSL listener: a TLS handshake whose certificate verifies for HOST, then
    ApiVersions, which a broker answers before SASL authentication (a liveness check that
    needs no login)."""
    host, port = split_address(address)
    with (
        socket.create_connection((host, port), timeout=TIMEOUT) as raw,
        tls_client().wrap_socket(raw, server_hostname=host) as sock,
    ):
        healthy, detail = kafka_api_versions(sock)
    return healthy, f"{detail} over TLS"


def kafka_plaintext(address: str) -> Result:
    """A broker without TLS (kafka_security: plaintext)."""
    with socket.create_connection(split_address(address), timeout=TIMEOUT) as sock:
        return kafka_api_versions(sock)


# Cassandra: a CQL native protocol v4 OPTIONS frame (9-byte header: version, flags, stream,
# opcode, body length), answered by SUPPORTED with the server's options.
CQL_VERSION = 0x04
CQL_RESPONSE = 0x80
CQL_ERROR, CQL_OPTIONS, CQL_SUPPORTED = 0x00, 0x05, 0x06


def cql_options_frame() -> bytes:
    return struct.pack(">BBhBi", CQL_VERSION, 0, 0, CQL_OPTIONS, 0)


def cql_string(body: bytes, at: int) -> tuple[str, int]:
    (length,) = struct.unpack_from(">H", body, at)
    end = at + 2 + length
    return body[at + 2 : end].decode("utf-8", "replace"), end


def cql_supported(body: bytes) -> dict[str, list[str]]:
    """The [string multimap] of a SUPPORTED body."""
    (count,) = struct.unpack_from(">H", body, 0)
    options, at = {}, 2
    for _ in range(count):
        key, at = cql_string(body, at)
        (values,) = struct.unpack_from(">H", body, at)
        at += 2
        options[key] = []
        for _ in range(values):
            value, at = cql_string(body, at)
            options[key].append(value)
    return options


def cql_options(sock: socket.socket) -> Result:
    """Send OPTIONS on a connected socket (plain or TLS) and read the answer."""
    sock.sendall(cql_options_frame())
    version, _flags, _stream, opcode, length = struct.unpack(">BBhBi", recv_exactly(sock, 9))
    body = recv_exactly(sock, length) if 0 <= length <= 1 << 20 else b""
    if version != CQL_RESPONSE | CQL_VERSION:
        return False, f"not a CQL v4 answer (version byte {version:#04x})"
    if opcode == CQL_ERROR:
        message, _ = cql_string(body, 4)
        return False, f"CQL error: {message}"
    if opcode != CQL_SUPPORTED:
        return False, f"answered OPTIONS with opcode {opcode:#04x}, not SUPPORTED"
    cql_versions = cql_supported(body).get("CQL_VERSION", [])
    return True, f"answers CQL (versions {', '.join(cql_versions) or 'unknown'})"


def cassandra(address: str) -> Result:
    """CQL over TLS, the node's certificate verified for the address's host."""
    host, port = split_address(address)
    with (
        socket.create_connection((host, port), timeout=TIMEOUT) as raw,
        tls_client().wrap_socket(raw, server_hostname=host) as sock,
    ):
        healthy, detail = cql_options(sock)
        protocol = sock.version()
    return healthy, f"{detail} over {protocol}" if healthy else detail


def cassandra_plain(address: str) -> Result:
    """CQL without TLS (cassandra_tls: false)."""
    with socket.create_connection(split_address(address), timeout=TIMEOUT) as sock:
        return cql_options(sock)


CHECKS: dict[str, Callable[[str], Result]] = {
    "namenode": namenode,
    "datanode": datanode,
    "resourcemanager": resourcemanager,
    "nodemanager": nodemanager,
    "spark-master": spark_master,
    "spark-worker": spark_worker,
    "spark-history": spark_history,
    "zookeeper": zookeeper,
    "kafka": kafka,
    "kafka-plaintext": kafka_plaintext,
    "cassandra": cassandra,
    "cassandra-plain": cassandra_plain,
    "jupyter": jupyter,
    "jupyter-http": jupyter_http,
    "page": page,
    "page-http": page_http,
    "stream": streaming_query,
    "prometheus": prometheus,
    "alertmanager": alertmanager,
    "metrics": metrics,
    "alert-log": alert_log,
}


def tls_reason(exc: Exception) -> str | None:
    """A TLS failure in words, raised itself or wrapped by urllib; None for any other error."""
    for error in (exc, getattr(exc, "reason", None)):
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"TLS: {error.verify_message or error}"
        if isinstance(error, ssl.SSLError):
            return f"TLS: {error.reason or error}"
    return None


def reason(exc: Exception) -> str:
    """What went wrong, in words (a refused connection, a timeout, an HTTP status, bad data,
    a certificate that does not verify)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    tls = tls_reason(exc)
    if tls is not None:
        return tls
    if isinstance(exc, json.JSONDecodeError):
        return f"the answer is not JSON ({exc.msg})"
    if isinstance(exc, KeyError | AttributeError):
        return f"the answer lacks the expected fields ({exc})"
    return str(getattr(exc, "reason", None) or exc) or type(exc).__name__


def check(kind: str, address: str, web: Web | None = None) -> Result:
    """(healthy, detail) of the daemon of that kind at host:port (web: how its web server is
    asked, for this check; None: the command line's options); never raises for a daemon that
    is down or answers wrongly."""
    if kind not in CHECKS:
        return False, f"unknown kind {kind!r} (one of {', '.join(CHECKS)})"
    try:
        with _options(web):
            return CHECKS[kind](address)
    except (
        OSError,
        ValueError,
        KeyError,
        AttributeError,
        struct.error,
        http.client.HTTPException,
    ) as exc:
        return False, f"{kind} at {address}: {reason(exc)}"


USAGE = (
    "usage: lab-health [--https] [--keytab FILE --principal NAME] KIND HOST:PORT"
    f"  (KIND: {', '.join(CHECKS)})"
)


def parse(argv: list[str]) -> tuple[Web, list[str]] | None:
    """The options and the two arguments of the command line; None when it is not one."""
    web, rest = Web(), list(argv)
    while rest and rest[0].startswith("--"):
        option = rest.pop(0)
        if option == "--https":
            web.https = True
        elif option in ("--keytab", "--principal") and rest:
            setattr(web, option.removeprefix("--"), rest.pop(0))
        else:
            return None
    if len(rest) != 2 or rest[0] not in CHECKS or bool(web.keytab) != bool(web.principal):
        return None
    return web, rest


def main(argv: list[str]) -> int:
    parsed = parse(argv)
    if parsed is None:
        print(USAGE, file=sys.stderr)
        return 2
    options, arguments = parsed
    WEB.https, WEB.keytab, WEB.principal = options.https, options.keytab, options.principal
    healthy, detail = check(*arguments)
    print(detail, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
