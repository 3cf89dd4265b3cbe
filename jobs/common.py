"""What every job shares: logging, configuration defaults from the environment, Spark."""

from __future__ import annotations

import logging
import os
import sys
import time
from contextlib import contextmanager

log = logging.getLogger("jobs")


def setup_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("JOBS_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("py4j").setLevel(logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    logging.getLogger("cassandra").setLevel(logging.WARNING)


def env(name: str, default: str) -> str:
    """A setting from the environment (``MOVIELENS_<NAME>``), else ``default``."""
    return os.environ.get(f"MOVIELENS_{name}", default)


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def als_blocks(spark, given: int) -> int:
    """ALS's numUserBlocks/numItemBlocks: ``given``, or (0) the cores Spark has, so each
    block is one task and a small dataset is not cut into more tasks than cores."""
    return given if given > 0 else max(spark.sparkContext.defaultParallelism, 1)


def in_parallel(*steps):
    """Run each callable in a thread of its own and return their results in order (the
    first error is raised once all have stopped). Spark runs the threads' jobs side by
    side: on a small dataset a job is mostly waiting (scheduling, shuffles, Python), so two
    independent trainings take little more than the longer one."""
    return started(*steps)()


def started(*steps):
    """Start each callable in a thread of its own; the function returned waits for them and
    returns their results in order (the first error is raised once all have stopped), as
    often as it is called."""
    from pyspark import InheritableThread  # noqa: PLC0415

    results: list = [None] * len(steps)
    errors: list[BaseException] = []

    def run(i: int, step) -> None:
        try:
            results[i] = step()
        except BaseException as exc:  # noqa: BLE001 (re-raised below, in the caller's thread)
            errors.append(exc)

    threads = [InheritableThread(target=run, args=(i, step)) for i, step in enumerate(steps)]
    for thread in threads:
        thread.start()

    def wait() -> list:
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    return wait


class Timing:
    """How long a ``timed`` step took, set when it ends."""

    seconds: float = 0.0


@contextmanager
def timed(what: str, logger: logging.Logger = log):
    """Log how long a step took: ``with timed("training") as t: ...``, then ``t.seconds``."""
    started = time.monotonic()
    logger.info("%s ...", what)
    timing = Timing()
    yield timing
    timing.seconds = time.monotonic() - started
    logger.info("%s done in %.1fs", what, timing.seconds)


def spark_session(app_name: str, master: str | None = None, conf: dict | None = None):
    """A SparkSession that runs the same under spark-submit (standalone, YARN) and locally.

    Under spark-submit the master and resources come from spark-submit; started as a plain
    Python program (``python -m jobs.train``) without ``--master`` it runs on ``local[*]``.
    """
    from pyspark.sql import SparkSession  # noqa: PLC0415 (pure modules import this one)

    builder = SparkSession.builder.appName(app_name)
    master = master or os.environ.get("SPARK_MASTER")
    if master:
        builder = builder.master(master)
    elif "PYSPARK_GATEWAY_PORT" not in os.environ:  # not started by spark-submit
        builder = builder.master("local[*]")
    conf = dict(conf or {})
    conf.setdefault("spark.ui.showConsoleProgress", "false")  # the jobs log their own progress
    if (master or "").startswith("local") or (
        not master and "PYSPARK_GATEWAY_PORT" not in os.environ
    ):
        conf.setdefault(
            "spark.sql.shuffle.partitions", os.environ.get("SPARK_SHUFFLE_PARTITIONS", "4")
        )
        # Python workers of a local master: this interpreter, which has numpy (PySpark reads
        # the variable when the context starts; spark-submit sets it from its own settings)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("SPARK_LOG_LEVEL", "WARN"))
    return spark
