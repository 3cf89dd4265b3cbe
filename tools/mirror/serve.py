"""Serve the mirror tree over HTTP (loopback by default), in the foreground or as a daemon."""

from __future__ import annotations

import functools
import http.server
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from . import MirrorError


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files only; one log line per request."""

    def list_directory(self, path):  # the mirror is fetched by exact paths
        self.send_error(404, "No directory listings")

    def log_message(self, fmt, *args):
        sys.stdout.write(f"mirror: {self.address_string()} {fmt % args}\n")
        sys.stdout.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def url_of(bind: str, port: int) -> str:
    host = f"[{bind}]" if ":" in bind else bind
    return f"http://{host}:{port}"


def check_tree(directory: Path) -> None:
    if not (directory / "manifest.json").is_file():
        raise MirrorError(f"{directory} has no manifest.json; build the mirror first")


def serve(directory: Path, bind: str, port: int, url_file: Path | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    check_tree(directory)
    handler = functools.partial(Handler, directory=str(directory))
    try:
        server = Server((bind, port), handler)
    except OSError as exc:
        raise MirrorError(f"cannot listen on {bind}:{port}: {exc.strerror or exc}") from exc
    url = url_of(bind, server.server_address[1])
    if url_file:
        tmp = url_file.with_name(f".{url_file.name}.tmp")
        tmp.write_text(url + "\n")
        os.replace(tmp, url_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"mirror: serving {directory} at {url}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if url_file:
            url_file.unlink(missing_ok=True)


def start_daemon(
    directory: Path, bind: str, port: int, pidfile: Path, log: Path, *, timeout: float = 15.0
) -> str:
    """Start `serve` in its own session in the background; return its URL once it answers."""
    check_tree(directory)
    running = read_pid(pidfile)
    if running and is_server(running):
        url = url_file_of(pidfile).read_text().strip() if url_file_of(pidfile).exists() else ""
        raise MirrorError(f"a mirror server already runs (pid {running}, {url or 'unknown URL'})")
    url_file = url_file_of(pidfile)
    url_file.unlink(missing_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "tools.mirror", "serve", "--dir", str(directory)]
    cmd += ["--bind", bind, "--port", str(port), "--url-file", str(url_file)]
    root = Path(__file__).resolve().parents[2]
    with open(log, "ab") as out:
        child = subprocess.Popen(
            cmd,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pidfile.write_text(f"{child.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            pidfile.unlink(missing_ok=True)
            last = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise MirrorError(f"the mirror server exited: {last[0]} (log: {log})")
        if url_file.exists():
            url = url_file.read_text().strip()
            if answers(url):
                return url
        time.sleep(0.1)
    raise MirrorError(f"the mirror server did not answer within {timeout:.0f}s (log: {log})")


def url_file_of(pidfile: Path) -> Path:
    return pidfile.with_name(pidfile.name + ".url")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/manifest.json", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def is_server(pid: int) -> bool:
    """The process exists and is a `tools.mirror serve` (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"tools.mirror" in cmdline and b"serve" in cmdline


def stop_daemon(pidfile: Path, timeout: float = 10.0) -> bool:
    """Stop the server of pidfile; False when none was running."""
    pid = read_pid(pidfile)
    if pid is None or not is_server(pid):
        pidfile.unlink(missing_ok=True)
        url_file_of(pidfile).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and is_server(pid):
        time.sleep(0.1)
    if is_server(pid):
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    url_file_of(pidfile).unlink(missing_ok=True)
    return True
