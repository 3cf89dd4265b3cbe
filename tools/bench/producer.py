"""Benchmark: the producer's own rate with librdkafka beside kafka-python, same ratings, same
broker, one run.

    .venv/bin/python -m tools.bench.producer [--messages 50000] [--repeats 5]

It starts a throwaway single-node Kafka of its own (KRaft, from the mirror's Kafka tarball in
build/mirror, `make build`) on loopback: PLAINTEXT on --port (19092), SASL_SSL with
SCRAM-SHA-512 on the next port (a throwaway CA and broker certificate for 127.0.0.1, made with
openssl), its controller on the one after; a heap of 512 MiB, its data in a temporary directory
under /tmp, stopped and removed at the end.

The ratings are MovieLens 100k from the recbole wheel of the mirror (`--data DIR` for another
MovieLens directory, e.g. one of jobs.movielens.synthetic). Each run is jobs.produce.replay()
at --rate 0 into a fresh topic of 3 partitions with one of two clients:

* librdkafka: confluent-kafka's Producer with the settings jobs/produce.py uses
  (produce.settings());
* kafka-python: its KafkaProducer with the settings jobs/produce.py had before (acks=all,
  idempotent, 5 requests in flight, linger 50 ms, 256 KiB batches), through a thin adapter that
  gives it produce(), poll() and flush(), so both go through the same loop and messages.

The figure is replay()'s own count (from its start, the client just made, to the last
acknowledgement: the `done:` line of `movielens-job produce`). The clients alternate, --repeats
runs each per protocol, the median run counts; before them, one short run of each that is not
counted (a fresh broker's first producers wait for its coordinators to load). A run of the
loop with no client at all gives its own ceiling (reading, parsing, making the messages).
After each run the topic's end offsets must add up to the messages sent, and all the topics
must hold the same count in each partition (the same key-to-partition map). Writes
docs/benchmarks/producer.json; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import socket
import statistics
import subprocess
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import yaml

from jobs import produce
from jobs.kafka_security import KafkaSecurity
from tools.bench import common

MIRROR = common.ROOT / "build" / "mirror"
KAFKA_TARBALL = "kafka/3.6.1/kafka_2.13-3.6.1.tgz"
PARTITIONS = 3
USER, PASSWORD = "bench", "bench-throwaway-password"
# kafka-python's settings of jobs/produce.py before it moved to librdkafka (the baseline).
KAFKA_PYTHON_SETTINGS = {
    "acks": "all",
    "enable_idempotence": True,
    "max_in_flight_requests_per_connection": 5,
    "linger_ms": 50,
    "batch_size": 256 * 1024,
}


class KafkaPythonProducer:
    """kafka-python's KafkaProducer with confluent-kafka's interface (what replay() calls)."""

    def __init__(self, config: dict) -> None:
        from kafka import KafkaProducer  # noqa: PLC0415

        self.producer = KafkaProducer(**config)

    def produce(self, topic, value=None, key=None, on_delivery=None):
        future = self.producer.send(topic, key=key, value=value)
        future.add_errback(lambda exc: on_delivery(exc, None))

    def poll(self, timeout=None) -> int:
        return 0  # kafka-python's callbacks run on its own thread

    def flush(self, timeout=None) -> int:
        self.producer.flush(timeout)
        return 0

    def close(self) -> None:
        self.producer.close()


class NoProducer:
    """No client at all: the replay loop's own ceiling (reading, parsing, messages)."""

    def produce(self, topic, value=None, key=None, on_delivery=None):
        pass

    def poll(self, timeout=None) -> int:
        return 0

    def flush(self, timeout=None) -> int:
        return 0

    def close(self) -> None:
        pass


class LibrdkafkaProducer:
    """confluent-kafka's Producer as jobs/produce.py makes it."""

    def __init__(self, config: dict) -> None:
        from confluent_kafka import Producer  # noqa: PLC0415

        self.producer = Producer(config)

    def __getattr__(self, name):
        return getattr(self.producer, name)

    def close(self) -> None:
        pass  # flushed by replay(); librdkafka's handle goes with the object


def run(command: list[str], **kwargs) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)}\n{result.stdout[-2000:]}{result.stderr}")
    return result.stdout


def make_tls(work: Path) -> Path:
    """A throwaway CA and a broker certificate for 127.0.0.1; the broker's PEM key store."""
    tls = work / "tls"
    tls.mkdir()
    key = ["-newkey", "rsa:2048", "-nodes"]
    run(["openssl", "req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
         "-subj", "/CN=bench CA"], cwd=tls)  # fmt: skip
    run(["openssl", "req", *key, "-keyout", "broker.key", "-out", "broker.csr",
         "-subj", "/CN=bench broker"], cwd=tls)  # fmt: skip
    (tls / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run(["openssl", "x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "broker.crt", "-days", "2", "-extfile", "san.ext"],
        cwd=tls)  # fmt: skip
    store = tls / "broker.pem"
    store.write_text((tls / "broker.key").read_text() + (tls / "broker.crt").read_text())
    return tls


class Broker:
    """A single-node KRaft broker on loopback, its files under a temporary directory."""

    def __init__(self, port: int) -> None:
        self.plain, self.secure, self.controller = port, port + 1, port + 2
        self.work = Path(tempfile.mkdtemp(prefix="bench-producer-", dir="/tmp"))
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> None:
        for port in (self.plain, self.secure, self.controller):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    raise SystemExit(f"bench: port {port} is taken; pass another --port")
        with tarfile.open(MIRROR / KAFKA_TARBALL) as tar:
            tar.extractall(self.work, filter="data")
        home = next(self.work.glob("kafka_*"))
        self.tls = make_tls(self.work)
        config = self.work / "server.properties"
        config.write_text(self.properties())
        env = {
            **os.environ,
            "KAFKA_HEAP_OPTS": "-Xmx512m -Xms512m",
            "KAFKA_JMX_OPTS": "-Djava.awt.headless=true",  # no JMX agent
            "LOG_DIR": str(self.work / "logs"),
        }
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        scram = f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]"
        run([str(home / "bin/kafka-storage.sh"), "format", "-t", cluster_id, "-c", str(config)]
            + ["--add-scram", scram], env=env)  # fmt: skip
        with open(self.work / "broker.out", "wb") as out:
            self.process = subprocess.Popen(
                [str(home / "bin/kafka-server-start.sh"), str(config)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: the broker stopped; see {self.work}/broker.out")
            try:
                self.admin().close()
                return
            except Exception:  # noqa: BLE001 (not up yet)
                time.sleep(1)
        raise SystemExit(f"bench: the broker did not answer within {timeout:.0f} s")

    def properties(self) -> str:
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.plain},"
                f"SASL_SSL://127.0.0.1:{self.secure},CONTROLLER://127.0.0.1:{self.controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.plain},"
                f"SASL_SSL://127.0.0.1:{self.secure}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
                "SASL_SSL:SASL_SSL",
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "ssl.keystore.type=PEM",
                f"ssl.keystore.location={self.tls / 'broker.pem'}",
                f"log.dirs={self.work / 'data'}",
                f"num.partitions={PARTITIONS}",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "",
            ]
        )

    def admin(self):
        from kafka.admin import KafkaAdminClient  # noqa: PLC0415

        return KafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{self.plain}", request_timeout_ms=5000
        )

    def security(self, protocol: str) -> tuple[str, KafkaSecurity]:
        """The bootstrap address and the clients' settings of a listener."""
        if protocol == "PLAINTEXT":
            return f"127.0.0.1:{self.plain}", KafkaSecurity(protocol="PLAINTEXT")
        return f"127.0.0.1:{self.secure}", KafkaSecurity(
            protocol="SASL_SSL", username=USER, password=PASSWORD, cafile=str(self.tls / "ca.crt")
        )

    def create_topic(self, name: str) -> None:
        from kafka.admin import NewTopic  # noqa: PLC0415

        admin = self.admin()
        try:
            admin.create_topics([NewTopic(name, PARTITIONS, 1)])
        finally:
            admin.close()

    def end_offsets(self, topic: str) -> list[int]:
        from kafka import KafkaConsumer, TopicPartition  # noqa: PLC0415

        consumer = KafkaConsumer(bootstrap_servers=f"127.0.0.1:{self.plain}")
        try:
            parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            offsets = consumer.end_offsets(parts)
            return [offsets[tp] for tp in parts]
        finally:
            consumer.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.work, ignore_errors=True)


def client(name: str, bootstrap: str, security: KafkaSecurity):
    if name == "no client":
        return NoProducer()
    if name == "kafka-python":
        return KafkaPythonProducer(
            {"bootstrap_servers": [bootstrap], **security.kafka_python(), **KAFKA_PYTHON_SETTINGS}
        )
    produce_args = argparse.Namespace(bootstrap=bootstrap, delivery_timeout=120.0)
    return LibrdkafkaProducer(produce.settings(produce_args, security))


def one_run(broker: Broker, data: str, name: str, protocol: str, *, index: int, messages: int):
    topic = f"bench-{name}-{protocol.lower()}-{index}".replace("_", "-").replace(" ", "-")
    if name != "no client":
        broker.create_topic(topic)
    bootstrap, security = broker.security(protocol)
    args = produce.parse_args(
        ["--input", data, "--topic", topic, "--rate", "0", "--limit", str(messages)]
        + ["--progress-every", "3600", "--delivery-timeout", "60"]
    )  # fmt: skip
    producer = client(name, bootstrap, security)
    try:
        progress = produce.replay(args, producer)
        seconds = time.monotonic() - progress.started  # as replay()'s done: line counts
    finally:
        producer.close()
    offsets = broker.end_offsets(topic) if name != "no client" else [0] * PARTITIONS
    return {
        "client": name,
        "protocol": protocol,
        "index": index,
        "topic": topic,
        "sent": progress.sent,
        "errors": progress.errors,
        "seconds": round(seconds, 3),
        "per_second": round(progress.sent / seconds),
        "in_topic": sum(offsets),
        "per_partition": offsets,
    }


def ratings(args: argparse.Namespace) -> str:
    if args.data:
        return args.data
    from jobs.movielens import recbole  # noqa: PLC0415

    catalog = yaml.safe_load((common.ROOT / "files" / "artifacts.yml").read_text())
    entry = catalog["datasets"]["recbole-wheel"]
    out = Path(tempfile.mkdtemp(prefix="bench-producer-data-", dir="/tmp"))
    recbole.convert(str(MIRROR / "pypi" / entry["path"]), str(out), entry["sha256"])
    return str(out)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=50_000, help="per run (as tools.bench.pipeline)")
    p.add_argument("--repeats", type=int, default=5, help="runs per client and protocol")
    p.add_argument("--port", type=int, default=19092, help="first of the broker's three ports")
    p.add_argument("--protocols", default="PLAINTEXT,SASL_SSL")
    p.add_argument("--data", help="a MovieLens directory (default: ml-100k of the mirror)")
    return p


CLIENTS = ("kafka-python", "librdkafka")
LOOP = "no client"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    protocols = args.protocols.split(",")
    data = ratings(args)
    broker = Broker(args.port)
    runs: list[dict] = []
    load = {"before": os.getloadavg()[0]}
    try:
        broker.start()
        print(f"bench: broker up on 127.0.0.1:{broker.plain}/{broker.secure}", flush=True)
        # Not counted: a fresh broker's first producers wait for its coordinators to load.
        for name, protocol in [(n, p) for p in protocols for n in CLIENTS]:
            one_run(broker, data, name, protocol, index=-1, messages=min(1000, args.messages))
        for index in range(args.repeats):
            order = CLIENTS if index % 2 == 0 else CLIENTS[::-1]
            plan = [(LOOP, "-")] + [(name, proto) for proto in protocols for name in order]
            for name, protocol in plan:
                result = one_run(broker, data, name, protocol, index=index, messages=args.messages)
                print(f"bench: {result}", flush=True)
                runs.append(result)
    finally:
        broker.stop()
        if not args.data:
            shutil.rmtree(data, ignore_errors=True)
    load["after"] = os.getloadavg()[0]
    return report(args, protocols, runs, load)


def report(args: argparse.Namespace, protocols: list[str], runs: list[dict], load: dict) -> int:
    problems = [
        f"{r['topic']}: {r['sent']} sent, {r['errors']} failed, {r['in_topic']} in the topic"
        for r in runs
        if r["client"] != LOOP and (r["errors"] or r["in_topic"] != r["sent"])
    ]
    medians = {}
    for name, protocol in [(LOOP, "-")] + [(n, p) for p in protocols for n in CLIENTS]:
        rates = [r["per_second"] for r in runs if (r["client"], r["protocol"]) == (name, protocol)]
        medians.setdefault(name, {})[protocol] = round(statistics.median(rates))
    # librdkafka's rate over kafka-python's in the same round (seconds apart: the same load).
    rate = {(r["client"], r["protocol"], r["index"]): r["per_second"] for r in runs}
    ratios = {
        protocol: sorted(
            round(rate["librdkafka", protocol, i] / rate["kafka-python", protocol, i], 2)
            for i in range(args.repeats)
        )
        for protocol in protocols
    }
    partitions = {tuple(r["per_partition"]) for r in runs if r["client"] != LOOP}
    if len(partitions) != 1:
        problems.append(f"the topics differ in messages per partition: {sorted(partitions)}")
    path = common.write(
        "producer",
        {
            "command": "python -m tools.bench.producer " + " ".join(argv_of(args)),
            "messages_per_run": args.messages,
            "per_second_median": medians,
            "librdkafka_over_kafka_python_per_round": ratios,
            "same_partitions_for_both_clients": len(partitions) == 1,
            "load_average": load,
            "problems": problems,
            "runs": runs,
        },
    )
    print("| client | " + " | ".join(protocols) + " |")
    print("| --- |" + " --- |" * len(protocols))
    for name in CLIENTS:
        print(f"| {name} | " + " | ".join(f"{medians[name][p]} /s" for p in protocols) + " |")
    print(
        "| librdkafka / kafka-python, each round | "
        + " | ".join(", ".join(map(str, ratios[p])) for p in protocols)
        + " |"
    )
    print(f"| {LOOP} (the loop alone) | {medians[LOOP]['-']} /s |")
    for problem in problems:
        print(f"bench: problem: {problem}")
    print(f"bench: wrote {path}")
    return 1 if problems else 0


def argv_of(args: argparse.Namespace) -> list[str]:
    return [f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None]


if __name__ == "__main__":
    raise SystemExit(main())
