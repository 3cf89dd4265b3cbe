"""How long the training job takes on MovieLens 100k, beside a baseline revision of the job,
both in the same run.

    .venv/bin/python -m tools.bench.training --data /tmp/ml-100k --baseline 2cf8c56 --repeats 2

The input (a MovieLens directory) is ingested once with ``jobs.ingest`` into Parquet, what the
pipeline trains from. Then ``python -m jobs.train`` runs on local Spark (``local[2]``) with
the code of ``--baseline`` (``git archive`` of its ``jobs/``) and with the working tree's,
alternating, ``--repeats`` times each, under the quality protocol of docs/pipeline.md (per
user a random 25 % held out, any held-out movie relevant, seed 42), so every run reports
quality too. Per run: the wall time of the whole program (its JVM's start included), the
job's own time from load to publish and each step's (its log's "... done in" lines), and
precision@10, NDCG@10 of the ranking model, RMSE of the rating model and of the stars (the
blend of ``jobs.reco.neighbours`` where the version has one). Prints progress and
a table, writes docs/benchmarks/training.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tools.bench import common

PROTOCOL = ["--split", "random", "--test-fraction", "0.25", "--relevance", "0", "--seed", "42"]
STEP = re.compile(r"INFO jobs\.train: (.+?) done in ([\d.]+)s")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO jobs\.train: ", re.MULTILINE)


def job_seconds(log: str) -> float:
    """From the job's first log line (its Spark session up) to its last (published)."""
    stamps = [datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f") for s in STAMP.findall(log)]
    return round((stamps[-1] - stamps[0]).total_seconds(), 1)


def ingest(data: str, work: Path) -> str:
    """``data`` ingested into Parquet under ``work``; returns the dataset's folder."""
    raw = work / "raw" / Path(data).name
    shutil.copytree(data, raw)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.ingest",
            "--input",
            str(raw),
            "--processed",
            str(work / "processed"),
            "--errors",
            str(work / "errors"),
            "--master",
            "local[2]",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=common.ROOT,
    ).stdout
    return str(work / "processed" / json.loads(out.strip().splitlines()[-1])["dataset"])


def train_once(code: Path, data: str, models: Path, extra: list[str]) -> dict:
    """One training run with the jobs of ``code``: times and quality."""
    argv = [
        sys.executable,
        "-m",
        "jobs.train",
        "--input",
        data,
        "--models",
        str(models),
        "--master",
        "local[2]",
        *PROTOCOL,
        *extra,
    ]
    env = {**os.environ, "PYTHONPATH": str(code)}
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, cwd=code, env=env, check=False)
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"bench: training failed:\n{result.stderr[-3000:]}")
    version = json.loads(result.stdout.strip().splitlines()[-1])["version"]
    report = json.loads((models / version / "metrics.json").read_text())
    rating = report.get("rating") or {}
    return {
        "wall_s": round(wall, 1),
        "job_s": job_seconds(result.stderr),
        "steps_s": {name: float(s) for name, s in STEP.findall(result.stderr)},
        "precision@10": round(report["als"]["precision@10"], 4),
        "ndcg@10": round(report["als"]["ndcg@10"], 4),
        "rmse": round(rating["model"]["rmse"], 4) if rating else None,
        # what the page shows: the blend's stars where the version has one
        "stars_rmse": round(rating.get("blend", rating["model"])["rmse"], 4) if rating else None,
    }


def summary(runs: list[dict]) -> dict:
    """Medians of a revision's runs, and each run."""

    def median(key):
        values = [r[key] for r in runs if r[key] is not None]
        return round(statistics.median(values), 4) if values else None

    keys = ("wall_s", "job_s", "precision@10", "ndcg@10", "rmse", "stars_rmse")
    return {**{k: median(k) for k in keys}, "runs": runs}


def table(figures: dict) -> str:
    names = list(figures["revisions"])
    rows = [
        ("training program, wall (JVM start included)", "wall_s", "{:.1f} s"),
        ("the job, load to publish", "job_s", "{:.1f} s"),
        ("precision@10 (ranking model)", "precision@10", "{:.4f}"),
        ("NDCG@10 (ranking model)", "ndcg@10", "{:.4f}"),
        ("RMSE (rating model)", "rmse", "{:.4f}"),
        ("RMSE of the stars (the blend, where there is one)", "stars_rmse", "{:.4f}"),
    ]
    lines = ["| what | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for label, key, fmt in rows:
        cells = [figures["revisions"][n][key] for n in names]
        lines.append(
            f"| {label} | " + " | ".join("-" if c is None else fmt.format(c) for c in cells) + " |"
        )
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="a MovieLens directory, e.g. ml-100k")
    p.add_argument("--baseline", required=True, help="git revision of the jobs to compare with")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--train-args", default="", help="more options for both, e.g. --no-rating")
    p.add_argument("--name", default="training", help="docs/benchmarks/<name>.json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    extra = args.train_args.split()
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        work = Path(tmp)
        codes = {
            f"baseline ({args.baseline})": common.jobs_code(args.baseline, work / "baseline"),
            "this tree": common.ROOT,
        }
        data = ingest(args.data, work)
        runs: dict[str, list[dict]] = {name: [] for name in codes}
        for i in range(1, args.repeats + 1):
            for j, (name, code) in enumerate(codes.items()):
                run = train_once(code, data, work / "models" / f"{j}-{i}", extra)
                runs[name].append(run)
                print(
                    f"run {i}/{args.repeats} {name}: {run['wall_s']} s wall, {run['job_s']} s "
                    f"job, P@10 {run['precision@10']}, NDCG@10 {run['ndcg@10']}, "
                    f"RMSE {run['rmse']}, of the stars {run['stars_rmse']}",
                    flush=True,
                )
    figures = {
        "command": "python -m tools.bench.training " + " ".join(argv or sys.argv[1:]),
        "data": args.data,
        "protocol": " ".join(PROTOCOL + extra),
        "revisions": {name: summary(r) for name, r in runs.items()},
    }
    print(table(figures))
    print(f"written {common.write(args.name, figures)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
