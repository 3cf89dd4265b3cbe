#!/usr/bin/python3
"""The lab's alert log: a webhook receiver for Alertmanager that appends every alert of every
notification to a file, one JSON object a line.

    lab-alert-log --bind 127.0.0.1 --port 9096 --file /var/log/lab-alerts/alerts.log

POST /alerts takes Alertmanager's webhook message (version 4) and writes one line per alert in
it: when it was received, the alert's status (firing or resolved), name, labels, annotations,
start and end, and the receiver. GET /health answers "ok". It is the receiver a site gets until
it configures its own (the monitoring role's monitoring_alertmanager_receivers).

Only the standard library: it runs with the system's Python.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Longest webhook message taken (Alertmanager's for a few hundred alerts is far smaller).
MAX_BODY = 4 * 1024 * 1024


def lines(message: dict, received: str) -> list[str]:
    """The log lines of one webhook message: one per alert."""
    out = []
    for alert in message.get("alerts") or []:
        labels = alert.get("labels") or {}
        entry = {
            "received": received,
            "status": alert.get("status", message.get("status", "")),
            "alertname": labels.get("alertname", ""),
            "labels": labels,
            "annotations": alert.get("annotations") or {},
            "startsAt": alert.get("startsAt", ""),
            "endsAt": alert.get("endsAt", ""),
            "receiver": message.get("receiver", ""),
        }
        out.append(json.dumps(entry, sort_keys=True))
    return out


class AlertLog:
    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, message: dict) -> int:
        received = datetime.now(UTC).isoformat(timespec="seconds")
        new = lines(message, received)
        with self.lock, self.path.open("a", encoding="utf-8") as log:
            for line in new:
                log.write(line + "\n")
        return len(new)


def handler(log: AlertLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, code: int, text: str) -> None:
            body = (text + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/health":
                self._answer(200, "ok")
            else:
                self._answer(404, "not found")

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            if self.path != "/alerts":
                self._answer(404, "not found")
                return
            size = int(self.headers.get("Content-Length") or 0)
            if size <= 0 or size > MAX_BODY:
                self._answer(400, "a JSON body of at most 4 MiB is expected")
                return
            try:
                message = json.loads(self.rfile.read(size))
                if not isinstance(message, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                self._answer(400, f"not a webhook message: {exc}")
                return
            written = log.write(message)
            self._answer(200, f"{written} alerts logged")

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's name
            return  # the file is the log; requests are not worth the journal's space

    return Handler


def server(bind: str, port: int, path: Path) -> ThreadingHTTPServer:
    path.parent.mkdir(parents=True, exist_ok=True)
    return ThreadingHTTPServer((bind, port), handler(AlertLog(path)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9096)
    parser.add_argument("--file", type=Path, required=True)
    args = parser.parse_args(argv)
    httpd = server(args.bind, args.port, args.file)
    print(f"lab-alert-log: {args.bind}:{args.port} -> {args.file}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        httpd.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
