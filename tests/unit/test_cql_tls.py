"""The jobs' and the page's Cassandra connections over TLS (jobs/reco/cql.py), with the real
cassandra-driver against a TLS listener on loopback that holds a certificate of a throwaway CA
for 127.0.0.1: a CQL frame reaches it only from a driver that verified it."""

from __future__ import annotations

import ssl

import pytest

from jobs.reco.cql import connect_cluster, tls_context
from movielens_web import config, data

cluster_module = pytest.importorskip("cassandra.cluster")
CQL_OPTIONS = 0x05


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


def listener(tls_server, host: str = "127.0.0.1") -> int:
    """A TLS listener with the certificate of 127.0.0.1 that hangs up after the first frame."""
    return int(tls_server(lambda _: b"", host).rpartition(":")[2])


def test_the_driver_speaks_cql_inside_tls_to_a_node_of_the_ca(tls_server, lab_tls):
    attempt("127.0.0.1", listener(tls_server), lab_tls["ca"])
    records = tls_server.requests
    assert records, "no CQL frame inside TLS"
    assert records[0][4] == CQL_OPTIONS, records[0]


def test_the_driver_refuses_another_ca_and_does_not_fall_back_to_plaintext(tls_server, lab_tls):
    port = listener(tls_server)
    refused = attempt("127.0.0.1", port, lab_tls["other_ca"])
    assert "certificate verify failed" in str(refused), refused
    # Without a CA the driver speaks plaintext, which a TLS listener does not take.
    attempt("127.0.0.1", port, "")
    assert tls_server.requests == []


def test_the_driver_refuses_a_certificate_for_another_address(tls_server, lab_tls):
    """The listener on 127.0.0.2 (loopback too) holds the certificate of 127.0.0.1."""
    refused = attempt("127.0.0.2", listener(tls_server, "127.0.0.2"), lab_tls["ca"])
    assert "IP address mismatch" in str(refused), refused
    assert tls_server.requests == []


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
