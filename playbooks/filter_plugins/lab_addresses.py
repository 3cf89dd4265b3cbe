"""Where the stack's services are: the one place that turns inventory hosts into addresses.

    {{ groups['kafka'] | lab_endpoints(hostvars, 'kafka') | join(',') }}   -> 10.0.0.11:9092,...
    {{ groups['hadoop_namenode'][0] | lab_address(hostvars) }}              -> 10.0.0.11
    {{ groups['cassandra'] | lab_addresses(hostvars, 'cassandra') }}        -> [10.0.0.11, ...]
    {{ inventory_hostname | lab_host_addresses(hostvars) }}                 -> [10.0.0.11, ...]
    {{ ['node1', '10.0.0.11'] | lab_subject_alt_names }}        -> [DNS:node1, IP:10.0.0.11]

A host's address for a service is the service's own address variable when the inventory sets
it (e.g. kafka_address), else the host's ansible_host, else its name. A service's
port is the host's port variable when the inventory sets it, else the owning role's default,
which SERVICES repeats for the roles that do not own it (a unit test keeps them equal).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from ansible.errors import AnsibleFilterError


class Service(NamedTuple):
    address_var: str | None
    port_var: str
    port: int


SERVICES: dict[str, Service] = {
    "zookeeper": Service("zookeeper_client_address", "zookeeper_client_port", 2181),
    "zookeeper_peer": Service("zookeeper_address", "zookeeper_peer_port", 2888),
    "kafka": Service("kafka_address", "kafka_port", 9092),
    "cassandra": Service("cassandra_listen_address", "cassandra_native_port", 9042),
    "namenode": Service(None, "hadoop_namenode_port", 9000),
    "spark_master": Service(None, "spark_master_port", 7077),
    # Web UIs and REST APIs.
    "namenode_http": Service(None, "hadoop_namenode_http_port", 9870),
    "resourcemanager_http": Service(None, "hadoop_resourcemanager_http_port", 8088),
    # The same in Hadoop's secure mode (HTTPS only).
    "namenode_https": Service(None, "hadoop_namenode_https_port", 9871),
    "resourcemanager_https": Service(None, "hadoop_resourcemanager_https_port", 8090),
    "spark_master_ui": Service(None, "spark_master_ui_port", 8080),
    "spark_history_ui": Service(None, "spark_history_ui_port", 18080),
    "jupyter": Service(None, "jupyter_port", 8888),
    "stream_ui": Service(None, "movielens_stream_ui_port", 4050),
    "spark_worker_ui": Service(None, "spark_worker_ui_port", 8081),
    "page": Service(None, "movielens_web_port", 8050),
    # Monitoring: Prometheus and Alertmanager on the monitoring host, the exporters on every host
    # (the node exporter, the JVM daemons' JMX exporter agents, the streaming job's figures).
    "prometheus": Service("monitoring_address", "monitoring_prometheus_port", 9090),
    "alertmanager": Service("monitoring_address", "monitoring_alertmanager_port", 9095),
    "node_exporter": Service("monitoring_address", "monitoring_node_exporter_port", 9100),
    "jmx_namenode": Service("monitoring_address", "monitoring_jmx_namenode_port", 9501),
    "jmx_datanode": Service("monitoring_address", "monitoring_jmx_datanode_port", 9502),
    "jmx_resourcemanager": Service(
        "monitoring_address", "monitoring_jmx_resourcemanager_port", 9503
    ),
    "jmx_nodemanager": Service("monitoring_address", "monitoring_jmx_nodemanager_port", 9504),
    "jmx_spark_master": Service("monitoring_address", "monitoring_jmx_spark_master_port", 9505),
    "jmx_spark_worker": Service("monitoring_address", "monitoring_jmx_spark_worker_port", 9506),
    "jmx_spark_history": Service("monitoring_address", "monitoring_jmx_spark_history_port", 9507),
    "jmx_zookeeper": Service("monitoring_address", "monitoring_jmx_zookeeper_port", 9508),
    "jmx_kafka": Service("monitoring_address", "monitoring_jmx_kafka_port", 9509),
    "jmx_cassandra": Service("monitoring_address", "monitoring_jmx_cassandra_port", 9510),
    "stream_metrics": Service(None, "movielens_stream_metrics_port", 9511),
}


def _vars(host: str, hostvars: Mapping) -> Mapping:
    """The host's variables; none for a name the inventory does not have (e.g. localhost)."""
    try:
        return hostvars[host]
    except KeyError:
        return {}


def _set(value) -> bool:
    return value is not None and str(value).strip() not in ("", "0.0.0.0")


def lab_address(host: str, hostvars: Mapping, service: str | None = None) -> str:
    """The address other hosts reach `host` on (for `service` when it has its own address)."""
    variables = _vars(host, hostvars)
    own = SERVICES[service].address_var if service in SERVICES else None
    for name in (own, "ansible_host"):
        if name and _set(variables.get(name)):
            return str(variables[name])
    return host


def lab_addresses(hosts: Iterable[str], hostvars: Mapping, service: str | None = None) -> list:
    if isinstance(hosts, str):
        hosts = [hosts]
    return [lab_address(host, hostvars, service) for host in hosts]


def lab_endpoints(hosts: Iterable[str], hostvars: Mapping, service: str) -> list:
    """address:port of the service on each host."""
    if service not in SERVICES:
        raise AnsibleFilterError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
    spec = SERVICES[service]
    if isinstance(hosts, str):
        hosts = [hosts]
    endpoints = []
    for host in hosts:
        port = _vars(host, hostvars).get(spec.port_var, spec.port)
        endpoints.append(f"{lab_address(host, hostvars, service)}:{port}")
    return endpoints


def lab_host_addresses(host: str, hostvars: Mapping) -> list:
    """Every address the inventory gives `host`: its ansible_host and each service address set
    on it (e.g. kafka_address), in that order, without repeats (none: an empty list)."""
    variables = _vars(host, hostvars)
    names = ["ansible_host"] + [s.address_var for s in SERVICES.values() if s.address_var]
    found: list[str] = []
    for name in names:
        value = variables.get(name)
        if _set(value) and str(value).strip() not in found:
            found.append(str(value).strip())
    return found


def lab_subject_alt_names(names: Iterable[str]) -> list:
    """subjectAltName entries of host names and addresses: IP:... for an address (IPv4 or
    IPv6), DNS:... (lower case) for a name; blanks and repeats are left out."""
    if isinstance(names, str):
        names = [names]
    entries: list[str] = []
    for name in names:
        text = str(name).strip().strip("[]")
        if not text:
            continue
        try:
            entry = f"IP:{ipaddress.ip_address(text)}"
        except ValueError:
            entry = f"DNS:{text.lower()}"
        if entry not in entries:
            entries.append(entry)
    return entries


class FilterModule:
    def filters(self):
        return {
            "lab_address": lab_address,
            "lab_addresses": lab_addresses,
            "lab_endpoints": lab_endpoints,
            "lab_host_addresses": lab_host_addresses,
            "lab_subject_alt_names": lab_subject_alt_names,
        }
