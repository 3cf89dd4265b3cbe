"""The producer's pacing: token bucket and progress lines, on a fake clock."""

from __future__ import annotations

import pytest

from jobs.reco.ratelimit import Progress, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drive(bucket: TokenBucket, clock: Clock, events: int) -> float:
    """Send ``events`` events, sleeping as told; return the elapsed (fake) time."""
    start = clock.now
    for _ in range(events):
        clock.now += bucket.reserve()
    return clock.now - start


def test_rate_is_kept_on_average():
    clock = Clock()
    bucket = TokenBucket(rate=50, burst=5, clock=clock)
    elapsed = drive(bucket, clock, 505)
    # the first 5 go out at once (burst), the other 500 at 50/s
    assert elapsed == pytest.approx(10.0)


def test_burst_after_idle_is_capped():
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    drive(bucket, clock, 3)
    clock.now += 60  # idle for a minute: only `burst` tokens accumulate
    waits = [bucket.reserve() for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.1)


def test_rate_zero_means_unlimited():
    clock = Clock()
    bucket = TokenBucket(rate=0, clock=clock)
    assert drive(bucket, clock, 10_000) == 0.0


def test_progress_lines_every_few_seconds():
    clock = Clock()
    progress = Progress(every=5.0, clock=clock)
    progress.sent = 100
    clock.now += 2
    assert progress.line() is None
    clock.now += 3
    line = progress.line()
    assert line.startswith("sent=100 rate=20/s avg=20/s errors=0")
    progress.sent = 150
    clock.now += 5
    assert "rate=10/s" in progress.line()
    assert progress.line(force=True) is not None
