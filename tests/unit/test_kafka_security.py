"""Kafka's security pieces without a broker: the clients' settings (jobs, page, topics module),
the kafka role's modules (kafka_scram: SCRAM logins; kafka_acls: ACLs) against stand-ins of
Kafka's tools and a TLS server speaking the SASL exchange, and the lab's throwaway passwords
being the same in every role that needs them.

The requests are checked against kafka-python's own encoders, and the SCRAM client against
kafka-python's implementation; the stand-in tools print what Kafka 3.6's print (AclCommand,
ConfigCommand) and parse credentials as ConfigCommand does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import os
import socket
import ssl
import struct
import sys
import threading
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from jobs import kafka_security
from jobs.kafka_security import KafkaSecurity, KafkaSecurityError
from movielens_web import config
from tests import inventory

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


kafka_scram = load("kafka_scram", "roles/kafka/library/kafka_scram.py")
kafka_acls = load("kafka_acls", "roles/kafka/library/kafka_acls.py")
kafka_topic = load("kafka_topic", "roles/movielens/library/kafka_topic.py")


def run_module(module, args: dict, capsys) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


# The clients' settings


def test_the_jobs_log_in_with_scram_over_tls_from_their_environment():
    env = {"MOVIELENS_KAFKA_USER": "movielens", "MOVIELENS_KAFKA_PASSWORD": "pw-12345678"}
    security = kafka_security.from_env(env)
    assert security.kafka_python() == {
        "security_protocol": "SASL_SSL",
        "ssl_cafile": "/etc/lab-tls/ca.crt",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "movielens",
        "sasl_plain_password": "pw-12345678",
    }
    assert "pw-12345678" not in repr(security)
    # Spark's Java client: the CA as PEM, or the PKCS#12 truststore when its password is given.
    assert security.spark_options() == {
        "kafka.security.protocol": "SASL_SSL",
        "kafka.ssl.truststore.type": "PEM",
        "kafka.ssl.truststore.location": "/etc/lab-tls/ca.crt",
        "kafka.sasl.mechanism": "SCRAM-SHA-512",
        "kafka.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule "
        'required username="movielens" password="pw-12345678";',
    }
    pkcs12 = kafka_security.from_env({**env, "MOVIELENS_KAFKA_TRUSTSTORE_PASSWORD": "store-pw"})
    options = pkcs12.spark_options()
    assert options["kafka.ssl.truststore.type"] == "PKCS12"
    assert options["kafka.ssl.truststore.location"] == "/etc/lab-tls/truststore.p12"
    assert options["kafka.ssl.truststore.password"] == "store-pw"


def test_librdkafka_gets_the_same_login_ca_and_name_check():
    env = {"MOVIELENS_KAFKA_USER": "movielens", "MOVIELENS_KAFKA_PASSWORD": "pw-12345678"}
    security = kafka_security.from_env({**env, "MOVIELENS_KAFKA_CAFILE": "/tmp/ca.pem"})
    assert security.librdkafka() == {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": "/tmp/ca.pem",
        "ssl.endpoint.identification.algorithm": "https",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "movielens",
        "sasl.password": "pw-12345678",
    }
    tls_only = KafkaSecurity(protocol="SSL")
    assert tls_only.librdkafka() == {
        "security.protocol": "SSL",
        "ssl.ca.location": "/etc/lab-tls/ca.crt",
        "ssl.endpoint.identification.algorithm": "https",
    }


def test_librdkafka_takes_the_settings_as_they_are(lab_tls):
    """The bundled librdkafka knows every property, reads the CA and has TLS and SCRAM built in
    (an unknown property, an unreadable CA or a missing feature fails the constructor)."""
    confluent_kafka = pytest.importorskip("confluent_kafka")
    security = KafkaSecurity(username="u", password="p-12345678", cafile=lab_tls["ca"])
    confluent_kafka.Producer(
        {
            "bootstrap.servers": "127.0.0.1:1",
            "builtin.features": "ssl,sasl_scram",
            **security.librdkafka(),
        }
    )


def test_librdkafka_checks_the_brokers_name_against_its_certificate(tls_server, lab_tls):
    """With the settings, librdkafka completes TLS with a server whose certificate (of the CA)
    names the address it dialled (then speaks Kafka inside: a request arrives), and gives up
    during the handshake when the certificate names another (127.0.0.1, dialled as
    localhost)."""
    confluent_kafka = pytest.importorskip("confluent_kafka")
    port = tls_server(lambda request: b"").rsplit(":", 1)[1]
    security = KafkaSecurity(protocol="SSL", cafile=lab_tls["ca"])

    def outcome(host: str) -> str:
        requests, failed = len(tls_server.requests), len(tls_server.handshake_errors)
        producer = confluent_kafka.Producer(
            {"bootstrap.servers": f"{host}:{port}", "log_level": 0, **security.librdkafka()}
        )
        for _ in range(100):
            producer.poll(0.1)
            if len(tls_server.requests) > requests:
                return "spoke Kafka"
            if len(tls_server.handshake_errors) > failed:
                return "handshake refused"
        return "nothing within 10 s"

    assert outcome("127.0.0.1") == "spoke Kafka"
    assert outcome("localhost") == "handshake refused"


def test_without_security_the_clients_say_plaintext_only():
    plain = kafka_security.from_env({"MOVIELENS_KAFKA_SECURITY_PROTOCOL": "plaintext"})
    assert plain.kafka_python() == {"security_protocol": "PLAINTEXT"}
    assert plain.librdkafka() == {"security.protocol": "PLAINTEXT"}
    assert plain.spark_options() == {"kafka.security.protocol": "PLAINTEXT"}


def test_sasl_without_a_login_or_an_unknown_protocol_is_refused_before_connecting():
    with pytest.raises(KafkaSecurityError, match="MOVIELENS_KAFKA_USER"):
        kafka_security.from_env({})
    with pytest.raises(KafkaSecurityError, match="one of PLAINTEXT"):
        KafkaSecurity(protocol="TLS")


def test_a_jaas_value_is_quoted():
    security = KafkaSecurity(username="a", password='p"w\\x-long')
    assert security.jaas_config().endswith('password="p\\"w\\\\x-long";')


def test_the_stream_reads_with_its_login_and_its_group_prefix():
    stream = pytest.importorskip("jobs.stream")
    args = stream.parser().parse_args(["--bootstrap", "k1:9092", "--group-prefix", "ml"])
    security = KafkaSecurity(username="movielens", password="pw-12345678")
    options = stream.source_options(args, security)
    assert options["kafka.bootstrap.servers"] == "k1:9092"
    assert options["subscribe"] == "movielens_ratings"
    assert options["groupIdPrefix"] == "ml-stream"
    assert options["kafka.sasl.jaas.config"].startswith(kafka_security.SCRAM_LOGIN_MODULE)


def test_the_page_logs_in_with_its_settings_and_its_password(tmp_path, monkeypatch):
    raw = {
        "cassandra": {"hosts": ["h"]},
        "webhdfs": "http://n",
        "kafka": {
            "bootstrap": "k:9092",
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "user": "movielens_web",
            "cafile": "/ca.crt",
        },
    }
    (tmp_path / "settings.json").write_text(json.dumps(raw))
    monkeypatch.setenv(config.KAFKA_PASSWORD_ENV, "web-pw-1234")
    settings = config.load(str(tmp_path / "settings.json"))
    assert settings.kafka_client_options() == {
        "security_protocol": "SASL_SSL",
        "ssl_cafile": "/ca.crt",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "movielens_web",
        "sasl_plain_password": "web-pw-1234",
    }
    assert "web-pw-1234" not in repr(settings)
    monkeypatch.delenv(config.KAFKA_PASSWORD_ENV)
    with pytest.raises(config.SettingsError, match="MOVIELENS_WEB_KAFKA_PASSWORD"):
        config.load(str(tmp_path / "settings.json"))
    # A settings file that names no protocol is a cluster without security.
    del raw["kafka"]["security_protocol"]
    assert config.from_dict(raw).kafka_client_options() == {"security_protocol": "PLAINTEXT"}


def test_the_topics_module_logs_in_as_it_is_told():
    params = {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "admin",
        "sasl_plain_password": "admin-pw-123",
        "ssl_cafile": "/ca.crt",
    }
    assert kafka_topic.client_options(params) == {
        "security_protocol": "SASL_SSL",
        "ssl_cafile": "/ca.crt",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "admin",
        "sasl_plain_password": "admin-pw-123",
    }
    assert kafka_topic.client_options({**params, "security_protocol": "PLAINTEXT"}) == {
        "security_protocol": "PLAINTEXT"
    }


# kafka_scram: the wire and the SCRAM exchange


def test_the_sasl_requests_are_kafkas():
    """The same bytes as kafka-python's encoders (request header v1)."""
    from kafka.protocol.old.metadata import MetadataRequest_v1  # noqa: PLC0415
    from kafka.protocol.old.sasl_authenticate import SaslAuthenticateRequest_v0  # noqa: PLC0415
    from kafka.protocol.old.sasl_handshake import SaslHandshakeRequest_v1  # noqa: PLC0415

    def encoded(request, correlation_id: int) -> bytes:
        request.with_header(correlation_id=correlation_id, client_id="lab-kafka-scram")
        return request.encode(header=True, framed=True)

    handshake = SaslHandshakeRequest_v1(mechanism="SCRAM-SHA-512")
    assert kafka_scram.sasl_handshake_request(1) == encoded(handshake, 1)
    token = b"n,,n=movielens,r=abc"
    authenticate = SaslAuthenticateRequest_v0(auth_bytes=token)
    assert kafka_scram.sasl_authenticate_request(2, token) == encoded(authenticate, 2)
    from tests import kafkawire  # noqa: PLC0415

    assert kafkawire.metadata_request(7) == encoded(MetadataRequest_v1(topics=None), 7)


def test_the_verifiers_load_the_roles_modules_from_their_files(monkeypatch):
    """As in a verifier run, where nothing imported lab_health before (its dataclass looks its
    module up in sys.modules)."""
    from tests import kafkawire  # noqa: PLC0415

    monkeypatch.delitem(sys.modules, "lab_health", raising=False)
    health = kafkawire._load.__wrapped__("lab_health", "roles/daemon/files/lab_health.py")
    assert health.Web().https is False
    assert kafkawire.kafka_scram().sasl_handshake_request(1)


def test_the_scram_client_computes_what_kafka_python_does():
    from kafka.net.sasl.scram import ScramClient as Reference  # noqa: PLC0415

    ours = kafka_scram.ScramClient("movielens", "pencil-123", nonce="fyko+d2lbbFgONRv9qkxdawL")
    theirs = Reference("movielens", "pencil-123", "SCRAM-SHA-512")
    theirs.nonce = b"fyko+d2lbbFgONRv9qkxdawL"
    assert ours.first_message() == theirs.first_message()
    salt = base64.b64encode(b"a salt of sixteen").decode()
    server_first = f"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s={salt},i=4096".encode()
    theirs.process_server_first_message(server_first)
    assert ours.final_message(server_first) == theirs.final_message()
    assert ours.server_signature == theirs.server_signature


def scram_credential(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """(stored key, server key) of RFC 5802 with SHA-512, as a broker keeps them."""
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha512).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha512).digest()
    return hashlib.sha512(client_key).digest(), server_key


def frame(correlation_id: int, body: bytes) -> bytes:
    return struct.pack(">ii", len(body) + 4, correlation_id) + body


class FakeBroker:
    """A SASL_SSL listener that knows some SCRAM-SHA-512 logins (TLS with lab_tls's
    certificate for 127.0.0.1), answering as Kafka's SaslServerAuthenticator does."""

    FAILED = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"  # noqa: E501

    def __init__(self, lab_tls, logins: dict[str, str], mechanisms=("SCRAM-SHA-512",)) -> None:
        from kafka.protocol.old.sasl_authenticate import SaslAuthenticateResponse_v0  # noqa: PLC0415
        from kafka.protocol.old.sasl_handshake import SaslHandshakeResponse_v1  # noqa: PLC0415

        self.authenticate_response = SaslAuthenticateResponse_v0
        self.handshake_response = SaslHandshakeResponse_v1
        self.mechanisms = list(mechanisms)
        self.salt, self.iterations = os.urandom(16), 4096
        self.keys = {u: scram_credential(p, self.salt, self.iterations) for u, p in logins.items()}
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(lab_tls["cert"], lab_tls["key"])
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                raw, _ = self.server.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(raw, server_side=True) as conn:
                    self.session(conn)
            except (OSError, ssl.SSLError, struct.error):
                raw.close()

    def read(self, conn) -> tuple[int, int, bytes]:
        (size,) = struct.unpack(">i", kafka_scram.recv_exactly(conn, 4))
        data = kafka_scram.recv_exactly(conn, size)
        api_key, _version, correlation_id, client_len = struct.unpack(">hhih", data[:10])
        return api_key, correlation_id, data[10 + client_len :]

    def fail(self, conn, correlation_id: int) -> None:
        body = self.authenticate_response(error_code=58, error_message=self.FAILED, auth_bytes=b"")
        conn.sendall(frame(correlation_id, body.encode()))

    def session(self, conn) -> None:
        api_key, correlation_id, body = self.read(conn)
        assert api_key == 17
        (length,) = struct.unpack(">h", body[:2])
        wanted = body[2 : 2 + length].decode()
        error = 0 if wanted in self.mechanisms else 33
        answer = self.handshake_response(error_code=error, mechanisms=self.mechanisms)
        conn.sendall(frame(correlation_id, answer.encode()))
        if error:
            return
        _, correlation_id, body = self.read(conn)
        first = body[4:].decode()
        attributes = dict(part.split("=", 1) for part in first[3:].split(","))
        if attributes["n"] not in self.keys:
            self.fail(conn, correlation_id)
            return
        stored_key, server_key = self.keys[attributes["n"]]
        nonce = attributes["r"] + "server-nonce"
        salt = base64.b64encode(self.salt).decode()
        server_first = f"r={nonce},s={salt},i={self.iterations}"
        answer = self.authenticate_response(
            error_code=0, error_message=None, auth_bytes=server_first.encode()
        )
        conn.sendall(frame(correlation_id, answer.encode()))
        _, correlation_id, body = self.read(conn)
        final = body[4:].decode()
        without_proof, _, proof = final.rpartition(",p=")
        message = f"{first[3:]},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, message, hashlib.sha512).digest()
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
        if hashlib.sha512(client_key).digest() != stored_key:
            self.fail(conn, correlation_id)
            return
        verifier = base64.b64encode(hmac.new(server_key, message, hashlib.sha512).digest())
        answer = self.authenticate_response(
            error_code=0, error_message=None, auth_bytes=b"v=" + verifier
        )
        conn.sendall(frame(correlation_id, answer.encode()))

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def broker(lab_tls):
    brokers = []

    def start(logins, **kwargs):
        brokers.append(FakeBroker(lab_tls, logins, **kwargs))
        return brokers[-1]

    yield start
    for started in brokers:
        started.close()


def test_a_login_is_accepted_and_a_wrong_password_or_user_is_refused(broker, lab_tls):
    fake = broker({"movielens": "right-password"})
    ca = lab_tls["ca"]
    assert kafka_scram.login(fake.address, "movielens", "right-password", ca) is True
    assert kafka_scram.login(fake.address, "movielens", "wrong-password", ca) is False
    assert kafka_scram.login(fake.address, "nobody", "right-password", ca) is False
    # The broker's certificate is checked: another CA refuses the connection before any login.
    with pytest.raises(ssl.SSLCertVerificationError):
        kafka_scram.login(fake.address, "movielens", "right-password", lab_tls["other_ca"])


def test_a_listener_without_scram_is_an_error_not_a_refused_password(broker, lab_tls):
    fake = broker({"movielens": "right-password"}, mechanisms=("PLAIN",))
    with pytest.raises(kafka_scram.KafkaProtocolError, match=r"offers \['PLAIN'\]"):
        kafka_scram.login(fake.address, "movielens", "right-password", lab_tls["ca"])


# kafka_scram: the credentials in ZooKeeper, and the module against a stand-in kafka-configs.sh

FAKE_CONFIGS = r"""
import base64, hashlib, hmac, json, os, re, sys
state_path = os.environ["FAKE_KAFKA_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {"users": {}, "calls": []}
args = sys.argv[1:]
state["calls"].append(args)
def value(flag):
    return args[args.index(flag) + 1] if flag in args else None
if "--describe" in args:
    for name, c in sorted(state["users"].items()):
        print(f"Configs for user-principal '{name}' are SCRAM-SHA-512=salt={c['salt']},"
              f"stored_key={c['stored_key']},server_key={c['server_key']},iterations={c['iterations']}")
elif "--alter" in args:
    # As ConfigCommand: the file's properties as they are (no brackets), then the credential.
    line = open(value("--add-config-file")).read().strip()
    key, _, text = line.partition("=")
    match = re.fullmatch(r"(?:iterations=([0-9]*),)?password=(.*)", text)
    assert key == "SCRAM-SHA-512" and match, line
    if "--command-config" in args:
        state.setdefault("command_configs", []).append(open(value("--command-config")).read())
    iterations, salt = int(match[1] or 4096), os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha512", match[2].encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha512).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha512).digest()
    state["users"][value("--entity-name")] = {
        "salt": base64.b64encode(salt).decode(),
        "stored_key": base64.b64encode(hashlib.sha512(client_key).digest()).decode(),
        "server_key": base64.b64encode(server_key).decode(),
        "iterations": iterations,
        "password_for_the_test": match[2],
    }
json.dump(state, open(state_path, "w"))
"""


@pytest.fixture
def kafka_home(tmp_path, monkeypatch):
    """A Kafka installation whose tools are stand-ins keeping their state in a JSON file."""
    home = tmp_path / "kafka"
    (home / "bin").mkdir(parents=True)
    for tool, source in (("kafka-configs.sh", FAKE_CONFIGS), ("kafka-acls.sh", FAKE_ACLS)):
        script = home / "bin" / tool
        script.write_text(f"#!{sys.executable}\n{source}")
        script.chmod(0o755)
    state = tmp_path / "state.json"
    monkeypatch.setenv("FAKE_KAFKA_STATE", str(state))

    class Home:
        def __str__(self) -> str:
            return str(home)

        def state(self) -> dict:
            return json.loads(state.read_text()) if state.exists() else {}

    return Home()


LOGINS = [
    {"name": "admin", "password": "admin-password-1"},
    {"name": "movielens", "password": "jobs-password-1"},
]


def test_zookeeper_credentials_are_compared_through_their_stored_keys():
    salt = b"0123456789abcdef"
    stored, server = scram_credential("jobs-password-1", salt, 8192)
    line = (
        "Configs for user-principal 'movielens' are SCRAM-SHA-512="
        f"salt={base64.b64encode(salt).decode()},stored_key={base64.b64encode(stored).decode()},"
        f"server_key={base64.b64encode(server).decode()},iterations=8192,consumer_byte_rate=1024\n"
        "Configs for user-principal 'other' are SCRAM-SHA-256=salt=c2FsdA==,stored_key=eA==,"
        "server_key=eQ==,iterations=4096\n"
    )
    users = kafka_scram.parse_zookeeper_users("Warning: --zookeeper is deprecated\n" + line)
    assert set(users) == {"movielens"} and users["movielens"]["iterations"] == 8192
    assert kafka_scram.matches(users["movielens"], "jobs-password-1")
    assert not kafka_scram.matches(users["movielens"], "jobs-password-2")
    assert not kafka_scram.matches(users.get("other"), "jobs-password-1")


def test_the_zookeeper_store_sets_missing_or_changed_logins_only(kafka_home, capsys):
    args = {
        "store": "zookeeper",
        "zookeeper_connect": "127.0.0.1:2181",
        "kafka_home": str(kafka_home),
        "users": LOGINS,
    }
    dry = run_module(kafka_scram, {**args, "_ansible_check_mode": True}, capsys)
    assert dry["changed"] and dry["changed_users"] == ["admin", "movielens"]
    assert kafka_home.state()["users"] == {}
    first = run_module(kafka_scram, args, capsys)
    assert first["changed"] and first["changed_users"] == ["admin", "movielens"]
    users = kafka_home.state()["users"]
    assert users["movielens"]["password_for_the_test"] == "jobs-password-1"
    assert users["movielens"]["iterations"] == 8192
    second = run_module(kafka_scram, args, capsys)
    assert not second["changed"] and second["changed_users"] == []
    # A new password for one login: that login only.
    changed = [LOGINS[0], {"name": "movielens", "password": "jobs-password-2"}]
    third = run_module(kafka_scram, {**args, "users": changed}, capsys)
    assert third["changed_users"] == ["movielens"]
    # No password reached a command line.
    calls = json.dumps(kafka_home.state()["calls"])
    assert "password-1" not in calls and "password-2" not in calls


def test_the_broker_store_tries_each_login_and_sets_the_refused_ones(
    kafka_home, capsys, monkeypatch
):
    """KRaft: logins tried on the broker (here a stand-in that knows the tool's state); the
    admin's new password set with its previous one, after the others."""

    def login(address, user, password, ca_file):
        known = kafka_home.state().get("users", {}).get(user)
        return bool(known) and known["password_for_the_test"] == password

    monkeypatch.setattr(kafka_scram, "login", login)
    args = {
        "store": "brokers",
        "bootstrap_server": "10.0.0.1:9092",
        "kafka_home": str(kafka_home),
        "admin_user": "admin",
        "ca_file": "/ca.crt",
        "client_properties": {"ssl.truststore.location": "/t.p12"},
        "users": LOGINS,
    }
    # A cluster without security yet (a switch): every login is set, nothing can be tried.
    plain = run_module(kafka_scram, {**args, "security_protocol": "PLAINTEXT"}, capsys)
    assert plain["changed_users"] == ["admin", "movielens"]
    again = run_module(kafka_scram, args, capsys)
    assert not again["changed"]
    # The admin's password changes: refused without the previous one ...
    rotated = [{"name": "admin", "password": "admin-password-2"}, LOGINS[1]]
    refused = run_module(kafka_scram, {**args, "users": rotated}, capsys)
    assert refused["failed"] and "kafka_admin_previous_password" in refused["msg"]
    # ... set with it.
    with_previous = {**args, "users": rotated, "admin_previous_password": "admin-password-1"}
    result = run_module(kafka_scram, with_previous, capsys)
    assert result["changed_users"] == ["admin"]
    config_file = kafka_home.state()["command_configs"][-1]
    assert 'username="admin" password="admin-password-1"' in config_file
    assert "ssl.truststore.location=/t.p12" in config_file
    assert not run_module(kafka_scram, {**args, "users": rotated}, capsys)["changed"]


def test_logins_that_kafkas_formats_cannot_carry_are_refused(kafka_home, capsys):
    bad = [{"name": "a b", "password": "long-enough"}, {"name": "ok", "password": "with,comma"}]
    result = run_module(
        kafka_scram,
        {
            "store": "zookeeper",
            "zookeeper_connect": "z:2181",
            "kafka_home": str(kafka_home),
            "users": bad,
        },
        capsys,
    )
    assert (
        result["failed"]
        and "login name 'a b'" in result["msg"]
        and "password of ok" in result["msg"]
    )
    assert kafka_home.state() == {}


# kafka_acls: the listing, the plan, the module against a stand-in kafka-acls.sh

FAKE_ACLS = r"""
import json, os, sys
state_path = os.environ["FAKE_KAFKA_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {}
acls = state.setdefault("acls", [])
args = sys.argv[1:]
state.setdefault("acl_calls", []).append(args)
def values(flag):
    return [args[i + 1] for i, a in enumerate(args) if a == flag]
def snake(name):
    return "".join("_" + c if c.isupper() and i else c for i, c in enumerate(name)).upper()
if "--list" in args:
    resources = {}
    for acl in acls:
        resources.setdefault((acl[0], acl[1], acl[2]), []).append(acl[3:])
    for (kind, name, pattern), entries in resources.items():
        # As AclCommand prints them (Kafka 3.6).
        print(f"Current ACLs for resource `ResourcePattern(resourceType={kind}, name={name}, "
              f"patternType={pattern})`: ")
        for principal, host, operation, permission in entries:
            print(f" \t(principal={principal}, host={host}, operation={operation}, "
                  f"permissionType={permission}) ")
        print()
else:
    if "--cluster" in args:
        kind, name = "CLUSTER", "kafka-cluster"
    else:
        flag = next(f for f in ("--topic", "--group", "--transactional-id") if f in args)
        kind, name = flag[2:].upper().replace("-", "_"), values(flag)[0]
    pattern = values("--resource-pattern-type")[0].upper()
    side = "allow" if "--allow-principal" in args else "deny"
    principal, host = values(f"--{side}-principal")[0], values(f"--{side}-host")[0]
    for operation in values("--operation"):
        acl = [kind, name, pattern, principal, host, snake(operation), side.upper()]
        if "--add" in args and acl not in acls:
            acls.append(acl)
        if "--remove" in args and acl in acls:
            acls.remove(acl)
json.dump(state, open(state_path, "w"))
"""

DECLARED = [
    {
        "principal": "movielens",
        "resource_type": "topic",
        "resource_name": "movielens_ratings",
        "operations": ["write", "read", "describe"],
    },
    {
        "principal": "movielens",
        "resource_type": "group",
        "resource_name": "movielens",
        "pattern_type": "prefixed",
        "operations": ["read"],
    },
    {
        "principal": "movielens_web",
        "resource_type": "topic",
        "resource_name": "movielens_ratings",
        "operations": ["write", "describe"],
    },
]

# As AclCommand prints them: a header line per resource, then one line per entry (both end
# with a blank), an empty line after each resource.
LISTING = "\n".join(
    [
        "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=movielens_ratings, "
        "patternType=LITERAL)`: ",
        " \t(principal=User:movielens, host=*, operation=WRITE, permissionType=ALLOW)",
        "\t(principal=User:movielens_web, host=*, operation=READ, permissionType=ALLOW) ",
        "",
        "Current ACLs for resource `ResourcePattern(resourceType=CLUSTER, name=kafka-cluster, "
        "patternType=LITERAL)`: ",
        " \t(principal=User:someone, host=10.0.0.9, operation=IDEMPOTENT_WRITE, "
        "permissionType=DENY) ",
    ]
)


def test_the_listing_of_kafka_acls_is_read_as_single_acls():
    acls = kafka_acls.parse_listing(LISTING)
    assert (
        kafka_acls.Acl(
            "TOPIC", "movielens_ratings", "LITERAL", "User:movielens", "*", "WRITE", "ALLOW"
        )
        in acls
    )
    assert (
        kafka_acls.Acl(
            "CLUSTER",
            "kafka-cluster",
            "LITERAL",
            "User:someone",
            "10.0.0.9",
            "IDEMPOTENT_WRITE",
            "DENY",
        )
        in acls
    )
    assert len(acls) == 3


def test_the_plan_adds_the_missing_and_removes_the_managed_others_only():
    current = kafka_acls.parse_listing(LISTING)
    desired = kafka_acls.expand(DECLARED)
    managed = {"User:movielens", "User:movielens_web"}
    to_add, to_remove = kafka_acls.plan(current, desired, managed)
    assert len(desired) == 6 and len(to_add) == 5
    assert to_remove == {
        kafka_acls.Acl(
            "TOPIC", "movielens_ratings", "LITERAL", "User:movielens_web", "*", "READ", "ALLOW"
        )
    }
    add = kafka_acls.commands("add", to_add)
    assert [
        "--add",
        "--allow-principal",
        "User:movielens",
        "--allow-host",
        "*",
        "--operation",
        "Read",
        "--group",
        "movielens",
        "--resource-pattern-type",
        "prefixed",
    ] in add
    assert kafka_acls.commands("remove", to_remove) == [
        [
            "--remove",
            "--force",
            "--allow-principal",
            "User:movielens_web",
            "--allow-host",
            "*",
            "--operation",
            "Read",
            "--topic",
            "movielens_ratings",
            "--resource-pattern-type",
            "literal",
        ]
    ]
    assert kafka_acls.pascal("IDEMPOTENT_WRITE") == "IdempotentWrite"
    with pytest.raises(ValueError, match="operations"):
        kafka_acls.expand([{**DECLARED[0], "operations": ["fly"]}])


def test_the_acls_module_applies_the_declared_acls_once(kafka_home, capsys):
    args = {
        "acls": DECLARED,
        "principals": ["movielens", "movielens_web", "nobody_yet"],
        "kafka_home": str(kafka_home),
        "bootstrap_server": "127.0.0.1:9092",
        "command_config": "/etc/kafka/admin.properties",
    }
    dry = run_module(kafka_acls, {**args, "_ansible_check_mode": True}, capsys)
    assert dry["changed"] and len(dry["added"]) == 6 and kafka_home.state()["acls"] == []
    first = run_module(kafka_acls, args, capsys)
    assert first["changed"] and len(first["added"]) == 6 and first["removed"] == []
    assert len(kafka_home.state()["acls"]) == 6
    second = run_module(kafka_acls, args, capsys)
    assert not second["changed"] and second["added"] == second["removed"] == []
    # The page's login loses its write: one removal; another principal's ACL stays.
    state = kafka_home.state()
    state["acls"].append(["TOPIC", "t", "LITERAL", "User:someone", "*", "READ", "ALLOW"])
    Path(os.environ["FAKE_KAFKA_STATE"]).write_text(json.dumps(state))
    fewer = [DECLARED[0], DECLARED[1], {**DECLARED[2], "operations": ["describe"]}]
    third = run_module(kafka_acls, {**args, "acls": fewer}, capsys)
    assert third["removed"] == [
        "ALLOW User:movielens_web WRITE on TOPIC movielens_ratings (LITERAL) from *"
    ]
    assert ["TOPIC", "t", "LITERAL", "User:someone", "*", "READ", "ALLOW"] in (
        kafka_home.state()["acls"]
    )
    # Every call names the broker and the admin's client configuration.
    for call in kafka_home.state()["acl_calls"]:
        assert call[:4] == [
            "--bootstrap-server",
            "127.0.0.1:9092",
            "--command-config",
            "/etc/kafka/admin.properties",
        ]


# The lab's throwaway passwords and names, the same in every role and in the tests' helpers


def defaults(role: str) -> dict:
    return yaml.safe_load((ROOT / f"roles/{role}/defaults/main.yml").read_text())


def test_the_roles_agree_on_the_kafka_logins_and_their_throwaway_passwords():
    kafka, jobs, page = defaults("kafka"), defaults("movielens"), defaults("movielens_web")
    assert kafka["kafka_security"] == inventory.DEFAULT_KAFKA_SECURITY
    assert kafka["kafka_mode"] == inventory.DEFAULT_KAFKA_MODE
    assert kafka["kafka_admin_password"] == inventory.KAFKA_LOGINS["admin"][1]
    assert jobs["movielens_kafka_password"] == inventory.KAFKA_LOGINS["movielens"][1]
    assert page["movielens_web_kafka_password"] == inventory.KAFKA_LOGINS["movielens_web"][1]
    users = kafka["kafka_users"]
    assert users[0] == {
        "name": "{{ movielens_kafka_user | default('" + jobs["movielens_kafka_user"] + "') }}",
        "password": "{{ movielens_kafka_password | default('"
        + jobs["movielens_kafka_password"]
        + "') }}",
    }
    assert users[1] == {
        "name": "{{ movielens_web_kafka_user | default('"
        + page["movielens_web_kafka_user"]
        + "') }}",
        "password": "{{ movielens_web_kafka_password | default('"
        + page["movielens_web_kafka_password"]
        + "') }}",
    }
    assert jobs["movielens_kafka_admin_password"] == (
        "{{ kafka_admin_password | default('" + kafka["kafka_admin_password"] + "') }}"
    )
    tls = defaults("tls")
    assert kafka["kafka_tls_keystore_password"] == (
        "{{ tls_keystore_password | default('" + tls["tls_keystore_password"] + "') }}"
    )
    # The ACLs name the pipeline's topics and group prefix as the pipeline's roles set them.
    names = json.dumps(kafka["kafka_acls"])
    for value in (
        jobs["movielens_topic"],
        jobs["movielens_dead_letter_topic"],
        jobs["movielens_kafka_group_prefix"],
        page["movielens_web_topic"],
    ):
        assert f"default('{value}')" in names, value
    # Every default password can be carried by Kafka's credential formats.
    assert not kafka_scram.invalid_users(
        [
            {"name": name, "password": password}
            for name, (_, password) in inventory.KAFKA_LOGINS.items()
        ]
    )


def test_the_roles_agree_on_kafkas_zookeeper_login_and_its_throwaway_password():
    kafka, zookeeper = defaults("kafka"), defaults("zookeeper")
    name, variable, password = inventory.ZOOKEEPER_KAFKA_LOGIN
    assert zookeeper["zookeeper_sasl"] is inventory.DEFAULT_ZOOKEEPER_SASL
    assert kafka["kafka_zookeeper_sasl"] == "{{ zookeeper_sasl | default(true) }}"
    assert kafka["kafka_zookeeper_user"] == name
    assert kafka[variable] == password
    assert kafka["kafka_zookeeper_jaas_file"].endswith("/zookeeper-client.jaas")
    assert (
        kafka["kafka_zookeeper_jaas_file"].replace("{{ kafka_conf_dir }}", kafka["kafka_conf_dir"])
        == inventory.ZOOKEEPER_CLIENT_JAAS
    )
    assert zookeeper["zookeeper_sasl_users"] == [
        {
            "name": "{{ kafka_zookeeper_user | default('" + name + "') }}",
            "password": "{{ kafka_zookeeper_password | default('" + password + "') }}",
        }
    ]
    # The lab's inventories give both roles the same password (one variable).
    for path in ("inventories/local/group_vars/all.yml", "inventories/vagrant/group_vars/all.yml"):
        lab = yaml.safe_load((ROOT / path).read_text())
        assert len(lab["kafka_zookeeper_password"]) >= 8, path
        assert "zookeeper_sasl_users" not in lab, path
