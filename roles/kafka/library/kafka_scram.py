#!/usr/bin/python
"""Ansible module: the SCRAM-SHA-512 logins of a Kafka cluster, set where missing or changed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
import socket
import ssl
import struct
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: kafka_scram
short_description: Create or change the SCRAM-SHA-512 logins of a Kafka cluster
description:
  - Makes each login of I(users) exist with its password, and changes only those whose
    password differs (a second run with the same passwords changes nothing).
  - With I(store=zookeeper) (a cluster in ZooKeeper mode) the credentials are read from
    ZooKeeper and compared with the passwords (the stored key of each password is computed with
    the stored salt and iterations); missing or different ones are written with
    C(kafka-configs.sh --zookeeper), which works before any broker runs.
  - With I(store=brokers) (KRaft mode, or an unsecured cluster being switched) each login is
    tried against the broker at I(bootstrap_server) over TLS (a SASL SCRAM-SHA-512
    authentication, nothing else); those refused are set with
    C(kafka-configs.sh --bootstrap-server) as I(admin_user). When the admin's own password is
    refused, the previous one (I(admin_previous_password)) logs in to set it. With
    I(security_protocol=PLAINTEXT) nothing can be tried: every login is set.
  - Passwords reach the tools through files readable by root only, never their command line.
options:
  users:
    description: Logins (name, password); names of letters, digits, C(.), C(_), C(-).
    type: list
    elements: dict
    required: true
  store:
    description: Where the credentials live.
    type: str
    choices: [zookeeper, brokers]
    required: true
  kafka_home:
    description: Kafka's installation (bin/kafka-configs.sh).
    type: path
    default: /opt/kafka
  zookeeper_connect: {description: ZooKeeper connection string (store zookeeper)., type: str}
  bootstrap_server: {description: A broker (host:port) of the cluster (store brokers)., type: str}
  security_protocol:
    description: SASL_SSL, or PLAINTEXT for a cluster without security yet.
    type: str
    default: SASL_SSL
  ca_file:
    description: CA certificate (PEM) the broker's certificate is verified against.
    type: path
  client_properties:
    description: More properties of the tool's client configuration (the truststore).
    type: dict
    default: {}
  admin_user: {description: The login kafka-configs.sh uses (store brokers)., type: str}
  admin_previous_password:
    description: The admin's old password while it changes.
    type: str
    default: ""
  iterations: {description: Iterations of new credentials., type: int, default: 8192}
"""

RETURN = r"""
changed_users:
  description: The logins set by this run (or that would be, in check mode).
  type: list
  returned: always
"""

MECHANISM = "SCRAM-SHA-512"
NAME = re.compile(r"^[A-Za-z0-9._-]+$")
# Characters a password must not hold: the credential formats of kafka-configs.sh and
# kafka-storage.sh and the JAAS line cannot carry them.
FORBIDDEN = re.compile(r"[\s\"'\\,=\[\]]")
MIN_PASSWORD = 8
TIMEOUT = 15.0


class KafkaProtocolError(Exception):
    """The broker answered something this client does not understand, or an error code."""


# SCRAM (RFC 5802) with SHA-512, as Kafka's ScramFormatter computes it.


def salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha512).digest()


def stored_key(password: str, salt: bytes, iterations: int) -> bytes:
    client_key = _hmac(salted_password(password, salt, iterations), b"Client Key")
    return hashlib.sha512(client_key).digest()


def saslname(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def parse_attributes(message: str) -> dict[str, str]:
    """The a=value attributes of a SCRAM message."""
    attributes = {}
    for part in message.split(","):
        key, sep, value = part.partition("=")
        if not sep or len(key) != 1:
            raise KafkaProtocolError(f"not a SCRAM message: {message!r}")
        attributes[key] = value
    return attributes


class ScramClient:
    """The client side of one SCRAM-SHA-512 exchange."""

    def __init__(self, user: str, password: str, nonce: str | None = None) -> None:
        self.user, self.password = user, password
        self.nonce = nonce or base64.b64encode(secrets.token_bytes(24)).decode()
        self.first_bare = f"n={saslname(user)},r={self.nonce}"
        self.server_signature = b""

    def first_message(self) -> bytes:
        return f"n,,{self.first_bare}".encode()

    def final_message(self, server_first: bytes) -> bytes:
        text = server_first.decode("utf-8")
        attributes = parse_attributes(text)
        if "e" in attributes:
            raise KafkaProtocolError(f"SCRAM error: {attributes['e']}")
        nonce, salt, iterations = attributes["r"], attributes["s"], int(attributes["i"])
        if not nonce.startswith(self.nonce):
            raise KafkaProtocolError("the server's nonce does not extend the client's")
        salted = salted_password(self.password, base64.b64decode(salt), iterations)
        client_key = _hmac(salted, b"Client Key")
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self.first_bare},{text},{without_proof}".encode()
        signature = _hmac(hashlib.sha512(client_key).digest(), auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self.server_signature = _hmac(_hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify_server_final(self, server_final: bytes) -> None:
        attributes = parse_attributes(server_final.decode("utf-8"))
        if "e" in attributes:
            raise KafkaProtocolError(f"SCRAM error: {attributes['e']}")
        if base64.b64decode(attributes.get("v", "")) != self.server_signature:
            raise KafkaProtocolError("the broker's SCRAM signature does not verify")


# Kafka's wire protocol: the two requests of a SASL authentication (request header v1).

SASL_HANDSHAKE, SASL_AUTHENTICATE = 17, 36
SASL_AUTHENTICATION_FAILED = 58
CLIENT_ID = b"lab-kafka-scram"


def kafka_string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack(">h", len(data)) + data


def kafka_request(api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    message = struct.pack(">hhi", api_key, version, correlation_id) + kafka_string(CLIENT_ID)
    message += body
    return struct.pack(">i", len(message)) + message


def sasl_handshake_request(correlation_id: int) -> bytes:
    return kafka_request(SASL_HANDSHAKE, 1, correlation_id, kafka_string(MECHANISM))


def sasl_authenticate_request(correlation_id: int, auth_bytes: bytes) -> bytes:
    body = struct.pack(">i", len(auth_bytes)) + auth_bytes
    return kafka_request(SASL_AUTHENTICATE, 0, correlation_id, body)


class Reader:
    """Reads the fields of a response body."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> str | None:
        size = self.take(">h")
        if size < 0:
            return None
        text = self.data[self.at : self.at + size].decode("utf-8", "replace")
        self.at += size
        return text

    def bytes_(self) -> bytes:
        size = self.take(">i")
        if size < 0:
            return b""
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk


def parse_handshake_response(body: bytes) -> tuple[int, list[str]]:
    reader = Reader(body)
    error_code = reader.take(">h")
    return error_code, [reader.string() or "" for _ in range(reader.take(">i"))]


def parse_authenticate_response(body: bytes) -> tuple[int, str, bytes]:
    reader = Reader(body)
    error_code = reader.take(">h")
    message = reader.string() or ""
    return error_code, message, reader.bytes_()


def recv_exactly(sock, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise KafkaProtocolError("the broker closed the connection")
        data += chunk
    return data


def exchange(sock, request: bytes, correlation_id: int) -> bytes:
    sock.sendall(request)
    (size,) = struct.unpack(">i", recv_exactly(sock, 4))
    answer = recv_exactly(sock, size)
    (answered,) = struct.unpack(">i", answer[:4])
    if answered != correlation_id:
        raise KafkaProtocolError(f"answer to request {answered}, not {correlation_id}")
    return answer[4:]


def authenticate(sock, user: str, password: str, client: ScramClient | None = None) -> bool:
    """A SCRAM-SHA-512 login on a connected socket: True when accepted, False when the broker
    refuses the credentials; other errors raise."""
    client = client or ScramClient(user, password)
    error_code, mechanisms = parse_handshake_response(exchange(sock, sasl_handshake_request(1), 1))
    if error_code != 0:
        raise KafkaProtocolError(
            f"SaslHandshake error {error_code}: the listener offers {mechanisms}, not {MECHANISM}"
        )
    token = client.first_message()
    for correlation_id in (2, 3):
        answer = exchange(sock, sasl_authenticate_request(correlation_id, token), correlation_id)
        error_code, message, auth_bytes = parse_authenticate_response(answer)
        if error_code == SASL_AUTHENTICATION_FAILED:
            return False
        if error_code != 0:
            raise KafkaProtocolError(f"SaslAuthenticate error {error_code}: {message}")
        if correlation_id == 2:
            token = client.final_message(auth_bytes)
    client.verify_server_final(auth_bytes)
    return True


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    return host.strip("[]"), int(port)


def login(address: str, user: str, password: str, ca_file: str | None) -> bool:
    """Whether the broker at host:port (its SASL_SSL listener) accepts the login."""
    host, port = split_address(address)
    context = ssl.create_default_context(cafile=ca_file)
    with (
        socket.create_connection((host, port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=host) as sock,
    ):
        return authenticate(sock, user, password)


# What kafka-configs.sh --zookeeper --describe prints for users, e.g. (one line)
#   Configs for user-principal 'admin' are
#   SCRAM-SHA-512=salt=..,stored_key=..,server_key=..,iterations=8192
DESCRIBED = re.compile(r"^Configs for user-principal '(?P<name>[^']*)' are (?P<configs>.*)$")
CREDENTIAL = re.compile(
    re.escape(MECHANISM) + r"=salt=(?P<salt>[^,]+),stored_key=(?P<stored_key>[^,]+),"
    r"server_key=[^,]+,iterations=(?P<iterations>\d+)"
)


def parse_zookeeper_users(output: str) -> dict[str, dict]:
    """Name -> {salt, stored_key, iterations} of each user with a SCRAM-SHA-512 credential."""
    users = {}
    for line in output.splitlines():
        described = DESCRIBED.match(line.strip())
        if not described:
            continue
        credential = CREDENTIAL.search(described["configs"])
        if credential:
            users[described["name"]] = {
                "salt": base64.b64decode(credential["salt"]),
                "stored_key": base64.b64decode(credential["stored_key"]),
                "iterations": int(credential["iterations"]),
            }
    return users


def matches(credential: dict | None, password: str) -> bool:
    if credential is None:
        return False
    expected = stored_key(password, credential["salt"], credential["iterations"])
    return hmac.compare_digest(expected, credential["stored_key"])


def credential_file(password: str, iterations: int) -> str:
    """The --add-config-file properties of a credential (kafka-configs.sh reads the value
    without the brackets of --add-config)."""
    return f"{MECHANISM}=iterations={iterations},password={password}\n"


def jaas(user: str, password: str) -> str:
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{user}" password="{password}";'
    )


def client_config(protocol: str, user: str, password: str, extra: dict) -> str:
    lines = [f"security.protocol={protocol}"]
    if protocol == "SASL_SSL":
        lines += [f"sasl.mechanism={MECHANISM}", f"sasl.jaas.config={jaas(user, password)}"]
    lines += [f"{key}={value}" for key, value in sorted(extra.items())]
    return "\n".join(lines) + "\n"


def invalid_users(users: list[dict]) -> list[str]:
    problems = []
    for user in users:
        name, password = str(user.get("name", "")), str(user.get("password", ""))
        if not NAME.match(name):
            problems.append(f"login name {name!r}: use letters, digits, '.', '_' and '-'")
        if len(password) < MIN_PASSWORD or FORBIDDEN.search(password):
            problems.append(
                f"password of {name}: {MIN_PASSWORD} characters or more, without blanks, quotes, "
                "backslashes, commas, '=' or brackets"
            )
    return problems


class Tools:
    """kafka-configs.sh with files in a private directory (removed at the end)."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.script = os.path.join(module.params["kafka_home"], "bin", "kafka-configs.sh")
        self.dir = tempfile.mkdtemp(prefix="kafka-scram-")

    def write(self, name: str, content: str) -> str:
        path = os.path.join(self.dir, name)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(content)
        return path

    def run(self, args: list[str], what: str) -> str:
        rc, out, err = self.module.run_command([self.script, *args])
        if rc != 0:
            self.module.fail_json(
                msg=f"kafka-configs.sh failed {what}: {(err or out).strip()[-2000:]}"
            )
        return out

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def zookeeper_store(module: AnsibleModule, tools: Tools, users: list[dict]) -> list[str]:
    connect = module.params["zookeeper_connect"]
    described = tools.run(
        ["--zookeeper", connect, "--describe", "--entity-type", "users"], "describing the users"
    )
    current = parse_zookeeper_users(described)
    changed = [u["name"] for u in users if not matches(current.get(u["name"]), u["password"])]
    if not module.check_mode:
        for user in users:
            if user["name"] in changed:
                config = tools.write(
                    "credential", credential_file(user["password"], module.params["iterations"])
                )
                tools.run(
                    ["--zookeeper", connect, "--alter", "--add-config-file", config]
                    + ["--entity-type", "users", "--entity-name", user["name"]],
                    f"setting the login {user['name']}",
                )
    return changed


def broker_store(module: AnsibleModule, tools: Tools, users: list[dict]) -> list[str]:
    p = module.params
    address, protocol = p["bootstrap_server"].split(",")[0], p["security_protocol"]
    by_name = {u["name"]: u for u in users}
    if protocol == "PLAINTEXT":
        # A cluster without SASL yet: set every login, so that they exist when it switches.
        changed, admin_password = list(by_name), ""
    else:
        admin = by_name.get(p["admin_user"])
        if admin is None:
            module.fail_json(msg=f"admin_user {p['admin_user']} is not one of the users")

        def accepted(user: str, password: str) -> bool:
            try:
                return login(address, user, password, p["ca_file"])
            except (OSError, KafkaProtocolError, struct.error, ValueError) as exc:
                module.fail_json(msg=f"cannot try the login {user} at {address}: {exc}")

        changed = [name for name, u in by_name.items() if not accepted(name, u["password"])]
        admin_password = admin["password"]
        if admin["name"] in changed:
            previous = p["admin_previous_password"]
            if not previous or not accepted(admin["name"], previous):
                module.fail_json(
                    msg=f"the broker at {address} refuses {admin['name']}'s password"
                    + (" and its previous one" if previous else "")
                    + ": to change it, put the password that logs in now into "
                    "kafka_admin_previous_password (README: rotating a Kafka password)"
                )
            admin_password = previous
    if changed and not module.check_mode:
        command_config = tools.write(
            "client.properties",
            client_config(protocol, p["admin_user"] or "", admin_password, p["client_properties"]),
        )
        # The admin last: the others are set while its password still logs in.
        for name in sorted(changed, key=lambda n: n == p["admin_user"]):
            config = tools.write(
                "credential", credential_file(by_name[name]["password"], p["iterations"])
            )
            tools.run(
                ["--bootstrap-server", p["bootstrap_server"], "--command-config", command_config]
                + ["--alter", "--add-config-file", config]
                + ["--entity-type", "users", "--entity-name", name],
                f"setting the login {name}",
            )
    return changed


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "users": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "password": {"type": "str", "required": True, "no_log": True},
                },
            },
            "store": {"type": "str", "required": True, "choices": ["zookeeper", "brokers"]},
            "kafka_home": {"type": "path", "default": "/opt/kafka"},
            "zookeeper_connect": {"type": "str"},
            "bootstrap_server": {"type": "str"},
            "security_protocol": {
                "type": "str",
                "default": "SASL_SSL",
                "choices": ["SASL_SSL", "PLAINTEXT"],
            },
            "ca_file": {"type": "path"},
            "client_properties": {"type": "dict", "default": {}, "no_log": True},
            "admin_user": {"type": "str"},
            "admin_previous_password": {"type": "str", "default": "", "no_log": True},
            "iterations": {"type": "int", "default": 8192},
        },
        required_if=[
            ("store", "zookeeper", ["zookeeper_connect"]),
            ("store", "brokers", ["bootstrap_server", "admin_user"]),
        ],
        supports_check_mode=True,
    )
    users = [{"name": u["name"], "password": u["password"]} for u in module.params["users"]]
    problems = invalid_users(users)
    if problems:
        module.fail_json(msg="; ".join(problems))
    if module.params["iterations"] < 4096:
        module.fail_json(msg="SCRAM-SHA-512 needs 4096 iterations or more")
    tools = Tools(module)
    try:
        if module.params["store"] == "zookeeper":
            changed = zookeeper_store(module, tools, users)
        else:
            changed = broker_store(module, tools, users)
    finally:
        tools.close()
    module.exit_json(changed=bool(changed), changed_users=changed)


if __name__ == "__main__":
    main()
