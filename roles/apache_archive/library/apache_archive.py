#!/usr/bin/python3
"""Install one release archive: download, verify SHA-512, unpack into a versioned directory,
and point a stable symlink at it.

Nothing is unpacked before the checksum matches, the unpacked tree is moved into place in one
rename, and the symlink is replaced atomically, so a failure at any step leaves the previous
installation (directory and symlink) exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: apache_archive
short_description: Install a release tarball into a versioned directory behind a symlink
description:
  - Downloads I(url), verifies its SHA-512, unpacks the single top-level directory I(top_dir)
    into I(dest) and points I(link) at I(dest).
  - Idempotent; a marker file in I(dest) records the checksum installed.
options:
  url: {description: Where to download the archive from., type: str, required: true}
  sha512:
    description: Expected SHA-512 in hex (empty to read it from I(sha512_url)).
    type: str
    default: ""
  sha512_url:
    description:
      - The publisher's checksum file (GNU, BSD or gpg --print-md format).
      - Used when I(sha512) is empty.
    type: str
  top_dir: {description: The archive's top-level directory., type: str, required: true}
  dest: {description: Versioned installation directory., type: path, required: true}
  link: {description: Stable symlink pointing at I(dest)., type: path}
  owner: {description: Owner of the unpacked files., type: str, default: root}
  group: {description: Group of the unpacked files., type: str, default: root}
  timeout: {description: Network timeout in seconds., type: int, default: 60}
author: movielens-lab
"""

EXAMPLES = r"""
- name: Install Kafka
  apache_archive:
    url: https://archive.apache.org/dist/kafka/3.6.1/kafka_2.13-3.6.1.tgz
    sha512: "..."
    top_dir: kafka_2.13-3.6.1
    dest: /opt/kafka-3.6.1
    link: /opt/kafka
"""

RETURN = r"""
dest: {description: The versioned directory., type: str, returned: always}
downloaded: {description: Whether the archive was downloaded., type: bool, returned: always}
"""

MARKER = ".apache-archive.sha512"
CHUNK = 1 << 20


class ArchiveError(Exception):
    """A clear, user-facing reason why the installation failed."""


def parse_checksum_file(text: str) -> str:
    """The SHA-512 in a checksum file: `hex  name`, `SHA512 (name) = hex`, or gpg's grouped hex."""
    text = text.strip()
    if "=" in text.split("\n", 1)[0]:
        text = text.split("=", 1)[1]
    elif ":" in text.split("\n", 1)[0]:
        text = text.split(":", 1)[1]
    else:
        text = text.split()[0] if text else ""
    digits = "".join(text.split()).lower()
    if len(digits) != 128 or any(c not in "0123456789abcdef" for c in digits):
        raise ArchiveError(f"no SHA-512 found in the checksum file: {text[:80]!r}")
    return digits


def fetch_checksum(url: str, timeout: int) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return parse_checksum_file(response.read(65536).decode("ascii", "replace"))
    except urllib.error.HTTPError as exc:
        raise ArchiveError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise ArchiveError(f"cannot download {url}: {getattr(exc, 'reason', exc)}") from exc


def installed_checksum(dest: Path) -> str | None:
    marker = dest / MARKER
    return marker.read_text().strip() if marker.is_file() else None


def link_target(link: Path) -> str | None:
    return os.readlink(link) if link.is_symlink() else None


def download(url: str, target: Path, timeout: int) -> str:
    """Stream url into target and return the SHA-512 of what was written."""
    digest = hashlib.sha512()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise ArchiveError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ArchiveError(f"cannot download {url}: {reason}") from exc
    return digest.hexdigest()


def _inside(parts: tuple[str, ...], top_dir: str) -> bool:
    return bool(parts) and parts[0] == top_dir and ".." not in parts


def safe_members(archive: tarfile.TarFile, top_dir: str):
    """Yield the members under top_dir, refusing anything that would land outside it."""
    found = False
    for member in archive.getmembers():
        parts = Path(member.name.removeprefix("./")).parts
        if member.name.startswith("/") or not _inside(parts, top_dir):
            raise ArchiveError(f"unexpected entry {member.name!r}: not under {top_dir}/")
        if member.issym():
            resolved = Path(os.path.normpath(Path(*parts).parent / member.linkname)).parts
            if member.linkname.startswith("/") or not _inside(resolved, top_dir):
                raise ArchiveError(f"symlink {member.name!r} points outside the archive")
        if member.islnk() and not _inside(Path(member.linkname.removeprefix("./")).parts, top_dir):
            raise ArchiveError(f"hard link {member.name!r} points outside the archive")
        if member.isdev():
            raise ArchiveError(f"device file {member.name!r} in archive")
        found = True
        yield member
    if not found:
        raise ArchiveError(f"archive has no {top_dir}/ directory")


def unpack(archive_file: Path, top_dir: str, dest: Path, owner: str, group: str) -> None:
    """Unpack into a fresh directory beside dest, then rename it into place."""
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        with tarfile.open(archive_file) as archive:
            members = list(safe_members(archive, top_dir))
            archive.extractall(staging, members=members, numeric_owner=True)  # noqa: S202
        tree = staging / top_dir
        for path in [tree, *tree.rglob("*")]:
            if not path.is_symlink():
                shutil.chown(path, owner, group)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            dest.rename(old)
            tree.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tree.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def point_link(link: Path, dest: Path) -> None:
    tmp = link.with_name(f".{link.name}.new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(dest)
    os.replace(tmp, link)


def install(params: dict, check_mode: bool) -> dict:
    url, expected = params["url"], (params.get("sha512") or "").strip().lower()
    dest = Path(params["dest"])
    if not expected and params.get("sha512_url"):
        expected = fetch_checksum(params["sha512_url"], params["timeout"])
    link = Path(params["link"]) if params.get("link") else None
    if len(expected) != 128 or any(c not in "0123456789abcdef" for c in expected):
        raise ArchiveError(f"sha512 for {url} is not 128 hex digits: {expected!r}")
    need_unpack = installed_checksum(dest) != expected
    need_link = link is not None and link_target(link) != str(dest)
    if link is not None and link.exists() and not link.is_symlink():
        raise ArchiveError(f"{link} exists and is not a symlink")
    result = {"changed": need_unpack or need_link, "dest": str(dest), "downloaded": False}
    if check_mode or not result["changed"]:
        return result
    dest.parent.mkdir(parents=True, exist_ok=True)
    if need_unpack:
        filename = url.rsplit("/", 1)[-1]
        fd, part = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        part_path = Path(part)
        try:
            actual = download(url, part_path, params["timeout"])
            result["downloaded"] = True
            if actual != expected:
                raise ArchiveError(
                    f"checksum mismatch for {filename} downloaded from {url}: "
                    f"expected sha512 {expected}, got {actual}; nothing was installed"
                )
            unpack(part_path, params["top_dir"], dest, params["owner"], params["group"])
            (dest / MARKER).write_text(expected + "\n")
        finally:
            part_path.unlink(missing_ok=True)
    if need_link:
        point_link(link, dest)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "sha512": {"type": "str", "default": "", "no_log": False},
            "sha512_url": {"type": "str"},
            "top_dir": {"type": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "link": {"type": "path"},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    try:
        module.exit_json(**install(module.params, module.check_mode))
    except ArchiveError as exc:
        module.fail_json(msg=str(exc), dest=module.params["dest"])


if __name__ == "__main__":
    main()
