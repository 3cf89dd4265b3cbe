"""Sessions on one Cassandra node through the Python driver, for the role's modules."""

from __future__ import annotations

import logging
import ssl
import time

try:
    from cassandra import (
        AuthenticationFailed,
        ConsistencyLevel,
        CoordinationFailure,
        OperationTimedOut,
        Timeout,
        Unavailable,
    )
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
    from cassandra.connection import ConnectionException
    from cassandra.policies import WhiteListRoundRobinPolicy

    HAS_DRIVER = True
    # A request that failed because the node went away or did not answer in time, or because
    # too few replicas answered it (a ring that is still forming, a node under load: the
    # coordinator's ReadTimeout/WriteTimeout, Unavailable, ReadFailure/WriteFailure): worth
    # asking again, unlike a refused statement.
    TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
        NoHostAvailable,
        OperationTimedOut,
        ConnectionException,
        Timeout,
        Unavailable,
        CoordinationFailure,
    )
except ImportError:
    HAS_DRIVER = False
    TRANSIENT_ERRORS = ()

DRIVER_LIBRARY = "cassandra-driver (Debian package python3-cassandra)"

CONNECTION_OPTIONS = {
    "login_host": {"type": "str", "default": "127.0.0.1"},
    "login_port": {"type": "int", "default": 9042},
    "ssl_ca": {"type": "path", "default": ""},
    "wait_timeout": {"type": "int", "default": 60},
}


class LoginRefused(Exception):
    """The node answered and refused the credentials."""


class Unreachable(Exception):
    """The node did not answer (not started yet, or the address is wrong)."""


def tls_context(ca_file: str) -> ssl.SSLContext:
    """A client context that trusts the CA certificate in ca_file only, checks that the node's
    certificate names the address connected to, and speaks TLS 1.2 or newer."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def quote_identifier(name: str) -> str:
    """A CQL identifier in double quotes, safe for names of any case or character."""
    return '"' + name.replace('"', '""') + '"'


class Node:
    """One node and the session on it; every request goes to that node only, over TLS verified
    against ssl_ca when it names a CA certificate ("" for plaintext)."""

    def __init__(
        self, host: str, port: int, consistency: str = "LOCAL_QUORUM", ssl_ca: str = ""
    ) -> None:
        # The driver logs protocol negotiation and reconnections; the module reports itself.
        logging.getLogger("cassandra").setLevel(logging.CRITICAL)
        self.host = host
        self.port = port
        self.ssl_ca = ssl_ca
        self.consistency = ConsistencyLevel.name_to_value[consistency.upper()]
        self.cluster = None
        self.session = None

    def login(self, user: str, password: str, keyspace: str | None = None) -> None:
        """Open a session as user; LoginRefused or Unreachable when that fails."""
        self.close()
        profile = ExecutionProfile(
            load_balancing_policy=WhiteListRoundRobinPolicy([self.host]),
            consistency_level=self.consistency,
            request_timeout=30,
        )
        cluster = Cluster(
            contact_points=[self.host],
            port=self.port,
            auth_provider=PlainTextAuthProvider(username=user, password=password),
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connect_timeout=10,
            control_connection_timeout=10,
            schema_metadata_enabled=False,
            token_metadata_enabled=False,
            ssl_context=self._tls_context(),
        )
        try:
            self.session = cluster.connect(keyspace)
        except NoHostAvailable as exc:
            cluster.shutdown()
            if any(isinstance(error, AuthenticationFailed) for error in exc.errors.values()):
                raise LoginRefused(user) from None
            raise Unreachable(f"{self.describe()}: {exc}") from None
        except AuthenticationFailed:
            cluster.shutdown()
            raise LoginRefused(user) from None
        self.cluster = cluster

    def _tls_context(self) -> ssl.SSLContext | None:
        if not self.ssl_ca:
            return None
        try:
            return tls_context(self.ssl_ca)
        except (OSError, ssl.SSLError) as exc:
            raise Unreachable(f"cannot read the CA certificate {self.ssl_ca}: {exc}") from None

    def describe(self) -> str:
        """The node as the messages name it: its address, and TLS with the CA it trusts."""
        over = f" over TLS (CA {self.ssl_ca})" if self.ssl_ca else " without TLS"
        return f"{self.host}:{self.port}{over}"

    def wait_for_login(self, user: str, password: str, timeout: int, keyspace=None) -> None:
        """Log in, retrying while the node does not answer yet (not on refused credentials)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.login(user, password, keyspace)
                return
            except Unreachable:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(3)

    def execute(self, statement: str, parameters=None):
        return self.session.execute(statement, parameters)

    def one(self, statement: str, parameters=None):
        return self.session.execute(statement, parameters).one()

    def schema_version(self):
        """The node's schema version: it changes with every change of the schema."""
        return self.one("SELECT schema_version FROM system.local").schema_version

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.shutdown()
        self.cluster = None
        self.session = None


def plain(value):
    """A value of a row as something JSON can carry."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(plain(key)): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
