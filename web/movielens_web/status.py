"""The state of the stack in one look: service health, HDFS usage, consumer lag, the model.

Used by the status panel of the page and by ``movielens-status``. Every part is read on its
own and a failing part says why, so one service down never hides the state of the others.

- Services: the ``lab_health`` check of each service of the settings (see
  ``movielens_web.config``), in parallel; for Kafka also the ratings topic as the page's login
  sees it, for Cassandra the page's own session.
- HDFS: the NameNode's ``FSNamesystemState`` bean (capacity, live DataNodes, safe mode) and
  WebHDFS ``GETCONTENTSUMMARY`` of each pipeline folder. In Hadoop's secure mode (the settings'
  ``kerberos``) these and the Hadoop daemons' health are asked over HTTPS with a ticket of the
  page's keytab (SPNEGO); a part that is refused says so.
- Consumer lag: the streaming job keeps its Kafka offsets in its checkpoint, not in a
  consumer group; after each micro-batch it also records the next offset of each partition
  it processed in Cassandra (``streams.offsets``). The lag is what the topic's end offsets
  hold beyond those.
- Model: the version the stream serves (Cassandra ``streams``) beside the newest version
  folder under the models root in HDFS (WebHDFS ``LISTSTATUS``, which needs no DataNode).
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import lab_health
from movielens_web.config import Service, Settings
from movielens_web.data import Reader, StreamState, TopN, Unavailable

TIMEOUT = 4.0


@dataclass
class Health:
    name: str
    healthy: bool
    detail: str
    link: str = ""


@dataclass
class Status:
    services: list[Health] = field(default_factory=list)
    hdfs: dict[str, Any] = field(default_factory=dict)
    lag: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    recommendations: TopN | None = None
    recommendations_error: str = ""

    @property
    def healthy(self) -> bool:
        parts = (self.hdfs, self.lag, self.model)
        return all(s.healthy for s in self.services) and not any("error" in p for p in parts)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["healthy"] = self.healthy
        return json.loads(json.dumps(out, default=_jsonable))


def _jsonable(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def http_get(url: str, timeout: float = TIMEOUT) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (settings' URLs)
        return response.read()


# The checks of Hadoop's daemons, whose web servers serve HTTPS only in secure mode.
HADOOP_KINDS = frozenset({"namenode", "datanode", "resourcemanager", "nodemanager"})


def web_options(settings: Settings, kind: str) -> lab_health.Web | None:
    """How lab_health asks a daemon of that kind when Hadoop serves HTTPS (webhdfs an https
    URL, as in secure mode): a Hadoop daemon on HTTPS, any web server that asks for a ticket
    with one of the page's keytab (if the settings name one); None otherwise."""
    https = settings.webhdfs.startswith("https:")
    if not (settings.kerberos or https):
        return None
    return lab_health.Web(
        https=https and kind in HADOOP_KINDS,
        keytab=settings.kerberos_keytab or None,
        principal=settings.kerberos_principal or None,
    )


def hadoop_get(settings: Settings, url: str) -> bytes:
    """A NameNode URL's body: over HTTPS verified against the lab's CA, with a ticket of the
    page's keytab in secure mode."""
    web = web_options(settings, "namenode")
    if web is None:
        return http_get(url)
    return lab_health.get_url(url, web).encode()


def check_service(service: Service, reader: Reader | None, settings: Settings) -> Health:
    """The service's lab-health check; for Kafka and Cassandra also what the page relies on
    (the ratings topic, its own Cassandra session)."""
    web = web_options(settings, service.kind)
    healthy, detail = lab_health.check(service.kind, service.address, web)
    more = PAGE_CHECKS.get(service.kind)
    if healthy and more is not None:
        try:
            healthy, detail = more(reader, settings)
        except Unavailable as exc:
            healthy, detail = False, str(exc)
    return Health(service.name, healthy, detail, service.link)


def _session_answers(reader: Reader | None, _settings: Settings) -> tuple[bool, str]:
    if reader is None:
        return False, "no Cassandra session"
    return True, reader.ping()


def _consumer(settings: Settings):
    """A consumer with the page's login (which may describe the ratings topic, not read it)."""
    from kafka import KafkaConsumer  # noqa: PLC0415

    return KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap.split(","),
        request_timeout_ms=int(TIMEOUT * 1000) + 1000,
        **settings.kafka_client_options(),
    )


def _topic_exists(_reader: Reader | None, settings: Settings) -> tuple[bool, str]:
    from kafka.errors import KafkaError  # noqa: PLC0415

    bootstrap, topic = settings.kafka_bootstrap, settings.topic
    try:
        consumer = _consumer(settings)
    except KafkaError as exc:
        return False, f"no broker answers at {bootstrap}: {exc}"
    try:
        topics = consumer.topics()
    finally:
        consumer.close()
    # The page's login sees only the topics its ACLs let it describe.
    if topic not in topics:
        return False, f"answers, but topic {topic} does not exist (or the page may not see it)"
    return True, f"topic {topic} there for the page's login"


# What the page checks beyond a service's health.
PAGE_CHECKS = {
    "kafka": _topic_exists,
    "cassandra": _session_answers,
    "cassandra-plain": _session_answers,
}


def _why(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return _refusal(exc)
    reason = getattr(exc, "reason", None)
    if reason is not None:
        return str(reason)
    return str(exc) or type(exc).__name__


def _refusal(error: urllib.error.HTTPError) -> str:
    """What a web server's refusal says: a request for a ticket that the page cannot answer, or
    WebHDFS's exception (e.g. a folder the page's user may not read)."""
    if lab_health.asks_for_kerberos(error):
        return f"HTTP {error.code}: asks for a Kerberos ticket, and the page has no keytab"
    try:
        remote = json.loads(error.read())["RemoteException"]
        return f"HTTP {error.code}: {remote['exception']}: {remote['message'].splitlines()[0]}"
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return f"HTTP {error.code}: {error.reason}"


def webhdfs(settings: Settings, path: str, op: str) -> bytes:
    quoted = urllib.parse.quote(path)
    return hadoop_get(settings, f"{settings.webhdfs}/webhdfs/v1{quoted}?op={op}")


def hdfs_usage(settings: Settings) -> dict[str, Any]:
    bean_url = f"{settings.webhdfs}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState"
    beans = json.loads(hadoop_get(settings, bean_url))["beans"]
    if not beans:
        return {"error": "the NameNode has no FSNamesystemState bean"}
    bean = beans[0]
    usage: dict[str, Any] = {
        "capacity": bean["CapacityTotal"],
        "used": bean["CapacityUsed"],
        "remaining": bean["CapacityRemaining"],
        "live_datanodes": bean["NumLiveDataNodes"],
        "state": bean["FSState"],
        "dirs": {},
    }
    for path in settings.hdfs_dirs:
        try:
            summary = json.loads(webhdfs(settings, path, "GETCONTENTSUMMARY"))["ContentSummary"]
            usage["dirs"][path] = {"bytes": summary["length"], "files": summary["fileCount"]}
        except (OSError, ValueError, KeyError) as exc:
            usage["dirs"][path] = {"error": _why(exc)}
    return usage


VERSION = re.compile(r"^\d{8}T\d{6}Z$")


def newest_model(settings: Settings) -> str:
    """The newest version folder under the models root (a training may still be writing it)."""
    listing = json.loads(webhdfs(settings, settings.models, "LISTSTATUS"))
    names = [f["pathSuffix"] for f in listing["FileStatuses"]["FileStatus"]]
    versions = sorted(n for n in names if VERSION.match(n))
    return versions[-1] if versions else "none yet"


def end_offsets(settings: Settings) -> dict[int, int]:
    from kafka import TopicPartition  # noqa: PLC0415

    consumer = _consumer(settings)
    try:
        partitions = consumer.partitions_for_topic(settings.topic) or set()
        tps = [TopicPartition(settings.topic, p) for p in sorted(partitions)]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def consumer_lag(settings: Settings, state: StreamState | None) -> dict[str, Any]:
    from kafka.errors import KafkaError  # noqa: PLC0415

    try:
        ends = end_offsets(settings)
    except KafkaError as exc:
        return {"error": f"Kafka: {exc}"}
    done = state.offsets if state else {}
    lag = {p: max(0, end - done.get(p, 0)) for p, end in ends.items()}
    return {
        "topic": settings.topic,
        "messages": sum(ends.values()),
        "processed": sum(min(done.get(p, 0), end) for p, end in ends.items()),
        "lag": sum(lag.values()),
        "partitions": {str(p): lag[p] for p in sorted(lag)},
        "batch": state.last_batch_id if state else None,
    }


def model_versions(settings: Settings, state: StreamState | None) -> dict[str, Any]:
    out: dict[str, Any] = {"newest": newest_model(settings)}
    if state is None:
        out["error"] = f"the stream {settings.stream} has not started yet"
        return out
    out.update(
        serving=state.model_version,
        since=state.started_at,
        last_batch=state.last_batch_id,
        last_batch_at=state.last_batch_at,
        last_user=state.last_user_id,
    )
    return out


def _part(fn, *args) -> dict[str, Any]:
    try:
        return fn(*args)
    except Unavailable as exc:
        return {"error": str(exc)}
    except (OSError, ValueError, KeyError, http.client.HTTPException) as exc:
        return {"error": _why(exc)}


def collect(settings: Settings, reader: Reader | None, user_id: int | None = None) -> Status:
    """Everything the panel and the command show; ``user_id`` None: the stream's last user."""
    try:
        state, state_error = (reader.stream_state() if reader else None), ""
    except Unavailable as exc:
        state, state_error = None, str(exc)
    with ThreadPoolExecutor(max_workers=8) as pool:
        checks = [pool.submit(check_service, s, reader, settings) for s in settings.services]
        hdfs = pool.submit(_part, hdfs_usage, settings)
        lag = None if state_error else pool.submit(_part, consumer_lag, settings, state)
        model = None if state_error else pool.submit(_part, model_versions, settings, state)
        status = Status(
            services=[c.result() for c in checks],
            hdfs=hdfs.result(),
            lag=lag.result() if lag else {"error": state_error},
            model=model.result() if model else {"error": state_error},
        )
    status.user_id = user_id if user_id is not None else status.model.get("last_user")
    if status.user_id is not None and reader is not None:
        try:
            status.recommendations = reader.top_n(status.user_id)
        except Unavailable as exc:
            status.recommendations_error = str(exc)
    return status
