"""A rolling change on the cluster while ratings are replayed into the stream.

site.yml re-run with a changed setting of Kafka and of Cassandra restarts their nodes one at a
time, each waiting until the cluster is whole again (no under-replicated partition, every node
of the ring UN), while ratings flow: every rating Kafka acknowledged reached its user's rows in
Cassandra once, and the stream counted each message of the topic once. On demand:
tools/cluster-faults.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

from tests import inventory
from tests.clusterhost import SETTLE_SECONDS, Replay, everything_counted_once, movies
from tests.labhost import eventually
from tests.pipelinehost import stream_running

testinfra_hosts = ["masters"]
ROLLING_PLAYBOOK_SECONDS = 2400


def restart_windows(unit: str) -> list[tuple[float, float, str]]:
    """(stopping, running again, host) of the unit's last restart on each host, in the one
    monotonic clock that the test hosts share with this machine."""
    windows = []
    for name in inventory.hosts(unit):
        node = inventory.testinfra_host(name)
        properties = "-p ActiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic"
        shown = node.run(f"systemctl show {unit} {properties}").stdout
        values = dict(line.split("=", 1) for line in shown.split())
        windows.append(
            (
                int(values["ActiveExitTimestampMonotonic"]) / 1e6,
                int(values["ActiveEnterTimestampMonotonic"]) / 1e6,
                name,
            )
        )
    return sorted(windows)


def test_a_rolling_change_restarts_one_node_at_a_time_and_loses_nothing(host):
    eventually(lambda: stream_running(host), "the streaming query running", SETTLE_SECONDS)
    # Values no run has set before, so that every node has something to restart for.
    stamp = int(time.time()) % 10_000
    change = {
        "kafka_server_properties": {"log.retention.hours": 1000 + stamp},
        "cassandra_config": {"hinted_handoff_throttle": f"{2048 + stamp}KiB"},
    }
    with Replay(movies(host)) as replay:
        result = subprocess.run(
            [
                inventory.tool("ansible-playbook"),
                "-i",
                inventory.source(),
                "playbooks/site.yml",
                "-v",
                "-e",
                json.dumps(change),
            ],
            cwd=inventory.PROJECT,
            capture_output=True,
            text=True,
            timeout=ROLLING_PLAYBOOK_SECONDS,
            check=False,
        )
        time.sleep(10)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert not replay.failed, replay.failed[:5]
    assert replay.acknowledged() == replay.sent > 0
    # Each host went only after the one before was healthy again, cluster-wide.
    for unit in ("kafka", "cassandra"):
        task = next(
            part
            for part in result.stdout.split("TASK [")
            if part.startswith(
                f"daemon : Restart, then wait until healthy with its cluster, {unit}]"
            )
        )
        restarted = re.findall(r"changed: \[([^\]]+)\]", task)
        assert sorted(restarted) == sorted(inventory.hosts(unit)), task[-3000:]
        assert f"{unit}: cluster healthy" in task, task[-3000:]
        windows = restart_windows(unit)
        for (_, started, before), (stopped, _, after) in zip(windows, windows[1:], strict=False):
            assert stopped > started, f"{unit} on {after} stopped before {before} was back"
    for name in inventory.hosts("kafka"):
        config = inventory.testinfra_host(name).file("/etc/kafka/server.properties")
        assert f"log.retention.hours={1000 + stamp}" in config.content_string
    everything_counted_once(replay)
