"""The .sha512 files and manifest.json."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from tools.mirror import GENERATED, MirrorError, manifest
from tools.mirror.maven import Artifact


def test_sha512_file_is_what_sha512sum_checks(tmp_path):
    target = tmp_path / "pkg-1.tar.gz"
    target.write_bytes(b"payload")
    checksum = hashlib.sha512(b"payload").hexdigest()
    written = manifest.write_sha512(target, checksum.upper())
    assert written.name == "pkg-1.tar.gz.sha512"
    assert written.read_text() == f"{checksum}  pkg-1.tar.gz\n"
    check = subprocess.run(
        ["sha512sum", "-c", written.name], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def artifact(tmp_path, published: str | None = None) -> Artifact:
    jar = tmp_path / "a-1.jar"
    jar.write_bytes(b"jar bytes")
    if published is not None:
        (tmp_path / "a-1.jar.sha1").write_text(published)
    return Artifact("org.example", "a", "1", "jar", "", jar)


def test_maven_part_uses_the_published_sha1_or_the_file(tmp_path):
    computed = hashlib.sha1(b"jar bytes").hexdigest()  # noqa: S324
    assert manifest.maven_part(artifact(tmp_path), "lib/a-1.jar") == {
        "path": "lib/a-1.jar",
        "maven": "org.example:a:1",
        "sha1": computed,
    }
    published = "ab" * 20
    part = manifest.maven_part(artifact(tmp_path, f"{published.upper()}  a-1.jar\n"), "x")
    assert part["sha1"] == published


def test_record_lists_path_checksum_size_top_dir_and_sorted_parts():
    parts = [
        manifest.generated_part("bin/b"),
        manifest.pypi_part("python/", "pyspark-3.5.1.tar.gz", "0" * 64),
    ]
    record = manifest.record("x/x-1.tgz", "f" * 128, 42, parts, top_dir="x-1")
    assert list(record) == ["path", "sha512", "size", "top_dir", "parts"]
    assert [p["path"] for p in record["parts"]] == ["bin/b", "python/"]
    assert record["parts"][0]["source"] == GENERATED
    assert "top_dir" not in manifest.record("maven2/a.jar", "f" * 128, 1, [])


def test_manifest_round_trip_is_sorted_and_atomic(tmp_path):
    files = {
        "b/b.tgz": manifest.record("b/b.tgz", "b" * 128, 2, []),
        "a/a.tgz": manifest.record("a/a.tgz", "a" * 128, 1, []),
    }
    path = manifest.write(tmp_path, files)
    body = json.loads(path.read_text())
    assert body["generated_by"] == "tools/mirror"
    assert list(body["files"]) == ["a/a.tgz", "b/b.tgz"]
    assert manifest.load(tmp_path) == body["files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_a_foreign_manifest_is_reported(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(MirrorError, match="not a manifest"):
        manifest.load(tmp_path)
    assert manifest.load(tmp_path / "none") == {}
