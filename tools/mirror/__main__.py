"""python -m tools.mirror build|serve: the Apache archive rebuilt from Maven Central and PyPI."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import MirrorError
from .build import build
from .serve import serve

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mirror", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the mirror tree")
    b.add_argument("--out", type=Path, required=True, help="directory of the mirror")
    b.add_argument("--catalog", type=Path, default=ROOT / "files/artifacts.yml")
    cache = Path(os.environ.get("LAB_CACHE", Path.home() / ".cache/movielens-lab")) / "mirror"
    b.add_argument("--cache", type=Path, default=cache, help="download and build cache")
    b.add_argument("--only", default="", help="comma-separated components (and 'jars')")
    b.add_argument("--maven-settings", type=Path, help="a Maven settings.xml (mirrors, proxies)")
    b.add_argument(
        "--update-catalog",
        action="store_true",
        help="write the jobs' jars with their checksums into the catalog",
    )
    s = sub.add_parser("serve", help="serve a mirror tree over HTTP")
    s.add_argument("--dir", type=Path, required=True)
    s.add_argument("--bind", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8790)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            only = [c for c in args.only.split(",") if c]
            manifest = build(
                args.out,
                args.catalog,
                args.cache,
                only=only,
                settings=args.maven_settings,
                update_catalog=args.update_catalog,
            )
            print(f"mirror: done; manifest at {manifest}")
        else:
            if not (args.dir / "manifest.json").exists():
                raise MirrorError(f"{args.dir} has no manifest.json; build the mirror first")
            serve(args.dir, args.bind, args.port)
    except MirrorError as exc:
        print(f"mirror: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
