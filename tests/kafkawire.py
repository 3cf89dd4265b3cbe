"""Kafka's wire protocol at its lowest, for the verifiers that prove what the brokers refuse:
a request in the clear or over TLS, with or without a client certificate, and the broker's
answer or its silence. The requests and the SCRAM login are those of lab-health
(roles/daemon/files/lab_health.py) and of the kafka role's kafka_scram module, loaded from
their files: what the roles run is what the tests run."""

from __future__ import annotations

import functools
import importlib.util
import socket
import ssl
import struct
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
TIMEOUT = 5.0
METADATA = 3  # Metadata request, version 1: a list of topics, null (-1) for all


@functools.cache
def _load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, PROJECT / path)
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: a dataclass of the module looks itself up in sys.modules.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def lab_health():
    return _load("lab_health", "roles/daemon/files/lab_health.py")


def kafka_scram():
    return _load("kafka_scram", "roles/kafka/library/kafka_scram.py")


def split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def api_versions_request() -> bytes:
    return lab_health().kafka_api_versions_request()


def metadata_request(correlation_id: int = 7) -> bytes:
    body = struct.pack(">i", -1)
    return kafka_scram().kafka_request(METADATA, 1, correlation_id, body)


def tls_context(cafile: str, certfile: str | None = None, keyfile: str | None = None):
    context = ssl.create_default_context(cafile=cafile)
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    return context


def exchange(address: str, requests: list[bytes], context: ssl.SSLContext | None = None) -> list:
    """Send the requests one after the other on one connection (TLS when a context is given)
    and return each answer's bytes, None once the broker closed the connection, refused the
    handshake or answered something that is not a Kafka answer."""
    host, port = split(address)
    answers: list[bytes | None] = []
    with socket.create_connection((host, port), timeout=TIMEOUT) as raw:
        try:
            sock = context.wrap_socket(raw, server_hostname=host) if context else raw
        except (ssl.SSLError, OSError):
            return [None] * len(requests)
        for request in requests:
            answers.append(_answer(sock, request))
            if answers[-1] is None:
                break
    return answers + [None] * (len(requests) - len(answers))


def _answer(sock, request: bytes) -> bytes | None:
    try:
        sock.sendall(request)
        header = _recv(sock, 4)
        if header is None:
            return None
        (size,) = struct.unpack(">i", header)
        if not 4 <= size <= 1 << 24:
            return None
        return _recv(sock, size)
    except (ssl.SSLError, ConnectionError, TimeoutError, OSError):
        return None


def _recv(sock, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def correlation_id(answer: bytes | None) -> int | None:
    return struct.unpack(">i", answer[:4])[0] if answer and len(answer) >= 4 else None


def login(address: str, user: str, password: str, cafile: str) -> bool:
    """A SASL SCRAM-SHA-512 login over TLS, and nothing else: True when the broker accepts it,
    False when it answers that the credentials are wrong (SASL_AUTHENTICATION_FAILED)."""
    return kafka_scram().login(address, user, password, cafile)
