"""The alert log (roles/monitoring/files/lab_alert_log.py), Alertmanager's default webhook
receiver, as a real server on loopback: each alert of a notification becomes a line."""

from __future__ import annotations

import importlib.util
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "lab_alert_log", ROOT / "roles" / "monitoring" / "files" / "lab_alert_log.py"
)
alert_log = importlib.util.module_from_spec(spec)
spec.loader.exec_module(alert_log)

# A notification as Alertmanager sends it (webhook message, version 4).
MESSAGE = {
    "version": "4",
    "status": "firing",
    "receiver": "alert-log",
    "groupLabels": {"alertname": "LabTargetDown"},
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "LabTargetDown", "job": "spark-history", "host": "lab"},
            "annotations": {"summary": "spark-history on lab does not answer"},
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
        },
        {
            "status": "resolved",
            "labels": {"alertname": "LabTargetDown", "job": "kafka", "host": "lab"},
            "annotations": {},
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": "2026-01-01T00:05:00Z",
        },
    ],
}


@pytest.fixture
def served(tmp_path):
    log = tmp_path / "alerts" / "alerts.log"
    httpd = alert_log.server("127.0.0.1", 0, log)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", log
    finally:
        httpd.shutdown()
        httpd.server_close()


def request(url: str, body: bytes | None = None) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with opener.open(req, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_each_alert_of_a_notification_is_a_line(served):
    url, log = served
    assert request(f"{url}/alerts", json.dumps(MESSAGE).encode()) == (200, "2 alerts logged\n")
    assert request(f"{url}/alerts", json.dumps(MESSAGE).encode())[0] == 200
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 4
    first, second = lines[:2]
    assert (first["alertname"], first["status"], first["labels"]["job"]) == (
        "LabTargetDown",
        "firing",
        "spark-history",
    )
    assert second["status"] == "resolved" and second["endsAt"] == "2026-01-01T00:05:00Z"
    assert first["receiver"] == "alert-log" and first["received"].endswith("+00:00")


def test_health_and_refusals(served):
    url, log = served
    assert request(f"{url}/health") == (200, "ok\n")
    assert request(f"{url}/alerts", b"not json")[0] == 400
    assert request(f"{url}/alerts", b"[1, 2]")[0] == 400
    assert request(f"{url}/other", b"{}")[0] == 404
    assert request(f"{url}/other")[0] == 404
    assert not log.exists() or log.read_text() == ""
