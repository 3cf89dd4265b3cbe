"""The streaming job's figures for Prometheus (jobs.reco.stream_metrics): taken from its
batches and from query progress as PySpark returns it, and served over HTTP on loopback."""

from __future__ import annotations

import re
import urllib.request
from datetime import datetime

from jobs.reco import stream_metrics
from jobs.reco.stream_metrics import StreamMetrics, offsets_behind

TOPIC = "movielens_ratings"


def progress(batch: int, stamp: str, rows: int, end: dict, latest: dict, **durations) -> dict:
    return {
        "batchId": batch,
        "timestamp": stamp,
        "numInputRows": rows,
        "inputRowsPerSecond": rows / 5,
        "processedRowsPerSecond": rows / 2,
        "durationMs": durations or {"triggerExecution": 3},
        "sources": [{"endOffset": {TOPIC: end}, "latestOffset": {TOPIC: latest}}],
    }


def samples(text: str) -> dict[str, float]:
    """name{labels} -> value of every sample line of the exposition text."""
    found = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-z_]+(?:\{[^}]*\})?) (\S+)", line)
        assert match, f"not a sample line: {line!r}"
        found[match.group(1)] = float(match.group(2))
    return found


def test_lag_is_what_each_partition_has_beyond_the_last_batch():
    report = progress(3, "2026-01-01T00:00:00.000Z", 5, {"0": 10, "1": 4}, {"0": 15, "1": 4})
    assert offsets_behind(report) == 5
    # A partition the query has not read yet counts from its start.
    report = progress(3, "2026-01-01T00:00:00.000Z", 5, {"0": 10}, {"0": 10, "1": 7})
    assert offsets_behind(report) == 7
    assert offsets_behind({"sources": [{"endOffset": None}]}) is None


def test_progress_counted_once_with_phases_of_the_last_busy_batch():
    metrics = StreamMetrics("movielens", "v1")
    first = progress(
        1, "2026-01-01T00:00:00.000Z", 20, {"0": 20}, {"0": 30}, addBatch=400, walCommit=20
    )
    idle = progress(2, "2026-01-01T00:00:10.000Z", 0, {"0": 30}, {"0": 30})
    assert metrics.record_progress([first, idle]) == 2
    assert metrics.record_progress([first, idle]) == 0  # recentProgress repeats reports
    found = samples(metrics.render())
    assert found["movielens_stream_batches_total"] == 1
    assert found['movielens_stream_batch_duration_seconds{phase="addBatch"}'] == 0.4
    assert found['movielens_stream_batch_duration_seconds{phase="walCommit"}'] == 0.02
    assert found["movielens_stream_consumer_lag"] == 0
    epoch = datetime.fromisoformat("2026-01-01T00:00:10+00:00").timestamp()
    assert found["movielens_stream_last_progress_timestamp_seconds"] == epoch
    assert found["movielens_stream_last_batch_timestamp_seconds"] == epoch - 10
    assert found['movielens_stream_info{stream="movielens",model_version="v1"}'] == 1


def test_batches_count_messages_dead_letters_and_latency():
    metrics = StreamMetrics()
    metrics.record_batch(valid=3, invalid=1, users=2, sent=[100.0, 99.5, 98.0, 70.0], done=100.2)
    found = samples(metrics.render())
    assert found['movielens_stream_messages_total{outcome="valid"}'] == 3
    assert found['movielens_stream_messages_total{outcome="invalid"}'] == 1
    assert found["movielens_stream_dead_letters_total"] == 1
    assert found["movielens_stream_users_updated_total"] == 2
    name = "movielens_stream_end_to_end_latency_seconds"
    assert found[f'{name}_bucket{{le="0.25"}}'] == 1  # 0.2 s
    assert found[f'{name}_bucket{{le="1"}}'] == 2  # 0.7 s
    assert found[f'{name}_bucket{{le="5"}}'] == 3  # 2.2 s
    assert found[f'{name}_bucket{{le="30"}}'] == 3
    assert found[f'{name}_bucket{{le="60"}}'] == 4  # 30.2 s
    assert found[f'{name}_bucket{{le="+Inf"}}'] == found[f"{name}_count"] == 4
    assert round(found[f"{name}_sum"], 3) == 33.3
    # No lag and no progress before the first report: no series rather than a wrong zero.
    assert "movielens_stream_consumer_lag" not in found
    assert "movielens_stream_last_progress_timestamp_seconds" not in found


def test_label_values_are_escaped():
    metrics = StreamMetrics("s", 'v"1\\2')
    assert 'model_version="v\\"1\\\\2"' in metrics.render()


def test_served_over_http():
    metrics = StreamMetrics()
    metrics.record_batch(1, 0, 1, [1.0], 2.0)
    server = stream_metrics.serve(metrics, "127.0.0.1", 0)
    try:
        port = server.server_address[1]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            body = response.read().decode()
        assert 'movielens_stream_messages_total{outcome="valid"} 1' in body
        try:
            opener.open(f"http://127.0.0.1:{port}/other", timeout=5)
            raise AssertionError("a path other than /metrics answered")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        server.shutdown()
        server.server_close()
