"""Ingest a MovieLens directory: parse it once into the common schema, keep every reject.

    spark-submit --py-files jobs.zip jobs/ingest.py --input hdfs:///input/ml-latest-small \
        --processed hdfs:///processed --errors hdfs:///errors
    python -m jobs.ingest --input /data/ml-1m --processed /tmp/processed --errors /tmp/errors

Reads the raw files of ``--input`` (any MovieLens format, detected from the file names) and
writes, for the dataset ``<name>`` (the input directory's name):

* ``<processed>/<name>/ratings.parquet`` and ``movies.parquet``: the rows that parse, in the
  common schema (``jobs.movielens.spark_io``), which ``jobs.train`` and ``jobs.tune`` read;
* ``<errors>/<name>/rejects`` (JSON lines: source file, line number, raw text, reason) and
  ``<errors>/<name>/report.json`` (how many, how many per reason, the first lines), when
  some lines do not parse: the good rows still load, and nothing is dropped silently;
* then the raw files move to ``<processed>/<name>/source``.

The new data is written beside the old and swapped in with renames, so a failed run leaves
the previous ingestion whole. An input that is not there (moved by an earlier run) while
its processed copy exists is reported and skipped, so running the ingestion again is safe.
"""

from __future__ import annotations

import argparse
import json
import logging
import posixpath

from jobs import common
from jobs.movielens import spark_io
from jobs.reco import fsutil

log = logging.getLogger("jobs.ingest")

EXAMPLES = 20


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Parse a MovieLens directory into the common schema.")
    p.add_argument("--input", required=True, help="a MovieLens directory (raw files)")
    p.add_argument("--format", default=None, help="MovieLens format (default: detected)")
    p.add_argument("--processed", default=common.env("PROCESSED", "hdfs:///processed"))
    p.add_argument("--errors", default=common.env("ERRORS", "hdfs:///errors"))
    p.add_argument("--master", default=None)
    return p


def reason_kind(reason: str) -> str:
    """The kind of a reject reason, without the offending value ("non-numeric user id")."""
    return reason.split(":", 1)[0].strip()


def rejects_report(
    dataset: str, counts: dict, by_kind: dict[tuple[str, str], int], first: list[dict]
) -> dict:
    """What ``report.json`` says: counts, rejects per source file and kind, the first lines."""
    return {
        "dataset": dataset,
        "counts": counts,
        "rejects": sum(by_kind.values()),
        "by_reason": [
            {"source": source, "reason": kind, "lines": n}
            for (source, kind), n in sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "first": sorted(first, key=lambda r: (r["source"], r["line_no"]))[:EXAMPLES],
    }


def run(spark, args: argparse.Namespace) -> dict:
    dataset = posixpath.basename(args.input.rstrip("/"))
    out = fsutil.join(args.processed, dataset)
    errors = fsutil.join(args.errors, dataset)
    if not fsutil.exists(spark, args.input):
        if fsutil.exists(spark, fsutil.join(out, spark_io.NORMALISED.ratings_dir)):
            log.info("%s was ingested already into %s; nothing to do", args.input, out)
            return {"dataset": dataset, "skipped": True}
        raise FileNotFoundError(f"no such input: {args.input}")

    with common.timed(f"parsing {args.input}", log):
        fmt, ratings, movies, rejects = spark_io.load(spark, args.input, args.format)
        rejects = rejects.cache()
        tmp = out + ".tmp"
        fsutil.delete(spark, tmp)
        ratings.write.parquet(fsutil.join(tmp, spark_io.NORMALISED.ratings_dir))
        movies.write.parquet(fsutil.join(tmp, spark_io.NORMALISED.movies_dir))
        written = spark.read.parquet(fsutil.join(tmp, spark_io.NORMALISED.ratings_dir))
        counts = {
            "ratings": written.count(),
            "movies": spark.read.parquet(fsutil.join(tmp, spark_io.NORMALISED.movies_dir)).count(),
        }
    total_rejects = rejects.count()
    log.info("format %s: %s, %d rejected lines", fmt.name, counts, total_rejects)

    fsutil.delete(spark, errors)
    if total_rejects:
        rejects.write.json(fsutil.join(errors, "rejects"))
        kinds = rejects.rdd.map(lambda r: ((r.source, reason_kind(r.reason)), 1)).countByKey()
        first = [r.asDict() for r in rejects.orderBy("source", "line_no").limit(EXAMPLES).collect()]
        report = rejects_report(dataset, counts, dict(kinds), first)
        fsutil.write_text(spark, fsutil.join(errors, "report.json"), json.dumps(report, indent=2))
        log.warning("%d lines rejected; report in %s/report.json", total_rejects, errors)

    fsutil.delete(spark, out)
    fsutil.rename(spark, tmp, out)
    fsutil.rename(spark, args.input, fsutil.join(out, "source"))
    log.info("ingested %s into %s (raw files in %s/source)", args.input, out, out)
    return {"dataset": dataset, "format": fmt.name, "counts": counts, "rejects": total_rejects}


def main(argv: list[str] | None = None) -> int:
    common.setup_logging()
    args = parser().parse_args(argv)
    spark = common.spark_session("movielens-ingest", args.master)
    try:
        summary = run(spark, args)
    except FileNotFoundError as exc:
        log.error("%s", exc)
        return 2
    finally:
        spark.stop()
    print(json.dumps(summary))  # one line: what the playbooks show
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
