"""How the pipeline's programs connect to Cassandra (the stream writes, the page reads).

Reads and writes go at LOCAL_QUORUM: with keyspace reco kept three times, two replicas answer,
so one node may be down without a failed request, and a read sees every acknowledged write.
On a single node (replication 1) the quorum is that node.

With a CA certificate (``ca_file``, the lab's ``/etc/lab-tls/ca.crt`` on the hosts) the
connections are TLS: each node's certificate must be signed by that CA and name the address
the driver connects to (the contact points, then the addresses the nodes publish).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence

CONSISTENCY = "LOCAL_QUORUM"


def tls_context(ca_file: str) -> ssl.SSLContext:
    """A client context that trusts ca_file's CA only, checks the node's name, TLS 1.2 or newer."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect_cluster(
    hosts: Sequence[str],
    port: int = 9042,
    username: str = "",
    password: str = "",
    ca_file: str = "",
    **options,
):
    """A cassandra-driver Cluster with the pipeline's login and consistency, over TLS verified
    against ca_file when one is given."""
    from cassandra import ConsistencyLevel  # noqa: PLC0415 (pure modules import this one)
    from cassandra.auth import PlainTextAuthProvider  # noqa: PLC0415
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile  # noqa: PLC0415

    profile = ExecutionProfile(consistency_level=getattr(ConsistencyLevel, CONSISTENCY))
    auth = PlainTextAuthProvider(username=username, password=password) if username else None
    if ca_file:
        options["ssl_context"] = tls_context(ca_file)
    return Cluster(
        list(hosts),
        port=port,
        auth_provider=auth,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        **options,
    )
