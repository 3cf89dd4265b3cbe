"""Pacing for the producer: a token bucket and periodic progress lines (pure; clock injected)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


class TokenBucket:
    """Allow ``rate`` events per second on average, bursts of up to ``burst`` events.

    ``reserve()`` takes one token and returns how many seconds the caller must wait before
    the event; tokens refill continuously. ``rate <= 0`` means no limit (always 0).
    """

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = float(rate)
        self.capacity = float(burst if burst is not None else max(1.0, self.rate / 10))
        self.clock = clock
        self.tokens = self.capacity
        self.last = clock()

    def reserve(self, n: float = 1.0) -> float:
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= n
        if self.tokens >= 0:
            return 0.0
        return -self.tokens / self.rate


@dataclass
class Progress:
    """Counters, and a progress line at most every ``every`` seconds."""

    every: float = 5.0
    clock: Callable[[], float] = time.monotonic
    sent: int = 0
    errors: int = 0
    rejected: int = 0
    started: float = field(default=0.0)
    _last_time: float = field(default=0.0)
    _last_sent: int = field(default=0)

    def __post_init__(self) -> None:
        self.started = self._last_time = self.clock()

    def line(self, force: bool = False) -> str | None:
        """A progress line when one is due (or ``force``), else ``None``."""
        now = self.clock()
        if not force and now - self._last_time < self.every:
            return None
        window = max(now - self._last_time, 1e-9)
        rate = (self.sent - self._last_sent) / window
        total = max(now - self.started, 1e-9)
        self._last_time, self._last_sent = now, self.sent
        return (
            f"sent={self.sent} rate={rate:.0f}/s avg={self.sent / total:.0f}/s "
            f"errors={self.errors} rejected_lines={self.rejected} elapsed={total:.0f}s"
        )
