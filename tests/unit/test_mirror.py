"""The mirror builder's pure parts: coordinates, mvn output, deterministic tarballs, the catalog."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from tools.mirror import MirrorError, maven
from tools.mirror.__main__ import main
from tools.mirror.tarball import Entry, sha512, write

CATALOG = Path(__file__).parents[2] / "files/artifacts.yml"


def test_coordinates_parse_with_and_without_classifier():
    assert maven.parse_coordinate("g:a:1")["type"] == "jar"
    full = maven.parse_coordinate("org.apache.cassandra:apache-cassandra:5.0.4:bin:tar.gz")
    assert (full["classifier"], full["type"]) == ("bin", "tar.gz")
    with pytest.raises(MirrorError, match="not a Maven coordinate"):
        maven.parse_coordinate("just-a-name")


def test_pom_lists_every_coordinate():
    text = maven.pom(["a.b:c:1", "d.e:f:2:tests:jar"], excludes=["x:y"])
    assert text.count("<dependency>") == 2
    assert "<classifier>tests</classifier>" in text
    assert text.count("<exclusion>") == 2


def test_mvn_list_output_is_parsed():
    output = """
The following files have been resolved:
   org.slf4j:slf4j-api:jar:1.7.30:compile:/m2/org/slf4j/slf4j-api/1.7.30/slf4j-api-1.7.30.jar
   io.netty:netty-transport-native-epoll:jar:linux-x86_64:4.1.105.Final:runtime:/m2/n.jar
   junit:junit:jar:4.13:test:/m2/junit.jar
"""
    found = maven.parse_list(output)
    assert [a.coordinate for a in found] == [
        "io.netty:netty-transport-native-epoll:4.1.105.Final:linux-x86_64:jar",
        "org.slf4j:slf4j-api:1.7.30",
    ]


def test_tarballs_are_deterministic(tmp_path):
    entries = [Entry("bin/run", data=b"#!/bin/sh\n", mode=0o755), Entry("lib/a.jar", data=b"x")]
    first = write(tmp_path / "one.tgz", "demo-1", entries)
    second = write(tmp_path / "two.tgz", "demo-1", list(reversed(entries)))
    assert first == second == sha512(tmp_path / "one.tgz")
    with tarfile.open(tmp_path / "one.tgz") as tar:
        names = tar.getnames()
        assert names[0] == "demo-1"
        assert {"demo-1/bin", "demo-1/lib", "demo-1/bin/run"} <= set(names)
        run = tar.getmember("demo-1/bin/run")
        assert run.mode == 0o755 and run.uid == 0 and run.uname == "root"
    assert not list(tmp_path.glob(".*tmp"))


def test_duplicate_entries_are_refused(tmp_path):
    with pytest.raises(ValueError, match="duplicate"):
        write(tmp_path / "x.tgz", "x", [Entry("a", data=b"1"), Entry("a", data=b"2")])


def test_cli_reports_errors_without_a_traceback(tmp_path, capsys):
    assert main(["serve", "--dir", str(tmp_path)]) == 1
    assert "no manifest.json" in capsys.readouterr().err
    bad = tmp_path / "catalog.yml"
    bad.write_text("archives: [unclosed\n")
    assert main(["build", "--out", str(tmp_path / "m"), "--catalog", str(bad)]) == 1
    assert "cannot read the catalog" in capsys.readouterr().err


def test_cli_builds_a_component(tmp_path):
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(
        "archives:\n  zookeeper:\n    '3.8.4':\n"
        "      path: zookeeper/zookeeper-3.8.4/apache-zookeeper-3.8.4-bin.tar.gz\n"
        "      top_dir: apache-zookeeper-3.8.4-bin\n      sha512: ''\njars: []\n"
    )
    out = tmp_path / "mirror"
    args = ["build", "--out", str(out), "--catalog", str(catalog), "--cache", str(tmp_path / "c")]
    assert main(args) == 0
    tarball = out / "zookeeper/zookeeper-3.8.4/apache-zookeeper-3.8.4-bin.tar.gz"
    manifest = (out / "manifest.json").read_text()
    assert sha512(tarball) in manifest and "org.apache.zookeeper:zookeeper:3.8.4" in manifest
    assert Path(f"{tarball}.sha512").read_text().split() == [sha512(tarball), tarball.name]
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "apache-zookeeper-3.8.4-bin/bin/zkServer.sh" in names
    assert any(n.startswith("apache-zookeeper-3.8.4-bin/lib/zookeeper-3.8.4") for n in names)
