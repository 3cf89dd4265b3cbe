"""The command line: one-line errors without tracebacks, a small build, serving in the
background."""

from __future__ import annotations

import shutil
import tarfile
import urllib.request
from pathlib import Path

import pytest

from tools.mirror import serve
from tools.mirror.__main__ import default_cache, main
from tools.mirror.tarball import sha512


def test_errors_are_one_line_without_a_traceback(tmp_path, capsys):
    assert main(["serve", "--dir", str(tmp_path)]) == 1
    assert "no manifest.json" in capsys.readouterr().err
    bad = tmp_path / "catalog.yml"
    bad.write_text("archives: [unclosed\n")
    assert main(["build", "--out", str(tmp_path / "m"), "--catalog", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mirror: error: cannot read the catalog") and "Traceback" not in err
    good = tmp_path / "good.yml"
    good.write_text("archives: {}\njars: []\n")
    args = ["build", "--out", str(tmp_path / "m"), "--catalog", str(good), "--only", "flink"]
    assert main(args) == 1
    assert "--only: unknown flink" in capsys.readouterr().err


def test_serve_in_the_background_and_stop(tmp_path, capsys):
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "manifest.json").write_text('{"files": {}}\n')
    (tree / "a" / "big.bin").write_bytes(b"x" * 3_000_000)
    pidfile = tmp_path / "run" / "mirror.pid"
    args = ["serve", "--dir", str(tree), "--port", "0", "--daemon", "--pidfile", str(pidfile)]
    assert main(args) == 0
    url = capsys.readouterr().out.strip().splitlines()[-1]
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/a/big.bin", timeout=10) as response:
            assert len(response.read()) == 3_000_000
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{url}/a/", timeout=10)
        assert main(args) == 1  # a second one is refused
        assert "already runs" in capsys.readouterr().err
    finally:
        assert main(["stop", "--pidfile", str(pidfile)]) == 0
    assert not pidfile.exists()
    assert not serve.answers(url)
    assert main(["stop", "--pidfile", str(pidfile)]) == 0
    assert "no server running" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("mvn") is None, reason="needs mvn")
def test_build_one_component_twice(tmp_path, capsys):
    """ZooKeeper from Maven, with the mirror's Maven repository; the second build is a no-op."""
    if not (default_cache() / "m2").is_dir():
        pytest.skip("no mirror Maven repository yet (run a build first)")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "m2").symlink_to(default_cache() / "m2")
    version = "3.8.4"
    top = f"apache-zookeeper-{version}-bin"
    path = f"zookeeper/zookeeper-{version}/{top}.tar.gz"
    cat = tmp_path / "catalog.yml"
    cat.write_text(
        f"archives:\n  zookeeper:\n    '{version}':\n      path: {path}\n"
        f"      top_dir: {top}\njars: []\n"
    )
    out = tmp_path / "mirror"
    args = ["build", "--out", str(out), "--catalog", str(cat), "--cache", str(cache)]
    assert main(args) == 0
    tarball = out / path
    checksum = sha512(tarball)
    manifest = (out / "manifest.json").read_text()
    assert checksum in manifest and f"org.apache.zookeeper:zookeeper:{version}" in manifest
    assert Path(f"{tarball}.sha512").read_text() == f"{checksum}  {tarball.name}\n"
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert f"{top}/bin/zkServer.sh" in names and f"{top}/conf/zoo_sample.cfg" in names
    assert f"{top}/lib/zookeeper-{version}.jar" in names
    capsys.readouterr()
    assert main(args) == 0
    assert "up to date" in capsys.readouterr().out
    assert sha512(tarball) == checksum
