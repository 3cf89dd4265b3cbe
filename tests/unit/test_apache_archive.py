"""The checksum-verified archive installer (roles/apache_archive/library/apache_archive.py)."""

from __future__ import annotations

import grp
import hashlib
import importlib.util
import io
import os
import pwd
import socket
import tarfile
from pathlib import Path

import pytest

MODULE = Path(__file__).parents[2] / "roles/apache_archive/library/apache_archive.py"
spec = importlib.util.spec_from_file_location("apache_archive", MODULE)
aa = importlib.util.module_from_spec(spec)
spec.loader.exec_module(aa)


def make_tarball(path: Path, top: str, files: dict[str, bytes], extra=()) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return hashlib.sha512(path.read_bytes()).hexdigest()


def params(url: str, sha: str, tmp: Path, version: str = "1.0") -> dict:
    return {
        "url": url,
        "sha512": sha,
        "top_dir": f"demo-{version}",
        "dest": str(tmp / "opt" / f"demo-{version}"),
        "link": str(tmp / "opt" / "demo"),
        "owner": pwd.getpwuid(os.getuid()).pw_name,
        "group": grp.getgrgid(os.getgid()).gr_name,
        "timeout": 5,
    }


@pytest.fixture
def release(http_dir):
    www, base = http_dir
    sha1 = make_tarball(www / "demo-1.0.tgz", "demo-1.0", {"bin/run": b"one\n"})
    sha2 = make_tarball(www / "demo-2.0.tgz", "demo-2.0", {"bin/run": b"two\n"})
    return base, sha1, sha2


def test_installs_then_changes_nothing(release, tmp_path):
    base, sha1, _ = release
    p = params(f"{base}/demo-1.0.tgz", sha1, tmp_path)
    first = aa.install(p, check_mode=False)
    assert first["changed"] and first["downloaded"]
    assert (tmp_path / "opt/demo/bin/run").read_text() == "one\n"
    assert os.readlink(tmp_path / "opt/demo") == p["dest"]
    second = aa.install(p, check_mode=False)
    assert not second["changed"] and not second["downloaded"]


def test_upgrade_flips_the_symlink_and_keeps_the_old_version(release, tmp_path):
    base, sha1, sha2 = release
    aa.install(params(f"{base}/demo-1.0.tgz", sha1, tmp_path), check_mode=False)
    aa.install(params(f"{base}/demo-2.0.tgz", sha2, tmp_path, "2.0"), check_mode=False)
    assert (tmp_path / "opt/demo/bin/run").read_text() == "two\n"
    assert (tmp_path / "opt/demo-1.0/bin/run").read_text() == "one\n"


def test_wrong_checksum_names_file_and_both_sums_and_touches_nothing(release, tmp_path):
    base, sha1, sha2 = release
    aa.install(params(f"{base}/demo-1.0.tgz", sha1, tmp_path), check_mode=False)
    wrong = "0" * 128
    with pytest.raises(aa.ArchiveError) as err:
        aa.install(params(f"{base}/demo-2.0.tgz", wrong, tmp_path, "2.0"), check_mode=False)
    message = str(err.value)
    assert "demo-2.0.tgz" in message and wrong in message and sha2 in message
    assert sorted(p.name for p in (tmp_path / "opt").iterdir()) == ["demo", "demo-1.0"]
    assert os.readlink(tmp_path / "opt/demo") == str(tmp_path / "opt/demo-1.0")


def test_unreachable_mirror_names_the_url(tmp_path):
    with socket.socket() as sock:  # a port on loopback that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/demo-1.0.tgz"
    with pytest.raises(aa.ArchiveError, match=f"cannot download {url}"):
        aa.install(params(url, "a" * 128, tmp_path), check_mode=False)
    assert not (tmp_path / "opt/demo-1.0").exists()


def test_missing_file_on_mirror_reports_http_status(release, tmp_path):
    base, _, _ = release
    with pytest.raises(aa.ArchiveError, match="HTTP 404"):
        aa.install(params(f"{base}/nope.tgz", "a" * 128, tmp_path), check_mode=False)


def test_malformed_checksum_is_refused_before_download(tmp_path):
    with pytest.raises(aa.ArchiveError, match="not 128 hex digits"):
        aa.install(params("http://127.0.0.1:9/x.tgz", "abc", tmp_path), check_mode=False)


def test_entries_outside_the_top_directory_are_refused(http_dir, tmp_path):
    www, base = http_dir
    evil = tarfile.TarInfo("demo-1.0/escape")
    evil.type = tarfile.SYMTYPE
    evil.linkname = "../../etc/passwd"
    sha = make_tarball(www / "demo-1.0.tgz", "demo-1.0", {"ok": b"x"}, extra=[evil])
    with pytest.raises(aa.ArchiveError, match="points outside"):
        aa.install(params(f"{base}/demo-1.0.tgz", sha, tmp_path), check_mode=False)
    assert not (tmp_path / "opt/demo-1.0").exists()
    assert not (tmp_path / "opt/demo").exists()


def test_check_mode_reports_but_does_nothing(release, tmp_path):
    base, sha1, _ = release
    result = aa.install(params(f"{base}/demo-1.0.tgz", sha1, tmp_path), check_mode=True)
    assert result["changed"]
    assert not (tmp_path / "opt").exists()


HEX = "0123456789abcdef" * 8


@pytest.mark.parametrize(
    "text",
    [
        f"{HEX}  demo-1.0.tgz\n",
        f"SHA512 (demo-1.0.tgz) = {HEX}\n",
        "demo-1.0.tgz: " + " ".join(HEX.upper()[i : i + 8] for i in range(0, 128, 8)) + "\n",
        "demo-1.0.tgz: " + HEX.upper()[:64] + "\n              " + HEX.upper()[64:] + "\n",
    ],
)
def test_checksum_files_in_every_published_format(text):
    assert aa.parse_checksum_file(text) == HEX


def test_checksum_file_without_sha512_is_refused():
    with pytest.raises(aa.ArchiveError, match="no SHA-512"):
        aa.parse_checksum_file("d41d8cd98f00b204e9800998ecf8427e  demo.tgz")


def test_missing_published_checksum_fails_clearly(release, tmp_path):
    base, _, _ = release
    p = params(f"{base}/demo-1.0.tgz", "", tmp_path)
    p["sha512_url"] = f"{base}/demo-1.0.tgz.sha512"
    with pytest.raises(aa.ArchiveError, match="HTTP 404"):
        aa.install(p, check_mode=False)


def test_published_checksum_verifies_the_download(http_dir, tmp_path):
    www, base = http_dir
    sha = make_tarball(www / "demo-1.0.tgz", "demo-1.0", {"bin/run": b"one\n"})
    (www / "demo-1.0.tgz.sha512").write_text(f"{sha}  demo-1.0.tgz\n")
    p = params(f"{base}/demo-1.0.tgz", "", tmp_path)
    p["sha512_url"] = f"{base}/demo-1.0.tgz.sha512"
    assert aa.install(p, check_mode=False)["changed"]
    (www / "demo-2.0.tgz").write_bytes((www / "demo-1.0.tgz").read_bytes())
    (www / "demo-2.0.tgz.sha512").write_text(f"{'1' * 128}  demo-2.0.tgz\n")
    p2 = params(f"{base}/demo-2.0.tgz", "", tmp_path, "2.0")
    p2["sha512_url"] = f"{base}/demo-2.0.tgz.sha512"
    with pytest.raises(aa.ArchiveError, match="checksum mismatch"):
        aa.install(p2, check_mode=False)
