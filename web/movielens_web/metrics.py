"""The page's request counts for Prometheus (``GET /metrics``, in its text format).

    movielens_web_requests_total{route="/users/<user>",method="GET",status="200"}  counter
    movielens_web_request_seconds_sum{route=...} / _count{route=...}              summary

``route`` is the URL rule a request matched (not its path: one series per page, not per
user id), ``unmatched`` when none did. gunicorn runs the page in one worker process (with
threads), so the counts in this process are the page's; they start from zero with the worker,
which Prometheus' rate() takes as a counter reset.
"""

from __future__ import annotations

import threading
from collections import defaultdict


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class RequestCounts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._seconds: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])

    def count(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(route, method, status)] += 1
            total = self._seconds[route]
            total[0] += seconds
            total[1] += 1

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP movielens_web_requests_total Requests answered, by route, method, status.",
                "# TYPE movielens_web_requests_total counter",
            ]
            for (route, method, status), n in sorted(self._requests.items()):
                lines.append(
                    f'movielens_web_requests_total{{route="{_label(route)}",method="{method}",'
                    f'status="{status}"}} {n}'
                )
            lines += [
                "# HELP movielens_web_request_seconds Time the page took to answer, by route.",
                "# TYPE movielens_web_request_seconds summary",
            ]
            for route, (seconds, n) in sorted(self._seconds.items()):
                label = f'{{route="{_label(route)}"}}'
                lines.append(f"movielens_web_request_seconds_sum{label} {seconds!r}")
                lines.append(f"movielens_web_request_seconds_count{label} {n}")
            return "\n".join(lines) + "\n"
