"""Maven coordinates, the throw-away POMs, mvn's output and its failures."""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tools.mirror import MirrorError, maven
from tools.mirror.__main__ import default_cache

NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def test_coordinates_parse_with_and_without_classifier():
    assert maven.parse_coordinate("g:a:1")["type"] == "jar"
    assert maven.parse_coordinate("g:a:1:pom")["type"] == "pom"
    full = maven.parse_coordinate("org.apache.cassandra:apache-cassandra:5.0.4:bin:tar.gz")
    assert (full["classifier"], full["type"]) == ("bin", "tar.gz")
    for bad in ("just-a-name", "g::1", "a:b:c:d:e:f"):
        with pytest.raises(MirrorError, match="not a Maven coordinate"):
            maven.parse_coordinate(bad)


def test_pom_is_valid_xml_with_exclusions_and_imported_management():
    text = maven.pom(
        ["a.b:c:1", "d.e:f:2:tests:jar", "g.h:managed"],
        excludes=("x:y",),
        managed_by=("org.apache.zookeeper:parent:3.8.4:pom",),
    )
    root = ElementTree.fromstring(text)
    deps = root.findall("m:dependencies/m:dependency", NS)
    assert len(deps) == 3
    assert deps[1].find("m:classifier", NS).text == "tests"
    assert deps[2].find("m:version", NS) is None
    assert len(root.findall(".//m:exclusion", NS)) == 3
    imported = root.find("m:dependencyManagement/m:dependencies/m:dependency", NS)
    assert imported.find("m:scope", NS).text == "import"
    assert imported.find("m:type", NS).text == "pom"


def test_artifact_coordinate_and_repository_path():
    jar = Path("/m2/netty-transport-native-epoll-4.1.105.Final-linux-x86_64.jar")
    native = maven.Artifact(
        "io.netty", "netty-transport-native-epoll", "4.1.105.Final", "jar", "linux-x86_64", jar
    )
    assert (
        native.coordinate == "io.netty:netty-transport-native-epoll:4.1.105.Final:linux-x86_64:jar"
    )
    assert native.repository_path == (
        "io/netty/netty-transport-native-epoll/4.1.105.Final/" + jar.name
    )
    assert native.key == "io.netty:netty-transport-native-epoll"


def test_mvn_list_output_is_parsed():
    output = """
The following files have been resolved:
   org.slf4j:slf4j-api:jar:1.7.30:compile:/m2/org/slf4j/slf4j-api/1.7.30/slf4j-api-1.7.30.jar
   io.netty:netty-transport-native-epoll:jar:linux-x86_64:4.1.105.Final:runtime:/m2/n.jar
   org.lz4:lz4-java:jar:1.8.0:compile:/m2/lz4-java-1.8.0.jar -- module org.lz4.java (auto)
   junit:junit:jar:4.13:test:/m2/junit.jar
"""
    found = maven.parse_list(output)
    assert [a.coordinate for a in found] == [
        "io.netty:netty-transport-native-epoll:4.1.105.Final:linux-x86_64:jar",
        "org.lz4:lz4-java:1.8.0",
        "org.slf4j:slf4j-api:1.7.30",
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "[ERROR] Failed to execute goal on project set0: Could not resolve dependencies for"
            " project movielens-lab.mirror:set0:pom:1: org.apache.spark:spark-examples_2.12:jar"
            ":3.5.1 was not found in https://repo.maven.apache.org/maven2 during a previous"
            " attempt. -> [Help 1]",
            "cannot fetch Maven artifact org.apache.spark:spark-examples_2.12:3.5.1: not found",
        ),
        (
            "[ERROR] Failed to execute goal on project set0: Could not resolve dependencies for"
            " project movielens-lab.mirror:set0:pom:1: Could not find artifact"
            " org.apache.cassandra:apache-cassandra:tar.gz:bin:5.0.4 in central",
            "cannot fetch Maven artifact org.apache.cassandra:apache-cassandra:5.0.4:bin:tar.gz:",
        ),
        (
            "[ERROR] Failed to execute goal on project set0: Could not transfer artifact"
            " org.example:x:pom:1 from/to central: Connect to repo failed",
            "cannot fetch Maven artifact org.example:x:1:pom: the Maven repository could not",
        ),
    ],
)
def test_failures_name_the_coordinate_on_one_line(line, expected):
    message = maven.failure(f"[INFO] ...\n{line}\n[ERROR] \n[ERROR] To see the full", ["g:a:1"])
    assert message.startswith(expected)
    assert "\n" not in message


@pytest.mark.skipif(shutil.which("mvn") is None, reason="needs mvn")
def test_real_mvn_names_a_bogus_coordinate():
    """Against the configured Maven repositories, with the mirror's own local repository (its
    plugins are there after a first build; otherwise mvn downloads them once)."""
    repository = default_cache() / "m2"
    if not repository.is_dir():
        pytest.skip("no mirror Maven repository yet (run a build first)")
    bogus = "org.example.movielens-lab:no-such-artifact:0.0.1"
    with pytest.raises(MirrorError) as err:
        maven.Maven(repository).resolve([bogus], transitive=False)
    message = str(err.value)
    assert message.startswith(f"cannot fetch Maven artifact {bogus}")
    assert "\n" not in message
