"""The common role and the archive install on a real Debian 12 host."""

import pytest


def test_java_17_runtime(host):
    result = host.run("java -version")
    assert result.rc == 0
    assert 'version "17' in result.stderr
    assert host.file("/etc/profile.d/java.sh").contains("JAVA_HOME=/usr/lib/jvm/java-17")


@pytest.mark.parametrize("name", ["hdfs", "yarn", "spark", "zookeeper", "kafka", "cassandra"])
def test_service_users(host, name):
    user = host.user(name)
    assert user.exists
    assert user.shell == "/usr/sbin/nologin"
    assert user.group == "lab"


def test_limits_apply_to_service_sessions(host):
    limits = host.file("/etc/security/limits.d/90-lab-services.conf")
    assert limits.contains(r"^kafka  *-  *nofile  *20000$")
    with host.sudo():
        result = host.run("su -s /bin/bash -c 'ulimit -n' kafka")
    assert result.stdout.strip() == "20000"


def test_archive_installed_behind_symlink(host):
    link = host.file("/opt/zookeeper")
    assert link.is_symlink
    target = host.file(link.linked_to)
    assert target.is_directory
    assert target.user == "zookeeper"
    assert host.file(f"{link.linked_to}/.apache-archive.sha512").content_string.strip()
    assert host.file("/opt/zookeeper/lib").is_directory


def test_no_staging_left_behind(host):
    leftovers = host.run("find /opt -maxdepth 1 -name '.*'").stdout.split()
    assert leftovers == []
