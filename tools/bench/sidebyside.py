"""Two settings of the stack measured one after the other on the same fresh host, in one run.

What tools.bench.security and tools.bench.monitoring share: a host (`bench`, booted as
tools.bench.stack boots it, with inventories/local's settings) per mode, destroyed after it,
on the same dataset (ml-100k from the recbole wheel by default, as `make up`). For each mode:
the first converge of playbooks/site.yml and playbooks/pipeline_setup.yml, the resident memory
of every daemon, the end-to-end latency at --rate (a rating sent to Kafka with the pipeline's
login to its user's top-N in Cassandra, see tools.bench.pipeline) and jobs/produce.py's rate
into a scratch topic. The latency: once the stream has served a first rating, one run at the
rate that is not counted (the stream's first minutes after a converge are slower), then
--repeats runs; the figure is the median run's (by p99), every run is kept. Every load is
bounded; traffic goes to the test host only.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests import inventory
from tests.pipelinehost import cassandra_session
from tools.bench import common, pipeline, stack
from tools.testhost import machine


@dataclass
class Mode:
    """A setting of the stack: variables set on the host, groups of the inventory left empty."""

    host_vars: dict = field(default_factory=dict)
    empty_groups: tuple[str, ...] = ()


# A row of the side-by-side table: its label and how a mode's figures read in it.
Row = tuple[str, Callable[[dict], str]]


def arguments(description: str, default_address: str = "") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--rate", type=int, default=200, help="ratings per second of the latency run")
    p.add_argument("--seconds", type=float, default=20.0, help="length of the latency run")
    p.add_argument("--settle", type=float, default=60.0, help="wait for the last messages")
    p.add_argument("--warm-up", type=float, default=300.0, help="wait for the stream's first")
    p.add_argument("--repeats", type=int, default=3, help="latency runs measured per mode")
    p.add_argument("--producer-messages", type=int, default=50_000)
    p.add_argument("--host", default="bench", help="name of the host")
    p.add_argument("--ssh-port", type=int, default=2240, help="SSH port of the host")
    p.add_argument(
        "--address", default=default_address, help="the host's own address ('': this network)"
    )
    p.add_argument(
        "--password", help="the password of Cassandra's login movielens (default: the inventory's)"
    )
    p.add_argument("--dataset", default="ml-100k", help="movielens_dataset")
    p.add_argument("--source", default="recbole-wheel", help="movielens_dataset_source")
    return p


def command(module: str, args) -> str:
    """The command line that measures it again."""
    return (
        f".venv/bin/python -m {module} --rate {args.rate} --seconds {args.seconds:g} "
        f"--repeats {args.repeats} --producer-messages {args.producer_messages} "
        f"--dataset {args.dataset} "
        f"--source {args.source}"
    )


def warm_up(session, catalogue: list[int], seconds: float) -> float:
    """Send one rating at a time until the stream serves one (it starts with the converge and
    loads its model first); the seconds that took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        run = pipeline.latency_run(session, 1, 1, 30, catalogue)
        if run["served"]:
            return round(time.monotonic() - started, 1)
    sys.exit(f"bench: the stream served no rating within {seconds:g} s of the converge")


def latency_runs(session, catalogue: list[int], args) -> dict:
    """A run at the rate to warm the stream, then --repeats runs: the median one, and all."""
    pipeline.latency_run(session, args.rate, args.seconds, args.settle, catalogue)
    runs = [
        pipeline.latency_run(session, args.rate, args.seconds, args.settle, catalogue)
        for _ in range(args.repeats)
    ]
    ranked = sorted(runs, key=lambda run: (run["served"] < run["messages"], run["p99_s"] or 0))
    return {**ranked[len(ranked) // 2], "runs": runs}


def measure(name: str, mode: Mode, args) -> dict:
    """Boot the host, converge it in `mode`, then memory, latency and the producer's rate."""
    inst = machine.create(args.host, args.ssh_port, args.address)
    try:
        out = common.ROOT / "build" / "bench" / f"inventory-{name}"
        hosts = stack.inventory(inst, out, mode.host_vars, mode.empty_groups)
        inventory.select(out)
        dataset = (f"movielens_dataset={args.dataset}", f"movielens_dataset_source={args.source}")
        converge = stack.converge(hosts, f"{name}: first", dataset)
        with cassandra_session(password=args.password) as session:
            catalogue = pipeline.movies(args.host, args.dataset)
            first_served = warm_up(session, catalogue, args.warm_up)
            print(f"bench: {name}: the stream served its first rating after {first_served} s")
            latency = latency_runs(session, catalogue, args)
        memory = common.stack_memory_mib(args.host)
        produce = pipeline.producer(args.host, args.dataset, args.producer_messages)
        print(f"bench: {name}: producer {produce}", flush=True)
        return {
            "settings": {"host_vars": mode.host_vars, "empty_groups": list(mode.empty_groups)},
            "first_converge_s": converge["seconds"],
            "memory_mib_by_user": memory,
            "memory_mib_total": sum(memory.values()),
            "latency": latency,
            "producer": produce,
        }
    finally:
        machine.destroy(args.host, clean=False)


ROWS: list[Row] = [
    ("first converge (site + pipeline)", lambda m: f"{m['first_converge_s']} s"),
    ("memory of every daemon (resident)", lambda m: f"{m['memory_mib_total']} MiB"),
    ("ratings served", lambda m: f"{m['latency']['served']} of {m['latency']['messages']}"),
    (
        "latency p50 / p99 (median of the runs)",
        lambda m: f"{m['latency']['p50_s']} / {m['latency']['p99_s']} s",
    ),
    ("producer (jobs/produce.py)", lambda m: f"{m['producer']['per_second']} /s"),
]


def table(figures: dict[str, dict], rows: list[Row]) -> str:
    """Markdown: a row per figure, a column per mode."""
    lines = [
        "| what | " + " | ".join(figures) + " |",
        "| --- |" + " --- |" * len(figures),
    ]
    lines += [
        f"| {label} | " + " | ".join(cell(m) for m in figures.values()) + " |"
        for label, cell in rows
    ]
    return "\n".join(lines)


def run(
    name: str,
    modes: dict[str, Mode],
    args,
    derive: Callable[[dict[str, dict]], dict] = lambda figures: {},
) -> dict:
    """Measure every mode, add what `derive` works out from their figures, write them to
    docs/benchmarks/<name>.json, print the table."""
    if not stack.ANSIBLE_PLAYBOOK.exists():
        sys.exit("bench: run it with the project's .venv/bin/python (tools/bootstrap)")
    figures = {mode: measure(mode, settings, args) for mode, settings in modes.items()}
    derived = derive(figures)
    path = common.write(
        name,
        {
            "command": command(f"tools.bench.{name}", args),
            "dataset": args.dataset,
            "rate": args.rate,
            "playbooks": stack.PLAYBOOKS,
            **figures,
            **derived,
        },
    )
    print(table(figures, ROWS))
    print(f"bench: written to {path.relative_to(common.ROOT)}")
    return {**figures, **derived}
