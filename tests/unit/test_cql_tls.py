"""The jobs' and the page's Cassandra connections over TLS (jobs/reco/cql.py), with the real
cassandra-driver against a TLS listener on loopback that holds a certificate of a throwaway CA
for 127.0.0.1: a CQL frame reaches it only from a driver that verified it."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import pytest

from jobs.reco.cql import connect_cluster, tls_context
from movielens_web import config, data

cluster_module = pytest.importorskip("cassandra.cluster")
CQL_OPTIONS = 0x05


@pytest.fixture(params=["127.0.0.1"])
def tls_listener(request, lab_tls) -> Iterator[tuple[int, list[bytes]]]:
    """A listener on loopback address request.param that completes TLS handshakes with
    lab_tls's certificate (for 127.0.0.1 only), records the first bytes each client sends
    inside TLS, then closes. Yields (port, records)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(lab_tls["cert"], lab_tls["key"])
    server = socket.create_server((request.param, 0))
    records: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    with context.wrap_socket(conn, server_side=True) as tls:
                        records.append(tls.recv(64))
                except OSError:  # a client that refused the certificate, or plaintext
                    continue

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], records
    server.close()


def attempt(host: str, port: int, ca_file: str) -> Exception:
    cluster = connect_cluster(
        [host],
        port,
        "movielens",
        "secret",
        ca_file,
        connect_timeout=5,
        control_connection_timeout=5,
    )
    try:
        with pytest.raises(cluster_module.NoHostAvailable) as failed:
            cluster.connect()
        return failed.value
    finally:
        cluster.shutdown()


def test_the_context_verifies_the_ca_and_the_name(lab_tls):
    context = tls_context(lab_tls["ca"])
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_the_driver_speaks_cql_inside_tls_to_a_node_of_the_ca(tls_listener, lab_tls):
    port, records = tls_listener
    attempt("127.0.0.1", port, lab_tls["ca"])  # the listener hangs up after the first frame
    assert records, "no CQL frame inside TLS"
    assert records[0][4] == CQL_OPTIONS, records[0]


def test_the_driver_refuses_another_ca_and_does_not_fall_back_to_plaintext(tls_listener, lab_tls):
    port, records = tls_listener
    refused = attempt("127.0.0.1", port, lab_tls["other_ca"])
    assert "certificate verify failed" in str(refused), refused
    # Without a CA the driver speaks plaintext, which a TLS listener does not take.
    attempt("127.0.0.1", port, "")
    assert records == []


@pytest.mark.parametrize("tls_listener", ["127.0.0.2"], indirect=True)
def test_the_driver_refuses_a_certificate_for_another_address(tls_listener, lab_tls):
    """The listener on 127.0.0.2 (loopback too) holds the certificate of 127.0.0.1."""
    port, records = tls_listener
    refused = attempt("127.0.0.2", port, lab_tls["ca"])
    assert "IP address mismatch" in str(refused), refused
    assert records == []


def test_the_page_connects_with_the_ca_of_its_settings(monkeypatch):
    raw = {
        "cassandra": {"hosts": ["10.0.0.5"], "ca": "/etc/lab-tls/ca.crt"},
        "kafka": {"bootstrap": "k:9092"},
        "webhdfs": "http://n:9870",
    }
    settings = config.from_dict(raw, "pw")
    assert settings.cassandra_ca == "/etc/lab-tls/ca.crt"
    assert config.from_dict({**raw, "cassandra": {"hosts": ["h"]}}).cassandra_ca == ""
    seen = {}

    def fake_connect(hosts, port, user, password, ca_file, **options):
        seen.update(hosts=hosts, ca_file=ca_file)
        raise OSError("stop here")

    monkeypatch.setattr("jobs.reco.cql.connect_cluster", fake_connect)
    with pytest.raises(data.Unavailable):
        data.Reader(settings).catalogue()
    assert seen == {"hosts": ("10.0.0.5",), "ca_file": "/etc/lab-tls/ca.crt"}
