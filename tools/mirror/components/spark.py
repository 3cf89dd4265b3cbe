"""spark-<v>-bin-hadoop3 from the PyPI source distribution of pyspark.

pyspark's sdist carries what Apache's binary tarball has besides the Python package itself:
deps/jars, deps/bin, deps/sbin, deps/data, deps/examples (the Python examples) and lib/ (the
pyspark.zip and py4j zip that PySpark on YARN ships to executors).
"""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path

from ..manifest import pypi_part
from ..pypi import sha256
from ..tarball import Entry
from . import Built, Context, MirrorError, generated, jars_into, template_tree

PY4J = "0.10.9.7"
ZIP_TIME = (2023, 11, 14, 22, 13, 20)


def sdist_members(path: Path) -> dict[str, tuple[bytes, int]]:
    """name (below the sdist's top directory) -> (content, mode) of every regular file."""
    found = {}
    with tarfile.open(path) as tar:
        for member in tar:
            if member.isfile() and "/" in member.name:
                name = member.name.split("/", 1)[1]
                found[name] = (tar.extractfile(member).read(), member.mode)
    return found


def zip_tree(members: dict[str, bytes]) -> bytes:
    """A deterministic zip of members (sorted names, fixed times and modes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name])
    return buffer.getvalue()


def target_of(name: str) -> str | None:
    """Where a file of the sdist goes in Apache's layout, None when it has no place there."""
    if name.endswith(".cmd"):
        return None  # Windows launchers
    if name.startswith("deps/examples/"):
        return "examples/src/main/python/" + name.removeprefix("deps/examples/")
    for prefix in ("deps/jars/", "deps/bin/", "deps/sbin/", "deps/data/", "deps/licenses/"):
        if name.startswith(prefix):
            return name.removeprefix("deps/")
    if name.startswith("pyspark/"):
        return f"python/{name}"
    if name.startswith("lib/") and name.endswith(".zip"):
        return f"python/{name}"
    return None


def mode_of(target: str) -> int:
    return 0o755 if target.startswith(("bin/", "sbin/")) else 0o644


def hadoop_version(names: list[str]) -> str:
    for name in names:
        match = re.fullmatch(r"jars/hadoop-client-api-(.+)\.jar", name)
        if match:
            return match.group(1)
    return "3"


def build(ctx: Context, version: str) -> Built:
    sdist = ctx.sdist("pyspark", version)
    ctx.log(f"unpacking {sdist.name}")
    members = sdist_members(sdist)
    built = Built()
    for name, (data, _mode) in sorted(members.items()):
        target = target_of(name)
        if target:
            built.entries.append(Entry(target, data=data, mode=mode_of(target)))
    from_sdist = "bin/, sbin/, jars/, data/, licenses/, examples/src/main/python/, python/"
    built.parts.append(pypi_part(from_sdist, sdist.name, sha256(sdist)))
    names = {e.name for e in built.entries}
    if "python/lib/pyspark.zip" not in names:
        package = {n: d for n, (d, _m) in members.items() if n.startswith("pyspark/")}
        built.add(generated("python/lib/pyspark.zip", zip_tree(package)))
    if f"python/lib/py4j-{PY4J}-src.zip" not in names:
        built.add(py4j_zip(ctx))
    if not any(n.startswith("jars/spark-core_") for n in names):
        raise MirrorError(f"{sdist.name} has no deps/jars/spark-core_*.jar; not a full sdist")
    built.add(examples_jar(ctx, version))
    release = f"Spark {version} built for Hadoop {hadoop_version(sorted(names))}\n"
    built.add(generated("RELEASE", release.encode()))
    return built.add(template_tree("spark"))


def py4j_zip(ctx: Context) -> Built:
    """python/lib/py4j-<v>-src.zip from py4j's own sdist (src/py4j)."""
    sdist = ctx.sdist("py4j", PY4J)
    package = {
        name.removeprefix("src/"): data
        for name, (data, _mode) in sdist_members(sdist).items()
        if name.startswith("src/py4j/")
    }
    target = f"python/lib/py4j-{PY4J}-src.zip"
    part = pypi_part(target, sdist.name, sha256(sdist))
    return Built([Entry(target, data=zip_tree(package))], [part])


def examples_jar(ctx: Context, version: str) -> Built:
    """examples/jars/spark-examples_<scala>-<v>.jar, when Maven has it (Maven Central has not)."""
    coordinate = f"org.apache.spark:spark-examples_2.12:{version}"
    try:
        artifacts = ctx.resolve([coordinate], transitive=False)
    except MirrorError as exc:
        ctx.log(f"skipped examples/jars: {exc}")
        return Built()
    return jars_into(artifacts, lambda a: "examples/jars")
