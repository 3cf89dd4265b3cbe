"""Benchmark: the streaming job's end-to-end latency, this version beside an earlier one and
beside the original project's scoring, on the same running stack in one run.

    make up
    .venv/bin/python -m tools.bench.stream --baseline c55e2fe [--rates 200,800,1000] [--rounds 3]
    python -m tools.bench.stream --variants now --now-triggers 0.5,0.25 --out stream-trigger

Each variant runs in turn as the only streaming query on the host (the service stopped, the
variant a unit of its own on a scratch checkpoint, from the topic's end; the service started
again after), and is measured at each rate of --rates for --seconds as `tools.bench.pipeline`
measures it: every message a rating by its own new user (a fold-in, a top-N and a write per
message, the worst case), from the moment it is handed to Kafka to its user's ``updated_at``
in ``reco.recommendations_by_user``. Before the rates, --warm-up seconds at the first rate
that are not counted (a streaming job's first minute is slower). A rate is sustained when
every message was served and p99 stayed within 3 s. With --rounds N the variants run N times
in turn (a busy two-core host moves a run's p99 by a second from one run to the next); each
rate's figures are then the medians of the rounds, each round kept in the JSON.

Variants:

* ``now``: the host's code with the service's own settings (--trigger-seconds as the role
  sets it), or ``now-<seconds>`` for each trigger interval of --now-triggers;
* ``baseline``: the jobs of the git revision --baseline (``git archive`` of jobs/, put on the
  host and run through ``movielens-job`` with ``MOVIELENS_CODE``) with --baseline-trigger;
* ``als-subset``: this version scoring with ``ALSModel.recommendForUserSubset`` per micro-batch,
  the original project's way (first rate only: it falls far behind above it).

Writes docs/benchmarks/stream.json and prints a table for docs/benchmarks.md. Every load is
bounded by the rates and seconds; traffic goes to the test host only.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from tests.pipelinehost import cassandra_session
from tools.bench import common, pipeline
from tools.testhost import machine

BASELINE_DIR = "/var/lib/movielens/bench-baseline"
VARIANTS = ("now", "baseline", "als-subset")  # what --variants chooses from


def install_baseline(host: str, revision: str) -> None:
    """Put ``revision``'s jobs/ and its jobs.zip into BASELINE_DIR on the test host."""
    inst = machine.load(host)
    if inst is None:
        raise SystemExit(f"bench: no test host named {host} (make up boots 'lab')")
    target = Path(inst.root) / BASELINE_DIR.lstrip("/")
    shutil.rmtree(target, ignore_errors=True)
    common.jobs_code(revision, target)
    shutil.make_archive(str(target / "jobs"), "zip", root_dir=target, base_dir="jobs")
    common.on_host(host, f"chmod -R a+rX {BASELINE_DIR}")


# The streaming job's line for each micro-batch, and its summary of recent ones (jobs.stream).
BATCH_LINE = re.compile(
    r"batch \d+: (\d+) valid, (\d+) invalid, \d+ users updated \(\d+ cold\) in (\d+) ms"
    r"(?: \(read from Kafka in (\d+) ms\))?"
)
PHASES_LINE = re.compile(r"recent micro-batches: (.*)")


def batches(host: str, name: str, since: float) -> dict:
    """What the variant's micro-batches did since ``since`` (epoch s), from its log: how many
    had input, their mean messages, the mean milliseconds of its own work on them (validation,
    Cassandra, fold-in: ``process_batch``) and of reading them from Kafka into Python (where
    the job logs it), and the last summary of Spark's phases."""
    log = common.on_host(
        host, f"journalctl -u movielens-bench-{name} --since @{since:.0f} -o cat", check=False
    )
    done = [
        (int(valid) + int(invalid), int(own), None if read == "" else int(read))
        for valid, invalid, own, read in BATCH_LINE.findall(log)
        if int(valid) + int(invalid)
    ]
    phases = PHASES_LINE.findall(log)
    reads = [read for _, _, read in done if read is not None]
    return {
        "batches": len(done),
        "mean_messages": mean([n for n, _, _ in done]),
        "mean_own_ms": mean([own for _, own, _ in done]),
        "mean_read_ms": mean(reads),
        "spark_phases": phases[-1] if phases else None,
    }


def mean(values: list) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


@dataclass
class Bench:
    """The run's settings, its Cassandra session and the movies its ratings are of."""

    args: argparse.Namespace
    session: object
    catalogue: list[int]

    def latency(self, rate: int, seconds: float) -> dict:
        args = self.args
        return pipeline.latency_run(self.session, rate, seconds, args.settle, self.catalogue)

    def measure(self, name: str, rates: list[int]) -> list[dict]:
        """The warm-up, then each rate; with each run, what its micro-batches did."""
        self.latency(rates[0], self.args.warm_up)
        runs = []
        for rate in rates:
            since = time.time()
            runs.append(
                self.latency(rate, self.args.seconds) | batches(self.args.host, name, since)
            )
            print(f"bench: {name} at {rate}/s: {runs[-1]}", flush=True)
        return runs

    def variant(self, name: str, options: str, env: str = "", rates=None) -> dict:
        """``measure`` with the streaming job run as ``name`` with ``options`` and ``env``."""
        host = self.args.host
        print(f"bench: {name}: {options} {env}".rstrip(), flush=True)
        try:
            pipeline.start_stream(host, name, f"{options} --progress-every 10", env)
            runs = self.measure(name, rates or self.args.rate_list)
        finally:
            pipeline.stop_stream(host, name)
        return {
            "options": options,
            "runs": runs,
            "highest_sustained_rate": pipeline.highest_sustained(runs),
        }


def combine(rounds: list[dict]) -> dict:
    """A variant's rounds as one result: at each rate the median p50 and p99 of its rounds and
    their messages and served added up, sustained when it was in every round; each round's own
    figures under ``rounds``."""
    by_rate: dict[int, list[dict]] = {}
    for result in rounds:
        for run in result["runs"]:
            by_rate.setdefault(run["rate"], []).append(run)
    runs = []
    for rate, done in by_rate.items():
        p50s = [r["p50_s"] for r in done if r["p50_s"] is not None]
        p99s = [r["p99_s"] for r in done if r["p99_s"] is not None]
        runs.append(
            {
                "rate": rate,
                "messages": sum(r["messages"] for r in done),
                "served": sum(r["served"] for r in done),
                "p50_s": round(statistics.median(p50s), 3) if p50s else None,
                "p99_s": round(statistics.median(p99s), 3) if p99s else None,
                "sustained": all(r["sustained"] for r in done),
            }
        )
    return {
        "options": rounds[0]["options"],
        "runs": runs,
        "highest_sustained_rate": pipeline.highest_sustained(runs),
        "rounds": rounds,
    }


def table(figures: dict) -> str:
    names = list(figures["variants"])
    lines = [
        "| rate | " + " | ".join(f"{n}: p50 / p99, served" for n in names) + " |",
        "| --- |" + " --- |" * len(names),
    ]
    for rate in figures["rates"]:
        cells = []
        for name in names:
            run = next((r for r in figures["variants"][name]["runs"] if r["rate"] == rate), None)
            cells.append(
                ""
                if run is None
                else f"{run['p50_s']} / {run['p99_s']} s, {run['served']} of {run['messages']}"
            )
        lines.append(f"| {rate}/s | " + " | ".join(cells) + " |")
    highest = [str(figures["variants"][n]["highest_sustained_rate"]) for n in names]
    lines.append("| highest sustained | " + " | ".join(highest) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="lab")
    p.add_argument("--dataset", default=pipeline.local_dataset())
    p.add_argument("--baseline", help="git revision of the earlier version (variant baseline)")
    p.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="which variants run, comma separated, of: %(default)s",
    )
    p.add_argument("--out", default="stream", help="docs/benchmarks/<out>.json")
    p.add_argument("--baseline-trigger", type=float, default=0.5)
    p.add_argument(
        "--now-triggers",
        default="",
        help="trigger intervals to run this version with, comma separated (default: the service's)",
    )
    p.add_argument("--rates", default="200,800,1000,1200")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warm-up", type=float, default=10.0)
    p.add_argument("--settle", type=float, default=60.0)
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the variants this many times in turn; the figures are the rounds' medians",
    )
    p.add_argument(
        "--password", help="the password of Cassandra's login movielens (default: the inventory's)"
    )
    args = p.parse_args(argv)
    rates = args.rate_list = [int(r) for r in args.rates.split(",")]
    wanted = args.variants.split(",")
    if unknown := set(wanted) - set(VARIANTS):
        p.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    if "baseline" in wanted and not args.baseline:
        p.error("the baseline variant needs --baseline REVISION")

    if "baseline" in wanted:
        install_baseline(args.host, args.baseline)
    triggers = [float(t) for t in args.now_triggers.split(",") if t]
    if not triggers:
        service = common.on_host(args.host, "systemctl show -p ExecStart --value movielens-stream")
        triggers = [float(service.split("--trigger-seconds")[1].split()[0])]
    catalogue = pipeline.movies(args.host, args.dataset)
    with cassandra_session(password=args.password) as session:
        bench = Bench(args, session, catalogue)
        # each kind of --variants: (key, (unit name, options, environment, rates or None))
        kinds = {
            "now": [
                (
                    f"now-{t:g}" if args.now_triggers else "now",
                    (f"now-{t:g}", f"--trigger-seconds {t:g}", "", None),
                )
                for t in triggers
            ],
            "baseline": [
                (
                    "baseline",
                    (
                        "baseline",
                        f"--trigger-seconds {args.baseline_trigger:g}",
                        f"MOVIELENS_CODE={BASELINE_DIR}",
                        None,
                    ),
                )
            ],
            "als-subset": [
                (
                    "als-subset",
                    ("als-subset", "--scorer als-subset --trigger-seconds 1", "", rates[:1]),
                )
            ],
        }
        variants = dict(pair for kind in wanted for pair in kinds[kind])
        rounds: dict[str, list[dict]] = {key: [] for key in variants}
        for number in range(1, args.rounds + 1):
            print(f"bench: round {number} of {args.rounds}", flush=True)
            for key, (name, options, env, only) in variants.items():
                rounds[key].append(bench.variant(name, options, env, only))
        figures = {key: combine(results) for key, results in rounds.items()}
    result = {
        "command": ".venv/bin/python -m tools.bench.stream"
        + (f" --baseline {args.baseline}" if args.baseline else "")
        + f" --variants {args.variants} --rates {args.rates} --seconds {args.seconds:g}"
        + f" --rounds {args.rounds}"
        + (f" --now-triggers {args.now_triggers}" if args.now_triggers else "")
        + (f" --out {args.out}" if args.out != "stream" else ""),
        "dataset": args.dataset,
        "baseline": args.baseline,
        "rates": rates,
        "variants": figures,
    }
    path = common.write(args.out, result)
    print(table(result))
    print(f"bench: written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
