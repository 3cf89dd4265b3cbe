"""Serve the mirror tree over HTTP (loopback by default)."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):  # one line per request is enough
        print(f"mirror: {self.address_string()} {fmt % args}", flush=True)


def serve(directory: Path, bind: str, port: int) -> None:
    handler = functools.partial(QuietHandler, directory=str(directory))
    with http.server.ThreadingHTTPServer((bind, port), handler) as server:
        print(
            f"mirror: serving {directory} at http://{bind}:{server.server_address[1]}", flush=True
        )
        server.serve_forever()
