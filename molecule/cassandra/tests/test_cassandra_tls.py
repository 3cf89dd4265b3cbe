"""Cassandra's TLS on real nodes, on both of its ports, from the control node and from the hosts.

CQL (9042): a client speaking plaintext is refused, and so is one that trusts another CA (a
throwaway one made here); with the lab's CA and the right login a session works, each node
reports every client connection as TLS, and a login that may only read still cannot write.
Between nodes (7000): the nodes run the ring with internode TLS required (every node up and
normal, each node's log says its storage port is encrypted), a plaintext internode handshake
gets no answer, and a TLS connection is taken only with a certificate of the lab's CA. cqlsh
on each host speaks TLS through root's cqlshrc, and nodetool (JMX on loopback) still works.

Run by the cassandra, stack and cluster scenarios, on every host of the cassandra group.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import socket
import ssl
import struct
import time
import uuid
import zlib

import pytest
from cassandra import Unauthorized
from cassandra.cluster import NoHostAvailable

from tests import cql, inventory

testinfra_hosts = ["cassandra"]
STORAGE_PORT = 7000
SUPERUSER = "admin"  # the role's default cassandra_superuser_name

pytestmark = pytest.mark.skipif(
    not inventory.cassandra_tls(), reason="the inventory turned Cassandra's TLS off"
)


def addresses() -> list[str]:
    return inventory.addresses("cassandra", "cassandra")


def on_node(address: str, user: str = SUPERUSER, password: str | None = None, keyspace=None, **tls):
    """A session on that node only (cql.session; tls: its ssl_context)."""
    return cql.session([address], user, password, keyspace, only=True, **tls)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> str:
    """The certificate of a throwaway CA that signed nothing of the lab's."""
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Another CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("other-ca") / "ca.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


# CQL, from the control node


@pytest.mark.parametrize("address", addresses())
def test_a_plaintext_cql_client_is_refused(address):
    with pytest.raises(NoHostAvailable) as refused, on_node(address, ssl_context=None):
        pass
    # Refused before any login: the node never saw the password in clear.
    assert "AuthenticationFailed" not in str(refused.value), refused.value


@pytest.mark.parametrize("address", addresses())
def test_a_client_trusting_another_ca_is_refused(address, other_ca):
    elsewhere = ssl.create_default_context(cafile=other_ca)
    with pytest.raises(NoHostAvailable) as refused, on_node(address, ssl_context=elsewhere):
        pass
    assert "certificate verify failed" in str(refused.value), refused.value


@pytest.mark.parametrize("address", addresses())
def test_tls_with_the_lab_ca_and_the_login_works_and_every_client_is_on_tls(address):
    with on_node(address) as session:
        assert session.execute("SELECT release_version FROM system.local").one()
        # The node's own view of its clients: this session, and whatever else is connected
        # (the page, the stream, the jobs), all over TLS 1.2 or newer.
        clients = list(
            session.execute(
                "SELECT address, username, ssl_enabled, ssl_protocol FROM system_views.clients"
            )
        )
    assert any(c.username == SUPERUSER for c in clients), clients
    plaintext = [c for c in clients if not c.ssl_enabled]
    assert not plaintext, plaintext
    assert {c.ssl_protocol for c in clients} <= {"TLSv1.2", "TLSv1.3"}, clients


@pytest.fixture(scope="module")
def reader():
    """A login that may only read a scratch keyspace (the page's kind of login), made by the
    superuser over TLS and dropped afterwards: (name, password, keyspace)."""
    keyspace, name = "lab_tls_checks", f"lab_reader_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    replicas = min(3, len(addresses()))
    with on_node(addresses()[0]) as session:
        session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
            f"{{'class': 'SimpleStrategy', 'replication_factor': {replicas}}}"
        )
        session.execute(f"CREATE TABLE IF NOT EXISTS {keyspace}.notes (id text PRIMARY KEY, v int)")
        session.execute(f"INSERT INTO {keyspace}.notes (id, v) VALUES ('seed', 1)")
        session.execute(f"CREATE ROLE {name} WITH PASSWORD = %s AND LOGIN = true", (password,))
        session.execute(f"GRANT SELECT ON KEYSPACE {keyspace} TO {name}")
        try:
            yield name, password, keyspace
        finally:
            session.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.mark.parametrize("address", addresses())
def test_a_read_only_login_over_tls_reads_and_cannot_write(address, reader):
    name, password, keyspace = reader
    # Logins are cached for 2 s (credentials_validity) and reach the other nodes through
    # system_auth: a fresh role may need a moment on another coordinator.
    for attempt in range(10):
        try:
            with on_node(address, name, password, keyspace) as session:
                assert session.execute("SELECT v FROM notes WHERE id = 'seed'").one().v == 1
                with pytest.raises(Unauthorized):
                    session.execute("INSERT INTO notes (id, v) VALUES ('written', 2)")
            return
        except NoHostAvailable:
            if attempt == 9:
                raise
            time.sleep(2)


@pytest.mark.skipif(not inventory.hosts("movielens_web"), reason="no page in this inventory")
def test_the_pages_login_over_tls_reads_reco_and_cannot_write():
    with on_node(addresses()[0], "movielens_web", keyspace="reco") as session:
        session.execute("SELECT movie_id FROM movies LIMIT 1")
        with pytest.raises(Unauthorized):
            session.execute(
                "INSERT INTO movies (movie_id, title, genres) VALUES (-1, 'not allowed', '')"
            )


# Between nodes


# Cassandra's internode handshake (HandshakeProtocol.Initiate): the protocol magic, flags (small
# messages, CRC framing, messaging versions 12-13), the sender's address and port, a CRC32. A
# node that takes plaintext answers it with Accept; a node that requires TLS must not.
PROTOCOL_MAGIC = 0xCA552DFA
SMALL_MESSAGES, CRC_FRAMING, VERSION_40, VERSION_50 = 2, 2, 12, 13


def plaintext_initiate(source: str, port: int = STORAGE_PORT) -> bytes:
    flags = SMALL_MESSAGES | ((CRC_FRAMING & 1) << 2) | ((CRC_FRAMING & 2) << 3)
    flags |= (VERSION_40 << 8) | (VERSION_40 << 16) | (VERSION_50 << 24)
    packed = ipaddress.ip_address(source).packed
    frame = struct.pack(">II", PROTOCOL_MAGIC, flags)
    frame += struct.pack(">B", len(packed) + 2) + packed + struct.pack(">H", port)
    return frame + struct.pack(">I", zlib.crc32(frame) & 0xFFFFFFFF)


@pytest.mark.parametrize("address", addresses())
def test_the_storage_port_gives_a_plaintext_handshake_no_answer(address):
    answer = b""
    with socket.create_connection((address, STORAGE_PORT), timeout=10) as sock:
        sock.sendall(plaintext_initiate(address))
        try:
            while chunk := sock.recv(64):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    # Closed without a word, or a TLS alert record (content type 21): never an Accept.
    assert answer == b"" or answer[:1] == b"\x15", answer


@pytest.mark.parametrize("address", addresses())
def test_the_storage_port_serves_the_nodes_certificate_and_wants_one_back(address):
    """From the control node (no certificate of its own): the node's certificate verifies
    against the lab's CA for its address, and the node refuses a peer without one."""
    context = inventory.tls_context()
    with socket.create_connection((address, STORAGE_PORT), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=address) as sock:
                assert sock.version() in ("TLSv1.2", "TLSv1.3")
                sock.settimeout(10)
                sock.sendall(plaintext_initiate(address))
                outcome = sock.recv(64)  # TLS 1.3: the refusal comes after the handshake
        except ssl.SSLCertVerificationError:
            raise
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as exc:
            outcome = exc
    # Refused during or right after the handshake; a node that took the connection would have
    # answered the handshake frame.
    assert outcome == b"" or isinstance(outcome, OSError), outcome


# What each host says and does (testinfra, on every host of the cassandra group)

# Connects to a node's storage port with and without this host's certificate: a peer with a
# certificate of the lab's CA is taken (the node then waits for its handshake), one without
# is refused.
PEER_PROBE = r"""
import socket, ssl, sys
address, port = sys.argv[1], int(sys.argv[2])

def attempt(with_certificate):
    context = ssl.create_default_context(cafile="/etc/lab-tls/ca.crt")
    if with_certificate:
        context.load_cert_chain("/etc/lab-tls/host.crt", "/etc/lab-tls/host.key")
    with socket.create_connection((address, port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=address) as tls:
            tls.settimeout(3)
            try:
                return "closed" if not tls.recv(1) else "answered"
            except TimeoutError:
                return "taken"

for label, with_certificate in (("with", True), ("without", False)):
    try:
        print(label, attempt(with_certificate))
    except (OSError, ssl.SSLError) as exc:
        print(label, "refused", exc)
"""


def test_every_node_is_up_and_normal_with_internode_tls(host):
    with host.sudo():
        status = host.run("/usr/local/bin/nodetool status")
    assert status.rc == 0, status.stderr
    states = re.findall(r"^([UD][NLJM])\s+(\S+)", status.stdout, re.MULTILINE)
    assert sorted(a for _, a in states) == sorted(addresses()), status.stdout
    assert {s for s, _ in states} == {"UN"}, status.stdout


def test_the_nodes_log_says_both_ports_require_tls(host):
    # The node's own log, oldest file first (the journal may have dropped the start's lines:
    # the stack scenario floods it past its cap).
    with host.sudo():
        log = host.run(
            "{ for i in $(seq 20 -1 1); do cat /var/log/cassandra/system.log.$i 2>/dev/null; done;"
            " cat /var/log/cassandra/system.log; }"
            " | grep -E 'Listening on address|Starting listening for CQL clients'"
        ).stdout.splitlines()
    storage = [line for line in log if "Listening on address" in line]
    native = [line for line in log if "Starting listening for CQL clients" in line]
    assert storage and native, log[-5:]
    # The last start: "encryption: encrypted(openssl)" (not "optionally encrypted", not
    # "unencrypted"), and "(encrypted)" for CQL.
    assert re.search(r"encryption: encrypted\(", storage[-1]), storage[-1]
    assert native[-1].rstrip(".").endswith("(encrypted)"), native[-1]


@pytest.mark.parametrize("peer", addresses())
def test_a_node_takes_a_peer_with_a_lab_certificate_and_refuses_one_without(host, peer):
    with host.sudo():
        probe = host.run(f"python3 - {peer} {STORAGE_PORT} <<'EOF'\n{PEER_PROBE}\nEOF")
    assert probe.rc == 0, probe.stderr
    lines = dict(line.split(" ", 1) for line in probe.stdout.splitlines())
    assert lines["with"] == "taken", probe.stdout
    assert lines["without"].startswith(("refused", "closed")), probe.stdout


def test_cqlsh_on_the_host_speaks_tls_and_plaintext_is_refused(host):
    query = "SELECT release_version FROM system.local"
    credentials = "/root/.cassandra/lab-test-credentials"
    plain_rc = "/root/.cassandra/lab-test-plaintext-cqlshrc"
    own = inventory.address(host.backend.get_hostname())
    write = (
        "umask 077 && mkdir -p /root/.cassandra && "
        f"printf '[plain_text_auth]\\nusername = {SUPERUSER}\\npassword = %s\\n' "
        f"'{inventory.cassandra_password(SUPERUSER)}' > {credentials} && "
        f"printf '[connection]\\nssl = false\\n' > {plain_rc}"
    )
    with host.sudo():
        assert host.run(write).rc == 0
        try:
            # Root's own cqlshrc (the role's): the local node, over TLS.
            tls = host.run(f"HOME=/root cqlsh --credentials {credentials} -e '{query}'")
            plain = host.run(
                f"cqlsh {own} {cql.PORT} --cqlshrc {plain_rc} --credentials {credentials} "
                f"-e '{query}'"
            )
        finally:
            host.run(f"rm -f {credentials} {plain_rc}")
    assert tls.rc == 0 and "5.0" in tls.stdout, tls.stdout + tls.stderr
    assert plain.rc != 0, plain.stdout
