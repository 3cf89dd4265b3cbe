"""Cassandra's bin/cqlsh, built from PyPI the way Apache's tarball ships it: cqlshlib in
pylib/, and the pure Python parts of the driver and of cqlsh's other dependencies as zips in
lib/ that bin/cqlsh.py puts on sys.path. Only python3 is needed on the host."""

from __future__ import annotations

import zipfile

from ..manifest import pypi_part
from ..pypi import sha256, wheel
from ..tarball import Entry
from . import Built, Context
from .spark import zip_tree

CQLSH = ("cqlsh", "6.2.2")  # cqlsh 6.2 is the shell of Cassandra 5.0
# name, version, top-level package: what cqlshlib imports.
LIBRARIES = [
    ("cassandra-driver", "3.29.2", "cassandra"),
    ("pure-sasl", "0.5.1", "puresasl"),
    ("wcwidth", "0.2.13", "wcwidth"),
]


def python_files(path, package: str) -> dict[str, bytes]:
    """The package's Python sources from a wheel (compiled extensions left out: the driver
    falls back to pure Python)."""
    with zipfile.ZipFile(path) as archive:
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if name.startswith(f"{package}/") and not name.endswith((".so", ".pyd", ".c"))
        }


def build(ctx: Context) -> Built:
    built = Built()
    name, version = CQLSH
    shell = wheel(name, version, ctx.cache / "pypi")
    for member, data in sorted(python_files(shell, "cqlshlib").items()):
        built.entries.append(Entry(f"pylib/{member}", data=data))
    built.parts.append(pypi_part("pylib/cqlshlib/", shell.name, sha256(shell)))
    for name, version, package in LIBRARIES:
        found = wheel(name, version, ctx.cache / "pypi")
        target = f"lib/{name}-{version}.zip"
        built.entries.append(Entry(target, data=zip_tree(python_files(found, package))))
        built.parts.append(pypi_part(target, found.name, sha256(found)))
    return built
