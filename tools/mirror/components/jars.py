"""The jobs' extra jars: the closure of the catalog's jar_roots, minus what Spark ships.

They go to maven2/<repository path> in the mirror, as in a Maven repository.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

from ..maven import Artifact
from . import Context


def shipped_names(spark_tarball: Path) -> set[str]:
    """File names of the jars in Spark's jars/ directory."""
    with tarfile.open(spark_tarball) as tar:
        return {
            Path(n).name
            for n in tar.getnames()
            if n.count("/") == 2 and "/jars/" in n and n.endswith(".jar")
        }


def is_shipped(artifact: Artifact, names: set[str]) -> bool:
    """Spark has a jar of the same artifactId (any version)."""
    pattern = re.compile(rf"{re.escape(artifact.artifact)}-\d[^/]*\.jar")
    return any(pattern.fullmatch(name) for name in names)


def resolve(ctx: Context, roots: list[str], shipped: set[str]) -> list[Artifact]:
    found = ctx.resolve(roots)
    kept = [a for a in found if not is_shipped(a, shipped)]
    ctx.log(f"{len(found) - len(kept)} of {len(found)} already in Spark's jars/; {len(kept)} kept")
    return kept
