"""Deterministic tarballs: sorted entries, fixed times, owners and modes, atomic writes."""

from __future__ import annotations

import tarfile

import pytest

from tools.mirror.tarball import MTIME, Entry, directories, sha512, write


def entries(tmp_path):
    source = tmp_path / "lib.jar"
    source.write_bytes(b"PK\x03\x04 not really a jar")
    return [
        Entry("bin/run", data=b"#!/bin/sh\necho run\n", mode=0o755),
        Entry("lib/lib.jar", source=source),
        Entry("conf/a.properties", data=b"a=1\n"),
    ]


def test_same_entries_give_the_same_bytes_in_any_order(tmp_path):
    first = write(tmp_path / "one.tgz", "demo-1", entries(tmp_path))
    second = write(tmp_path / "two.tgz", "demo-1", list(reversed(entries(tmp_path))))
    assert first == second == sha512(tmp_path / "one.tgz")
    assert (tmp_path / "one.tgz").read_bytes() == (tmp_path / "two.tgz").read_bytes()


def test_single_top_directory_sorted_with_fixed_metadata(tmp_path):
    write(tmp_path / "x.tgz", "demo-1", entries(tmp_path))
    with tarfile.open(tmp_path / "x.tgz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names[0] == "demo-1"
    assert {n.split("/")[0] for n in names} == {"demo-1"}
    assert names == ["demo-1", "demo-1/bin", "demo-1/conf", "demo-1/lib"] + sorted(names[4:])
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "root", "root")
        assert member.mtime == MTIME
        assert member.mode == (0o755 if member.isdir() or member.name.endswith("run") else 0o644)


def test_directories_cover_every_parent():
    assert directories("t", ["a/b/c.txt", "d.txt"]) == ["t", "t/a", "t/a/b"]


def test_duplicates_and_escaping_entries_are_refused(tmp_path):
    with pytest.raises(ValueError, match="duplicate"):
        write(tmp_path / "x.tgz", "x", [Entry("a", data=b"1"), Entry("a", data=b"2")])
    with pytest.raises(ValueError, match="outside"):
        write(tmp_path / "x.tgz", "x", [Entry("../evil", data=b"1")])
    assert not (tmp_path / "x.tgz").exists()


def test_a_failed_write_leaves_no_file(tmp_path):
    broken = Entry("lib/missing.jar", source=tmp_path / "does-not-exist.jar")
    with pytest.raises(OSError):
        write(tmp_path / "x.tgz", "x", [Entry("a", data=b"1"), broken])
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_rebuild_keeps_the_previous_archive(tmp_path):
    target = tmp_path / "x.tgz"
    checksum = write(target, "x", [Entry("a", data=b"1")])
    with pytest.raises(OSError):
        write(target, "x", [Entry("b", source=tmp_path / "gone")])
    assert sha512(target) == checksum
    assert [p.name for p in tmp_path.iterdir()] == ["x.tgz"]
