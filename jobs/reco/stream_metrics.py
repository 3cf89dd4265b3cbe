"""The streaming job's figures for Prometheus, kept by its driver and served on ``/metrics``.

The driver knows them first hand: ``foreachBatch`` sees every message (valid or a dead
letter, and its Kafka timestamp), and the query's progress reports (PySpark's
``recentProgress``: one per micro-batch, and one every 10 s while idle) give the time of each
phase of a micro-batch and the offsets the source has reached and the topic's latest. So the
job serves them itself, in Prometheus' text format, from a thread of the driver, instead of a
second process reading ``reco.stream_stats`` or the log:

    movielens_stream_messages_total{outcome="valid"|"invalid"}   counter
    movielens_stream_dead_letters_total                           counter
    movielens_stream_batches_total                                counter (batches with input)
    movielens_stream_users_updated_total                          counter
    movielens_stream_batch_duration_seconds{phase=...}            gauge, last batch with input
    movielens_stream_input_rows_per_second                        gauge, last progress
    movielens_stream_processed_rows_per_second                    gauge, last progress
    movielens_stream_consumer_lag                                 gauge, messages behind
    movielens_stream_last_progress_timestamp_seconds              gauge
    movielens_stream_last_batch_timestamp_seconds                 gauge
    movielens_stream_end_to_end_latency_seconds                   histogram
    movielens_stream_info{stream=..., model_version=...}          1

The end-to-end latency of a rating runs from its Kafka timestamp (the producer's send) to the
moment its user's new top-N is written. Ratings per second are the rate of
``movielens_stream_messages_total{outcome="valid"}``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Upper bounds (seconds) of the latency histogram's buckets.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


def progress_time(progress: Mapping) -> float:
    """Epoch seconds of a progress report (its ``timestamp``, ISO 8601 in UTC)."""
    stamp = str(progress.get("timestamp", ""))
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def offsets_behind(progress: Mapping) -> int | None:
    """Messages of the subscribed topics the query has not reached yet: each partition's latest
    offset minus the end offset of the last batch (None when a source reports neither)."""
    behind, known = 0, False
    for source in progress.get("sources") or []:
        latest, end = source.get("latestOffset"), source.get("endOffset")
        if not isinstance(latest, Mapping) or not isinstance(end, Mapping):
            continue
        for topic, partitions in latest.items():
            done = end.get(topic) or {}
            for partition, offset in (partitions or {}).items():
                known = True
                behind += max(int(offset) - int(done.get(partition, 0)), 0)
    return behind if known else None


def escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class StreamMetrics:
    """The figures, updated by the batch handler and the progress poller, rendered on demand
    (every method is safe to call from any thread)."""

    def __init__(self, stream: str = "movielens", model_version: str = "") -> None:
        self.stream, self.model_version = stream, model_version
        self._lock = threading.Lock()
        self.messages = {"valid": 0, "invalid": 0}
        self.batches = 0
        self.users_updated = 0
        self.phases: dict[str, float] = {}
        self.input_rate = 0.0
        self.processed_rate = 0.0
        self.lag: int | None = None
        self.last_progress = 0.0
        self.last_batch = 0.0
        self.buckets = [0] * len(LATENCY_BUCKETS)
        self.latency_sum = 0.0
        self.latency_count = 0
        self._seen: set[tuple] = set()

    def record_batch(
        self, valid: int, invalid: int, users: int, sent: Iterable[float], done: float
    ):
        """A micro-batch handled: its counts, and the Kafka timestamps (epoch seconds) of its
        valid messages, whose recommendations were written at ``done``."""
        with self._lock:
            self.messages["valid"] += valid
            self.messages["invalid"] += invalid
            self.users_updated += users
            for stamp in sent:
                latency = max(done - stamp, 0.0)
                self.latency_sum += latency
                self.latency_count += 1
                for i, bound in enumerate(LATENCY_BUCKETS):
                    if latency <= bound:
                        self.buckets[i] += 1

    def record_progress(self, reports: Iterable[Mapping]) -> int:
        """Take the query's progress reports (``query.recentProgress``); each report is counted
        once however often it is passed. Returns how many were new."""
        new = 0
        with self._lock:
            for report in sorted(reports, key=progress_time):
                key = (report.get("batchId"), report.get("timestamp"))
                if key in self._seen:
                    continue
                self._seen.add(key)
                new += 1
                when = progress_time(report)
                self.last_progress = max(self.last_progress, when)
                self.input_rate = float(report.get("inputRowsPerSecond") or 0.0)
                self.processed_rate = float(report.get("processedRowsPerSecond") or 0.0)
                behind = offsets_behind(report)
                if behind is not None:
                    self.lag = behind
                if report.get("numInputRows"):
                    self.batches += 1
                    self.last_batch = max(self.last_batch, when)
                    durations = report.get("durationMs") or {}
                    self.phases = {k: float(v) / 1000 for k, v in durations.items()}
            if len(self._seen) > 1000:  # PySpark keeps the last 100 reports; forget older keys
                self._seen = set(sorted(self._seen, key=str)[-500:])
        return new

    def render(self) -> str:
        with self._lock:
            out: list[str] = []

            def metric(name: str, kind: str, help_: str, samples) -> None:
                out.append(f"# HELP {name} {help_}")
                out.append(f"# TYPE {name} {kind}")
                for labels, value in samples:
                    text = ",".join(f'{k}="{escape(v)}"' for k, v in labels.items())
                    series = f"{name}{{{text}}}" if text else name
                    out.append(f"{series} {number(value)}")

            metric(
                "movielens_stream_info",
                "gauge",
                "The stream and the model version it serves.",
                [({"stream": self.stream, "model_version": self.model_version}, 1)],
            )
            metric(
                "movielens_stream_messages_total",
                "counter",
                "Messages the stream read from Kafka, valid ratings or not.",
                [({"outcome": k}, v) for k, v in sorted(self.messages.items())],
            )
            metric(
                "movielens_stream_dead_letters_total",
                "counter",
                "Messages sent to the dead-letter topic.",
                [({}, self.messages["invalid"])],
            )
            metric(
                "movielens_stream_batches_total",
                "counter",
                "Micro-batches that read messages.",
                [({}, self.batches)],
            )
            metric(
                "movielens_stream_users_updated_total",
                "counter",
                "Top-N lists written (one per user of a micro-batch).",
                [({}, self.users_updated)],
            )
            metric(
                "movielens_stream_batch_duration_seconds",
                "gauge",
                "Time of each phase of the last micro-batch that read messages (durationMs).",
                [({"phase": k}, v) for k, v in sorted(self.phases.items())],
            )
            metric(
                "movielens_stream_input_rows_per_second",
                "gauge",
                "Messages a second arriving, as of the last progress report.",
                [({}, self.input_rate)],
            )
            metric(
                "movielens_stream_processed_rows_per_second",
                "gauge",
                "Messages a second handled, as of the last progress report.",
                [({}, self.processed_rate)],
            )
            # Gauges without a value yet (no progress report so far) have no series rather than
            # a wrong zero.
            for name, help_, value in (
                (
                    "movielens_stream_consumer_lag",
                    "Messages of the topic the stream has not reached yet.",
                    self.lag,
                ),
                (
                    "movielens_stream_last_progress_timestamp_seconds",
                    "When the query last reported progress (each batch; every 10 s idle).",
                    self.last_progress or None,
                ),
                (
                    "movielens_stream_last_batch_timestamp_seconds",
                    "When the last micro-batch that read messages ran.",
                    self.last_batch or None,
                ),
            ):
                if value is not None:
                    metric(name, "gauge", help_, [({}, value)])
            name = "movielens_stream_end_to_end_latency_seconds"
            out.append(f"# HELP {name} From a message's Kafka timestamp to its batch's end.")
            out.append(f"# TYPE {name} histogram")
            for bound, count in zip(LATENCY_BUCKETS, self.buckets, strict=True):
                out.append(f'{name}_bucket{{le="{number(bound)}"}} {count}')
            out.append(f'{name}_bucket{{le="+Inf"}} {self.latency_count}')
            out.append(f"{name}_sum {number(self.latency_sum)}")
            out.append(f"{name}_count {self.latency_count}")
            return "\n".join(out) + "\n"


def serve(metrics: StreamMetrics, host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``metrics`` on http://host:port/metrics from a daemon thread; returns the server."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = metrics.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's name
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="stream-metrics", daemon=True).start()
    return server


def now() -> float:
    return time.time()
