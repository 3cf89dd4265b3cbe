"""Settings of the page and of the status command: a JSON file, the password from the environment.

The file (``MOVIELENS_WEB_SETTINGS``, by default ``/etc/movielens-web/settings.json``, written
by the ``movielens_web`` role) holds::

    {"bind": "10.0.0.7", "port": 8050, "top_n": 10,
     "tls": {"cert": "/etc/lab-tls/host.crt", "key": "/etc/lab-tls/host.key"},
     "secret_key_file": "/etc/movielens-web/secret_key",
     "cassandra": {"hosts": ["10.0.0.5"], "port": 9042, "user": "movielens_web",
                   "keyspace": "reco", "ca": "/etc/lab-tls/ca.crt"},
     "kafka": {"bootstrap": "10.0.0.6:9092", "topic": "movielens_ratings",
               "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
               "user": "movielens_web", "cafile": "/etc/lab-tls/ca.crt"},
     "stream": {"name": "movielens"},
     "webhdfs": "http://10.0.0.7:9870", "hdfs_dirs": ["/input", ...], "models": "/models",
     "prometheus": "http://10.0.0.9:9090",
     "services": [{"name": "HDFS NameNode", "kind": "namenode", "address": "10.0.0.7:9870",
                   "link": "http://namenode.example.org:9870"}, ...],
     "kerberos": {"principal": "movielens-web/web.example.org@EXAMPLE.ORG",
                  "keytab": "/etc/security/keytabs/movielens-web.keytab"}}

``prometheus`` is where the status page's charts read their figures ("" or none: no charts).

A service's ``kind`` and ``address`` (host:port) say which ``lab_health`` check tells whether it
is healthy (the same check as the restart waits of the roles and ``lab-health``).

A ``webhdfs`` on HTTPS (the NameNode's HTTPS address, as in Hadoop's secure mode, whose daemons
serve HTTPS only) has WebHDFS, the NameNode's beans and the Hadoop daemons' health (``lab-health
--https``) asked over HTTPS, verified against the lab's CA. ``kerberos`` (secure mode): they are
asked with a Kerberos ticket of ``principal`` from ``keytab`` when they ask for one (SPNEGO,
with Debian's python3-gssapi). Without it, without a ticket.

The page sends ratings to Kafka (and the status reads the ratings topic's offsets) with its own
login: SASL SCRAM-SHA-512 over TLS, the brokers' certificates checked against ``cafile``, its
password from the environment (``MOVIELENS_WEB_KAFKA_PASSWORD``, in the role's ``web.env``).
A settings file without ``security_protocol`` means PLAINTEXT (a cluster without security).

With ``cassandra.ca`` (a CA certificate) the page reaches Cassandra over TLS and verifies each
node's certificate against it for the node's address; without it, in plaintext.

Without ``tls`` (or with an empty ``cert``) the page serves plain HTTP. The secret key (in its
own file, readable by the page's group only) signs the session cookie that carries the rating
form's CSRF token; without one the page makes a key that lasts until it restarts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from jobs.kafka_security import DEFAULT_CAFILE, KafkaSecurity, KafkaSecurityError

DEFAULT_PATH = "/etc/movielens-web/settings.json"
PASSWORD_ENV = "MOVIELENS_WEB_CASSANDRA_PASSWORD"
KAFKA_PASSWORD_ENV = "MOVIELENS_WEB_KAFKA_PASSWORD"


class SettingsError(ValueError):
    """The settings file is missing, not JSON, or lacks a setting."""


@dataclass(frozen=True)
class Service:
    name: str
    kind: str
    address: str
    link: str = ""


@dataclass(frozen=True)
class Settings:
    cassandra_hosts: tuple[str, ...]
    kafka_bootstrap: str
    webhdfs: str
    bind: str = "127.0.0.1"
    port: int = 8050
    top_n: int = 10
    cassandra_port: int = 9042
    cassandra_user: str = ""
    cassandra_password: str = field(default="", repr=False)
    cassandra_ca: str = ""
    keyspace: str = "reco"
    topic: str = "movielens_ratings"
    stream: str = "movielens"
    models: str = "/models"
    hdfs_dirs: tuple[str, ...] = ()
    prometheus: str = ""
    services: tuple[Service, ...] = ()
    tls_cert: str = ""
    tls_key: str = ""
    secret_key_file: str = ""
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_user: str = ""
    kafka_password: str = field(default="", repr=False)
    kafka_cafile: str = DEFAULT_CAFILE
    kerberos_principal: str = ""
    kerberos_keytab: str = ""

    @property
    def kerberos(self) -> bool:
        return bool(self.kerberos_keytab)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert)

    @property
    def kafka_security(self) -> KafkaSecurity:
        """The page's Kafka login (SettingsError when it cannot log in)."""
        try:
            return KafkaSecurity(
                protocol=self.kafka_security_protocol,
                mechanism=self.kafka_sasl_mechanism,
                username=self.kafka_user,
                password=self.kafka_password,
                cafile=self.kafka_cafile,
            )
        except KafkaSecurityError as exc:
            raise SettingsError(
                f"{exc} (kafka.user in the settings, {KAFKA_PASSWORD_ENV})"
            ) from exc

    def kafka_client_options(self) -> dict[str, str]:
        """kafka-python's security settings of the page's producer and consumers."""
        return self.kafka_security.kafka_python()

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


def _get(obj: dict, path: str, default=None):
    value = obj
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            if default is None:
                raise SettingsError(f"missing setting: {path}")
            return default
        value = value[key]
    return value


def from_dict(raw: dict, password: str = "", kafka_password: str = "") -> Settings:
    try:
        services = tuple(
            Service(s["name"], s["kind"], s["address"], s.get("link", ""))
            for s in raw.get("services", [])
        )
    except (KeyError, TypeError) as exc:
        raise SettingsError(f"every service needs a name, a kind and an address: {exc}") from exc
    return Settings(
        cassandra_hosts=tuple(_get(raw, "cassandra.hosts")),
        kafka_bootstrap=_get(raw, "kafka.bootstrap"),
        webhdfs=_get(raw, "webhdfs").rstrip("/"),
        bind=_get(raw, "bind", "127.0.0.1"),
        port=int(_get(raw, "port", 8050)),
        top_n=int(_get(raw, "top_n", 10)),
        cassandra_port=int(_get(raw, "cassandra.port", 9042)),
        cassandra_user=_get(raw, "cassandra.user", ""),
        cassandra_password=password,
        cassandra_ca=_get(raw, "cassandra.ca", ""),
        keyspace=_get(raw, "cassandra.keyspace", "reco"),
        topic=_get(raw, "kafka.topic", "movielens_ratings"),
        stream=_get(raw, "stream.name", "movielens"),
        models=_get(raw, "models", "/models"),
        hdfs_dirs=tuple(_get(raw, "hdfs_dirs", [])),
        prometheus=_get(raw, "prometheus", "").rstrip("/"),
        services=services,
        tls_cert=_get(raw, "tls.cert", ""),
        tls_key=_get(raw, "tls.key", ""),
        secret_key_file=_get(raw, "secret_key_file", ""),
        kafka_security_protocol=_get(raw, "kafka.security_protocol", "PLAINTEXT").upper(),
        kafka_sasl_mechanism=_get(raw, "kafka.sasl_mechanism", "SCRAM-SHA-512"),
        kafka_user=_get(raw, "kafka.user", ""),
        kafka_password=kafka_password,
        kafka_cafile=_get(raw, "kafka.cafile", DEFAULT_CAFILE),
        kerberos_principal=_get(raw, "kerberos.principal", ""),
        kerberos_keytab=_get(raw, "kerberos.keytab", ""),
    )


def secret_key(settings: Settings) -> bytes | None:
    """The key of the page's session cookies from its file; None when the settings name none."""
    if not settings.secret_key_file:
        return None
    path = settings.secret_key_file
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"cannot read the secret key {path}: {exc.strerror}") from exc
    if len(text) < 16:
        raise SettingsError(f"the secret key in {path} is shorter than 16 characters")
    return text.encode()


def load(path: str | None = None) -> Settings:
    path = path or os.environ.get("MOVIELENS_WEB_SETTINGS", DEFAULT_PATH)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read the settings {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise SettingsError(f"the settings {path} are not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise SettingsError(f"the settings {path} are not a JSON object")
    settings = from_dict(
        raw, os.environ.get(PASSWORD_ENV, ""), os.environ.get(KAFKA_PASSWORD_ENV, "")
    )
    settings.kafka_security  # noqa: B018 (a login that cannot work stops the page at once)
    return settings
