"""The charts of the status page: what each shows, in PromQL, with the names the exporters publish.

- ``movielens_stream_*``: the streaming job's own figures (``jobs/reco/stream_metrics.py``).
- ``movielens_web_*``: the page's request counts (``movielens_web.metrics``).
- ``jvm_memory_used_bytes``: the JMX exporter agent of every JVM daemon (its JVM metrics).
- ``hdfs_capacity_used_bytes``, ``cassandra_storage_load_bytes``: the agent's rules of the
  NameNode and of Cassandra (``roles/monitoring/files/jmx``).

``{range}`` in a query is the range of its ``rate()``, fitted to the window's step (see
``movielens_web.prometheus``). A legend is a ``str.format`` template over the series' labels.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    legend: str
    query: str


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    unit: str  # "/s", "s", "bytes" or "" (a count)
    lines: tuple[Line, ...]


def _latency(q: str) -> str:
    return (
        f"histogram_quantile({q}, sum by (le) "
        "(rate(movielens_stream_end_to_end_latency_seconds_bucket[{range}])))"
    )


CHARTS = (
    Chart(
        "ratings",
        "Ratings in and served per second",
        "/s",
        (
            Line(
                "ratings read (valid)",
                'sum(rate(movielens_stream_messages_total{{outcome="valid"}}[{range}]))',
            ),
            Line("top-N lists written", "sum(rate(movielens_stream_users_updated_total[{range}]))"),
            Line(
                "user pages served",
                'sum(rate(movielens_web_requests_total{{route=~"/users/<user>|/api/users/<user>"}}'
                "[{range}]))",
            ),
        ),
    ),
    Chart(
        "latency",
        "End-to-end latency (Kafka timestamp to top-N written)",
        "s",
        (Line("p50", _latency("0.5")), Line("p99", _latency("0.99"))),
    ),
    Chart(
        "lag",
        "Consumer lag",
        "",
        (Line("messages behind", "sum(movielens_stream_consumer_lag)"),),
    ),
    Chart(
        "batch",
        "Micro-batch duration (last batch with input)",
        "s",
        (
            Line(
                "{phase}",
                "max by (phase) "
                '(movielens_stream_batch_duration_seconds{{phase=~"triggerExecution|addBatch"}})',
            ),
        ),
    ),
    Chart(
        "dead_letters",
        "Dead letters per second",
        "/s",
        (
            Line(
                "to the dead-letter topic",
                "sum(rate(movielens_stream_dead_letters_total[{range}]))",
            ),
        ),
    ),
    Chart(
        "heap",
        "JVM heap used per daemon",
        "bytes",
        (Line("{job} on {host}", 'sum by (job, host) (jvm_memory_used_bytes{{area="heap"}})'),),
    ),
    Chart(
        "disk",
        "HDFS and Cassandra on disk",
        "bytes",
        (
            Line("HDFS blocks (replicas included)", "sum(hdfs_capacity_used_bytes)"),
            Line("Cassandra on {host}", "sum by (host) (cassandra_storage_load_bytes)"),
        ),
    ),
)


def query(line: Line, rate_range: str) -> str:
    return line.query.format(range=rate_range)


def legend(line: Line, labels: dict[str, str]) -> str:
    class Blank(dict):
        def __missing__(self, key: str) -> str:
            return "?"

    return line.legend.format_map(Blank(labels))
