"""Cassandra's bin/cqlsh, built from PyPI: the `cqlsh` distribution (cqlshlib) and the pure
Python parts of its dependencies, as zips in lib/ the way Apache's tarball ships the driver."""

from __future__ import annotations

from . import Built, Context


def build(ctx: Context) -> Built:
    return Built()
