"""Pack source files into one tar archive that is the same bytes for the same files.

The roles install the jobs' and the page's code as one archive (one transfer, one comparison)
instead of one task per file. Entries are sorted, owned by root, with modes 0755 (folders) and
0644 (files) and the files' own modification times, so a second run writes nothing and the host
sees no change. Byte code is left out.

    python -m tools.pack_code OUT SOURCE[:NAME] ...

SOURCE is a folder or a file, relative to the current folder, stored under NAME (by default its
own relative path; "." puts a folder's contents at the archive's root). OUT is rewritten only
when its bytes would change; its path is printed.
"""

from __future__ import annotations

import argparse
import io
import os
import tarfile
from pathlib import Path


def _skipped(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix == ".pyc"


def entries(sources: list[str]) -> dict[str, Path]:
    """Archive name -> path on this machine, folders included (their names end with /)."""
    found: dict[str, Path] = {}
    for source in sources:
        src, _, name = source.partition(":")
        path = Path(src)
        if not path.exists():
            raise SystemExit(f"pack_code: {src} does not exist")
        name = Path(name or src).as_posix().strip("/") or "."
        if path.is_file():
            found[name] = path
            continue
        for child in sorted(path.rglob("*")):
            if _skipped(child.relative_to(path)):
                continue
            rel = child.relative_to(path).as_posix()
            arcname = rel if name == "." else f"{name}/{rel}"
            found[arcname + ("/" if child.is_dir() else "")] = child
    # The folders above each entry, so that extraction creates them with their mode.
    for arcname in list(found):
        parts = arcname.rstrip("/").split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            found.setdefault("/".join(parts[:depth]) + "/", Path("."))
    return found


def pack(sources: list[str]) -> bytes:
    found = entries(sources)
    files = {name: int(path.stat().st_mtime) for name, path in found.items() if name[-1] != "/"}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for arcname, path in sorted(found.items()):
            info = tarfile.TarInfo(arcname.rstrip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if arcname.endswith("/"):
                # A folder's time: its newest file's (zip, which packs the jobs again on the
                # host, refuses times before 1980; 1980 itself when there is no file at all).
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                inside = [t for name, t in files.items() if name.startswith(arcname)]
                info.mtime = max(inside or files.values() or [315532800])
                tar.addfile(info)
                continue
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o644, files[arcname]
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_if_changed(out: Path, data: bytes) -> bool:
    if out.exists() and out.read_bytes() == data:
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}")
    partial.write_bytes(data)
    partial.replace(out)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("sources", nargs="+", metavar="SOURCE[:NAME]")
    args = parser.parse_args(argv)
    write_if_changed(args.out, pack(args.sources))
    print(args.out.resolve())


if __name__ == "__main__":
    main()
