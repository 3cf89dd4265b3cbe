"""``movielens-status``: the stack's health, HDFS usage, consumer lag, model and a user's top-N.

    movielens-status              # the user the stream updated last
    movielens-status --user 7     # that user's recommendations
    movielens-status --json       # the same as JSON (what the page's /api/status returns)

Exit status 0 when every service is healthy and every part could be read, 1 otherwise,
2 when the settings cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys

from movielens_web import config
from movielens_web.data import Reader
from movielens_web.status import Status, collect


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


def render(status: Status) -> str:  # noqa: C901, PLR0912 (one section after the other)
    out = ["Services"]
    width = max((len(s.name) for s in status.services), default=0)
    for s in status.services:
        mark = "ok  " if s.healthy else "DOWN"
        link = f"  {s.link}" if s.link else ""
        out.append(f"  {mark}  {s.name:<{width}}  {s.detail}{link}")
    hdfs = status.hdfs
    out.append("")
    if "error" in hdfs:
        out.append(f"HDFS: unreadable: {hdfs['error']}")
    else:
        share = 100 * hdfs["used"] / hdfs["capacity"] if hdfs["capacity"] else 0
        out.append(
            f"HDFS: {size(hdfs['used'])} used of {size(hdfs['capacity'])} ({share:.1f}%), "
            f"{hdfs['live_datanodes']} live DataNode(s), state {hdfs['state']}"
        )
        for path, d in hdfs["dirs"].items():
            detail = d["error"] if "error" in d else f"{size(d['bytes'])} in {d['files']} file(s)"
            out.append(f"  {path:<12} {detail}")
    lag = status.lag
    if "error" in lag:
        out.append(f"Consumer lag: unreadable: {lag['error']}")
    else:
        out.append(
            f"Consumer lag of topic {lag['topic']}: {lag['lag']} "
            f"({lag['processed']} of {lag['messages']} messages processed; "
            f"last committed batch {lag['batch'] if lag['batch'] is not None else 'none yet'})"
        )
    model = status.model
    if "serving" in model:
        out.append(
            f"Model: serving {model['serving']} since {when(model['since'])}; "
            f"newest trained {model['newest']}; last batch {model['last_batch']} "
            f"at {when(model['last_batch_at'])}"
        )
    else:
        out.append(f"Model: newest trained {model.get('newest', '?')}; {model.get('error', '')}")
    out.append("")
    if status.user_id is None:
        out.append("Recommendations: no user yet (give --user)")
    elif status.recommendations_error:
        out.append(f"Recommendations of user {status.user_id}: {status.recommendations_error}")
    elif not status.recommendations or not status.recommendations.items:
        out.append(f"Recommendations of user {status.user_id}: none (no ratings of this user)")
    else:
        top = status.recommendations
        out.append(
            f"Recommendations of user {status.user_id} "
            f"(updated {when(top.updated_at)}, model {top.model_version}):"
        )
        for r in top.items:
            out.append(f"  {r.rank:>3}  {r.shown:>8}  {r.movie.title}  [{r.movie.genres}]")
            if r.because:
                out.append(f"{'':16}because you rated {'; '.join(m.title for m in r.because)}")
    out.append("")
    out.append("All healthy." if status.healthy else "NOT all healthy: see above.")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`: "))
    p.add_argument("--user", type=int, default=None, help="whose recommendations to show")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--settings", default=None, help=f"default: {config.DEFAULT_PATH}")
    args = p.parse_args(argv)
    try:
        settings = config.load(args.settings)
    except config.SettingsError as exc:
        print(f"movielens-status: {exc}", file=sys.stderr)
        return 2
    reader = Reader(settings)
    try:
        status = collect(settings, reader, args.user)
    finally:
        reader.close()
    print(json.dumps(status.to_dict(), indent=2) if args.json else render(status))
    return 0 if status.healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
