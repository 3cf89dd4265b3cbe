"""The test hosts' proxy, against real servers on loopback: a plain HTTP request with an
absolute URL is relayed to the origin in origin form, CONNECT tunnels bytes both ways, a
forward relays a port, and what the proxy cannot serve gets a 502, not a hang."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tools.testhost import network, proxy


class Origin(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        headers = self.headers
        body = f"{self.path}|{headers.get('Connection')}|{headers.get('Proxy-Authorization')}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def relay(origin):
    """The proxy on a free port of loopback, forwarding another free port to the origin."""
    port, forward = free_port(), free_port()
    loop = asyncio.new_event_loop()

    async def serve():
        with contextlib.suppress(asyncio.CancelledError):
            await proxy.run("127.0.0.1", port, {forward: ("127.0.0.1", origin)})

    task = loop.create_task(serve())
    thread = threading.Thread(target=loop.run_until_complete, args=(task,), daemon=True)
    thread.start()
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            break
        threading.Event().wait(0.05)
    yield port, forward
    loop.call_soon_threadsafe(task.cancel)
    thread.join(timeout=10)


def exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while data := conn.recv(65536):
            chunks.append(data)
        return b"".join(chunks)


def test_absolute_url_is_relayed_in_origin_form_without_proxy_headers(relay, origin):
    reply = exchange(
        relay[0],
        f"GET http://127.0.0.1:{origin}/debian/dists?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Proxy-Authorization: Basic c2VjcmV0\r\nConnection: keep-alive\r\n\r\n".encode(),
    )
    assert reply.startswith(b"HTTP/1.0 200") or reply.startswith(b"HTTP/1.1 200")
    assert reply.endswith(b"/debian/dists?x=1|close|None")


def test_connect_tunnels_both_ways(relay, origin):
    with socket.create_connection(("127.0.0.1", relay[0]), timeout=10) as conn:
        conn.sendall(f"CONNECT 127.0.0.1:{origin} HTTP/1.1\r\n\r\n".encode())
        assert conn.recv(1024).startswith(b"HTTP/1.1 200")
        conn.sendall(b"GET /through HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while data := conn.recv(65536):
            reply += data
    assert reply.endswith(b"/through|close|None")


def test_a_forward_relays_its_port(relay):
    reply = exchange(relay[1], b"GET /mirror HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.endswith(b"/mirror|close|None")


def test_what_cannot_be_served_gets_502(relay):
    assert exchange(relay[0], b"GET /relative HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 502")
    closed = free_port()
    reply = exchange(relay[0], f"CONNECT 127.0.0.1:{closed} HTTP/1.1\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 502")


def test_forward_option_parses():
    assert proxy.parse_forward("8790=127.0.0.1:8790") == (8790, ("127.0.0.1", 8790))


@pytest.mark.parametrize("address", ["10.77.0.1", "10.77.0.255", "10.78.0.5", "192.0.2.9"])
def test_addresses_outside_the_hosts_range_are_refused(address, monkeypatch):
    monkeypatch.delenv("LAB_NET", raising=False)
    with pytest.raises(network.NetworkError, match="not a host address"):
        network.check_address(address)


def test_the_bridge_and_proxy_addresses_follow_lab_net(monkeypatch):
    monkeypatch.setenv("LAB_NET", "10.99.5.0/24")
    assert network.gateway() == "10.99.5.1"
    assert network.proxy_url() == "http://10.99.5.1:3128"
    network.check_address("10.99.5.11")
