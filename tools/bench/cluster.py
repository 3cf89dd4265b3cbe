"""Benchmark: the stack and the pipeline on three hosts beside one host, in one run.

    .venv/bin/python -m tools.bench.cluster [--rates 100,200,400,800] [--seconds 20]

With the mirror served as `make up` serves it. First one host (`bench`, booted as
tools.bench.stack boots it, with inventories/local's settings), then the three hosts of
inventories/cluster (booted as `make cluster-up` boots them), each layout in turn:

* first and second converge of playbooks/site.yml and playbooks/pipeline_setup.yml (the second
  must change nothing), both layouts on the same dataset (--dataset, --source: ml-100k from
  the recbole wheel by default, as `make up`);
* resident memory of the stack's processes on each host;
* end-to-end latency, from a rating entering Kafka to its user's top-N in Cassandra, at each
  rate of --rates (see tools.bench.pipeline), and the highest rate whose p99 stayed within 3 s.

A layout's hosts are destroyed before the next one boots (--keep leaves the cluster running).
Every load is bounded by --rates x --seconds; traffic goes to the test hosts only. Writes
docs/benchmarks/cluster.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests import inventory
from tests.pipelinehost import cassandra_session
from tools.bench import common, pipeline, stack
from tools.testhost import machine

CLUSTER_INVENTORY = common.ROOT / "inventories" / "cluster"


def measure(layout: Path, hosts: list[str], services: dict, args) -> dict:
    """Converge the layout twice, read its memory, then the pipeline's latency at each rate."""
    label = f"{len(hosts)} host(s)"
    dataset = (f"movielens_dataset={args.dataset}", f"movielens_dataset_source={args.source}")
    first = stack.converge(layout, f"{label}: first", dataset)
    second = stack.converge(layout, f"{label}: second", dataset)
    memory = {host: common.stack_memory_mib(host) for host in hosts}
    with cassandra_session(services["cassandra"], args.password) as session:
        catalogue = pipeline.movies(services["jobs"], args.dataset)
        latency = [
            pipeline.latency_run(
                session, rate, args.seconds, args.settle, catalogue, bootstrap=services["kafka"]
            )
            for rate in args.rates
        ]
    return {
        "hosts": hosts,
        "first_converge_s": first["seconds"],
        "second_converge_s": second["seconds"],
        "second_converge_changed_tasks": second["changed_tasks"],
        "memory_mib_by_host": memory,
        "memory_mib_total_by_host": {host: sum(m.values()) for host, m in memory.items()},
        "latency": latency,
        "highest_sustained_rate": pipeline.highest_sustained(latency),
    }


def one_host(args) -> dict:
    inst = machine.create(args.host, args.ssh_port)
    try:
        hosts = stack.inventory(inst, common.ROOT / "build" / "bench" / "inventory")
        inventory.select(hosts.parent)
        # The host shares this machine's network: its services answer on loopback.
        services = {"kafka": "127.0.0.1:9092", "cassandra": ["127.0.0.1"], "jobs": args.host}
        return measure(hosts, [args.host], services, args)
    finally:
        machine.destroy(args.host)


def three_hosts(args) -> dict:
    inventory.select(CLUSTER_INVENTORY)
    names = inventory.hosts("all")
    try:
        for name in names:
            machine.create(name, 22, inventory.address(name))
        services = {
            "kafka": inventory.kafka_bootstrap(),
            "cassandra": inventory.addresses("cassandra"),
            "jobs": inventory.hosts("movielens")[0],
        }
        return measure(CLUSTER_INVENTORY, names, services, args)
    finally:
        if not args.keep:
            for name in names:
                machine.destroy(name)


def table(one: dict, three: dict) -> str:
    """The two layouts side by side, as docs/benchmarks.md shows them."""
    rows = [
        ("first converge (site + pipeline)", "first_converge_s", "{} s"),
        ("second converge", "second_converge_s", "{} s"),
        ("tasks changed by the second converge", "second_converge_changed_tasks", "{}"),
        ("highest rate with p99 within 3 s", "highest_sustained_rate", "{} /s"),
    ]
    lines = ["| what | one host | three hosts |", "| --- | --- | --- |"]
    for label, key, fmt in rows:
        cells = [fmt.format(v) if v is not None else "none of them" for v in (one[key], three[key])]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    memory = [one["memory_mib_total_by_host"], three["memory_mib_total_by_host"]]
    lines.append(
        "| resident memory per host (MiB) | "
        + " | ".join(", ".join(f"{h} {m:.0f}" for h, m in per.items()) for per in memory)
        + " |"
    )
    for a, b in zip(one["latency"], three["latency"], strict=True):
        lines.append(
            f"| latency at {a['rate']}/s, p50 / p99 | {a['p50_s']} / {a['p99_s']} s "
            f"| {b['p50_s']} / {b['p99_s']} s |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rates", default="100,200,400,800", help="ratings per second, comma separated")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each rate's run")
    p.add_argument("--settle", type=float, default=60.0, help="wait for the last messages")
    p.add_argument("--host", default="bench", help="name of the single host")
    p.add_argument("--ssh-port", type=int, default=2240, help="SSH port of the single host")
    p.add_argument(
        "--password", help="the password of Cassandra's login movielens (default: the inventory's)"
    )
    p.add_argument("--keep", action="store_true", help="leave the three hosts running")
    p.add_argument("--dataset", default="ml-100k", help="movielens_dataset of both layouts")
    p.add_argument("--source", default="recbole-wheel", help="movielens_dataset_source of both")
    args = p.parse_args(argv)
    args.rates = [int(rate) for rate in args.rates.split(",")]
    if not stack.ANSIBLE_PLAYBOOK.exists():
        sys.exit("bench: run it with the project's .venv/bin/python (tools/bootstrap)")
    one = one_host(args)
    three = three_hosts(args)
    figures = {
        "command": ".venv/bin/python -m tools.bench.cluster "
        f"--rates {','.join(map(str, args.rates))} --seconds {args.seconds:g} "
        f"--dataset {args.dataset} --source {args.source}",
        "dataset": args.dataset,
        "playbooks": stack.PLAYBOOKS,
        "one_host": one,
        "three_hosts": three,
    }
    path = common.write("cluster", figures)
    print(table(one, three))
    print(f"bench: written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
