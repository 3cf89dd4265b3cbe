"""A worker host powered off mid-stream (every process of the machine SIGKILLed, no shutdown).

Ratings keep coming, the page keeps serving top-N (the p99 of its answers during the outage is
reported), the host boots again and the cluster heals: HDFS fully replicated, every partition's
ISR back to three, the ring all UN; every acknowledged rating reached its user's rows once.
The figures go to docs/benchmarks/node-loss.json. On demand: tools/cluster-faults.
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.request

import pytest

from tests import inventory
from tests.clusterhost import (
    HEAL_SECONDS,
    RATE,
    SETTLE_SECONDS,
    Replay,
    everything_counted_once,
    healed,
    movies,
)
from tests.labhost import eventually
from tests.pipelinehost import stream_running
from tools.bench import common
from tools.testhost import machine

testinfra_hosts = ["masters"]
OUTAGE_SECONDS = 90
COMMAND = ".venv/bin/molecule converge -s cluster && tools/cluster-faults -k node_loss"


def stream_executor_host(host) -> str | None:
    """The worker host that runs the streaming job's executor, if the UI tells."""
    base = f"http://{inventory.endpoint('movielens', 'stream_ui')}/api/v1/applications"
    apps = json.loads(host.run(f"curl -fsS -m 10 {base}").stdout or "[]")
    if not apps:
        return None
    executors = json.loads(
        host.run(f"curl -fsS -m 10 {base}/{apps[0]['id']}/executors").stdout or "[]"
    )
    by_address = {inventory.address(h): h for h in inventory.hosts("all")}
    for executor in executors:
        if executor["id"] != "driver":
            found = by_address.get(executor["hostPort"].rsplit(":", 1)[0])
            if found:
                return found
    return None


def page_latencies(user: int, seconds: float) -> tuple[list[float], int]:
    """Read the user's top-N from the page for `seconds`; latencies of answers, failures."""
    url = inventory.page_url(f"/api/users/{user}")
    context = inventory.tls_context()
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=20, context=context) as response:  # noqa: S310
                if response.status == 200 and json.load(response)["recommendations"]:
                    latencies.append(time.monotonic() - start)
                else:
                    failures += 1
        except OSError:
            failures += 1
        time.sleep(0.25)
    return latencies, failures


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_a_worker_node_powered_off_mid_stream_loses_nothing(host):
    eventually(lambda: stream_running(host), "the streaming query running", SETTLE_SECONDS)
    eventually(lambda: healed(host), "a healthy cluster before the fault", HEAL_SECONDS)
    masters = set(inventory.hosts("masters"))
    victim = stream_executor_host(host)
    if victim in (None, *masters):
        victim = next(h for h in reversed(inventory.hosts("nodes")) if h not in masters)
    figures: dict[str, object] = {"command": COMMAND, "victim": victim, "rate": RATE}
    with Replay(movies(host)) as replay:
        time.sleep(20)
        start = time.monotonic()
        machine.poweroff(victim)
        # A user of this replay: rated before the outage, so the page has a top-N to serve.
        latencies, failures = page_latencies(replay.users[0], OUTAGE_SECONDS)
        figures["outage_seconds"] = round(time.monotonic() - start, 1)
        machine.boot_again(victim)
        figures["boot_seconds"] = round(time.monotonic() - start - figures["outage_seconds"], 1)
        time.sleep(20)
    assert latencies, "the page answered nothing during the outage"
    figures.update(
        page_reads=len(latencies),
        page_failures=failures,
        page_p50_s=round(statistics.median(latencies), 3),
        page_p99_s=round(percentile(latencies, 0.99), 3),
        sent=replay.sent,
        acknowledged=replay.acknowledged(),
    )
    heal_start = time.monotonic()
    eventually(lambda: healed(host), "HDFS, Kafka's ISR and the ring whole again", HEAL_SECONDS)
    figures["heal_seconds"] = round(time.monotonic() - heal_start, 1)
    common.write("node-loss", figures)
    print(f"node loss: {json.dumps(figures)}")
    assert not replay.failed, replay.failed[:5]
    assert replay.acknowledged() == replay.sent > 0
    assert failures <= len(latencies) // 20, figures  # at most 5 % of reads failed
    everything_counted_once(replay)
    eventually(lambda: stream_running(host), "the streaming query running", SETTLE_SECONDS)


@pytest.fixture(autouse=True, scope="module")
def _every_host_back_on():
    """A failed test leaves no host powered off for the ones after it."""
    yield
    for name in inventory.hosts("all"):
        if not machine.running(name):
            machine.boot_again(name)
