"""python -m tools.mirror build|serve|stop: Apache's archive rebuilt from Maven Central and PyPI.

build --out DIR   build (or bring up to date) the mirror tree in DIR
serve --dir DIR   serve it over HTTP (foreground; --daemon --pidfile F to run it in the
                  background, printing its URL once it answers)
stop --pidfile F  stop a server started with --daemon
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import MirrorError, serve
from .build import build

ROOT = Path(__file__).resolve().parents[2]


def default_cache() -> Path:
    base = os.environ.get("LAB_CACHE") or Path.home() / ".cache/movielens-lab"
    return Path(base) / "mirror"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m tools.mirror",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = top.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the mirror tree")
    b.add_argument("--out", type=Path, required=True, help="directory of the mirror")
    b.add_argument("--catalog", type=Path, default=ROOT / "files/artifacts.yml")
    b.add_argument(
        "--cache",
        type=Path,
        default=default_cache(),
        help="Maven local repository, PyPI downloads and build stamps (default: %(default)s)",
    )
    b.add_argument(
        "--only", default="", help="comma-separated components and/or jars, agents, datasets"
    )
    b.add_argument("--maven-settings", type=Path, help="a Maven settings.xml (mirrors, proxies)")
    b.add_argument(
        "--update-catalog",
        action="store_true",
        help="write the jobs' jars and the agents with their SHA-512 into the catalog's jars: and "
        "agents: lists",
    )
    s = sub.add_parser("serve", help="serve a mirror tree over HTTP")
    s.add_argument("--dir", type=Path, required=True)
    s.add_argument("--bind", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8790, help="0 picks a free port")
    s.add_argument("--daemon", action="store_true", help="run in the background (needs --pidfile)")
    s.add_argument("--pidfile", type=Path, help="with --daemon: where the pid is written")
    s.add_argument("--log", type=Path, help="with --daemon: request log (default: <pidfile>.log)")
    s.add_argument("--url-file", type=Path, help="write the URL here once listening")
    t = sub.add_parser("stop", help="stop a server started with serve --daemon")
    t.add_argument("--pidfile", type=Path, required=True)
    return top


def run(args: argparse.Namespace) -> None:
    if args.command == "build":
        only = [c.strip() for c in args.only.split(",") if c.strip()]
        path = build(
            args.out,
            args.catalog,
            args.cache,
            only=only,
            settings=args.maven_settings.resolve() if args.maven_settings else None,
            update_catalog=args.update_catalog,
        )
        print(f"mirror: done; manifest at {path}", flush=True)
    elif args.command == "serve":
        directory = args.dir.resolve()
        if args.daemon:
            if not args.pidfile:
                raise MirrorError("serve --daemon needs --pidfile")
            log = args.log or args.pidfile.with_name(args.pidfile.name + ".log")
            url = serve.start_daemon(directory, args.bind, args.port, args.pidfile.resolve(), log)
            print(url, flush=True)
        else:
            serve.serve(directory, args.bind, args.port, args.url_file)
    elif serve.stop_daemon(args.pidfile):
        print(f"mirror: stopped the server of {args.pidfile}", flush=True)
    else:
        print(f"mirror: no server running for {args.pidfile}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except MirrorError as exc:
        print(f"mirror: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
