"""The test hosts' way out: an HTTP proxy and TCP forwards on the bridge address.

Hosts in their own network namespaces have no route anywhere but the bridge. Apt and pip on
them use this proxy (plain HTTP requests with an absolute URL, and CONNECT for HTTPS) to reach
the package registries the control node reaches; the forwards make services of the control
node that listen on loopback (the mirror) reachable on the bridge address.

    python -m tools.testhost.proxy --bind 10.77.0.1 --port 3128 --forward 8790=127.0.0.1:8790
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

log = logging.getLogger("testhost.proxy")
CONNECT_TIMEOUT = 30
HEADER_LIMIT = 64 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _splice(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    await asyncio.gather(_pipe(client[0], upstream[1]), _pipe(upstream[0], client[1]))


async def _open(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)


def parse_request_head(head: bytes) -> tuple[str, str, int, bytes]:
    """Method, upstream host and port, and the head to send upstream (origin-form target).

    Raises ValueError for a request this proxy does not serve.
    """
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    if method == "CONNECT":
        host, _, port = target.rpartition(":")
        return method, host.strip("[]"), int(port), b""
    url = urlsplit(target)
    if url.scheme != "http" or not url.hostname:
        raise ValueError(f"not an absolute http URL: {target}")
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    # One request per connection: a client's next request may name another server.
    kept = [
        line
        for line in lines[1:]
        if line and not line.lower().startswith(("proxy-", "connection:", "keep-alive:"))
    ]
    upstream_head = "\r\n".join(
        [f"{method} {path} {version}", *kept, "Connection: close", "", ""]
    ).encode("latin-1")
    return method, url.hostname, url.port or 80, upstream_head


async def _serve_proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > HEADER_LIMIT:
            raise ValueError("request head too large")
        method, host, port, upstream_head = parse_request_head(head)
        upstream = await _open(host, port)
    except (TimeoutError, ValueError, OSError, asyncio.IncompleteReadError) as exc:
        log.warning("refused: %s", exc)
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n")
        with contextlib.suppress(Exception):
            await writer.drain()
            writer.close()
        return
    if method == "CONNECT":
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
    else:
        upstream[1].write(upstream_head)
    await _splice((reader, writer), upstream)


def _forwarder(host: str, port: int):
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream = await _open(host, port)
        except (TimeoutError, OSError) as exc:
            log.warning("forward to %s:%s failed: %s", host, port, exc)
            writer.close()
            return
        await _splice((reader, writer), upstream)

    return serve


async def run(bind: str, port: int, forwards: dict[int, tuple[str, int]]) -> None:
    servers = [await asyncio.start_server(_serve_proxy, bind, port, limit=HEADER_LIMIT)]
    for local_port, (host, target_port) in forwards.items():
        servers.append(await asyncio.start_server(_forwarder(host, target_port), bind, local_port))
    log.info("proxy on %s:%s, forwards %s", bind, port, forwards)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def parse_forward(text: str) -> tuple[int, tuple[str, int]]:
    local, _, target = text.partition("=")
    host, _, port = target.rpartition(":")
    return int(local), (host, int(port))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.testhost.proxy", description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, default=3128)
    parser.add_argument("--forward", action="append", default=[], type=parse_forward)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(run(args.bind, args.port, dict(args.forward)))


if __name__ == "__main__":
    main()
