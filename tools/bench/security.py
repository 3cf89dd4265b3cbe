"""Benchmark: what secure mode costs, secure beside insecure on one host, in one run.

    .venv/bin/python -m tools.bench.security [--rate 200] [--seconds 20]

With the mirror served as `make up` serves it. The modes, measured as tools.bench.sidebyside
measures them (first converge, memory, latency at --rate, the producer's rate):

* secure: the roles' defaults (Kafka with SASL SCRAM-SHA-512 over TLS and ACLs, Cassandra with
  TLS on both ports);
* insecure: the same host with `kafka_security: plaintext` and `cassandra_tls: false`.

Writes docs/benchmarks/security.json.
"""

from __future__ import annotations

from tools.bench import sidebyside

MODES = {
    "secure": sidebyside.Mode(),
    "insecure": sidebyside.Mode({"kafka_security": "plaintext", "cassandra_tls": False}),
}


def main(argv: list[str] | None = None) -> int:
    args = sidebyside.arguments(__doc__.splitlines()[0]).parse_args(argv)
    sidebyside.run("security", MODES, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
