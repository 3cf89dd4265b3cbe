"""The status page's charts: Prometheus' recorded answers (fixtures/prometheus/README.md) served
again on loopback, read by the page's client and drawn as SVG."""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import urllib.parse
from pathlib import Path
from xml.etree import ElementTree

import pytest

from movielens_web import app, config, prometheus, promql, svg
from movielens_web.app import create_app
from movielens_web.status import Status

FIXTURES = Path(__file__).parent / "fixtures" / "prometheus"
WINDOW = json.loads((FIXTURES / "window.json").read_text())
SVG = "{http://www.w3.org/2000/svg}"


def recorded() -> dict[str, Path]:
    """Each chart query (as the page sends it for the recorded window) and its recorded answer."""
    rate_range = prometheus.rate_range(WINDOW["step"])
    return {
        promql.query(line, rate_range): FIXTURES / f"{chart.key}-{i}.json"
        for chart in promql.CHARTS
        for i, line in enumerate(chart.lines)
    }


@pytest.fixture
def replay():
    """A loopback server that answers /api/v1/query_range with the recorded bodies (a query it
    has no answer for gets Prometheus' recorded refusal, status 400); yields its URL and the
    queries it was asked."""
    answers, asked = recorded(), []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            url = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(url.query))
            asked.append(params)
            path = answers.get(params.get("query", ""))
            body = (path or FIXTURES / "refused.json").read_bytes()
            self.send_response(200 if path else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()


def finite_values(path: Path) -> list[list[float]]:
    result = json.loads(path.read_text())["data"]["result"]
    return [[float(v) for _, v in r["values"] if v not in ("NaN", "+Inf", "-Inf")] for r in result]


def drawn(charts: prometheus.Charts, key: str) -> ElementTree.Element:
    data = next(c for c in charts.charts if c.chart.key == key)
    out = svg.render(data, charts.start, charts.end, charts.step, charts.window)
    return ElementTree.fromstring(str(out))


def polyline_points(element: ElementTree.Element) -> list[tuple[float, float]]:
    return [
        tuple(map(float, pair.split(",")))
        for line in element.iter(f"{SVG}polyline")
        for pair in line.get("points").split()
    ]


def test_the_window_asks_prometheus_with_its_step(replay):
    base, asked = replay
    charts = prometheus.collect(base, WINDOW["window"], now=WINDOW["end"] + 1)
    assert charts.error == "" and len(charts.charts) == len(promql.CHARTS)
    assert len(asked) == sum(len(c.lines) for c in promql.CHARTS)
    for params in asked:
        assert float(params["end"]) == WINDOW["end"]
        assert float(params["end"]) - float(params["start"]) == 900
        assert params["step"] == "15"
    assert all("[120s]" in p["query"] for p in asked if "rate(" in p["query"])


@pytest.mark.parametrize("key", ["ratings", "latency", "lag", "batch", "dead_letters", "heap"])
def test_each_chart_draws_every_recorded_point_inside_its_axes(replay, key):
    charts = prometheus.collect(replay[0], WINDOW["window"], now=WINDOW["end"])
    chart = next(c for c in promql.CHARTS if c.key == key)
    recorded_series = [
        v for i in range(len(chart.lines)) for v in finite_values(FIXTURES / f"{key}-{i}.json")
    ]
    element = drawn(charts, key)
    points = polyline_points(element)
    circles = list(element.iter(f"{SVG}circle"))
    assert len(points) + len(circles) == sum(len(v) for v in recorded_series) > 0
    plot = element.find(f"{SVG}rect")
    left, top = float(plot.get("x")), float(plot.get("y"))
    right, bottom = left + float(plot.get("width")), top + float(plot.get("height"))
    assert all(left <= x <= right and top <= y <= bottom for x, y in points)
    # The highest point is near the top of the axis (the axis ends at a round value above it).
    assert min(y for _, y in points) < top + (bottom - top) / 2
    legends = [t.text for t in element.iter(f"{SVG}text") if t.text]
    assert len(list(element.iter(f"{SVG}g"))) == int(element.get("data-series")) >= 1
    for series in next(c for c in charts.charts if c.chart.key == key).series:
        assert series.legend in legends


def test_the_lines_are_the_recorded_values_on_the_axis_scale(replay):
    charts = prometheus.collect(replay[0], WINDOW["window"], now=WINDOW["end"])
    lag = drawn(charts, "lag")
    plot = lag.find(f"{SVG}rect")
    top, height = float(plot.get("y")), float(plot.get("height"))
    ticks = [float(t.text) for t in lag.iter(f"{SVG}text") if re.fullmatch(r"[\d.]+", t.text)]
    axis_top = max(ticks)
    drawn_values = [(top + height - y) / height * axis_top for _, y in polyline_points(lag)]
    (recorded,) = finite_values(FIXTURES / "lag-0.json")
    assert drawn_values == pytest.approx(recorded, abs=axis_top / height)


def test_legends_and_units_come_from_the_labels_and_the_chart(replay):
    charts = prometheus.collect(replay[0], WINDOW["window"], now=WINDOW["end"])
    heap = drawn(charts, "heap")
    texts = [t.text for t in heap.iter(f"{SVG}text")]
    assert "idle-jvm on local" in texts
    assert any(t.endswith("MiB") for t in texts)
    batch = [t.text for t in drawn(charts, "batch").iter(f"{SVG}text")]
    assert {"addBatch", "triggerExecution"} <= set(batch)
    assert any(re.fullmatch(r"[\d.]+ (s|ms)", t or "") for t in batch)
    assert any(
        re.fullmatch(r"[\d.]+/s", t or "")
        for t in [t.text for t in drawn(charts, "ratings").iter(f"{SVG}text")]
    )
    ticks = [t for t in texts if re.fullmatch(r"\d\d:\d\d", t or "")]
    assert len(ticks) >= 3


def test_a_chart_without_series_says_no_data_yet(replay):
    # No HDFS or Cassandra was scraped in the recording: Prometheus' answer was an empty matrix.
    assert finite_values(FIXTURES / "disk-0.json") == []
    charts = prometheus.collect(replay[0], WINDOW["window"], now=WINDOW["end"])
    disk = drawn(charts, "disk")
    assert list(disk.iter(f"{SVG}polyline")) == []
    message = disk.find(f"{SVG}text[@class='message']")
    assert message.text == "No data yet over the last 15 min."


def test_a_refused_query_shows_prometheus_reason_in_its_chart(replay):
    line = promql.Line("x", "rate(movielens_stream_batches_total)")
    bad = promql.Chart("bad", "Bad", "", (line,))
    data = prometheus.chart_data(replay[0], bad, WINDOW["start"], WINDOW["end"], WINDOW["step"])
    reason = json.loads((FIXTURES / "refused.json").read_text())["error"]
    assert data.error == f"Prometheus refused the query: {reason}"
    element = ElementTree.fromstring(str(svg.render(data, 0, 900, 15, "15m")))
    assert element.find(f"{SVG}text[@class='message']").text == data.error


def test_prometheus_unreachable_is_one_message_with_its_address():
    with socket.socket() as s:  # a loopback port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        charts = prometheus.collect(f"http://127.0.0.1:{port}", "1h")
    assert charts.charts == []
    assert charts.error.startswith(f"Prometheus unreachable at 127.0.0.1:{port}: ")
    assert "refused" in charts.error.lower()


def test_without_prometheus_the_charts_say_where_it_would_come_from():
    charts = prometheus.collect("", "6h")
    assert charts.error == "No Prometheus in the inventory (a host in the monitoring group)."


@pytest.mark.parametrize(
    ("asked", "window", "step"),
    [
        (None, "1h", 30),
        ("15m", "15m", 15),
        ("6h", "6h", 180),
        ("24h", "24h", 720),
        ("7d", "1h", 30),
    ],
)
def test_windows_and_steps(asked, window, step):
    assert prometheus.window(asked) == window
    seconds, got = prometheus.WINDOWS[window]
    assert got == step and 60 <= seconds / step <= 120
    assert prometheus.rate_range(step) == f"{max(2 * step, 120)}s"


def test_quantiles_of_no_ratings_leave_gaps_and_gaps_break_the_line():
    assert prometheus.points([[1, "0.5"], [2, "NaN"], [3, "+Inf"], [4, "2"]]) == [(1, 0.5), (4, 2)]
    assert svg.segments([(0, 1), (15, 1), (60, 2), (75, 2)], 37.5) == [
        [(0, 1), (15, 1)],
        [(60, 2), (75, 2)],
    ]


@pytest.mark.parametrize(
    ("unit", "highest", "labels"),
    [
        ("bytes", 200 * 2**20, ["0 MiB", "50 MiB", "100 MiB", "150 MiB", "200 MiB"]),
        ("s", 0.37, ["0 ms", "100 ms", "200 ms", "300 ms", "400 ms"]),
        ("/s", 6.2, ["0/s", "2/s", "4/s", "6/s", "8/s"]),
        ("", 193, ["0", "50", "100", "150", "200"]),
    ],
)
def test_axis_ticks_are_round_in_the_chart_unit(unit, highest, labels):
    divisor, suffix = svg.scale(unit, highest)
    top, tick = svg.nice_top(highest / divisor)
    got = [svg.label(i * tick * divisor, divisor, suffix) for i in range(round(top / tick) + 1)]
    assert got == labels


def test_the_status_page_carries_the_charts_and_the_window_choices(replay, monkeypatch):
    from test_web import SETTINGS, FakeReader, FakeSender  # noqa: PLC0415

    monkeypatch.setattr(prometheus.time, "time", lambda: WINDOW["end"])
    # The panel's other parts (no HDFS or Kafka here) are test_web's.
    monkeypatch.setattr(app, "collect", lambda *_args: Status(hdfs={"error": "-"}))
    settings = config.Settings(**{**SETTINGS.__dict__, "prometheus": replay[0]})
    client = create_app(settings, FakeReader(), FakeSender()).test_client()
    html = client.get("/status?window=15m").get_data(as_text=True)
    assert html.count('<svg class="chart"') == len(promql.CHARTS)
    assert 'id="chart-ratings" data-series="2"' in html
    assert "<strong>15 min</strong>" in html and "window=1h" in html and "window=24h" in html
    port = replay[0].rsplit(":", 1)[1]
    assert f"from Prometheus at 127.0.0.1:{port}" in html


def test_settings_name_prometheus():
    raw = {"cassandra": {"hosts": ["c"]}, "kafka": {"bootstrap": "k:9092"}, "webhdfs": "http://n"}
    assert config.from_dict(raw).prometheus == ""
    raw["prometheus"] = "http://10.0.0.9:9090/"
    assert config.from_dict(raw).prometheus == "http://10.0.0.9:9090"
