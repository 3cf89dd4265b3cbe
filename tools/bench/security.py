"""Benchmark: what secure mode costs, secure beside insecure on one host, in one run.

    .venv/bin/python -m tools.bench.security [--rate 200] [--seconds 20]

With the mirror served as `make up` serves it. One host (`bench`, booted as tools.bench.stack
boots it, with inventories/local's settings) twice, destroyed in between, on the same dataset
(--dataset, --source: ml-100k from the recbole wheel by default, as `make up`):

* secure: the roles' defaults (Kafka with SASL SCRAM-SHA-512 over TLS and ACLs, Cassandra with
  TLS on both ports);
* insecure: the same host with `kafka_security: plaintext` and `cassandra_tls: false`.

For each: the first converge of playbooks/site.yml and playbooks/pipeline_setup.yml; the
end-to-end latency at --rate (a rating sent to Kafka with the pipeline's login to its user's
top-N in Cassandra, see tools.bench.pipeline); jobs/produce.py's rate into a scratch topic
(--producer-messages). Every load is bounded; traffic goes to the test host only. Writes
docs/benchmarks/security.json.
"""

from __future__ import annotations

import argparse
import sys

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster

from tests import inventory
from tools.bench import common, pipeline, stack
from tools.testhost import machine

MODES = {
    "secure": {},
    "insecure": {"kafka_security": "plaintext", "cassandra_tls": False},
}


def measure(mode: str, args) -> dict:
    """Boot the host, converge it in `mode`, then the latency and the producer's rate."""
    inst = machine.create(args.host, args.ssh_port)
    try:
        out = common.ROOT / "build" / "bench" / f"inventory-{mode}"
        hosts = stack.inventory(inst, out, MODES[mode])
        inventory.select(out)
        dataset = (f"movielens_dataset={args.dataset}", f"movielens_dataset_source={args.source}")
        converge = stack.converge(hosts, f"{mode}: first", dataset)
        cassandra = Cluster(
            ["127.0.0.1"],
            auth_provider=PlainTextAuthProvider("movielens", args.password),
            ssl_context=inventory.cassandra_ssl_context(),
        )
        try:
            session = cassandra.connect("reco")
            catalogue = pipeline.movies(args.host, args.dataset)
            latency = pipeline.latency_run(session, args.rate, args.seconds, args.settle, catalogue)
        finally:
            cassandra.shutdown()
        produce = pipeline.producer(args.host, args.dataset, args.producer_messages)
        print(f"bench: {mode}: producer {produce}", flush=True)
        return {
            "settings": MODES[mode],
            "first_converge_s": converge["seconds"],
            "latency": latency,
            "producer": produce,
        }
    finally:
        machine.destroy(args.host)


def table(secure: dict, insecure: dict, rate: int) -> str:
    rows = [
        ("first converge (site + pipeline)", lambda m: f"{m['first_converge_s']} s"),
        (
            f"latency at {rate}/s, p50 / p99",
            lambda m: f"{m['latency']['p50_s']} / {m['latency']['p99_s']} s",
        ),
        ("ratings served", lambda m: f"{m['latency']['served']} of {m['latency']['messages']}"),
        ("producer (jobs/produce.py)", lambda m: f"{m['producer']['per_second']} /s"),
    ]
    lines = ["| what | secure | insecure |", "| --- | --- | --- |"]
    lines += [f"| {label} | {cell(secure)} | {cell(insecure)} |" for label, cell in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=int, default=200, help="ratings per second of the latency run")
    p.add_argument("--seconds", type=float, default=20.0, help="length of the latency run")
    p.add_argument("--settle", type=float, default=60.0, help="wait for the last messages")
    p.add_argument("--producer-messages", type=int, default=50_000)
    p.add_argument("--host", default="bench", help="name of the host")
    p.add_argument("--ssh-port", type=int, default=2240, help="SSH port of the host")
    p.add_argument("--password", default="lab-movielens-secret", help="Cassandra login movielens")
    p.add_argument("--dataset", default="ml-100k", help="movielens_dataset")
    p.add_argument("--source", default="recbole-wheel", help="movielens_dataset_source")
    args = p.parse_args(argv)
    if not stack.ANSIBLE_PLAYBOOK.exists():
        sys.exit("bench: run it with the project's .venv/bin/python (tools/bootstrap)")
    figures = {mode: measure(mode, args) for mode in MODES}
    common.write(
        "security",
        {
            "command": ".venv/bin/python -m tools.bench.security "
            f"--rate {args.rate} --seconds {args.seconds:g} "
            f"--producer-messages {args.producer_messages} "
            f"--dataset {args.dataset} --source {args.source}",
            "dataset": args.dataset,
            "playbooks": stack.PLAYBOOKS,
            **figures,
        },
    )
    print(table(figures["secure"], figures["insecure"], args.rate))
    print("bench: written to docs/benchmarks/security.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
