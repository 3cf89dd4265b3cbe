"""The tests' CQL client: a session from the control node with one of the lab's logins (or any
other), over TLS verified against the control node's copy of the lab's CA unless the inventory
turned Cassandra's TLS off, through the whole ring or one node only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import WhiteListRoundRobinPolicy

from tests import inventory

PORT = 9042  # the role's cassandra_native_port
# Seconds to connect: a TLS handshake and a login on two cores shared with another scenario's
# three hosts, at times right after the node came back from a SIGKILL (10 s was once too few).
CONNECT_TIMEOUT = 30
# ssl_context's default: the inventory's (inventory.cassandra_ssl_context()).
INVENTORY_TLS = "inventory"


@contextmanager
def session(
    addresses: list[str] | None = None,
    user: str = "admin",
    password: str | None = None,
    keyspace: str | None = None,
    *,
    only: bool = False,
    ssl_context=INVENTORY_TLS,
) -> Iterator[Session]:
    """A session as user (one of inventory.CASSANDRA_LOGINS, its password from the inventory
    unless given) through addresses (by default the inventory's Cassandra nodes). only: every
    query goes to the first address, none to the other nodes the driver discovers. The cluster
    is shut down on leaving, and when the connection fails (the driver's NoHostAvailable, with
    each node's error)."""
    if addresses is None:
        addresses = inventory.addresses("cassandra", "cassandra")
    options = {}
    if only:
        policy = WhiteListRoundRobinPolicy(addresses[:1])
        options["execution_profiles"] = {
            EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=policy)
        }
    cluster = Cluster(
        addresses,
        port=PORT,
        auth_provider=PlainTextAuthProvider(
            username=user,
            password=inventory.cassandra_password(user) if password is None else password,
        ),
        ssl_context=inventory.cassandra_ssl_context()
        if ssl_context == INVENTORY_TLS
        else ssl_context,
        connect_timeout=CONNECT_TIMEOUT,
        control_connection_timeout=CONNECT_TIMEOUT,
        **options,
    )
    try:
        yield cluster.connect(keyspace)
    finally:
        cluster.shutdown()
