"""Benchmark: what monitoring costs, the stack with and without it on one host, in one run.

    .venv/bin/python -m tools.bench.monitoring [--rate 200] [--seconds 20]

With the mirror served as `make up` serves it. The modes, measured as tools.bench.sidebyside
measures them (first converge, memory, latency at --rate, the producer's rate):

* monitored: the roles' defaults (Prometheus and Alertmanager on the host, the node exporter,
  the JMX exporter agent in every JVM daemon, the stream's figures served by its driver);
* unmonitored: the same host with no host in the `monitoring` group (so no Prometheus,
  Alertmanager, node exporter nor agent) and `movielens_stream_metrics_port: 0`.

Besides the totals, the memory of what monitoring adds: Prometheus' user (Prometheus,
Alertmanager, the node exporter), the alert log's, and each JVM service's difference, which is
its agent's. Writes docs/benchmarks/monitoring.json.
"""

from __future__ import annotations

from tools.bench import sidebyside

MODES = {
    "monitored": sidebyside.Mode(),
    "unmonitored": sidebyside.Mode(
        {"movielens_stream_metrics_port": 0}, empty_groups=("monitoring",)
    ),
}


def added_memory(figures: dict[str, dict]) -> dict:
    """MiB per service user, monitored minus unmonitored (a user only the first has: all its)."""
    users = figures["monitored"]["memory_mib_by_user"]
    base = figures["unmonitored"]["memory_mib_by_user"]
    added = {user: round(mib - base.get(user, 0.0)) for user, mib in users.items()}
    return {"memory_mib_added_by_user": added}


def main(argv: list[str] | None = None) -> int:
    args = sidebyside.arguments(__doc__.splitlines()[0]).parse_args(argv)
    figures = sidebyside.run("monitoring", MODES, args, added_memory)
    added = figures["memory_mib_added_by_user"]
    print("memory added by monitoring (MiB, per service user):")
    for user, mib in added.items():
        print(f"  {user:12} {mib:+}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
