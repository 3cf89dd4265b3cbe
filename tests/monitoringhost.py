"""Prometheus and Alertmanager of the inventory's monitoring host, as the Molecule verifiers
reach them: their addresses, the scrape and alert timings the inventory gives the monitoring
role, and PromQL queries over Prometheus' HTTP API."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request

from tests import inventory

PROMETHEUS = inventory.endpoint("monitoring", "prometheus")
ALERTMANAGER = inventory.endpoint("monitoring", "alertmanager")


def seconds(duration: str) -> float:
    """A Prometheus duration (30s, 2m, 1h) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    found = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(duration).strip())
    assert found, f"not a duration: {duration!r}"
    return int(found.group(1)) * units[found.group(2)]


def setting(name: str, default):
    return inventory.hostvar(inventory.hosts("monitoring")[0], name, default)


SCRAPE = seconds(setting("monitoring_scrape_interval", "30s"))


def get_json(url: str) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=15) as response:
        return json.loads(response.read())


def query(expr: str) -> list[dict]:
    """The result of a PromQL expression now (Prometheus' HTTP API): an instant vector, or the
    raw samples of a range vector selector."""
    url = f"http://{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    answer = get_json(url)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def value(expr: str) -> float | None:
    """The one value of an expression that gives one series (None when it gives none)."""
    result = query(expr)
    assert len(result) <= 1, f"{expr}: {len(result)} series"
    return float(result[0]["value"][1]) if result else None


def counted_since(selector: str, start: float) -> float:
    """How much the counters of `selector` grew after `start` (epoch seconds), as Prometheus
    scraped them, across restarts of the process: the rises between consecutive raw samples
    from the last one at or before `start` (none: a process started since, from 0), where a
    fall is a reset (the process started again from 0, so its new value is all rise)."""
    window = int(time.time() - start + 2 * SCRAPE) + 1
    total = 0.0
    for series in query(f"{selector}[{window}s]"):  # raw samples of a range vector
        samples = [(float(t), float(v)) for t, v in series["values"]]
        before = [v for t, v in samples if t <= start]
        values = before[-1:] or [0.0]
        values += [v for t, v in samples if t > start]
        total += sum(b - a if b >= a else b for a, b in zip(values, values[1:], strict=False))
    return total
