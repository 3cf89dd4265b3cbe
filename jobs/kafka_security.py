"""How the jobs and the page log in to Kafka: SASL SCRAM-SHA-512 over TLS, or PLAINTEXT.

The settings come from the environment (``movielens.env``, which the movielens role writes
readable by root and the jobs' group only), never from the command line::

    MOVIELENS_KAFKA_SECURITY_PROTOCOL    SASL_SSL (default) or PLAINTEXT
    MOVIELENS_KAFKA_SASL_MECHANISM       SCRAM-SHA-512
    MOVIELENS_KAFKA_USER, MOVIELENS_KAFKA_PASSWORD
    MOVIELENS_KAFKA_CAFILE               the lab's CA (PEM), for the Python clients
    MOVIELENS_KAFKA_TRUSTSTORE           the same CA as PKCS#12, for Spark's Java client,
    MOVIELENS_KAFKA_TRUSTSTORE_PASSWORD  with its password (none: Spark reads the PEM CA)

``kafka_python()`` gives the keyword arguments of kafka-python's clients, ``librdkafka()`` the
configuration of librdkafka's (confluent-kafka: the producer job), ``spark_options()`` the
``kafka.*`` options of Spark's Kafka source (the password goes into the JAAS line there, which
Spark and Kafka both keep out of their logs). Each client checks the broker's certificate
against the CA and the broker's name (or address) against the certificate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_CAFILE = "/etc/lab-tls/ca.crt"
DEFAULT_TRUSTSTORE = "/etc/lab-tls/truststore.p12"
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT")
SCRAM_LOGIN_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


class KafkaSecurityError(ValueError):
    """Settings that cannot log in (a protocol Kafka does not know, SASL without a login)."""


def _quoted(value: str) -> str:
    """A JAAS option value in double quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "SASL_SSL"
    mechanism: str = "SCRAM-SHA-512"
    username: str = ""
    password: str = field(default="", repr=False)
    cafile: str = DEFAULT_CAFILE
    truststore: str = DEFAULT_TRUSTSTORE
    truststore_password: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise KafkaSecurityError(
                f"Kafka security protocol {self.protocol!r}: one of {', '.join(PROTOCOLS)}"
            )
        if self.sasl and not (self.username and self.password):
            raise KafkaSecurityError(
                f"Kafka over {self.protocol} needs a login: set MOVIELENS_KAFKA_USER and "
                "MOVIELENS_KAFKA_PASSWORD (or MOVIELENS_KAFKA_SECURITY_PROTOCOL=PLAINTEXT for a "
                "cluster without security)"
            )

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def kafka_python(self) -> dict[str, str]:
        """Keyword arguments of kafka-python's KafkaProducer, KafkaConsumer and admin client."""
        options = {"security_protocol": self.protocol}
        if self.tls:
            options["ssl_cafile"] = self.cafile
        if self.sasl:
            options.update(
                sasl_mechanism=self.mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        return options

    def librdkafka(self) -> dict[str, str]:
        """Configuration properties of librdkafka's clients (confluent-kafka's Producer)."""
        options = {"security.protocol": self.protocol}
        if self.tls:
            # librdkafka checks the broker's name against its certificate with "https" (as
            # kafka-python and Java's client do by default); "none" would skip that check.
            options["ssl.ca.location"] = self.cafile
            options["ssl.endpoint.identification.algorithm"] = "https"
        if self.sasl:
            options.update(
                {
                    "sasl.mechanism": self.mechanism,
                    "sasl.username": self.username,
                    "sasl.password": self.password,
                }
            )
        return options

    def jaas_config(self) -> str:
        return (
            f"{SCRAM_LOGIN_MODULE} required username={_quoted(self.username)} "
            f"password={_quoted(self.password)};"
        )

    def spark_options(self) -> dict[str, str]:
        """Options of Spark's Kafka source and sink (the Java client's settings, kafka.*)."""
        options = {"kafka.security.protocol": self.protocol}
        if self.tls:
            if self.truststore_password:
                options.update(
                    {
                        "kafka.ssl.truststore.type": "PKCS12",
                        "kafka.ssl.truststore.location": self.truststore,
                        "kafka.ssl.truststore.password": self.truststore_password,
                    }
                )
            else:
                options.update(
                    {
                        "kafka.ssl.truststore.type": "PEM",
                        "kafka.ssl.truststore.location": self.cafile,
                    }
                )
        if self.sasl:
            options["kafka.sasl.mechanism"] = self.mechanism
            options["kafka.sasl.jaas.config"] = self.jaas_config()
        return options


def from_env(environ: Mapping[str, str] | None = None) -> KafkaSecurity:
    """The settings of MOVIELENS_KAFKA_* (see the module's documentation)."""
    env = os.environ if environ is None else environ

    def get(name: str, default: str) -> str:
        return env.get(f"MOVIELENS_KAFKA_{name}") or default

    return KafkaSecurity(
        protocol=get("SECURITY_PROTOCOL", "SASL_SSL").upper(),
        mechanism=get("SASL_MECHANISM", "SCRAM-SHA-512"),
        username=get("USER", ""),
        password=get("PASSWORD", ""),
        cafile=get("CAFILE", DEFAULT_CAFILE),
        truststore=get("TRUSTSTORE", DEFAULT_TRUSTSTORE),
        truststore_password=get("TRUSTSTORE_PASSWORD", ""),
    )
