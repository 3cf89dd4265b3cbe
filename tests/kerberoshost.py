"""What the tests of Hadoop's secure mode share: a command run as a user of a host with a ticket
of a keytab, or with no ticket at all (a refusal beside the same command allowed), and a web
request's status without a ticket. Without a realm in the inventory the commands run as they
are (no kinit)."""

from __future__ import annotations

from tests import inventory

HADOOP_ENV = ". /etc/profile.d/hadoop.sh && "
SPARK_ENV = f"{HADOOP_ENV}. /etc/profile.d/spark.sh && "
KEYTABS = "/etc/security/keytabs"
# A ticket cache that never exists: no ticket.
NO_TICKET = "FILE:/tmp/lab-test-no-ticket"
# Each Hadoop daemon's web server: lab-health's kind, its HTTPS port (secure mode) and its HTTP
# port (otherwise; secure mode closes it).
HADOOP_WEB = {
    "hadoop-namenode": ("namenode", 9871, 9870),
    "hadoop-datanode": ("datanode", 9865, 9864),
    "hadoop-resourcemanager": ("resourcemanager", 8090, 8088),
    "hadoop-nodemanager": ("nodemanager", 8044, 8042),
}


def secure() -> bool:
    """Whether the inventory turns Kerberos on (kerberos_realm, with it Hadoop's secure mode)."""
    return bool(inventory.hostvar(inventory.hosts("all")[0], "kerberos_realm", ""))


def fqdn(host) -> str:
    """The host's name: the host part of its principals (what Hadoop puts for _HOST), for which
    a client asks a ticket of HTTP/<name> (SPNEGO)."""
    return host.check_output("hostname --fqdn").lower()


def principal(host, service: str) -> str:
    """The host's principal of a service (nn, dn, rm, nm, HTTP, spark): service/<its name>@REALM."""
    realm = inventory.hostvar(host.backend.get_hostname(), "kerberos_realm")
    return f"{service}/{fqdn(host)}@{realm}"


def health_login(host, service: str) -> str:
    """lab-health's options for a web server that asks for a ticket (SPNEGO) in secure mode: the
    host's keytab of `service` and its principal; none without Kerberos."""
    return f"--keytab {keytab(service)} --principal {principal(host, service)}" if secure() else ""


def hadoop_healthy(host, unit: str) -> bool:
    """The Hadoop daemon's lab-health check as the role runs it: on its HTTP port, or in secure
    mode on its HTTPS port with a ticket of the host's HTTP/ keytab."""
    kind, https_port, http_port = HADOOP_WEB[unit]
    address = inventory.address(host.backend.get_hostname())
    port, https = (https_port, "--https ") if secure() else (http_port, "")
    check = f"/usr/local/bin/lab-health {https}{health_login(host, 'HTTP')}"
    return host.run(f"{check} {kind} {address}:{port}").rc == 0


def keytab(service: str) -> str:
    """The keytab of a service's principal on a host (nn, dn, rm, nm, HTTP, spark)."""
    return f"{KEYTABS}/{service}.service.keytab"


def run(host, user: str, command: str, tab: str | None = None, **options):
    """command (bash) as user on the host, at most `timeout` seconds (600), after `env` (the
    Hadoop commands' environment): after kinit from the keytab `tab` as `principal` (else the
    keytab's first principal), in a ticket cache of the user's own; without `tab`, with no
    ticket at all."""
    env, timeout = options.get("env", HADOOP_ENV), options.get("timeout", 600)
    cache, kinit = NO_TICKET, ""
    if tab:
        who = options.get("principal") or f'$(klist -k {tab} | awk "NR == 4 {{print \\$2}}")'
        cache, kinit = f"FILE:/tmp/lab-test-ticket-{user}", f'kinit -kt {tab} "{who}" && '
    # A refused Hadoop command may exit with 255, which testinfra takes for a lost SSH connection.
    script = f"{env}{kinit}{command} || exit 1"
    return host.run(f"sudo -u {user} env KRB5CCNAME={cache} timeout {timeout} bash -c '{script}'")


def as_service(host, user: str, service: str, command: str, **options):
    """command as user with a ticket of the host's keytab of `service` in secure mode (e.g.
    hdfs with the NameNode's, nn: HDFS's superuser), as it is without."""
    return run(host, user, command, keytab(service) if secure() else None, **options)


def as_hdfs(host, command: str, ticket: bool = True, **options):
    """command as hdfs, HDFS's superuser: with a ticket of the NameNode's keytab (on the
    NameNode's host), or with none."""
    return run(host, "hdfs", command, keytab("nn") if ticket else None, **options)


def http_code(host, method: str, url: str) -> str:
    """The status of a request without a ticket (curl on the host)."""
    curl = f"curl -sS -o /dev/null -w '%{{http_code}}' -X {method} '{url}'"
    return host.run(f"env KRB5CCNAME={NO_TICKET} {curl}").stdout
