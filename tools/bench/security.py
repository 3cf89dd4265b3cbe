"""Benchmark: what secure mode costs, secure beside insecure on one host, in one run.

    .venv/bin/python -m tools.bench.security [--rate 200] [--seconds 20]

With the mirror served as `make up` serves it, on a host with an address of its own (--address,
10.77.0.30) as `make up`'s. The modes, measured as tools.bench.sidebyside measures them (first
converge, memory, latency at --rate, the producer's rate):

* secure: inventories/local as it is (a Kerberos realm with its KDC on the host, HDFS and YARN
  in Hadoop's secure mode with the jobs and the streaming service on YARN; Kafka with SASL
  SCRAM-SHA-512 over TLS and ACLs; Cassandra with TLS on both ports);
* insecure: the same host with `kerberos_realm: ""` (no KDC; Spark's jobs on its standalone
  master), `kafka_security: plaintext` and `cassandra_tls: false`.

Writes docs/benchmarks/security.json.
"""

from __future__ import annotations

from tools.bench import sidebyside

MODES = {
    "secure": sidebyside.Mode(),
    "insecure": sidebyside.Mode(
        {"kerberos_realm": "", "kafka_security": "plaintext", "cassandra_tls": False},
        empty_groups=("kerberos_kdc",),
    ),
}
# A free address of the bridge's network (make up's host is 10.77.0.20, CI's stack 10.77.0.24).
ADDRESS = "10.77.0.30"


def main(argv: list[str] | None = None) -> int:
    args = sidebyside.arguments(__doc__.splitlines()[0], ADDRESS).parse_args(argv)
    sidebyside.run("security", MODES, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
