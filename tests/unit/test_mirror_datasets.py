"""The data files of PyPI in the mirror: copied byte for byte, checked against their pin."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tools.mirror import pypi
from tools.mirror.__main__ import main
from tools.mirror.tarball import sha512

NAME = "recbole-1.2.1-py3-none-any.whl"
PATH = f"packages/ab/fe/0123/{NAME}"


@pytest.fixture
def wheel(tmp_path) -> Path:
    path = tmp_path / "upstream" / NAME
    path.parent.mkdir()
    path.write_bytes(b"PK\x03\x04 a wheel, as far as the mirror cares")
    return path


@pytest.fixture
def fetched(monkeypatch, wheel):
    """pip download replaced by a copy of `wheel` into the cache; the requirements it got."""
    asked = []

    def fake_wheel(name, version, cache, python="3.11"):
        asked.append(f"{name}=={version}")
        cache.mkdir(parents=True, exist_ok=True)
        target = cache / wheel.name
        if not target.exists():
            shutil.copyfile(wheel, target)
        return target

    monkeypatch.setattr(pypi, "wheel", fake_wheel)
    return asked


def catalog(tmp_path: Path, sha256: str) -> Path:
    path = tmp_path / "catalog.yml"
    path.write_text(
        "archives: {}\njars: []\ndatasets:\n  recbole-wheel:\n    dataset: ml-100k\n"
        f"    pypi: recbole==1.2.1\n    path: {PATH}\n    sha256: {sha256}\n"
    )
    return path


def build(tmp_path: Path, cat: Path) -> int:
    out, cache = tmp_path / "mirror", tmp_path / "cache"
    args = ["build", "--out", str(out), "--catalog", str(cat), "--cache", str(cache)]
    return main([*args, "--only", "datasets"])


def test_the_wheel_is_copied_under_pypi_with_its_checksums(tmp_path, wheel, fetched, capsys):
    pinned = hashlib.sha256(wheel.read_bytes()).hexdigest()
    cat = catalog(tmp_path, pinned)
    assert build(tmp_path, cat) == 0
    target = tmp_path / "mirror" / "pypi" / PATH
    assert target.read_bytes() == wheel.read_bytes()
    assert Path(f"{target}.sha512").read_text() == f"{sha512(target)}  {NAME}\n"
    record = json.loads((tmp_path / "mirror" / "manifest.json").read_text())["files"][
        f"pypi/{PATH}"
    ]
    assert record["sha512"] == sha512(target) and record["size"] == target.stat().st_size
    assert record["parts"] == [{"path": NAME, "pypi": NAME, "sha256": pinned}]
    assert fetched == ["recbole==1.2.1"]
    capsys.readouterr()

    assert build(tmp_path, cat) == 0  # the second build copies nothing
    assert "dataset recbole-wheel: up to date" in capsys.readouterr().out
    assert fetched == ["recbole==1.2.1"]


def test_a_file_without_the_pinned_checksum_stops_the_build(tmp_path, wheel, fetched, capsys):
    assert build(tmp_path, catalog(tmp_path, "f" * 64)) == 1
    err = capsys.readouterr().err
    assert err.startswith("mirror: error: dataset recbole-wheel: ")
    assert f"has SHA-256 {hashlib.sha256(wheel.read_bytes()).hexdigest()}" in err
    assert f"the catalog pins {'f' * 64}" in err
    assert not (tmp_path / "mirror" / "pypi" / PATH).exists()


def test_a_dataset_without_a_checksum_is_refused(tmp_path, fetched, capsys):
    assert build(tmp_path, catalog(tmp_path, "")) == 1
    assert "catalog: dataset recbole-wheel has no 'sha256'" in capsys.readouterr().err
    assert fetched == []
