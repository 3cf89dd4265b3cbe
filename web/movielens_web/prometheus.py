"""The charts' data: Prometheus' HTTP API (``/api/v1/query_range``) over a chosen window.

A window (``?window=`` of the status page: 15m, 1h, 6h or 24h; 1h by default) has a step that
gives each chart 60 to 120 points, and its rates are taken over twice the step (at least 2
minutes, so that a scrape every 30 s leaves several samples in each). Every query of the
charts runs in parallel; when Prometheus cannot be reached the charts say so once, with its
address, and the rest of the status page is unaffected.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from movielens_web import promql

TIMEOUT = 5.0
# Window name: (seconds, step in seconds).
WINDOWS = {"15m": (900, 15), "1h": (3600, 30), "6h": (21600, 180), "24h": (86400, 720)}
DEFAULT_WINDOW = "1h"


class Unreachable(Exception):
    """Prometheus does not answer (down, wrong address, a firewall)."""


class QueryFailed(Exception):
    """Prometheus answered with an error (a query it refuses)."""


@dataclass
class Series:
    legend: str
    points: list[tuple[float, float]]  # (epoch seconds, value); NaN and Inf left out


@dataclass
class ChartData:
    chart: promql.Chart
    series: list[Series] = field(default_factory=list)
    error: str = ""


@dataclass
class Charts:
    window: str
    start: float
    end: float
    step: int
    address: str
    charts: list[ChartData] = field(default_factory=list)
    error: str = ""


def window(name: str | None) -> str:
    """The window asked for; the default for none or one the page does not offer."""
    return name if name in WINDOWS else DEFAULT_WINDOW


def rate_range(step: int) -> str:
    return f"{max(2 * step, 120)}s"


def query_range(base: str, query: str, start: float, end: float, step: int) -> list[dict]:
    """The ``result`` of a range query (a matrix: ``[{"metric": {...}, "values": [...]}]``)."""
    params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step})
    url = f"{base}/api/v1/query_range?{params}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 (settings)
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 400 and 422 carry Prometheus' own error
        try:
            body = json.loads(exc.read())
        except ValueError:
            raise QueryFailed(f"HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise Unreachable(str(getattr(exc, "reason", None) or exc)) from exc
    if body.get("status") != "success":
        raise QueryFailed(body.get("error", "no error given"))
    return body["data"]["result"]


def points(values: list) -> list[tuple[float, float]]:
    """Prometheus' ``[[time, "value"], ...]`` as numbers, without NaN (a quantile of no data)
    or infinities."""
    out = []
    for stamp, text in values:
        value = float(text)
        if math.isfinite(value):
            out.append((float(stamp), value))
    return out


def series(line: promql.Line, result: list[dict]) -> list[Series]:
    found = [Series(promql.legend(line, r.get("metric", {})), points(r["values"])) for r in result]
    return sorted((s for s in found if s.points), key=lambda s: s.legend)


def chart_data(base: str, chart: promql.Chart, start: float, end: float, step: int) -> ChartData:
    data = ChartData(chart)
    try:
        for line in chart.lines:
            result = query_range(base, promql.query(line, rate_range(step)), start, end, step)
            data.series += series(line, result)
    except QueryFailed as exc:
        data.error = f"Prometheus refused the query: {exc}"
    return data


def collect(base: str, name: str | None, now: float | None = None) -> Charts:
    """Every chart over the window ``name`` ending now; ``base`` is Prometheus' URL."""
    name = window(name)
    seconds, step = WINDOWS[name]
    end = math.floor((now or time.time()) / step) * step
    start = end - seconds
    address = base.split("://", 1)[-1]
    charts = Charts(name, start, end, step, address)
    if not base:
        charts.error = "No Prometheus in the inventory (a host in the monitoring group)."
        return charts
    try:
        with ThreadPoolExecutor(max_workers=len(promql.CHARTS)) as pool:
            futures = [pool.submit(chart_data, base, c, start, end, step) for c in promql.CHARTS]
            charts.charts = [f.result() for f in futures]
    except Unreachable as exc:
        charts.error = f"Prometheus unreachable at {address}: {exc}"
        charts.charts = []
    return charts
