"""Every log of a stack host stays within its cap (the roles' *_log_max_file_size and
*_log_max_backups, the common role's journal limits).

A real daemon's file log rolls over: the DataNode's loggers go to DEBUG through its /logLevel
servlet, requests to its web server fill the log until it has rolled over with every kept file
in place and once more, and then no file is larger than the cap (give or take the last line)
and no more files are kept than the limit; the levels go back to INFO. The journal, flooded
through `logger` with more than its cap, stays under it (journalctl --disk-usage).

The caps come from the files on the host (log4j.properties, journald's drop-in); the scenario
sets them small (molecule.yml), so that each test writes a few megabytes in seconds. Every loop
is bounded in count and time.
"""

from __future__ import annotations

import math
import re
import shlex
import xml.etree.ElementTree as ET

import pytest

from tests.kerberoshost import fqdn, keytab, principal, secure

testinfra_hosts = ["all"]

HADOOP_CONF = "/etc/hadoop"
HADOOP_LOG_DIR = "/var/log/hadoop"  # hadoop_log_dir
JOURNALD_DROP_IN = "/etc/systemd/journald.conf.d/lab.conf"
# Loggers the test raises: Hadoop's own and its web server's (every request logs at DEBUG).
DEBUG_LOGGERS = ("org.apache.hadoop", "org.eclipse.jetty")
# A rolled-over file may pass the cap by the line that crossed it.
LINE_SLACK = 256 * 1024
# The largest caps the tests fill in their time (the scenario's are far smaller).
MAX_FILE_CAP = 4 * 1024 * 1024
MAX_JOURNAL_CAP = 128 * 1024 * 1024
FILL_SECONDS = 120
UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3}


def size(text: str) -> int:
    """A log4j (64MB, 512KB) or journald (64M) size in bytes."""
    found = re.fullmatch(r"\s*(\d+)\s*([KMG])?B?\s*", text, re.IGNORECASE)
    assert found, f"not a size: {text!r}"
    return int(found.group(1)) * UNITS.get((found.group(2) or "").upper(), 1)


def properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


def site_property(host, name: str, key: str) -> str:
    root = ET.fromstring(host.file(f"{HADOOP_CONF}/{name}.xml").content_string)
    for prop in root.iter("property"):
        if prop.findtext("name") == key:
            return prop.findtext("value").strip()
    raise AssertionError(f"{key} is not in {name}.xml")


def datanode_web(host) -> tuple[str, str]:
    """curl as root with what the DataNode's web server asks, and the server's base URL: plain
    HTTP, or in secure mode HTTPS with SPNEGO and a ticket of the NameNode's keytab (HDFS's
    superuser, who may set log levels)."""
    if not secure():
        return "curl", f"http://{site_property(host, 'hdfs-site', 'dfs.datanode.http.address')}"
    cache = "FILE:/tmp/lab-test-logs-ticket"
    with host.sudo():
        kinit = host.run(f"env KRB5CCNAME={cache} kinit -kt {keytab('nn')} {principal(host, 'nn')}")
    assert kinit.rc == 0, kinit.stderr
    return f"env KRB5CCNAME={cache} curl --negotiate -u :", f"https://{fqdn(host)}:9865"


def set_levels(host, web: tuple[str, str], level: str) -> None:
    curl, base = web
    for logger in DEBUG_LOGGERS:
        url = f"{base}/logLevel?log={logger}&level={level}"
        with host.sudo():
            answer = host.run(f"{curl} -sf -o /dev/null {shlex.quote(url)}")
        assert answer.rc == 0, f"{url}: {answer.stderr}"


def test_datanode_log_rolls_over_and_keeps_its_cap(host):
    if not host.service("hadoop-datanode").is_running:
        pytest.skip("no DataNode on this host")
    config = properties(host.file(f"{HADOOP_CONF}/log4j.properties").content_string)
    cap = size(config["hadoop.log.maxfilesize"])
    kept = int(config["hadoop.log.maxbackupindex"])
    assert cap <= MAX_FILE_CAP and 1 <= kept <= 5, (
        f"a cap of {cap} bytes x {kept} files takes too long to fill: the scenario sets "
        "hadoop_log_max_file_size and hadoop_log_max_backups small"
    )
    with host.sudo():
        found = host.run(f"ls {HADOOP_LOG_DIR}/hadoop-hdfs-datanode-*.log")
    assert found.rc == 0 and len(found.stdout.split()) == 1, found.stdout + found.stderr
    log = found.stdout.strip()
    web = datanode_web(host)
    oldest = f"{log}.{kept}"
    # Requests until the oldest kept file exists, then until it is replaced (a roll-over with
    # every slot full): at least cap x (kept + 1) of log written.
    fill = f"""
        first=
        for i in $(seq 1 20000); do
          {web[0]} -s -o /dev/null {web[1]}/jmx
          if [ -e {oldest} ]; then
            inode=$(stat -c %i {oldest})
            [ -n "$first" ] || first=$inode
            if [ "$inode" != "$first" ]; then echo "$i requests"; exit 0; fi
          fi
        done
        exit 1
    """
    set_levels(host, web, "DEBUG")
    try:
        with host.sudo():
            filled = host.run(f"timeout {FILL_SECONDS} bash -c {shlex.quote(fill)}")
    finally:
        set_levels(host, web, "INFO")
    assert filled.rc == 0, (
        f"{log} did not roll over twice into {oldest} within 20000 requests and "
        f"{FILL_SECONDS}s (rc {filled.rc})"
    )
    with host.sudo():
        listing = host.run(f"stat -c '%n %s' {log} {log}.*")
    files = dict(line.rsplit(" ", 1) for line in listing.stdout.splitlines())
    assert sorted(files) == sorted([log] + [f"{log}.{i}" for i in range(1, kept + 1)]), (
        f"{kept} rolled-over files expected beside {log}: {sorted(files)}"
    )
    too_big = {name: int(n) for name, n in files.items() if int(n) > cap + LINE_SLACK}
    assert not too_big, f"files over the cap of {cap} bytes: {too_big}"


def test_journal_stays_under_its_cap(host):
    config = properties(host.file(JOURNALD_DROP_IN).content_string)
    cap = size(config["SystemMaxUse"])
    assert cap <= MAX_JOURNAL_CAP, (
        f"a journal cap of {cap} bytes takes too long to fill: the scenario sets "
        "common_journal_max_use small"
    )
    # Lines of random text (journald compresses what repeats), 1.5 x the cap in all, in as few
    # lines as logger takes: journald drops what one unit sends beyond 10,000 lines in 30 s.
    line = 6000
    lines = math.ceil(1.5 * cap / line)
    assert lines <= 30000, f"{lines} lines"
    flood = (
        f"head -c {lines * line * 3 // 4} /dev/urandom | base64 -w {line}"
        f" | logger --size {line + 100} -t lab-log-flood"
    )
    with host.sudo():
        flooded = host.run(f"timeout {FILL_SECONDS} bash -c {shlex.quote(flood)}")
        assert flooded.rc == 0, flooded.stderr
        host.run("journalctl --sync")
        usage = host.run("journalctl --disk-usage")
        kept = host.run("journalctl -q -t lab-log-flood -o cat | wc -l")
    assert usage.rc == 0, usage.stderr
    # The cap was reached: journald dropped the flood's first lines to stay under it.
    assert 0 < int(kept.stdout) < lines, f"{kept.stdout.strip()} of {lines} lines kept"
    found = re.search(r"take up ([\d.]+)([KMGT]?)\b", usage.stdout)
    assert found, usage.stdout
    used = float(found.group(1)) * UNITS.get(found.group(2), 1)
    assert used <= cap, f"the journal takes {used:.0f} bytes, over its cap of {cap}"
