"""Serve the page with gunicorn: ``python -m movielens_web [--settings FILE]``.

HTTPS with the settings' certificate and key (``tls``), else plain HTTP. One worker process
with threads: the page's Cassandra session and Kafka producer are shared by its requests, and
the worker makes them after the fork. The TLS handshake happens in the worker's threads, and
gunicorn reads the certificate for each new connection, so a certificate issued again is
served without a restart.
"""

from __future__ import annotations

import argparse
import logging
import ssl
import sys

from movielens_web import config
from movielens_web.app import create_app

THREADS = 8


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def server_options(settings: config.Settings) -> dict[str, object]:
    """gunicorn's settings for the page."""
    options: dict[str, object] = {
        "bind": [bind_address(settings.bind, settings.port)],
        "workers": 1,
        "worker_class": "gthread",
        "threads": THREADS,
        "timeout": 60,
        "graceful_timeout": 10,
        "keepalive": 5,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "movielens-web",
        # No runtime control socket (gunicornc): nothing but the page listens.
        "control_socket_disable": True,
    }
    if settings.tls:
        options["certfile"] = settings.tls_cert
        options["keyfile"] = settings.tls_key or None
    return options


def check_tls(settings: config.Settings) -> None:
    """Load the certificate and key once before serving: a clear message instead of a worker
    that fails on every connection."""
    if not settings.tls:
        return
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key or None)
    except (OSError, ssl.SSLError) as exc:
        raise config.SettingsError(
            f"cannot load the certificate {settings.tls_cert} with the key "
            f"{settings.tls_key or '(in the same file)'}: {exc}"
        ) from exc


def serve(settings: config.Settings, secret_key: bytes | None) -> None:
    from gunicorn.app.base import BaseApplication  # noqa: PLC0415

    class PageServer(BaseApplication):
        def load_config(self) -> None:
            for name, value in server_options(settings).items():
                self.cfg.set(name, value)

        def load(self):
            return create_app(settings, secret_key=secret_key)

    PageServer().run()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="The MovieLens recommendations page.")
    p.add_argument("--settings", default=None, help=f"default: {config.DEFAULT_PATH}")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("cassandra", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = config.load(args.settings)
        secret_key = config.secret_key(settings)
        check_tls(settings)
    except config.SettingsError as exc:
        print(f"movielens_web: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("movielens_web").info(
        "serving on %s://%s", settings.scheme, bind_address(settings.bind, settings.port)
    )
    serve(settings, secret_key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
