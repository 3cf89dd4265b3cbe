"""Small files on any Hadoop file system (HDFS in production, the local disk in tests).

Paths without a scheme resolve against Hadoop's default file system, like Spark's own
readers and writers do.
"""

from __future__ import annotations

import os

from pyspark.sql import SparkSession


def _fs(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hpath


def exists(spark: SparkSession, path: str) -> bool:
    fs, hpath = _fs(spark, path)
    return bool(fs.exists(hpath))


def write_text(spark: SparkSession, path: str, text: str) -> None:
    fs, hpath = _fs(spark, path)
    stream = fs.create(hpath, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def put(spark: SparkSession, local_path: str, path: str) -> None:
    """Copy the local file ``local_path`` to ``path`` (replaced if there, parents created)."""
    fs, hpath = _fs(spark, path)
    local = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(os.path.abspath(local_path))
    fs.copyFromLocalFile(False, True, local, hpath)


def read_text(spark: SparkSession, path: str) -> str:
    fs, hpath = _fs(spark, path)
    stream = fs.open(hpath)
    try:
        data = spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
    finally:
        stream.close()
    return bytes(data).decode("utf-8")


def replace_text(spark: SparkSession, path: str, text: str) -> None:
    """Write ``path`` through a temporary file and a rename, so readers never see half."""
    fs, hpath = _fs(spark, path)
    tmp_path = path.rstrip("/") + ".tmp"
    write_text(spark, tmp_path, text)
    _, htmp = _fs(spark, tmp_path)
    if fs.exists(hpath):
        fs.delete(hpath, False)
    if not fs.rename(htmp, hpath):
        raise OSError(f"could not rename {tmp_path} to {path}")


def join(*parts: str) -> str:
    head, *rest = parts
    return "/".join([head.rstrip("/"), *(p.strip("/") for p in rest)])


def delete(spark: SparkSession, path: str) -> None:
    """Delete ``path`` recursively (nothing happens when it is not there)."""
    fs, hpath = _fs(spark, path)
    fs.delete(hpath, True)


def rename(spark: SparkSession, src: str, dst: str) -> None:
    """Move ``src`` to ``dst`` (a rename on HDFS: atomic), creating ``dst``'s parent."""
    fs, hsrc = _fs(spark, src)
    _, hdst = _fs(spark, dst)
    fs.mkdirs(hdst.getParent())
    if not fs.rename(hsrc, hdst):
        raise OSError(f"could not move {src} to {dst}")
