"""Serve the page with waitress: ``python -m movielens_web [--settings FILE]``."""

from __future__ import annotations

import argparse
import logging
import sys

from movielens_web import config
from movielens_web.app import create_app


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
    except config.SettingsError as exc:
        print(f"movielens_web: {exc}", file=sys.stderr)
        return 2
    from waitress import serve  # noqa: PLC0415

    logging.getLogger("movielens_web").info("serving on http://%s:%d", settings.bind, settings.port)
    serve(create_app(settings), host=settings.bind, port=settings.port, threads=8)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
