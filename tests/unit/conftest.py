"""Shared fixtures: real HTTP and TLS servers on loopback, a throwaway CA, Spark."""

from __future__ import annotations

import functools
import http.server
import os
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def http_dir(tmp_path: Path):
    """Serve tmp_path/www on 127.0.0.1 and yield (directory, base URL)."""
    yield from _serve(tmp_path / "www", None)


def _serve(root: Path, context):
    """Serve root on 127.0.0.1 (over TLS with context) and yield (directory, base URL)."""
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "http" if context is None else "https"
        yield root, f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def spark():
    """One small local SparkSession for the whole test session (2 cores, 2 shuffle partitions)."""
    pyspark_sql = pytest.importorskip("pyspark.sql")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # numpy for the Python workers
    session = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("movielens-unit-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def lab_tls(tmp_path_factory):
    """A throwaway CA and a server certificate for 127.0.0.1 (not localhost) that it signed:
    {"ca": ca.crt, "cert": server.crt, "key": server.key, "other_ca": another CA's ca.crt}."""
    pytest.importorskip("cryptography")
    import datetime  # noqa: PLC0415
    import ipaddress  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    now = datetime.datetime.now(datetime.UTC)
    out = tmp_path_factory.mktemp("tls")

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def certificate(subject, issuer, public_key, signer, *, ca: bool, sans=()):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(signer, hashes.SHA256())

    def pem(cert) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    files = {}
    for label in ("ca", "other_ca"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = certificate(
            name(f"unit {label}"), name(f"unit {label}"), key.public_key(), key, ca=True
        )
        files[label] = out / f"{label}.crt"
        files[label].write_bytes(pem(cert))
        if label == "ca":
            ca_key, ca_cert = key, cert
    server_key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = certificate(
        name("unit server"), ca_cert.subject, server_key.public_key(), ca_key, ca=False, sans=sans
    )
    files["cert"] = out / "server.crt"
    files["cert"].write_bytes(pem(server))
    files["key"] = out / "server.key"
    files["key"].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files["key"].chmod(0o600)
    return {label: str(path) for label, path in files.items()}


@pytest.fixture
def https_dir(tmp_path: Path, lab_tls):
    """Like http_dir, over HTTPS with lab_tls's server certificate: (directory, base URL)."""
    import ssl  # noqa: PLC0415

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(lab_tls["cert"], lab_tls["key"])
    yield from _serve(tmp_path / "www", context)


def _answering_servers(context: ssl.SSLContext | None) -> Iterator[Callable[..., str]]:
    """start(answer, host="127.0.0.1") starts a server on host (loopback) and returns its
    address; each connection (over TLS with context, if given) has one request read, answered
    with answer(request), and closed. Requests land in .requests; a connection that fails (a
    client that gives up during the handshake) in .handshake_errors."""
    servers: list[socket.socket] = []

    def start(answer: Callable[[bytes], bytes], host: str = "127.0.0.1") -> str:
        server = socket.create_server((host, 0))
        servers.append(server)

        def serve() -> None:
            while True:
                try:
                    raw, _ = server.accept()
                except OSError:
                    return
                try:
                    conn = context.wrap_socket(raw, server_side=True) if context else raw
                    with conn:
                        request = conn.recv(4096)
                        start.requests.append(request)
                        conn.sendall(answer(request))
                except (OSError, ssl.SSLError) as exc:
                    start.handshake_errors.append(exc)
                    raw.close()

        threading.Thread(target=serve, daemon=True).start()
        return f"{host}:{server.getsockname()[1]}"

    start.requests = []
    start.handshake_errors = []
    yield start
    for server in servers:
        server.close()


@pytest.fixture
def tcp_server() -> Iterator[Callable[..., str]]:
    """Plain TCP servers that answer one request each (see _answering_servers)."""
    yield from _answering_servers(None)


@pytest.fixture
def tls_server(lab_tls) -> Iterator[Callable[..., str]]:
    """The same over TLS with lab_tls's certificate for 127.0.0.1 (see _answering_servers)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(lab_tls["cert"], lab_tls["key"])
    yield from _answering_servers(context)
