"""The alerts of the monitoring role on a converged stack: a daemon stopped with systemctl makes
LabTargetDown fire (in Alertmanager and in the alert log) and resolve once it is started again.
Every wait is bounded and derived from the inventory's scrape interval and alert timings, which
the monitoring and stack scenarios make short (seconds); the role's defaults would take minutes.
"""

from __future__ import annotations

import json
import time

import pytest

from tests import inventory
from tests.labhost import eventually
from tests.monitoringhost import ALERTMANAGER, SCRAPE, get_json, seconds, setting, value

testinfra_hosts = ["monitoring"]

ALERT_LOG = "/var/log/lab-alerts/alerts.log"  # monitoring_alert_log_file
# The daemon the test stops: nothing else depends on the history server.
STOPPED_UNIT, STOPPED_JOB = "spark-history", "spark-history"

DOWN_FOR = seconds(setting("monitoring_alert_for", {}).get("down", "2m"))
TIMING = setting("monitoring_alertmanager_timing", {})
GROUP_WAIT = seconds(TIMING.get("group_wait", "30s"))
GROUP_INTERVAL = seconds(TIMING.get("group_interval", "5m"))
# From a daemon's stop to its alert in the log: a failed scrape, `for`, an evaluation, the
# notification's wait; from its start to the resolved notice: a good scrape, an evaluation,
# the next group interval. With room for a slow two-core host.
FIRE_SECONDS = 2 * SCRAPE + DOWN_FOR + GROUP_WAIT + GROUP_INTERVAL + 60
RESOLVE_SECONDS = 3 * SCRAPE + 2 * GROUP_INTERVAL + 60


def active_alerts(job: str) -> list[dict]:
    alerts = get_json(f"http://{ALERTMANAGER}/api/v2/alerts?active=true&silenced=false")
    return [
        a
        for a in alerts
        if a["labels"].get("alertname") == "LabTargetDown" and a["labels"].get("job") == job
    ]


def logged(host, job: str, status: str, since: str) -> bool:
    """The alert log has a line for LabTargetDown of `job` with `status`, received at or
    after `since` (UTC, ISO 8601 to the second)."""
    with host.sudo():
        text = host.run(f"cat {ALERT_LOG} 2>/dev/null").stdout
    for line in text.splitlines():
        entry = json.loads(line)
        if (
            entry["alertname"] == "LabTargetDown"
            and entry["labels"].get("job") == job
            and entry["status"] == status
            and entry["received"] >= since
        ):
            return True
    return False


@pytest.mark.skipif(not inventory.hosts("spark_history"), reason="no Spark history server")
def test_a_stopped_daemon_fires_its_alert_which_resolves_once_it_is_back(host):
    """`host` is the monitoring host (the alert log); the history server may run elsewhere."""
    daemon_host = inventory.testinfra_host(inventory.hosts("spark_history")[0])
    started = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    with daemon_host.sudo():
        assert daemon_host.run(f"systemctl stop {STOPPED_UNIT}").rc == 0
    try:
        eventually(lambda: active_alerts(STOPPED_JOB), "the alert in Alertmanager", FIRE_SECONDS)
        eventually(
            lambda: logged(host, STOPPED_JOB, "firing", started),
            "the firing alert in the alert log",
            FIRE_SECONDS,
        )
    finally:
        with daemon_host.sudo():
            assert daemon_host.run(f"systemctl start {STOPPED_UNIT}").rc == 0
    back = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    eventually(
        lambda: logged(host, STOPPED_JOB, "resolved", back),
        "the resolved alert in the alert log",
        RESOLVE_SECONDS,
    )
    eventually(lambda: not active_alerts(STOPPED_JOB), "the alert gone", RESOLVE_SECONDS)
    eventually(
        lambda: value(f'up{{job="{STOPPED_JOB}"}}') == 1, "the target up again", RESOLVE_SECONDS
    )
