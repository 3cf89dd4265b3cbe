"""tools.pack_code: the code archive the roles install, the same bytes for the same files, and
extracted by GNU tar as the hosts' unarchive does."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile

import pytest

from tools import pack_code


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "web/app/static").mkdir(parents=True)
    (tmp_path / "web/app/__init__.py").write_text("")
    (tmp_path / "web/app/static/app.js").write_text("let x = 1;\n")
    (tmp_path / "web/app/__pycache__").mkdir()
    (tmp_path / "web/app/__pycache__/x.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "web/app/stale.pyc").write_bytes(b"\0")
    (tmp_path / "jobs/reco").mkdir(parents=True)
    (tmp_path / "jobs/reco/cql.py").write_text("Q = 1\n")
    (tmp_path / "health.py").write_text("print()\n")
    return tmp_path


SOURCES = ["web:.", "jobs/reco/cql.py", "health.py:lab_health.py"]


def test_names_folders_and_modes(tree):
    with tarfile.open(fileobj=io.BytesIO(pack_code.pack(SOURCES))) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == [
        "app",
        "app/__init__.py",
        "app/static",
        "app/static/app.js",
        "jobs",
        "jobs/reco",
        "jobs/reco/cql.py",
        "lab_health.py",
    ]
    assert all(m.uid == 0 and m.uname == "root" for m in members.values())
    assert members["jobs"].isdir() and members["jobs"].mode == 0o755
    assert members["lab_health.py"].mode == 0o644
    assert members["lab_health.py"].mtime == int((tree / "health.py").stat().st_mtime)
    # A folder has its newest file's time (never 1970: zip refuses times before 1980).
    os.utime(tree / "jobs/reco/cql.py", (1_700_000_000, 1_700_000_000))
    with tarfile.open(fileobj=io.BytesIO(pack_code.pack(SOURCES))) as tar:
        assert tar.getmember("jobs").mtime == tar.getmember("jobs/reco").mtime == 1_700_000_000


def test_same_files_same_bytes_and_no_rewrite(tree):
    out = tree / "build/code.tar"
    assert pack_code.write_if_changed(out, pack_code.pack(SOURCES))
    first = out.read_bytes()
    os.utime(out, (0, 0))
    assert not pack_code.write_if_changed(out, pack_code.pack(SOURCES))
    assert out.stat().st_mtime == 0, "rewritten although nothing changed"
    (tree / "jobs/reco/cql.py").write_text("Q = 2\n")
    assert pack_code.write_if_changed(out, pack_code.pack(SOURCES))
    assert out.read_bytes() != first


def tar_diff(archive, dest):
    command = ["tar", "--diff", "-f", archive, "-C", dest]
    return subprocess.run(command, check=False, capture_output=True, text=True)


def test_gnu_tar_finds_no_difference_after_extraction(tree):
    out = tree / "code.tar"
    pack_code.main([str(out), *SOURCES])
    dest = tree / "host"
    dest.mkdir()
    subprocess.run(["tar", "-xf", out, "-C", dest], check=True)
    # What runs later may add byte code and touch the folders: still no difference.
    (dest / "app/__pycache__").mkdir()
    diff = tar_diff(out, dest)
    assert diff.returncode == 0, diff.stdout + diff.stderr
    (dest / "app/static/app.js").write_text("changed\n")
    diff = tar_diff(out, dest)
    assert diff.returncode == 1 and "app/static/app.js" in diff.stdout


def test_a_missing_source_is_named(tree):
    with pytest.raises(SystemExit, match="nothere does not exist"):
        pack_code.pack(["nothere:."])
