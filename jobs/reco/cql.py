"""How the pipeline's programs connect to Cassandra (the stream writes, the page reads).

Reads and writes go at LOCAL_QUORUM: with keyspace reco kept three times, two replicas answer,
so one node may be down without a failed request, and a read sees every acknowledged write.
On a single node (replication 1) the quorum is that node.
"""

from __future__ import annotations

from collections.abc import Sequence

CONSISTENCY = "LOCAL_QUORUM"


def connect_cluster(
    hosts: Sequence[str], port: int = 9042, username: str = "", password: str = "", **options
):
    """A cassandra-driver Cluster with the pipeline's login and consistency."""
    from cassandra import ConsistencyLevel  # noqa: PLC0415 (pure modules import this one)
    from cassandra.auth import PlainTextAuthProvider  # noqa: PLC0415
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile  # noqa: PLC0415

    profile = ExecutionProfile(consistency_level=getattr(ConsistencyLevel, CONSISTENCY))
    auth = PlainTextAuthProvider(username=username, password=password) if username else None
    return Cluster(
        list(hosts),
        port=port,
        auth_provider=auth,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        **options,
    )
